//! Every model added to the catalog for issue 14 against its published size: total parameters
//! (and, for mixtures of experts, active ones) from the model card or the checkpoint's own files
//! (tests/data/model-card-params.csv, each row with its source).

use crate::common::{spec, weights};

#[test]
fn new_catalog_models_match_their_published_parameter_counts() {
    let mut rdr = csv::Reader::from_path(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/model-card-params.csv"
    ))
    .unwrap();
    let mut report = String::new();
    let mut n = 0;
    for row in rdr.records() {
        let row = row.unwrap();
        let (id, total, active) = (&row[0], &row[1], &row[2]);
        assert!(!row[3].is_empty(), "{id}: no source");
        let s = spec(id);
        let w = weights(&s, "BF16");
        #[allow(clippy::cast_precision_loss)]
        let params = w.params() as f64 / 1e9;
        let want: f64 = total.parse().unwrap();
        // Cards round ("1T", "24B") and some count a part llama.cpp leaves out (a vision
        // encoder, a NextN block): 3%.
        if (params / want - 1.0).abs() > 0.03 {
            report.push_str(&format!("{id}: {params:.2}B, card {want}B\n"));
        }
        if let Ok(a) = active.parse::<f64>() {
            // Cards count the input embedding in the active parameters; llmrig reads one row.
            #[allow(clippy::cast_precision_loss)]
            let act = (w.active_params() + s.n_vocab * s.n_embd) as f64 / 1e9;
            if (act / a - 1.0).abs() > 0.12 {
                report.push_str(&format!("{id}: {act:.2}B active, card {a}B\n"));
            }
        }
        n += 1;
    }
    assert!(report.is_empty(), "{report}");
    assert!(n >= 14);
}
