//! `estimate`'s flags → the estimator's [`Settings`]. The flags arrive typed (see
//! `args::values`), so nothing here can fail.

use llmrig_core::estimate::{Given, Settings};

use crate::args::EstimateArgs;

/// Which of the settings a `--backend` program sets by default the user gave a flag for.
pub fn given(a: &EstimateArgs) -> Given {
    Given {
        ctx: a.ctx.is_some(),
        batch: a.batch.is_some(),
        ubatch: a.ubatch.is_some(),
        flash_attn: a.flash_attn.is_some(),
        cache_type_k: a.cache_type_k.is_some(),
        cache_type_v: a.cache_type_v.is_some(),
        gpu_layers: a.gpu_layers.is_some(),
        parallel: a.parallel.is_some(),
    }
}

/// Builds the estimator's settings from `estimate`'s flags, with llama.cpp's defaults for the
/// flags not given (a `--backend` program's replace them later, once the machine is known).
pub fn settings(a: &EstimateArgs) -> Settings {
    let d = Settings::default();
    Settings {
        backend: a.backend.engine,
        ctx: a.ctx,
        batch: a.batch.unwrap_or(d.batch),
        ubatch: a.ubatch.unwrap_or(d.ubatch),
        gpu_layers: a.gpu_layers.unwrap_or(d.gpu_layers),
        flash_attn: a.flash_attn.map_or(d.flash_attn, Into::into),
        cache_type_k: a.cache_type_k.unwrap_or(d.cache_type_k),
        cache_type_v: a.cache_type_v.unwrap_or(d.cache_type_v),
        parallel: a.parallel.unwrap_or(d.parallel),
        kv_unified: a.kv_unified,
        swa_full: a.swa_full,
        n_cpu_moe: if a.cpu_moe {
            u32::MAX
        } else {
            a.n_cpu_moe.unwrap_or(0)
        },
        tensor_overrides: a
            .override_tensor
            .iter()
            .flat_map(|o| o.0.iter().cloned())
            .collect(),
        auto_cpu_moe: !a.cpu_moe && a.n_cpu_moe.is_none(),
        no_kv_offload: a.no_kv_offload,
        no_op_offload: a.no_op_offload,
        tensor_split: a
            .tensor_split
            .as_ref()
            .map(|p| p.0.clone())
            .unwrap_or_default(),
        split_mode: a.split_mode.into(),
        main_gpu: a.main_gpu.map_or(0, |g| g as usize),
        fit_margin_bytes: a.fit_target.saturating_mul(1 << 20),
        fit_min_ctx: a.fit_ctx.max(1),
        llama_cpp: a.llama_cpp,
        good_tps: a.good_tps,
        usable_tps: a.usable_tps,
        prompt: a.prompt,
        gen: a.gen,
        depth: a.depth,
        threads: a.threads,
    }
}

/// `-dev`: keeps the listed GPUs of the machine, in that order, and renumbers the `-ot` devices
/// to match (llama.cpp names devices by their index before `-dev` chooses among them).
///
/// # Errors
/// A listed GPU the machine does not have, or an `-ot` device `-dev` leaves out.
pub fn apply_devices(
    sys: &mut llmrig_core::system::SystemSpec,
    s: &mut Settings,
    list: &crate::args::values::DeviceList,
) -> anyhow::Result<()> {
    let n = sys.gpus.len();
    if let Some(&i) = list.0.iter().find(|&&i| i >= n) {
        anyhow::bail!(
            "-dev: GPU {i} is not on this machine (expected one of its {n} GPUs, 0..{n}, or `none`)"
        );
    }
    for o in &mut s.tensor_overrides {
        if let Some(g) = o.device {
            let Some(pos) = list.0.iter().position(|&i| i == g) else {
                anyhow::bail!("-ot {}: GPU {g} is not among the -dev devices", o.pattern);
            };
            o.device = Some(pos);
        }
    }
    sys.gpus = list.0.iter().map(|&i| sys.gpus[i].clone()).collect();
    Ok(())
}
