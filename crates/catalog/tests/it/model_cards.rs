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
        // Cards round ("1T", "24B", "3B" for 3.19B) and some count a part llama.cpp leaves out (a
        // vision encoder, a NextN block): 3%, or half a unit of the last digit the card gives.
        let tol = |want: f64, s: &str, rel: f64| {
            let decimals = s.split_once('.').map_or(0, |(_, d)| d.len());
            #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
            let half_unit = 0.5 * 10f64.powi(-(decimals as i32));
            (want * rel).max(half_unit)
        };
        if (params - want).abs() > tol(want, total, 0.03) {
            report.push_str(&format!("{id}: {params:.2}B, card {want}B\n"));
        }
        if let Ok(a) = active.parse::<f64>() {
            // Cards differ in whether the active count includes the embedding row and the output
            // matrix: llmrig's active count (which has the output matrix and no embedding), with
            // the embedding added, or with the output matrix left out.
            #[allow(clippy::cast_precision_loss)]
            let ve = (s.n_vocab * s.n_embd) as f64 / 1e9;
            #[allow(clippy::cast_precision_loss)]
            let act = w.active_params() as f64 / 1e9;
            let t = tol(a, active, 0.12);
            if [act + ve, act, act - ve].iter().all(|x| (x - a).abs() > t) {
                report.push_str(&format!("{id}: {:.2}B active, card {a}B\n", act + ve));
            }
        }
        n += 1;
    }
    assert!(report.is_empty(), "{report}");
    assert!(n >= 24);
}
