//! Launch commands: the command line or config that reproduces a plan in the user's backend, with
//! each backend's own flag names (llama-server `common/arg.cpp`, Ollama Modelfile parameters,
//! koboldcpp's `--contextsize/--gpulayers`, vLLM's engine arguments, MLX-LM's server flags).

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
        Launcher::Lmstudio => format!(
            "lms load {} --context-length {} --gpu {}",
            p.file,
            p.ctx,
            if p.gpu_layers == 0 { "off".to_string() } else { "max".to_string() }
        ),
        Launcher::Koboldcpp => {
            let mut c = format!("koboldcpp --model {} --contextsize {} --gpulayers {}", p.file, p.ctx, p.gpu_layers);
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
        Launcher::Exllamav2 => format!(
            "python -m exllamav2.server --model_dir {} --max_seq_len {}  # or TabbyAPI: model_name + max_seq_len in config.yml",
            p.hf_repo.unwrap_or(p.file),
            p.ctx
        ),
        Launcher::Mlx => format!(
            "mlx_lm.server --model {} --max-tokens {}",
            p.hf_repo.unwrap_or(p.file),
            p.ctx
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
            flash_attn: true,
            cache_type_k: "q8_0",
            cache_type_v: "q8_0",
            n_cpu_moe: 4,
            placement_args: Vec::new(),
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
                "mlx"
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
