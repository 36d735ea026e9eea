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

/// Gemma 3n (llama.cpp `src/models/gemma3n.cpp`): the card's "effective" 2B and 4B (rounded: half
/// a billion either way) leave out the embedding tables, of which llama.cpp keeps the per-layer
/// one in CPU memory; only blocks 0-19 have a KV
/// cache (`n_layer_kv_from_start = 20`), full attention on 4, 9, 14, 19 and a 512-token window
/// on the others.
#[test]
fn gemma_3n_keeps_its_per_layer_table_on_the_cpu_and_caches_20_blocks() {
    use crate::common::{machine, run};
    use llmrig_core::estimate::{GpuLayers, Settings};
    use llmrig_core::model::Role;
    for (id, effective, layers) in [("gemma-3n-e2b", 2.0, 30u64), ("gemma-3n-e4b", 4.0, 35)] {
        let s = spec(id);
        let w = weights(&s, "Q4_K_M");
        let table = w
            .tensors
            .iter()
            .find(|t| t.info.role == Role::LayerInput)
            .expect("per_layer_token_embd");
        assert_eq!(table.info.ne[..2], [256 * layers, 262_400]);
        // The card's "effective" count leaves out both tables looked up by token id.
        let embd = w
            .tensors
            .iter()
            .find(|t| t.info.role == Role::TokenEmbd)
            .map_or(0, |t| t.info.n_elements());
        #[allow(clippy::cast_precision_loss)]
        let core = (w.params() - table.info.n_elements() - embd) as f64 / 1e9;
        assert!((core - effective).abs() <= 0.5, "{id}: {core:.2}B");
        let e = run(
            &w,
            &machine(1),
            &Settings {
                ctx: Some(32768),
                gpu_layers: GpuLayers::Count(99),
                ..Settings::default()
            },
        );
        // 4 full blocks × 32768 cells + 16 windowed × pad256(512 + 512) cells, each cell
        // 2 (K, V) × 2 KV heads × 256 × 2 bytes.
        assert_eq!(
            e.memory.kv_cache_bytes,
            (4 * 32768 + 16 * 1024) * 2048,
            "{id}"
        );
        // The table stays on the CPU: the GPU holds everything else.
        let cpu = e.memory.devices.last().unwrap();
        assert!(cpu.weights_bytes >= table.bytes, "{id}");
    }
}

/// Qwen3.5's text trunks to the parameter: docs/research/qwen35.md rebuilds each Hub checkpoint's
/// safetensors total exactly as text trunk + one MTP block + vision tower (for 397B-A17B the same
/// split a safetensors-header audit publishes: text 396,346,350,336). The catalog's tensor rules
/// for `qwen35`/`qwen35moe` must give the same trunk.
#[test]
fn qwen3_5_trunks_match_the_checkpoints_to_the_parameter() {
    for (id, trunk) in [
        ("qwen3.5-0.8b", 752_393_024u64),
        ("qwen3.5-2b", 1_881_825_088),
        ("qwen3.5-4b", 4_205_751_296),
        ("qwen3.5-9b", 8_953_803_264),
        ("qwen3.5-27b", 26_895_998_464),
        ("qwen3.5-35b-a3b", 34_660_610_688),
        ("qwen3.5-122b-a10b", 122_111_526_912),
        ("qwen3.5-397b-a17b", 396_346_350_336),
    ] {
        let w = weights(&spec(id), "BF16");
        assert_eq!(w.params(), trunk, "{id}");
    }
}
