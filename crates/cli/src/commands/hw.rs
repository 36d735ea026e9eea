//! `llmrig hw` and bare `llmrig`: the machine as llmrig sees it.

use std::fmt::Write as _;

use anyhow::Result;

use crate::args::MachineArgs;
use crate::options;
use crate::render::{self, json, table};

/// Shows the machine.
pub fn run(m: &MachineArgs, as_json: bool) -> Result<String> {
    let (sys, notes) = options::machine(m)?;
    if as_json {
        return Ok(json::to_string(&serde_json::json!({
            "schema_version": 1, "machine": sys, "notes": notes
        })));
    }
    let mut t = table::new(&["device", "kind", "memory", "bandwidth", "API"], &[2, 3]);
    for g in &sys.gpus {
        t.add_row(vec![
            g.name.clone(),
            format!("{:?}", g.kind).to_lowercase(),
            render::gib(g.memory_bytes),
            format!("{:.0} GB/s", g.bandwidth_bytes_per_s / 1e9),
            g.api.name().to_string(),
        ]);
    }
    t.add_row(vec![
        format!("{} ({} cores)", sys.cpu.name, sys.cpu.cores),
        "cpu".into(),
        render::gib(sys.cpu.ram_bytes),
        format!("{:.1} GB/s", sys.cpu.bandwidth_bytes_per_s / 1e9),
        "-".into(),
    ]);
    let mut out = format!("{t}\n");
    for n in notes {
        let _ = writeln!(out, "note: {n}");
    }
    Ok(out)
}
