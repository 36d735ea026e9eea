//! llmrig reads real llama-bench output (tests/data/llama-bench: a CPU build of llama.cpp 0c1e570,
//! the one the validation harness builds) in each of its formats, alike.

use llmrig_formats::llama_bench::parse;

fn read(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/data/llama-bench/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn json_jsonl_and_csv_give_the_same_tests() {
    let json = parse(&read("cpu-1b.json")).unwrap();
    assert_eq!(json.len(), 2);
    let r = &json[0];
    assert_eq!(r.model_type, "llama 1B Q4_K - Medium");
    assert_eq!(r.file_type().as_deref(), Some("Q4_K_M"));
    assert_eq!(r.model_size, Some(675_016_704.0));
    assert_eq!(r.n_params, Some(1_104_218_112.0));
    assert!(r.cpu_only());
    // This build writes -1 (auto) for -ngl and -fa.
    assert_eq!(r.n_gpu_layers, None);
    assert_eq!(r.flash_attn, None);
    assert_eq!(r.n_threads, Some(2));
    assert_eq!(r.test_name(), "pp64");
    assert_eq!(json[1].test_name(), "tg16");
    assert!(r
        .model_filename
        .as_deref()
        .unwrap()
        .ends_with("Q4_K_M.gguf"));
    assert_eq!(r.test_time.as_deref().map(|t| &t[..10]), Some("2026-12-02"));
    for other in ["cpu-1b.jsonl", "cpu-1b.csv"] {
        let rows = parse(&read(other)).unwrap();
        assert_eq!(rows.len(), 2, "{other}");
        for (a, b) in rows.iter().zip(&json) {
            assert_eq!(
                (
                    a.model_type.as_str(),
                    a.test_name(),
                    a.model_size,
                    a.n_threads
                ),
                (
                    b.model_type.as_str(),
                    b.test_name(),
                    b.model_size,
                    b.n_threads
                ),
                "{other}"
            );
            assert!(a.avg_ts > 0.0);
        }
    }
}

#[test]
fn the_default_table_with_its_optional_columns() {
    let rows = parse(&read("cpu-1b-fa-t2-ub32.md")).unwrap();
    assert_eq!(rows.len(), 2);
    let r = &rows[0];
    assert_eq!(r.file_type().as_deref(), Some("Q4_K_M"));
    // 643.75 MiB, to the table's two decimals.
    assert!((r.model_size.unwrap() - 675_016_704.0).abs() < 0.01 * 1_048_576.0);
    assert_eq!(
        (r.n_threads, r.n_ubatch, r.flash_attn),
        (Some(2), Some(32), Some(true))
    );
    assert_eq!(r.n_gpu_layers, None, "a CPU build prints no ngl column");
    assert_eq!(r.build_commit.as_deref(), Some("0c1e570"));
    assert_eq!(rows[1].test_name(), "tg16");
}
