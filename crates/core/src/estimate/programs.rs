//! The programs built on llama.cpp and the settings each applies when the user sets none: the
//! same engine and allocation rules, different defaults (context, batch, flash attention, KV cache
//! type, GPU layers, parallel sequences). `--backend PROGRAM` estimates with them; every flag the
//! user gives still wins. Each default carries its source.

use serde::Serialize;

use crate::quant::GgmlType;

use super::settings::{FlashAttn, GpuLayers, Settings};

/// A program that runs GGUF models on llama.cpp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Program {
    /// llama.cpp's own `llama-server` (its defaults are [`Settings::default`]).
    #[default]
    #[serde(rename = "llama.cpp")]
    LlamaCpp,
    /// Ollama.
    Ollama,
    /// LM Studio.
    Lmstudio,
    /// koboldcpp.
    Koboldcpp,
    /// GPT4All (desktop app).
    Gpt4all,
    /// Jan.
    Jan,
    /// llamafile.
    Llamafile,
    /// text-generation-webui (oobabooga), llama.cpp loader.
    Textgen,
}

/// Every program, in the order `--backend` lists them.
pub const PROGRAMS: [Program; 8] = [
    Program::LlamaCpp,
    Program::Ollama,
    Program::Lmstudio,
    Program::Koboldcpp,
    Program::Gpt4all,
    Program::Jan,
    Program::Llamafile,
    Program::Textgen,
];

/// One default a program applies, with where it is documented or set in its source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Default {
    /// The setting as the program names it (`num_ctx`, `--contextsize`, `Context Length`).
    pub setting: &'static str,
    /// Its default there, in words (`4096 below 23 GiB of VRAM …`).
    pub value: &'static str,
    /// Where the program says so (repository file at a commit, or its documentation).
    pub source: &'static str,
}

/// What a program sets, `None` where it keeps llama.cpp's own default.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProgramDefaults {
    /// Context in tokens (`None`: the model's trained length, fitted down like `--fit`).
    pub ctx: Option<u64>,
    /// `-b`.
    pub batch: Option<u64>,
    /// `-ub`.
    pub ubatch: Option<u64>,
    /// `-fa`.
    pub flash_attn: Option<FlashAttn>,
    /// `-ctk` and `-ctv`.
    pub cache_type: Option<GgmlType>,
    /// `-ngl`.
    pub gpu_layers: Option<GpuLayers>,
    /// `-np`: sequences the KV cache is sized for.
    pub parallel: Option<u32>,
    /// `-kvu`: the sequences share one KV pool of the context's size.
    pub kv_unified: Option<bool>,
    /// `--fit-ctx`: the smallest context the fit shrinks to.
    pub fit_min_ctx: Option<u64>,
    /// `--fit-target`: memory the fit leaves free per GPU, bytes.
    pub fit_margin_bytes: Option<u64>,
    /// The port its server listens on by default.
    pub port: u16,
    /// The APIs it serves there (`openai` at `/v1`, `ollama` at `/api`, `kobold` at `/api/v1`).
    pub apis: &'static [&'static str],
    /// Each default with its source, for the estimate's notes.
    pub sources: Vec<Default>,
}

impl Program {
    /// Parses a `--backend` program name (`ollama`, `lm-studio`, `kobold`, `oobabooga` …).
    #[must_use]
    pub fn parse(s: &str) -> Option<Program> {
        Some(
            match s.to_ascii_lowercase().replace(['-', '_', ' '], "").as_str() {
                "llama.cpp" | "llamacpp" | "llamaserver" => Program::LlamaCpp,
                "ollama" => Program::Ollama,
                "lmstudio" | "lms" => Program::Lmstudio,
                "koboldcpp" | "kobold" => Program::Koboldcpp,
                "gpt4all" => Program::Gpt4all,
                "jan" => Program::Jan,
                "llamafile" => Program::Llamafile,
                "textgen" | "textgenerationwebui" | "oobabooga" | "textgenwebui" => {
                    Program::Textgen
                }
                _ => return None,
            },
        )
    }

    /// The name `--backend` lists.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Program::LlamaCpp => "llama.cpp",
            Program::Ollama => "ollama",
            Program::Lmstudio => "lmstudio",
            Program::Koboldcpp => "koboldcpp",
            Program::Gpt4all => "gpt4all",
            Program::Jan => "jan",
            Program::Llamafile => "llamafile",
            Program::Textgen => "textgen",
        }
    }

    /// The settings this program applies by default on a machine with `vram_bytes` of GPU memory
    /// in all (Ollama sizes its context by it).
    #[must_use]
    pub fn defaults(self, vram_bytes: u64) -> ProgramDefaults {
        of(self, vram_bytes)
    }

    /// `s` with this program's defaults in place of llama.cpp's for every setting the user left
    /// alone (`given` says which they set), on a machine with `vram_bytes` of GPU memory, for a
    /// model trained to `train_ctx` tokens (a program's default context never exceeds it).
    pub fn apply(self, s: &mut Settings, given: &Given, vram_bytes: u64, train_ctx: u64) {
        let d = self.defaults(vram_bytes);
        if !given.ctx {
            if let Some(c) = d.ctx {
                s.ctx = Some(if train_ctx > 0 { c.min(train_ctx) } else { c });
            }
        }
        if self == Program::Ollama {
            // Ollama picks num_batch from the context (512, 1024 past 4k, 2048 past 32k) and
            // passes it as both -b and -ub (server/sched.go, llm/llama_server.go appendBatchArgs).
            let ctx = s.ctx.unwrap_or(4096);
            let b = if ctx > 32_768 {
                2048
            } else if ctx > 4096 {
                1024
            } else {
                512
            };
            if !given.batch {
                s.batch = b;
            }
            if !given.ubatch {
                s.ubatch = if given.batch { s.batch.min(b) } else { b };
            }
        }
        set(given.batch, d.batch, &mut s.batch);
        set(given.ubatch, d.ubatch, &mut s.ubatch);
        set(given.flash_attn, d.flash_attn, &mut s.flash_attn);
        set(given.cache_type_k, d.cache_type, &mut s.cache_type_k);
        set(given.cache_type_v, d.cache_type, &mut s.cache_type_v);
        set(given.gpu_layers, d.gpu_layers, &mut s.gpu_layers);
        set(given.parallel, d.parallel, &mut s.parallel);
        set(given.parallel, d.kv_unified, &mut s.kv_unified);
        set(false, d.fit_min_ctx, &mut s.fit_min_ctx);
        set(false, d.fit_margin_bytes, &mut s.fit_margin_bytes);
    }
}

/// `value` into `to` where the program has one and the user gave none.
fn set<T>(given: bool, value: Option<T>, to: &mut T) {
    if let (false, Some(v)) = (given, value) {
        *to = v;
    }
}

/// Which settings the user gave (a program's default applies to the others).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[allow(clippy::struct_excessive_bools)]
pub struct Given {
    /// `-c`.
    pub ctx: bool,
    /// `-b`.
    pub batch: bool,
    /// `-ub`.
    pub ubatch: bool,
    /// `-fa`.
    pub flash_attn: bool,
    /// `-ctk`.
    pub cache_type_k: bool,
    /// `-ctv`.
    pub cache_type_v: bool,
    /// `-ngl`.
    pub gpu_layers: bool,
    /// `-np`.
    pub parallel: bool,
}

const GIB: u64 = 1 << 30;

/// The defaults of each program (sources in each row; versions: Ollama v0.33, LM Studio's SDK
/// schema of 2026, koboldcpp 1.11x, GPT4All 3.10, Jan of May 2026, llamafile 0.10,
/// text-generation-webui 4.7, llama.cpp of late 2026).
#[allow(clippy::too_many_lines)]
fn of(p: Program, vram_bytes: u64) -> ProgramDefaults {
    let d = |setting, value, source| Default {
        setting,
        value,
        source,
    };
    let base = ProgramDefaults {
        ctx: None,
        batch: None,
        ubatch: None,
        flash_attn: None,
        cache_type: None,
        gpu_layers: None,
        parallel: None,
        kv_unified: None,
        fit_min_ctx: None,
        fit_margin_bytes: None,
        port: 8080,
        apis: &["openai"],
        sources: Vec::new(),
    };
    match p {
        Program::LlamaCpp => ProgramDefaults {
            sources: vec![d(
                "-c, -b, -ub, -fa, -ngl, -np",
                "0 (the model's, fitted down to --fit-ctx 4096), 2048, 512, auto, auto (--fit on), auto (4 slots sharing one KV pool)",
                "ggml-org/llama.cpp common/common.h and tools/server/README.md",
            )],
            ..base
        },
        Program::Ollama => ProgramDefaults {
            // server/routes.go: 4k below 23 GiB of VRAM in all, 32k below 47 GiB, 256k above;
            // capped at the model's trained context (llm/server.go).
            ctx: Some(if vram_bytes >= 47 * GIB {
                262_144
            } else if vram_bytes >= 23 * GIB {
                32_768
            } else {
                4096
            }),
            flash_attn: Some(FlashAttn::Auto),
            cache_type: Some(GgmlType::F16),
            gpu_layers: Some(GpuLayers::Auto),
            parallel: Some(1),
            kv_unified: Some(false),
            port: 11434,
            apis: &["ollama", "openai"],
            sources: vec![
                d("OLLAMA_CONTEXT_LENGTH / num_ctx", "4096 below 23 GiB of VRAM in all, 32768 below 47 GiB, 262144 above, at most the model's", "ollama/ollama@fb307609 server/routes.go"),
                d("num_batch", "512; 1024 past 4k of context, 2048 past 32k; passed as -b and -ub", "ollama/ollama@fb307609 server/sched.go, llm/llama_server.go"),
                d("OLLAMA_FLASH_ATTENTION", "auto where the GPU supports it", "ollama/ollama@fb307609 llm/llama_server.go"),
                d("OLLAMA_KV_CACHE_TYPE", "f16 (q8_0, q4_0 need flash attention)", "ollama/ollama@fb307609 envconfig/config.go; docs/faq.mdx"),
                d("num_gpu", "-1: llama-server places the layers (--fit)", "ollama/ollama@fb307609 llm/llama_server.go"),
                d("OLLAMA_NUM_PARALLEL", "1 (the KV cache is num_ctx x this)", "ollama/ollama@fb307609 envconfig/config.go"),
            ],
            ..base
        },
        Program::Lmstudio => ProgramDefaults {
            ctx: Some(4096),
            batch: Some(2048),
            ubatch: Some(512),
            flash_attn: Some(FlashAttn::Off),
            cache_type: Some(GgmlType::F16),
            gpu_layers: Some(GpuLayers::Auto),
            parallel: Some(4),
            kv_unified: Some(true),
            port: 1234,
            sources: vec![
                d("Context Length (lms load -c)", "4096 as the app loads models (its SDK's fallback is 2048)", "lmstudio-ai/lmstudio-js@6ec11db1 packages/lms-shared-types/src/schema.ts; lms load"),
                d("Evaluation Batch Size", "2048 (512 before 2026-05), physical 512", "lmstudio-js@625538a6 schema.ts"),
                d("Flash Attention", "off (the SDK's fallback; the closed app's own default is not published)", "lmstudio-js@6ec11db1 schema.ts"),
                d("K/V Cache Quantization", "off (f16)", "lmstudio-js@6ec11db1 schema.ts"),
                d("GPU Offload (lms load --gpu)", "max, fitted to memory (autoFit)", "lmstudio-ai/lms@07b7252d src/subcommands/load.ts"),
                d("Max Concurrent Predictions", "4, sharing one KV cache (unified)", "lmstudio-js@c9cf2974, @c6fab6ec"),
            ],
            ..base
        },
        Program::Koboldcpp => ProgramDefaults {
            ctx: Some(8192),
            batch: Some(512),
            ubatch: Some(512),
            flash_attn: Some(FlashAttn::On),
            cache_type: Some(GgmlType::F16),
            gpu_layers: Some(GpuLayers::Auto),
            parallel: Some(1),
            kv_unified: Some(false),
            port: 5001,
            apis: &["kobold", "openai"],
            sources: vec![
                d("--contextsize", "8192", "LostRuins/koboldcpp koboldcpp.py (v1.102 and 1.11x)"),
                d("--blasbatchsize", "512", "koboldcpp.py"),
                d("--flashattention", "on in 1.11x (--noflashattention turns it off; off up to v1.102)", "koboldcpp.py argument list, 1.11x"),
                d("--quantkv", "f16", "koboldcpp.py"),
                d("--gpulayers", "-1: koboldcpp's own estimate of what fits", "koboldcpp.py"),
                d("--multiuser", "a queue: one KV cache, requests in turn", "koboldcpp.py"),
            ],
            ..base
        },
        Program::Gpt4all => ProgramDefaults {
            ctx: Some(2048),
            flash_attn: Some(FlashAttn::Off),
            cache_type: Some(GgmlType::F16),
            gpu_layers: Some(GpuLayers::Count(u32::MAX)),
            parallel: Some(1),
            kv_unified: Some(false),
            port: 4891,
            sources: vec![
                d("Context Length", "2048", "nomic-ai/gpt4all@cd70db29 gpt4all-chat/src/modellist.h"),
                d("Prompt Batch Size", "128 tokens per decode call (the context's batch is llama.cpp's)", "gpt4all@cd70db29 modellist.h, gpt4all-backend llamamodel.cpp"),
                d("GPU Layers", "100: every layer (the model falls back to the CPU when they do not fit)", "gpt4all@cd70db29 modellist.h"),
                d("flash attention", "never set: off", "gpt4all@cd70db29 llamamodel.cpp"),
                d("Enable Local API Server", "off; port 4891 when on", "gpt4all@cd70db29 gpt4all-chat/src/mysettings.cpp"),
            ],
            ..base
        },
        Program::Jan => ProgramDefaults {
            ctx: Some(8192),
            batch: Some(2048),
            ubatch: Some(512),
            flash_attn: Some(FlashAttn::Auto),
            cache_type: Some(GgmlType::F16),
            gpu_layers: Some(GpuLayers::Count(u32::MAX)),
            parallel: Some(1),
            kv_unified: Some(false),
            port: 1337,
            sources: vec![
                d("ctx_len", "8192, auto-fit off", "janhq/jan#8204 (2026-05-27)"),
                d("batch_size / ubatch_size", "2048 / 512", "janhq/jan@e100723f extensions/llamacpp-extension/settings.json"),
                d("flash_attn", "auto", "janhq/jan@e100723f settings.json"),
                d("cache_type_k / cache_type_v", "f16", "janhq/jan@fe3fe43b args.rs"),
                d("ngl", "100 → -ngl -1, every layer without --fit", "janhq/jan@fe3fe43b args.rs"),
            ],
            ..base
        },
        Program::Llamafile => ProgramDefaults {
            sources: vec![
                d("-c, -b, -ub, -fa, -ngl", "llama.cpp's: llamafile 0.10 is llama.cpp's server (0.9: -c 8192, no offload on NVIDIA/AMD without -ngl); a llamafile's own `.args` may set others", "mozilla-ai/llamafile docs/cli_arguments.md@27c397af; Mozilla-Ocho/llamafile@cfa861a6 llamafile/gpu.c"),
            ],
            ..base
        },
        Program::Textgen => ProgramDefaults {
            batch: Some(1024),
            ubatch: Some(1024),
            flash_attn: Some(FlashAttn::On),
            cache_type: Some(GgmlType::F16),
            gpu_layers: Some(GpuLayers::Auto),
            parallel: Some(1),
            kv_unified: Some(false),
            fit_min_ctx: Some(8192),
            fit_margin_bytes: Some(512 << 20),
            port: 5000,
            sources: vec![
                d("--ctx-size", "0: the model's, fitted down to 8192 (--fit on --fit-ctx 8192)", "oobabooga/text-generation-webui@1dcde41d modules/llama_cpp_server.py"),
                d("--batch-size / --ubatch-size", "1024 / 1024", "text-generation-webui@1dcde41d modules/shared.py"),
                d("--flash-attn", "always on", "text-generation-webui@1dcde41d modules/llama_cpp_server.py"),
                d("--cache-type", "fp16", "modules/shared.py"),
                d("--gpu-layers", "-1: llama.cpp's --fit, --fit-target 512 MiB", "modules/llama_cpp_server.py"),
                d("--api", "port 5000, OpenAI-compatible", "modules/shared.py"),
            ],
            ..base
        },
    }
}

#[cfg(test)]
mod tests;
