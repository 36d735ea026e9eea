//! Human-readable tables.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, Table};

/// A table with the project's look; `right` lists the columns to right-align.
pub fn new(header: &[&str], right: &[usize]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(header.to_vec());
    for &c in right {
        if let Some(col) = t.column_mut(c) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
    t
}

/// A two-column key/value table without a header.
pub fn facts() -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t
}

/// The widest a table may print: `COLUMNS` when set, else the terminal's width when printing to
/// one, else 100 (a pipe, a file, a test).
pub fn max_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .or_else(|| Table::new().width().map(usize::from))
        .filter(|&c| c >= 40)
        .unwrap_or(100)
}

/// Hides columns, in the order given, until the table is no wider than [`max_width`]: on a
/// narrow terminal the least needed columns go rather than cells wrapping.
pub fn fit(t: &mut Table, drop_order: &[usize]) {
    let width = |t: &Table| {
        t.to_string()
            .lines()
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(0)
    };
    let limit = max_width();
    for &c in drop_order {
        if width(t) <= limit {
            break;
        }
        if let Some(col) = t.column_mut(c) {
            col.set_constraint(comfy_table::ColumnConstraint::Hidden);
        }
    }
}
