//! llama.cpp with CUDA, measured: every buffer that llama.cpp 0c1e57098 logged on an NVIDIA H200
//! for the Llama-3.1-8B- and Qwen3-30B-A3B-shaped files (tests/data/h200-memory.csv: `-ngl 99`,
//! `-ngl 20`, `-ngl 0`, `-nkvo`, ubatch 512 and 2048, f16 and q8_0 caches, 16k depth, prompt and
//! generation graphs): weights, KV, output, and the `CUDA0` and `CUDA_Host` compute buffers from
//! the scheduler replay, each within max(1 MiB, 1%). Each failure names the CSV row.

use std::collections::BTreeMap;

use llmrig_core::estimate::{FlashAttn, GpuLayers, Settings};
use llmrig_core::quant::GgmlType;

use crate::common::{machine, run, spec, weights, MIB};

const CSV: &str = include_str!("../data/h200-memory.csv");

/// One logged buffer.
struct Row {
    line: usize,
    model: String,
    quant: String,
    ngl: u32,
    flash_attn: bool,
    n_ctx: u64,
    n_batch: u64,
    n_ubatch: u64,
    type_k: String,
    type_v: String,
    extra: String,
    buffer: String,
    mib: f64,
}

/// Splits one CSV line, honouring double quotes.
fn fields(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(String::new()),
            c => out.last_mut().unwrap().push(c),
        }
    }
    out
}

fn rows() -> Vec<Row> {
    let mut lines = CSV.lines().enumerate();
    let header = fields(lines.next().unwrap().1);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (model, quant, ngl, fa) = (col("model"), col("quant"), col("ngl"), col("flash_attn"));
    let (ctx, batch, ubatch) = (col("n_ctx"), col("n_batch"), col("n_ubatch"));
    let (tk, tv, extra, buffer, value) = (
        col("type_k"),
        col("type_v"),
        col("extra_flags"),
        col("buffer"),
        col("value_mib"),
    );
    lines
        .map(|(i, l)| (i + 1, fields(l)))
        .filter(|(_, f)| f[extra].starts_with("llama-bench test"))
        .map(|(line, f)| Row {
            line,
            model: f[model].clone(),
            quant: f[quant].clone(),
            ngl: f[ngl].parse().unwrap(),
            flash_attn: f[fa] == "1",
            n_ctx: f[ctx].parse().unwrap(),
            n_batch: f[batch].parse().unwrap(),
            n_ubatch: f[ubatch].parse().unwrap(),
            type_k: f[tk].clone(),
            type_v: f[tv].clone(),
            extra: f[extra].clone(),
            buffer: f[buffer].clone(),
            mib: f[value].parse().unwrap(),
        })
        .collect()
}

#[test]
fn every_logged_buffer_on_an_h200() {
    let rows = rows();
    assert!(rows.len() >= 90, "only {} rows read", rows.len());
    // One estimate per logged test (the runs' flags), then every buffer of it.
    let mut runs: BTreeMap<String, Vec<&Row>> = BTreeMap::new();
    for r in &rows {
        let key = format!(
            "{} {} ngl {} ctx {} b {} ub {} {}/{} {}",
            r.model, r.quant, r.ngl, r.n_ctx, r.n_batch, r.n_ubatch, r.type_k, r.type_v, r.extra
        );
        runs.entry(key).or_default().push(r);
    }
    let (llama, qwen) = (spec("llama-3.1-8b"), spec("qwen3-30b-a3b"));
    let mut checked = 0;
    let mut failures = Vec::new();
    for rs in runs.values() {
        let r0 = rs[0];
        let moe = r0.model.starts_with("Qwen3-30B-A3B");
        let w = if moe {
            synthetic_all_q4_0(&qwen)
        } else {
            weights(&llama, &r0.quant)
        };
        let s = Settings {
            ctx: Some(r0.n_ctx),
            batch: r0.n_batch,
            ubatch: r0.n_ubatch,
            gpu_layers: GpuLayers::Count(r0.ngl),
            flash_attn: if r0.flash_attn {
                FlashAttn::On
            } else {
                FlashAttn::Off
            },
            cache_type_k: GgmlType::from_name(&r0.type_k).unwrap(),
            cache_type_v: GgmlType::from_name(&r0.type_v).unwrap(),
            no_kv_offload: r0.extra.contains("-nkvo 1"),
            ..Settings::default()
        };
        let e = run(&w, &machine(1), &s);
        let (gpu, cpu) = (&e.memory.devices[0], &e.memory.devices[1]);
        // No run logged a CPU_REPACK buffer: with a CUDA GPU, CPU weights stay in the mapped file.
        if cpu.repack_bytes != 0 {
            failures.push(format!(
                "{} -ngl {}: llmrig repacks {} bytes, llama.cpp logged no CPU_REPACK buffer",
                r0.quant, r0.ngl, cpu.repack_bytes
            ));
        }
        for r in rs {
            let got = match r.buffer.as_str() {
                "CPU_Mapped model" => cpu.mapped_bytes,
                "CUDA0 model" => gpu.weights_bytes,
                "CPU KV" => cpu.kv_cache_bytes,
                "CUDA0 KV" => gpu.kv_cache_bytes,
                "CUDA_Host output" | "CPU output" => e.memory.output_bytes,
                "CUDA0 compute" => gpu.compute_bytes,
                "CUDA_Host compute" => cpu.compute_bytes,
                other => {
                    failures.push(format!(
                        "h200-memory.csv line {}: unknown buffer {other}",
                        r.line
                    ));
                    continue;
                }
            };
            checked += 1;
            #[allow(clippy::cast_precision_loss)]
            let got_mib = got as f64 / MIB;
            let tol = (r.mib * 0.01).max(1.0);
            if (got_mib - r.mib).abs() > tol {
                failures.push(format!(
                    "h200-memory.csv line {}: {} {} {} -ngl {}: llmrig {got_mib:.2} MiB, llama.cpp {:.2} MiB ({})",
                    r.line, r.model, r.quant, r.buffer, r.ngl, r.mib, r.extra
                ));
            }
        }
    }
    assert!(checked >= 90, "only {checked} buffers checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The synthetic Qwen3-30B-A3B file of the H200 runs stores every tensor as Q4_0, the output
/// matrix included (its README), which llama-quantize would not do.
fn synthetic_all_q4_0(sp: &llmrig_core::model::ModelSpec) -> llmrig_core::estimate::ModelWeights {
    let mut w = weights(sp, "Q4_0");
    for t in &mut w.tensors {
        if t.info.n_dims() >= 2 && t.ggml_type.is_some() {
            t.ggml_type = Some(GgmlType::Q4_0);
            t.bytes = GgmlType::Q4_0.row_size(t.info.ne[0]) * t.info.ne[1] * t.info.ne[2];
        }
    }
    w
}
/// The scheduler's graph splits, as the same runs logged them (`sched_reserve: graph ... splits =
/// N` in tests/data's logs, /work/shared/data/llamacpp-cuda/h200-logs.tgz): the structure behind
/// the compute buffers above. Prompt graphs of ubatch 512 unless said.
#[test]
fn graph_splits_match_the_h200_logs() {
    let llama = spec("llama-3.1-8b");
    let w = weights(&llama, "Q4_K_M");
    let base = Settings {
        ctx: Some(512),
        gpu_layers: GpuLayers::Count(99),
        flash_attn: FlashAttn::On,
        ..Settings::default()
    };
    // (log, settings, splits)
    let cases = [
        ("q4km-ngl99-fa1.err", base.clone(), 2),
        (
            "q4km-ngl20-fa1.err",
            Settings {
                gpu_layers: GpuLayers::Count(20),
                ..base.clone()
            },
            159,
        ),
        (
            "q4km-ngl20-fa1.err (tg16: ubatch 16)",
            Settings {
                ctx: Some(256),
                batch: 16,
                ubatch: 16,
                gpu_layers: GpuLayers::Count(20),
                ..base.clone()
            },
            2,
        ),
        (
            "q4km-ngl0-fa1.err",
            Settings {
                gpu_layers: GpuLayers::Count(0),
                ..base.clone()
            },
            389,
        ),
        (
            "q4km-ngl0-fa1.err (tg16: ubatch 16)",
            Settings {
                ctx: Some(256),
                batch: 16,
                ubatch: 16,
                gpu_layers: GpuLayers::Count(0),
                ..base.clone()
            },
            1,
        ),
        (
            "q4km-ngl99-nkvo-fa1.err",
            Settings {
                no_kv_offload: true,
                ..base.clone()
            },
            66,
        ),
        (
            "q4km-ngl99-d16k-q8kv-fa1.err",
            Settings {
                ctx: Some(16896),
                batch: 2048,
                cache_type_k: GgmlType::Q8_0,
                cache_type_v: GgmlType::Q8_0,
                ..base.clone()
            },
            2,
        ),
    ];
    let sys = machine(1);
    for (log, s, want) in cases {
        let got = llmrig_core::estimate::graph_splits(&w, &sys, &s).unwrap();
        assert_eq!(got, Some(want), "{log}");
    }
    let qwen = spec("qwen3-30b-a3b");
    let got = llmrig_core::estimate::graph_splits(&synthetic_all_q4_0(&qwen), &sys, &base).unwrap();
    assert_eq!(got, Some(2), "moe-ngl99-fa1.err");
}
