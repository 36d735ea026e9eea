//! Target (issue 7): a full recommendation over the whole catalog in under 100 ms.

use criterion::{criterion_group, criterion_main, Criterion};
use llmrig_catalog::recommend::{recommend, RecommendOptions, Use};
use llmrig_core::system::{CpuSpec, SystemSpec};

fn bench(c: &mut Criterion) {
    let gpu = llmrig_catalog::devices()
        .find("rtx-3090")
        .unwrap()
        .to_spec(None, None);
    let sys = SystemSpec {
        gpus: vec![gpu],
        cpu: CpuSpec {
            name: "desktop".into(),
            ram_bytes: 64 << 30,
            bandwidth_bytes_per_s: 89.6e9,
            flops: 1.5e12,
            cores: 16,
            ..CpuSpec::default()
        },
        ..SystemSpec::default()
    };
    // CPU only: every estimate replays ggml-alloc over the graph for the compute buffer.
    let laptop = SystemSpec {
        gpus: Vec::new(),
        cpu: CpuSpec {
            name: "laptop".into(),
            ram_bytes: 32 << 30,
            bandwidth_bytes_per_s: 68e9,
            flops: 0.6e12,
            cores: 8,
            ..CpuSpec::default()
        },
        ..SystemSpec::default()
    };
    c.bench_function("recommend chat on a CPU-only laptop, 32 GB", |b| {
        b.iter(|| {
            recommend(
                &laptop,
                &RecommendOptions {
                    use_: Use::Chat,
                    ..RecommendOptions::default()
                },
            )
        });
    });
    for u in [Use::Chat, Use::Reasoning] {
        c.bench_function(
            &format!("recommend {} on RTX 3090 + 64 GB", u.name()),
            |b| {
                b.iter(|| {
                    recommend(
                        &sys,
                        &RecommendOptions {
                            use_: u,
                            ..RecommendOptions::default()
                        },
                    )
                });
            },
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
