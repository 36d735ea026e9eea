//! Launch commands: the command line or config that reproduces a plan in the user's backend, with
//! each backend's own flag names (llama-server `common/arg.cpp`, Ollama Modelfile parameters,
//! koboldcpp's `--contextsize/--gpulayers`, vLLM's engine arguments, MLX-LM's server flags).

use llmrig_core::estimate::{estimate, Estimate, FlashAttn, GpuLayers, ModelWeights, Settings};
use llmrig_core::quant::GgmlType;
use llmrig_core::quant::Quant;
use llmrig_core::system::{GpuApi, SystemSpec};

/// A plan to launch.
pub struct Plan<'a> {
    /// Model file name (GGUF) or repository; a placeholder when unknown.
    pub file: &'a str,
    /// Hugging Face repository of the unquantized model, when known.
    pub hf_repo: Option<&'a str>,
    /// An Ollama tag for the model, when known.
    pub ollama_tag: Option<&'a str>,
    /// Context.
    pub ctx: u64,
    /// Layers on GPUs.
    pub gpu_layers: u32,
    /// Layers in all (blocks and the output layer), for LM Studio's share of layers.
    pub total_layers: u32,
    /// Flash attention.
    pub flash_attn: bool,
    /// KV cache types.
    pub cache_type_k: &'a str,
    /// KV cache types.
    pub cache_type_v: &'a str,
    /// Expert layers in RAM.
    pub n_cpu_moe: u32,
    /// Parallel sequences.
    pub parallel: u32,
    /// GPUs.
    pub gpus: usize,
    /// MLX quantization bits closest to the plan's quant (4 or 8).
    pub mlx_bits: u32,
    /// Placement flags for llama-server as the user gave them (`-ot`, `-dev`, `-sm none -mg`),
    /// each argument already shell-quoted.
    pub placement_args: Vec<String>,
}

/// `arg` quoted for a POSIX shell when it holds anything beyond plain word characters.
#[must_use]
pub fn shell_quote(arg: &str) -> String {
    if !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.,=:/+-@%".contains(c))
    {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

/// The tools `--launch` writes a command for; the one list of their names (clap lists them in
/// `--help` and takes the aliases and any case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Launcher {
    #[value(name = "llama.cpp", alias = "llama-server", alias = "llamacpp")]
    LlamaCpp,
    Ollama,
    #[value(alias = "lm-studio")]
    Lmstudio,
    Koboldcpp,
    Vllm,
    Sglang,
    Exllamav2,
    Mlx,
    Gpt4all,
    Jan,
    Llamafile,
    #[value(alias = "text-generation-webui", alias = "oobabooga")]
    Textgen,
}

impl Launcher {
    /// The name `--launch` lists first (`llama.cpp`, `ollama`, …).
    #[must_use]
    pub fn name(self) -> String {
        clap::ValueEnum::to_possible_value(&self)
            .map(|v| v.get_name().to_string())
            .unwrap_or_default()
    }
}

/// What `launcher` can run of an estimated plan: the same settings, or where the program cannot
/// keep some experts in RAM (Ollama has no `-ot`/`--n-cpu-moe`; LM Studio keeps all experts in RAM
/// or none), the placement it can do re-estimated, with a note saying what changed. Refuses a
/// program that cannot run the model here, naming what it needs.
///
/// # Errors
/// The program needs other hardware or another weight format.
pub fn adapt(
    launcher: Launcher,
    w: &ModelWeights,
    s: &Settings,
    e: &Estimate,
    sys: &SystemSpec,
) -> Result<(Settings, Estimate, Vec<String>), String> {
    let gguf = matches!(w.quant, Quant::Gguf(_));
    let apis: Vec<GpuApi> = sys.gpus.iter().map(|g| g.api).collect();
    match launcher {
        Launcher::Mlx if !apis.contains(&GpuApi::Metal) => {
            return Err("--launch mlx: MLX runs on Apple silicon only; this machine has no Metal GPU (expected llama.cpp, ollama, lmstudio or koboldcpp here)".into());
        }
        Launcher::Exllamav2
            if !apis
                .iter()
                .any(|a| matches!(a, GpuApi::Cuda | GpuApi::Rocm)) =>
        {
            return Err(
                "--launch exllamav2: ExLlama (TabbyAPI) needs an NVIDIA (CUDA) or AMD (ROCm) GPU"
                    .into(),
            );
        }
        Launcher::Exllamav2 if gguf => {
            return Err(format!(
                "--launch exllamav2: ExLlama loads EXL2/EXL3 folders, not {} GGUF files; estimate with `-q exl2:4.65 --backend exllamav2`",
                w.quant.name()
            ));
        }
        Launcher::Vllm | Launcher::Sglang => {
            return Err(format!(
                "--launch {}: vLLM and SGLang serve safetensors checkpoints (bf16, fp8, AWQ, GPTQ) across GPUs; `llmrig plan {} -q fp8 --engine {}` plans the server and prints its command",
                launcher.name(),
                w.spec.id,
                launcher.name()
            ));
        }
        _ => {}
    }
    let experts_in_ram = e.resolved.n_cpu_moe > 0 || !s.tensor_overrides.is_empty();
    let replan = |n_cpu_moe: u32| -> Result<(Settings, Estimate), String> {
        let t = Settings {
            n_cpu_moe,
            auto_cpu_moe: false,
            tensor_overrides: Vec::new(),
            gpu_layers: GpuLayers::Auto,
            ctx: Some(e.resolved.ctx),
            ..s.clone()
        };
        let e2 = estimate(w, sys, &t).map_err(|err| err.to_string())?;
        Ok((t, e2))
    };
    let tps = |e: &Estimate| e.performance.decode_tokens_per_s;
    let total = e.offload.total_layers;
    let fails = |e2: &Estimate| {
        if e2.verdict == llmrig_core::estimate::Verdict::DoesNotFit {
            "; it does not fit this way"
        } else {
            ""
        }
    };
    // Ollama, Jan: no -ot or --n-cpu-moe, so whole layers on the GPU instead.
    let whole_layers = |program: &str| -> Result<(Settings, Estimate, Vec<String>), String> {
        let (t, e2) = replan(0)?;
        let note = format!(
            "{program} cannot keep MoE experts in RAM (no -ot or --n-cpu-moe): {} of {total} layers on the GPU instead, ~{:.0} tok/s where llama.cpp's plan makes ~{:.0}{}",
            e2.offload.gpu_layers,
            tps(&e2),
            tps(e),
            fails(&e2)
        );
        Ok((t, e2, vec![note]))
    };
    match launcher {
        Launcher::Jan if experts_in_ram => whole_layers("Jan"),
        // GPT4All never sets flash attention or a KV cache type (gpt4all-backend llamamodel.cpp):
        // a plan that uses them is estimated again without.
        Launcher::Gpt4all
            if experts_in_ram
                || e.resolved.flash_attn
                || s.cache_type_k != GgmlType::F16
                || s.cache_type_v != GgmlType::F16 =>
        {
            let t = Settings {
                n_cpu_moe: 0,
                auto_cpu_moe: false,
                tensor_overrides: Vec::new(),
                gpu_layers: GpuLayers::Auto,
                ctx: Some(e.resolved.ctx),
                flash_attn: FlashAttn::Off,
                cache_type_k: GgmlType::F16,
                cache_type_v: GgmlType::F16,
                ..s.clone()
            };
            let e2 = estimate(w, sys, &t).map_err(|err| err.to_string())?;
            let note = format!(
                "GPT4All runs without flash attention, with an f16 KV cache and whole layers on the GPU: {} of {total} layers, ~{:.0} tok/s{}",
                e2.offload.gpu_layers,
                tps(&e2),
                fails(&e2)
            );
            Ok((t, e2, vec![note]))
        }
        Launcher::Ollama if experts_in_ram => whole_layers("Ollama"),
        Launcher::Lmstudio if experts_in_ram => {
            let (t, e2) = replan(u32::MAX)?;
            let note = format!(
                "in LM Studio's load settings turn on \"Force Model Expert Weights onto CPU\" (`lms load` has no flag for it); it keeps all experts in RAM, not some: {} of {total} layers' attention on the GPU, ~{:.0} tok/s",
                e2.offload.gpu_layers,
                tps(&e2)
            );
            Ok((t, e2, vec![note]))
        }
        _ => Ok((s.clone(), e.clone(), Vec::new())),
    }
}

/// The command that starts plan `p` in `launcher`.
#[must_use]
pub fn command(launcher: Launcher, p: &Plan<'_>) -> String {
    let fa = if p.flash_attn { "on" } else { "off" };
    match launcher {
        Launcher::LlamaCpp => {
            let mut c = format!("llama-server -m {} -c {} -ngl {} -fa {}", p.file, p.ctx, p.gpu_layers, fa);
            if p.cache_type_k != "f16" || p.cache_type_v != "f16" {
                c.push_str(&format!(" -ctk {} -ctv {}", p.cache_type_k, p.cache_type_v));
            }
            if p.n_cpu_moe > 0 {
                c.push_str(&format!(" --n-cpu-moe {}", p.n_cpu_moe));
            }
            if p.parallel > 1 {
                c.push_str(&format!(" -np {}", p.parallel));
            }
            for a in &p.placement_args {
                c.push(' ');
                c.push_str(a);
            }
            c
        }
        Launcher::Ollama => {
            let from = p.ollama_tag.unwrap_or(p.file);
            let mut c = format!("# Modelfile\nFROM {from}\nPARAMETER num_ctx {}\nPARAMETER num_gpu {}", p.ctx, p.gpu_layers);
            if p.cache_type_k != "f16" {
                c.push_str(&format!(
                    "\n# KV cache type and flash attention are server settings:\n# OLLAMA_FLASH_ATTENTION=1 OLLAMA_KV_CACHE_TYPE={} ollama serve",
                    p.cache_type_k
                ));
            }
            c.push_str("\n# then: ollama create mymodel -f Modelfile && ollama run mymodel");
            c
        }
        // `lms load --gpu` takes off, max or the share of layers (lmstudio.ai/docs/cli/load).
        Launcher::Lmstudio => format!(
            "lms load {} --context-length {} --gpu {}",
            p.file,
            p.ctx,
            match p.gpu_layers {
                0 => "off".to_string(),
                n if n >= p.total_layers => "max".to_string(),
                n => format!("{:.2}", f64::from(n) / f64::from(p.total_layers.max(1))),
            }
        ),
        Launcher::Koboldcpp => {
            let mut c = format!("koboldcpp --model {} --contextsize {} --gpulayers {}", p.file, p.ctx, p.gpu_layers);
            // koboldcpp's --moecpu N keeps the experts of the first N layers on the CPU
            // (llama.cpp's --n-cpu-moe); --overridetensors takes llama.cpp's -ot patterns.
            if p.n_cpu_moe > 0 {
                c.push_str(&format!(" --moecpu {}", p.n_cpu_moe));
            }
            for pair in p.placement_args.windows(2).filter(|w| w[0] == "-ot") {
                c.push_str(&format!(" --overridetensors {}", pair[1]));
            }
            if p.flash_attn {
                c.push_str(" --flashattention");
            }
            if p.cache_type_k == "q8_0" {
                c.push_str(" --quantkv 1");
            } else if p.cache_type_k == "q4_0" {
                c.push_str(" --quantkv 2");
            }
            c
        }
        Launcher::Vllm => format!(
            "vllm serve {} --tensor-parallel-size {} --max-model-len {} --gpu-memory-utilization 0.90",
            p.hf_repo.unwrap_or(p.file),
            p.gpus.max(1),
            p.ctx
        ),
        Launcher::Sglang => format!(
            "python -m sglang.launch_server --model-path {} --tp {} --context-length {}",
            p.hf_repo.unwrap_or(p.file),
            p.gpus.max(1),
            p.ctx
        ),
        // ExLlama is served by TabbyAPI (theroyallab/tabbyAPI): every config.yml key is also a
        // `--key` argument (common/args.py), the model a folder under its models directory.
        Launcher::Exllamav2 => {
            let cache = match p.cache_type_k {
                "q8_0" => "Q8",
                "q4_0" => "Q4",
                _ => "FP16",
            };
            format!(
                "cd tabbyAPI && python main.py --model-name {} --max-seq-len {} --cache-mode {cache}",
                p.hf_repo
                    .map_or(p.file, |r| r.rsplit('/').next().unwrap_or(r)),
                p.ctx
            )
        }
        // llamafile 0.10 is llama.cpp's server in one executable, with its flags: a `.llamafile`
        // runs itself, a GGUF through the `llamafile` program (mozilla-ai/llamafile
        // docs/cli_arguments.md).
        Launcher::Llamafile => {
            let mut c = if p.file.to_ascii_lowercase().ends_with(".llamafile") {
                format!("./{} --server", p.file.rsplit('/').next().unwrap_or(p.file))
            } else {
                format!("llamafile --server -m {}", p.file)
            };
            c.push_str(&format!(" -c {} -ngl {} -fa {fa}", p.ctx, p.gpu_layers));
            if p.cache_type_k != "f16" || p.cache_type_v != "f16" {
                c.push_str(&format!(" -ctk {} -ctv {}", p.cache_type_k, p.cache_type_v));
            }
            if p.n_cpu_moe > 0 {
                c.push_str(&format!(" --n-cpu-moe {}", p.n_cpu_moe));
            }
            for a in &p.placement_args {
                c.push(' ');
                c.push_str(a);
            }
            c
        }
        // text-generation-webui's llama.cpp loader (modules/shared.py): the model a file in
        // `user_data/models`; flash attention is always on there; other llama-server flags pass
        // through --extra-flags.
        Launcher::Textgen => {
            let name = p.file.rsplit('/').next().unwrap_or(p.file);
            let mut c = format!(
                "# copy {name} into text-generation-webui/user_data/models, then:\npython server.py --model {name} --loader llama.cpp --ctx-size {} --gpu-layers {} --api",
                p.ctx, p.gpu_layers
            );
            if p.cache_type_k != "f16" {
                c.push_str(&format!(" --cache-type {}", p.cache_type_k));
            }
            if p.n_cpu_moe > 0 {
                c.push_str(&format!(" --extra-flags n-cpu-moe={}", p.n_cpu_moe));
            }
            c
        }
        // GPT4All and Jan are desktop apps: the settings to set, by their names in the app
        // (GPT4All: Settings > Model, gpt4all-chat/src/qml/ModelSettings.qml; Jan: the model's
        // llama.cpp settings, extensions/llamacpp-extension/settings.json).
        Launcher::Gpt4all => format!(
            "# GPT4All: put {} in its models folder (Settings > Application > Download Path)\n# Settings > Model: Context Length {}, GPU Layers {}\n# Settings > Application > Advanced: Enable Local API Server (port 4891)",
            p.file.rsplit('/').next().unwrap_or(p.file),
            p.ctx,
            p.gpu_layers
        ),
        Launcher::Jan => {
            let mut c = format!(
                "# Jan: Settings > Model Providers > Llama.cpp > Import {}\n# the model's settings: Context Size {}, GPU Layers {}, Flash Attention {fa}",
                p.file.rsplit('/').next().unwrap_or(p.file),
                p.ctx,
                p.gpu_layers
            );
            if p.cache_type_k != "f16" || p.cache_type_v != "f16" {
                c.push_str(&format!(
                    ", KV Cache K Type {}, KV Cache V Type {}",
                    p.cache_type_k, p.cache_type_v
                ));
            }
            c.push_str("\n# Settings > Local API Server: Start Server (port 1337)");
            c
        }
        // MLX-LM serves MLX weights; `mlx_lm.convert -q` makes them from the Hugging Face
        // checkpoint at the plan's bits. Its server sizes the KV cache as it grows (no context flag).
        Launcher::Mlx => format!(
            "mlx_lm.convert --hf-path {} -q --q-bits {} --mlx-path mlx_model && mlx_lm.server --model mlx_model",
            p.hf_repo.unwrap_or(p.file),
            p.mlx_bits
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan<'static> {
        Plan {
            file: "Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf",
            hf_repo: Some("meta-llama/Llama-3.1-8B-Instruct"),
            ollama_tag: Some("llama3.1:8b"),
            ctx: 8192,
            gpu_layers: 33,
            total_layers: 33,
            flash_attn: true,
            cache_type_k: "q8_0",
            cache_type_v: "q8_0",
            n_cpu_moe: 4,
            placement_args: Vec::new(),
            mlx_bits: 4,
            parallel: 1,
            gpus: 2,
        }
    }

    #[test]
    fn llama_server_flags_are_llama_cpp_names() {
        let c = command(Launcher::LlamaCpp, &plan());
        assert_eq!(
            c,
            "llama-server -m Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf -c 8192 -ngl 33 -fa on -ctk q8_0 -ctv q8_0 --n-cpu-moe 4"
        );
    }

    #[test]
    fn launchers_are_named_as_before() {
        use clap::ValueEnum;
        let names: Vec<String> = Launcher::value_variants()
            .iter()
            .filter_map(|l| l.to_possible_value())
            .map(|v| v.get_name().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "llama.cpp",
                "ollama",
                "lmstudio",
                "koboldcpp",
                "vllm",
                "sglang",
                "exllamav2",
                "mlx",
                "gpt4all",
                "jan",
                "llamafile",
                "textgen"
            ]
        );
        for (alias, l) in [
            ("llama-server", Launcher::LlamaCpp),
            ("LlamaCpp", Launcher::LlamaCpp),
            ("LM-Studio", Launcher::Lmstudio),
        ] {
            assert_eq!(Launcher::from_str(alias, true), Ok(l), "{alias}");
        }
        assert!(command(Launcher::Vllm, &plan()).contains("--tensor-parallel-size 2"));
        assert!(command(Launcher::Ollama, &plan()).contains("PARAMETER num_ctx 8192"));
    }
}
