//! Monotonic and sane: properties every estimate must keep, over catalog models, quants, contexts
//! and machines drawn at random.

use llmrig_core::estimate::{estimate, FlashAttn, GpuLayers, ModelWeights, Settings};
use llmrig_core::quant::Quant;
use llmrig_core::system::{CpuSpec, DeviceKind, DeviceSpec, GpuApi, SystemSpec};
use proptest::prelude::*;

const QUANTS: [&str; 6] = ["Q4_K_M", "Q8_0", "IQ3_XS", "Q6_K", "F16", "Q2_K"];

fn machine(vram_gib: u64, bw: f64) -> SystemSpec {
    SystemSpec {
        gpus: vec![DeviceSpec {
            name: "gpu".into(),
            kind: DeviceKind::Gpu,
            memory_bytes: vram_gib << 30,
            bandwidth_bytes_per_s: bw,
            fp16_flops: bw * 150.0,
            int8_ops: bw * 600.0,
            fp16_acc16_flops: 0.0,
            api: GpuApi::Cuda,
            memory_tech: llmrig_core::system::MemoryTech::Gddr,
            ..DeviceSpec::default()
        }],
        cpu: CpuSpec {
            name: "cpu".into(),
            ram_bytes: 256 << 30,
            bandwidth_bytes_per_s: 80e9,
            flops: 1e12,
            cores: 8,
            ..CpuSpec::default()
        },
        ..SystemSpec::default()
    }
}

/// The `i`-th text generator of the catalog (encoders have no logits and no KV cache: the
/// invariants below are a decoder's; validation/ checks the encoders against llama.cpp).
fn model(i: usize, q: usize) -> ModelWeights {
    let all: Vec<_> = llmrig_catalog::models()
        .all()
        .iter()
        .filter(|e| !e.spec.is_encoder())
        .collect();
    let e = all[i % all.len()];
    ModelWeights::new(&e.spec, Quant::parse(QUANTS[q % QUANTS.len()]).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// More context never needs less memory outside the compute buffers and never decodes faster.
    #[test]
    fn more_context_costs_more(i in 0usize..100, q in 0usize..6, c in 1u64..64, extra in 1u64..64, fa in any::<bool>()) {
        let w = model(i, q);
        let sys = machine(24, 1e12);
        let s = |ctx: u64| Settings {
            ctx: Some(ctx * 512),
            gpu_layers: GpuLayers::Count(999),
            flash_attn: if fa { FlashAttn::On } else { FlashAttn::Off },
            depth: ctx * 256,
            ..Settings::default()
        };
        let a = estimate(&w, &sys, &s(c)).unwrap();
        let b = estimate(&w, &sys, &s(c + extra)).unwrap();
        // The compute buffers are replayed (where the logits land depends on the holes earlier
        // tensors left), so they may shrink a little with context; everything else may not.
        prop_assert!(
            b.memory.total_bytes - b.memory.compute_bytes
                >= a.memory.total_bytes - a.memory.compute_bytes
        );
        prop_assert!(b.memory.kv_cache_bytes >= a.memory.kv_cache_bytes);
        prop_assert!(b.performance.decode_tokens_per_s <= a.performance.decode_tokens_per_s * (1.0 + 1e-9));
    }

    /// More VRAM never yields fewer GPU layers with -ngl auto.
    #[test]
    fn more_vram_more_layers(i in 0usize..100, q in 0usize..6, v in 4u64..96, extra in 1u64..64) {
        let w = model(i, q);
        let s = Settings { ctx: Some(4096), ..Settings::default() };
        let a = estimate(&w, &machine(v, 1e12), &s).unwrap();
        let b = estimate(&w, &machine(v + extra, 1e12), &s).unwrap();
        prop_assert!(b.offload.gpu_layers >= a.offload.gpu_layers);
    }

    /// A faster device is never slower.
    #[test]
    fn faster_device_never_slower(i in 0usize..100, q in 0usize..6, bw in 100u64..4000, more in 1u64..2000) {
        let w = model(i, q);
        let s = Settings { ctx: Some(4096), gpu_layers: GpuLayers::Count(999), ..Settings::default() };
        let a = estimate(&w, &machine(2048, bw as f64 * 1e9), &s).unwrap();
        let b = estimate(&w, &machine(2048, (bw + more) as f64 * 1e9), &s).unwrap();
        prop_assert!(b.performance.decode_tokens_per_s >= a.performance.decode_tokens_per_s);
        prop_assert!(b.performance.prefill_tokens_per_s >= a.performance.prefill_tokens_per_s);
    }

    /// A prompt ubatch of one token is llama.cpp's decode graph: its prompt speed is the decode
    /// speed at the same depth (the per-ubatch cost past the launches starts at two tokens).
    /// With flash attention: without it prefill counts the KQ matrix's traffic, which decode
    /// folds into its per-token cost (`no_fa_step`); DeepSeek-V3's 128 heads 10k tokens deep
    /// then prefill a one-token ubatch 7% slower than they decode. MLA models aside: prefill
    /// counts their latent-space attention FLOPs, which decode leaves to its reads of the small
    /// latent cache (DeepSeek-V3 10k tokens deep: 2% apart).
    #[test]
    fn one_token_ubatch_prefills_at_decode_speed(i in 0usize..100, q in 0usize..6, depth in 0u64..64) {
        let w = model(i, q);
        prop_assume!(!w.spec.is_mla());
        let s = Settings {
            ctx: Some(40_000),
            ubatch: 1,
            batch: 1,
            prompt: 1,
            gen: 1,
            depth: depth * 512,
            gpu_layers: GpuLayers::Count(999),
            flash_attn: FlashAttn::On,
            ..Settings::default()
        };
        let e = estimate(&w, &machine(2048, 1e12), &s).unwrap();
        let (pre, dec) = (e.performance.prefill_tokens_per_s, e.performance.decode_tokens_per_s);
        prop_assert!((pre / dec - 1.0).abs() < 0.02, "{}: prefill {pre:.1} tok/s, decode {dec:.1}", w.spec.name);
    }
}

proptest! {
    // 64 cases; more than 32 refusals fail the run instead of passing on nothing.
    #![proptest_config(ProptestConfig { cases: 64, max_global_rejects: 32, ..ProptestConfig::default() })]

    /// CPU only, where the compute buffer is replayed over the graph: any settings give an estimate
    /// (or a clean refusal), the compute buffer holds at least the logits, and everything but the
    /// compute buffer grows with the context. The compute buffer itself may shrink: where the
    /// logits land depends on the holes earlier tensors left (llama.cpp reserves 64, 69 and 64 MiB
    /// for the synthetic Qwen3 at 512, 4096 and 32768 tokens; validation/report.md), and for
    /// gemma-3-1b at `-ub 256 -fa off` the replay drops 21 MiB from 31232 to 34816 tokens.
    #[test]
    fn cpu_only_replay_is_sane(
        i in 0usize..100, q in 0usize..6, c in 1u64..64, extra in 1u64..64, fa in any::<bool>(),
        ub in prop::sample::select(vec![32u64, 128, 256, 512, 1000]), np in 1u32..5, kvu in any::<bool>(),
        ctk in prop::sample::select(vec!["f16", "q8_0", "q4_0"]),
    ) {
        let w = model(i, q);
        let sys = SystemSpec { gpus: Vec::new(), ..machine(24, 1e12) };
        let k = llmrig_core::quant::GgmlType::from_name(ctk).unwrap();
        let s = |ctx: u64| Settings {
            ctx: Some(ctx * 512),
            ubatch: ub,
            parallel: np,
            kv_unified: kvu,
            flash_attn: if fa { FlashAttn::On } else { FlashAttn::Off },
            cache_type_k: k,
            cache_type_v: if fa { k } else { llmrig_core::quant::GgmlType::F16 },
            ..Settings::default()
        };
        let (a, b) = (estimate(&w, &sys, &s(c)), estimate(&w, &sys, &s(c + extra)));
        // A refusal (e.g. MLA with different K/V types, as llama.cpp refuses) checks nothing: it
        // counts as a rejected case, and the run fails when more than half are rejected.
        prop_assume!(a.is_ok() && b.is_ok(), "refused: {:?}", a.as_ref().err().or(b.as_ref().err()));
        let (a, b) = (a.unwrap(), b.unwrap());
        let cpu = a.memory.devices.last().unwrap();
        let t = a.resolved.shape.n_tokens;
        prop_assert!(cpu.compute_bytes >= (w.spec.n_vocab + w.spec.n_embd) * t * 4);
        prop_assert!(b.memory.kv_cache_bytes >= a.memory.kv_cache_bytes);
        prop_assert!(b.memory.total_bytes - b.memory.compute_bytes >= a.memory.total_bytes - a.memory.compute_bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, max_global_rejects: 32, ..ProptestConfig::default() })]

    /// One CUDA GPU, where the compute buffers come from the scheduler replay: any `-ngl`, ubatch,
    /// cache type and `--no-op-offload` give an estimate (or a clean refusal) whose GPU compute
    /// buffer holds at least the logits when the output layer is there, and whose graph has at
    /// least one split.
    #[test]
    fn one_gpu_scheduler_replay_is_sane(
        i in 0usize..100, q in 0usize..6, c in 1u64..32, ngl in 0u32..100, fa in any::<bool>(),
        ub in prop::sample::select(vec![16u64, 32, 128, 512, 2048]), noo in any::<bool>(),
        ctk in prop::sample::select(vec!["f16", "q8_0", "q4_0"]),
    ) {
        let w = model(i, q);
        let sys = machine(2048, 1e12);
        let k = llmrig_core::quant::GgmlType::from_name(ctk).unwrap();
        let s = Settings {
            ctx: Some(c * 1024),
            ubatch: ub,
            batch: ub.max(2048),
            gpu_layers: GpuLayers::Count(ngl),
            flash_attn: if fa { FlashAttn::On } else { FlashAttn::Off },
            cache_type_k: k,
            cache_type_v: if fa { k } else { llmrig_core::quant::GgmlType::F16 },
            no_op_offload: noo,
            ..Settings::default()
        };
        let e = estimate(&w, &sys, &s);
        prop_assume!(e.is_ok(), "refused: {:?}", e.as_ref().err());
        let e = e.unwrap();
        let gpu = &e.memory.devices[0];
        let t = e.resolved.shape.n_tokens;
        if e.offload.gpu_layers > w.spec.n_layer {
            prop_assert!(gpu.compute_bytes >= w.spec.n_vocab * t * 4, "{} < logits", gpu.compute_bytes);
        }
        prop_assert!(gpu.compute_bytes < 1 << 40);
        let splits = llmrig_core::estimate::graph_splits(&w, &sys, &s).unwrap();
        if let Some(n) = splits {
            prop_assert!(n >= 1);
        }
    }
}

/// Every MoE model's active parameters are fewer than its total; dense models use nearly all.
#[test]
fn moe_active_params_below_total() {
    for e in llmrig_catalog::models().all() {
        let w = ModelWeights::new(&e.spec, Quant::parse("Q4_K_M").unwrap());
        if e.spec.n_expert > 1 {
            assert!(w.active_params() < w.params(), "{}", e.spec.id);
            assert!(
                w.active_params() * 2 < w.params(),
                "{}: experts should dominate",
                e.spec.id
            );
        } else {
            assert!(w.active_params() <= w.params(), "{}", e.spec.id);
        }
    }
}
