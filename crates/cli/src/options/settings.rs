//! `estimate`'s flags → the estimator's [`Settings`]. The flags arrive typed (see
//! `args::values`), so nothing here can fail.

use llmrig_core::estimate::{Given, Settings, MAX_CTX};

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
        cpu_build: a.cpu_build,
        hipblaslt: a.hipblaslt,
        force_mmq: a.cuda_force,
        vulkan_driver: a.vulkan_driver,
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

/// A program's own settings from the environment, where it reads them and no flag was given:
/// Ollama's server variables `OLLAMA_CONTEXT_LENGTH`, `OLLAMA_FLASH_ATTENTION`,
/// `OLLAMA_KV_CACHE_TYPE` and `OLLAMA_NUM_PARALLEL` (ollama/ollama envconfig/config.go). They
/// count as given, so the program's defaults do not replace them. Returns a note per variable used,
/// and one per variable whose value was not understood.
pub fn program_env(
    program: llmrig_core::estimate::Program,
    s: &mut Settings,
    given: &mut Given,
    env: &dyn Fn(&str) -> Option<String>,
) -> Vec<String> {
    use llmrig_core::estimate::{FlashAttn, Program};
    use llmrig_core::quant::GgmlType;
    let mut notes = Vec::new();
    if program != Program::Ollama {
        return notes;
    }
    let mut used = |k: &str, v: &str, ok: bool| {
        notes.push(if ok {
            format!("{k}={v} from the environment, as Ollama's server reads it")
        } else {
            format!("{k}={v} in the environment is not a value Ollama takes; ignored")
        });
    };
    if let Some(v) = env("OLLAMA_CONTEXT_LENGTH").filter(|_| !given.ctx) {
        let n = v
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=MAX_CTX).contains(n));
        if let Some(n) = n {
            s.ctx = Some(n);
            given.ctx = true;
        }
        used("OLLAMA_CONTEXT_LENGTH", &v, n.is_some());
    }
    if let Some(v) = env("OLLAMA_FLASH_ATTENTION").filter(|_| !given.flash_attn) {
        let f = match v.trim().to_ascii_lowercase().as_str() {
            "1" | "t" | "true" | "on" => Some(FlashAttn::On),
            "0" | "f" | "false" | "off" => Some(FlashAttn::Off),
            _ => None,
        };
        if let Some(f) = f {
            s.flash_attn = f;
            given.flash_attn = true;
        }
        used("OLLAMA_FLASH_ATTENTION", &v, f.is_some());
    }
    if let Some(v) = env("OLLAMA_KV_CACHE_TYPE") {
        let t = match v.trim().to_ascii_lowercase().as_str() {
            "f16" => Some(GgmlType::F16),
            "q8_0" => Some(GgmlType::Q8_0),
            "q4_0" => Some(GgmlType::Q4_0),
            _ => None,
        };
        if let Some(t) = t {
            if !given.cache_type_k {
                s.cache_type_k = t;
                given.cache_type_k = true;
            }
            if !given.cache_type_v {
                s.cache_type_v = t;
                given.cache_type_v = true;
            }
        }
        used("OLLAMA_KV_CACHE_TYPE", &v, t.is_some());
    }
    if let Some(v) = env("OLLAMA_NUM_PARALLEL").filter(|_| !given.parallel) {
        let n = v
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=1024).contains(n));
        if let Some(n) = n {
            s.parallel = n;
            given.parallel = true;
        }
        used("OLLAMA_NUM_PARALLEL", &v, n.is_some());
    }
    notes
}
