//! llama.cpp with CUDA, measured: every weight, KV and output buffer that llama.cpp 0c1e57098 logged
//! on an NVIDIA H200 for the Llama-3.1-8B-shaped files (tests/data/h200-memory.csv: `-ngl 99`,
//! `-ngl 20`, `-ngl 0`, `-nkvo`, ubatch 512 and 2048, f16 and q8_0 caches, 16k depth), each within
//! max(1 MiB, 1%). Each failure names the CSV row. The CUDA compute buffers of the same runs are
//! not checked here yet: llmrig's closed form for them is known to be off (issue 12).

use std::collections::BTreeMap;

use llmrig_core::estimate::{FlashAttn, GpuLayers, Settings};
use llmrig_core::quant::GgmlType;

use crate::common::{machine, run, spec, weights, MIB};

const CSV: &str = include_str!("../data/h200-memory.csv");

/// One logged buffer.
struct Row {
    line: usize,
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
        .filter(|(_, f)| {
            f[model].starts_with("Llama-3.1-8B") && f[extra].starts_with("llama-bench test")
        })
        .map(|(line, f)| Row {
            line,
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
fn llama_8b_weight_kv_and_output_buffers_on_an_h200() {
    let rows = rows();
    assert!(rows.len() >= 70, "only {} rows read", rows.len());
    // One estimate per logged test (the runs' flags), then every buffer of it.
    let mut runs: BTreeMap<String, Vec<&Row>> = BTreeMap::new();
    for r in &rows {
        let key = format!(
            "{} ngl {} ctx {} b {} ub {} {}/{} {}",
            r.quant, r.ngl, r.n_ctx, r.n_batch, r.n_ubatch, r.type_k, r.type_v, r.extra
        );
        runs.entry(key).or_default().push(r);
    }
    let sp = spec("llama-3.1-8b");
    let mut checked = 0;
    let mut failures = Vec::new();
    for rs in runs.values() {
        let r0 = rs[0];
        let w = weights(&sp, &r0.quant);
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
                _ => continue, // compute buffers: issue 12
            };
            checked += 1;
            #[allow(clippy::cast_precision_loss)]
            let got_mib = got as f64 / MIB;
            let tol = (r.mib * 0.01).max(1.0);
            if (got_mib - r.mib).abs() > tol {
                failures.push(format!(
                    "h200-memory.csv line {}: {} {} -ngl {}: llmrig {got_mib:.2} MiB, llama.cpp {:.2} MiB ({})",
                    r.line, r.quant, r.buffer, r.ngl, r.mib, r.extra
                ));
            }
        }
    }
    assert!(checked >= 50, "only {checked} buffers checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
