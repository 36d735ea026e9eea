//! The command line: clap definitions only. llama.cpp spells some long options with one dash
//! (`-ngl`, `-ub`, `-ctk`); [`normalize_llama_flags`] rewrites those to their `--long` names first so
//! users can paste their own llama.cpp command lines. Flag values are typed by the parsers in
//! [`values`], so a bad value is clap's usage error (exit 2).

mod foreign;
mod kobold;
mod lms;
mod modelfile;
pub mod paste;
pub mod values;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use llmrig_catalog::recommend::Use;
use llmrig_core::estimate::{CpuBuild, GpuLayers, LlamaCppVersion, VulkanDriver};
use llmrig_core::quant::GgmlType;
use llmrig_core::serve::InterNode;

use crate::launch::Launcher;
use values::{ApiArg, BackendArg, EngineArg, FlashAttnArg, KvDtypeArg, Proportions, SplitModeArg};

/// Will this model run here, how much memory, how fast: llama.cpp's real allocations, predicted.
#[derive(Debug, Parser)]
#[command(name = "llmrig", version, about, long_about = None)]
pub struct Cli {
    /// What to do; without a command, shows this machine.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
    /// Also print the notes that only say where numbers come from (measured bandwidths, the RAM
    /// budget's basis, how speed was calibrated).
    #[arg(long, global = true)]
    pub verbose: bool,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Memory, placement, largest context, speed and verdict for a model on a machine.
    Estimate(Box<EstimateArgs>),
    /// The model catalog; `--installed`: the models already on this machine.
    Models(ModelsArgs),
    /// The device catalog.
    Devices,
    /// Every quant format: ggml types, llama.cpp file types and other formats.
    Quants,
    /// What a model is: architecture, parameters, tensors by type, size, file type, metadata.
    Inspect(InspectArgs),
    /// The hardware llmrig sees on this machine.
    Hw(HwArgs),
    /// How far the speed model is from published llama-bench results (median and p90 error).
    Accuracy(AccuracyArgs),
    /// Fits this machine's speed to its own llama-bench results and keeps it for later estimates.
    Calibrate(CalibrateArgs),
    /// The best models this machine runs well for a use, with launch commands.
    Recommend(RecommendArgs),
    /// A vLLM/SGLang serving plan: TP/PP/DP sizes, KV cache per GPU, concurrency, speed, command.
    Plan(Box<PlanArgs>),
    /// The hardware that runs a model at a context, speed and number of users, cheapest first.
    Need(NeedArgs),
    /// The HTTP API on this machine: `GET /api/v1/{command}?flag=value` answers with the
    /// command's `--json` output.
    Serve(ServeArgs),
    /// A Model Context Protocol server over stdio: one tool per command, for agents.
    Mcp(McpArgs),
}

/// `llmrig models`.
#[derive(Debug, Args, Clone, Copy)]
pub struct ModelsArgs {
    /// The models installed on this machine instead (Ollama, LM Studio, the Hugging Face and
    /// llama.cpp caches): program, name, file, size and quant.
    #[arg(long)]
    pub installed: bool,
}

/// What requests to `serve` and `mcp` may make llmrig do beyond answering.
#[derive(Debug, Args, Clone, Copy)]
pub struct AllowArgs {
    /// Let requests name local files (`model=/models/x.gguf`, `system=machine.toml`).
    #[arg(long = "allow-files")]
    pub allow_files: bool,
    /// Let requests fetch from the network (`hf:ORG/REPO`, `ollama:NAME`).
    #[arg(long = "allow-remote")]
    pub allow_remote: bool,
}

/// `llmrig serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Port (0: any free port, printed at start).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Address to listen on; anything but a loopback address makes the API reachable from other
    /// machines (a warning says so).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,
    /// What requests may do.
    #[command(flatten)]
    pub allow: AllowArgs,
    /// Commands running at once (default: the number of cores).
    #[arg(long = "max-running", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub max_running: Option<u32>,
    /// Seconds a command may run before its request is answered 503.
    #[arg(long = "command-timeout", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub command_timeout: u64,
    /// Open the page in the default browser once listening.
    #[arg(long)]
    pub open: bool,
    /// Milliseconds a client may take to send a request's head.
    #[arg(long = "header-timeout-ms", default_value_t = 10_000, hide = true, value_parser = clap::value_parser!(u64).range(100..=600_000))]
    pub header_timeout_ms: u64,
}

/// `llmrig mcp`.
#[derive(Debug, Args)]
pub struct McpArgs {
    /// What tool calls may do.
    #[command(flatten)]
    pub allow: AllowArgs,
}

/// `llmrig need`.
#[derive(Debug, Args)]
pub struct NeedArgs {
    /// A catalog id or alias, a `.gguf` file, `hf:ORG/REPO` or a size like `70b`.
    pub model: String,
    /// Quantization (default Q4_K_M; a model file has its own).
    #[arg(short = 'q', long = "quant")]
    pub quant: Option<String>,
    /// Context each user needs, tokens.
    #[arg(short = 'c', long = "ctx-size", default_value = "8192", value_parser = values::ctx)]
    pub ctx: u64,
    /// Slowest acceptable generation speed, tokens/s (per user).
    #[arg(long = "tps", default_value_t = 20.0, value_parser = values::min_tps)]
    pub tps: f64,
    /// Users served at once (llama-server `-np`).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub users: u32,
    /// Most GPUs of one kind in a machine.
    #[arg(long = "max-gpus", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=16))]
    pub max_gpus: u32,
    /// The engine: llama.cpp (GPUs, Macs, CPU servers), or vLLM/SGLang (GPU nodes planned as
    /// `llmrig plan` plans them, up to 4 nodes).
    #[arg(long, value_enum, ignore_case = true, default_value = "llama.cpp")]
    pub engine: values::NeedEngine,
    /// How many of the cheapest options to show (plus the first Mac and CPU server further down).
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// The host the GPUs go in (TOML, as `llmrig hw --save` writes it; default: this machine's
    /// CPU and RAM bandwidth).
    #[arg(long = "system", env = "LLMRIG_SYSTEM")]
    pub system: Option<PathBuf>,
}

/// `llmrig recommend`.
#[derive(Debug, Args)]
pub struct RecommendArgs {
    /// What the models are for.
    #[arg(long = "use", default_value = "chat", value_parser = values::use_())]
    pub use_: Use,
    /// Slowest acceptable generation speed, tokens/s.
    #[arg(long = "min-tps", default_value_t = 10.0, value_parser = values::min_tps)]
    pub min_tps: f64,
    /// Smallest acceptable context, tokens (default: chat 8k, code 16k, reasoning 32k, long-context 64k).
    #[arg(long = "min-ctx", value_parser = values::ctx)]
    pub min_ctx: Option<u64>,
    /// How many to show.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Print the command that starts each plan in this engine or app.
    #[arg(long, value_enum, ignore_case = true)]
    pub launch: Option<Launcher>,
    /// The machine.
    #[command(flatten)]
    pub machine: MachineArgs,
}

/// `llmrig plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// A catalog id or alias, a Hugging Face folder, `hf:ORG/REPO` or a `.gguf` file.
    pub model: String,
    /// Weight format served: bf16 (default), fp8, awq, gptq, nvfp4, w4a16, or a GGUF quant.
    #[arg(short = 'q', long = "quant")]
    pub quant: Option<String>,
    /// Serving engine.
    #[arg(long, value_enum, ignore_case = true, default_value = "vllm")]
    pub engine: EngineArg,
    /// Longest sequence (prompt + output) in tokens, e.g. 8192 or 32k; default: the trained length.
    #[arg(long = "max-model-len", value_parser = values::ctx)]
    pub max_model_len: Option<u64>,
    /// Concurrent sequences over the whole cluster.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub users: u32,
    /// Share of GPU memory the engine may use (vLLM default 0.9; SGLang: --mem-fraction-static by TP).
    #[arg(long = "gpu-memory-utilization")]
    pub gpu_memory_utilization: Option<f64>,
    /// vLLM KV cache block size, tokens.
    #[arg(long = "block-size", default_value_t = 16, value_parser = values::block_size)]
    pub block_size: u32,
    /// KV cache dtype (auto: the model's).
    #[arg(
        long = "kv-cache-dtype",
        value_enum,
        ignore_case = true,
        default_value = "auto"
    )]
    pub kv_cache_dtype: KvDtypeArg,
    /// Tensor-parallel size (default: the planner chooses).
    #[arg(long)]
    pub tp: Option<u32>,
    /// Pipeline-parallel size (default: the planner chooses).
    #[arg(long)]
    pub pp: Option<u32>,
    /// Identical nodes, each with the GPUs given.
    #[arg(long, default_value_t = 1)]
    pub nodes: u32,
    /// Network between nodes.
    #[arg(long, default_value = "ib-ndr", value_parser = values::internode())]
    pub internode: InterNode,
    /// Least acceptable decode speed per user, tokens/s.
    #[arg(long = "min-tps", default_value_t = 10.0)]
    pub min_tps: f64,
    /// Tokens per engine step (vLLM --max-num-batched-tokens; default: the engine's).
    #[arg(long = "max-num-batched-tokens")]
    pub max_num_batched_tokens: Option<u64>,
    /// Prompt length for the time to first token.
    #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u64).range(0..=1 << 24))]
    pub prompt: u64,
    /// Tokens in each sequence's context while decoding (default: half of --max-model-len).
    #[arg(long)]
    pub depth: Option<u64>,
    /// The machine (one node).
    #[command(flatten)]
    pub machine: MachineArgs,
}

/// `llmrig accuracy`.
#[derive(Debug, Args)]
pub struct AccuracyArgs {
    /// List every row with its prediction.
    #[arg(long)]
    pub rows: bool,
    /// Out of sample (the default): each device, and each source, predicted by constants
    /// refitted without it, with the in-sample figure beside. The 20 refits run on their own
    /// threads: about 30 s with 20 cores, 4 minutes with 2.
    #[arg(long, conflicts_with = "in_sample")]
    pub cv: bool,
    /// Only the in-sample figures (the shipped constants were fitted on these rows): instant.
    #[arg(long)]
    pub in_sample: bool,
}

/// `llmrig calibrate`.
#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// llama-bench's output: its table, or `-o json`, `-o jsonl`, `-o csv`; `-` reads standard input.
    #[arg(value_name = "RESULTS", required_unless_present = "run")]
    pub results: Option<PathBuf>,
    /// Run llama-bench (on PATH) on this model with its default tests, and calibrate on that.
    #[arg(long, value_name = "MODEL.gguf", conflicts_with = "results")]
    pub run: Option<PathBuf>,
    /// Write the calibrated machine to this file (default: the --system file, else the user config).
    #[arg(long, value_name = "OUT.toml")]
    pub save: Option<PathBuf>,
    /// Only compare: predict the results with the machine as it is (with its calibration, if
    /// any) and change nothing.
    #[arg(long, conflicts_with = "save")]
    pub check: bool,
    /// The machine the results ran on.
    #[command(flatten)]
    pub machine: MachineArgs,
}

/// `llmrig hw`.
#[derive(Debug, Args, Default)]
pub struct HwArgs {
    /// The machine.
    #[command(flatten)]
    pub machine: MachineArgs,
    /// Write the machine as TOML for `--system` (default file `llmrig-system.toml`).
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "llmrig-system.toml")]
    pub save: Option<PathBuf>,
    /// Measure RAM read bandwidth (a few seconds) and store it in the user config for estimates.
    #[arg(long)]
    pub measure: bool,
    /// Buffer for --measure, MiB (default: 1024 or an eighth of RAM, whichever is smaller).
    #[arg(long, value_name = "MIB", requires = "measure", value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub measure_mib: Option<u64>,
}

/// `llmrig inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A `.gguf` file (any shard of a split model) or a catalog model.
    pub model: String,
    /// For a catalog model: the quant whose predicted tensor mix to show (default Q4_K_M).
    #[arg(short = 'q', long = "quant")]
    pub quant: Option<String>,
}

/// `llmrig estimate`.
#[derive(Debug, Args)]
pub struct EstimateArgs {
    /// A `.gguf` file, a catalog id or alias (`llama-3.1-8b`, `Meta-Llama-3.1-8B-Instruct`,
    /// `qwen2.5:14b`) or a size like `70b`.
    pub model: String,
    /// Quantization (`Q4_K_M`, `IQ4_XS`, `Q8_0`, `fp8`, `awq`, `exl2:4.65`); default Q4_K_M. A model
    /// file has its own.
    #[arg(short = 'q', long = "quant")]
    pub quant: Option<String>,
    /// Context size in tokens; default: the model's trained length, reduced to fit as llama.cpp's --fit does.
    #[arg(short = 'c', long = "ctx-size", allow_hyphen_values = true, value_parser = values::ctx)]
    pub ctx: Option<u64>,
    /// Logical batch size [default: 2048, or the --backend program's].
    #[arg(short = 'b', long = "batch-size", value_parser = clap::value_parser!(u64).range(1..=1 << 24))]
    pub batch: Option<u64>,
    /// Physical batch size [default: 512, or the --backend program's; an embedding model's: at least --chunk].
    #[arg(long = "ubatch-size", value_parser = clap::value_parser!(u64).range(1..=1 << 24))]
    pub ubatch: Option<u64>,
    /// Layers on the GPU: a number, `all` or `auto` (the most that fit, like --fit) [default: auto, or the --backend program's].
    #[arg(
        long = "n-gpu-layers",
        allow_hyphen_values = true,
        value_parser = values::gpu_layers
    )]
    pub gpu_layers: Option<GpuLayers>,
    /// Flash attention [default: auto, or the --backend program's].
    #[arg(long = "flash-attn", value_enum, ignore_case = true)]
    pub flash_attn: Option<FlashAttnArg>,
    /// K cache type [default: f16, or the --backend program's].
    #[arg(long = "cache-type-k", value_parser = values::kv_cache_type())]
    pub cache_type_k: Option<GgmlType>,
    /// V cache type (quantized types need flash attention) [default: f16, or the --backend program's].
    #[arg(long = "cache-type-v", value_parser = values::kv_cache_type())]
    pub cache_type_v: Option<GgmlType>,
    /// Parallel sequences [default: 1, or the --backend program's].
    #[arg(long = "parallel", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub parallel: Option<u32>,
    /// One KV pool shared by all sequences.
    #[arg(long = "kv-unified")]
    pub kv_unified: bool,
    /// Full-size cache for sliding-window layers.
    #[arg(long = "swa-full")]
    pub swa_full: bool,
    /// Keep all MoE expert weights in system RAM.
    #[arg(long = "cpu-moe")]
    pub cpu_moe: bool,
    /// Keep the MoE expert weights of the first N layers in system RAM.
    #[arg(long = "n-cpu-moe")]
    pub n_cpu_moe: Option<u32>,
    /// `PATTERN=DEVICE[,...]`: tensors whose name the pattern finds go to that device (`CPU`,
    /// `CUDA0`, `ROCm1`, `Vulkan0`, `Metal`), the first matching pattern winning, as llama.cpp's
    /// `-ot` (`-ot exps=CPU` keeps every routed expert in RAM). Repeatable.
    #[arg(long = "override-tensor", value_parser = values::tensor_overrides)]
    pub override_tensor: Vec<values::TensorOverrides>,
    /// The GPU that holds the whole model with `-sm none` (llama.cpp's `-mg`).
    #[arg(long = "main-gpu", value_parser = clap::value_parser!(u32).range(0..=255))]
    pub main_gpu: Option<u32>,
    /// The GPUs llama.cpp uses, as it names them (`CUDA0,CUDA1`; `none` for the CPU alone).
    #[arg(long = "device", value_parser = values::device_list)]
    pub device: Option<values::DeviceList>,
    /// Flags of a pasted llama.cpp command line that change nothing estimated (filled in from
    /// the command line, named in one note).
    #[arg(long = "pasted-flag", hide = true)]
    pub pasted_flag: Vec<String>,
    /// KV cache in system RAM.
    #[arg(long = "no-kv-offload")]
    pub no_kv_offload: bool,
    /// Run ops whose weights are in RAM on the CPU, also for prompt batches (llama.cpp's
    /// `--no-op-offload`; by default the GPU takes them and the weights cross PCIe per batch).
    #[arg(long = "no-op-offload")]
    pub no_op_offload: bool,
    /// Share of layers per GPU, e.g. `3,1`.
    #[arg(long = "tensor-split", allow_hyphen_values = true, value_parser = values::proportions)]
    pub tensor_split: Option<Proportions>,
    /// Multi-GPU split.
    #[arg(
        long = "split-mode",
        value_enum,
        ignore_case = true,
        default_value = "layer"
    )]
    pub split_mode: SplitModeArg,
    /// Memory `-ngl auto` keeps free per GPU, MiB.
    #[arg(long = "fit-target", default_value_t = 1024)]
    pub fit_target: u64,
    /// Smallest context --fit shrinks to.
    #[arg(long = "fit-ctx", default_value_t = 4096)]
    pub fit_ctx: u64,
    /// Speed test: prompt tokens (like llama-bench -p).
    #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u64).range(0..=1 << 24))]
    pub prompt: u64,
    /// Speed test: generated tokens (like llama-bench -n).
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u64).range(0..=1 << 24))]
    pub gen: u64,
    /// Speed test: tokens already in context (like llama-bench -d).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=1 << 24))]
    pub depth: u64,
    /// How the llama.cpp running the CPU's share was built: its default kernels, a BLAS build (openblas, mkl, blis) or llamafile; changes the prompt speed of layers on the CPU.
    #[arg(long = "cpu-build", default_value = "llama.cpp", value_parser = values::cpu_build())]
    pub cpu_build: CpuBuild,
    /// rocBLAS's GEMM backend for a ROCm build's prompt (`ROCBLAS_USE_HIPBLASLT`): `on` hipBLASLt, `off` Tensile; unset, rocBLAS's own choice, taken as Tensile on Strix Halo for builds before b9187 (about a third of hipBLASLt's prompt speed where prompts go to hipBLAS; lhl's mid-2025 runs) and as hipBLASLt's speed from b9187 (kyuz0's May 2026 runs without the variable).
    #[arg(long = "hipblaslt", env = "ROCBLAS_USE_HIPBLASLT", value_parser = values::hipblaslt)]
    pub hipblaslt: Option<bool>,
    /// A CUDA/HIP build's forced prompt kernels for quantized weights: `mmq` (GGML_CUDA_FORCE_MMQ: llama.cpp's own kernels at every batch size) or `cublas` (GGML_CUDA_FORCE_CUBLAS: dequantized to F16 for cuBLAS/hipBLAS); unset, llama.cpp's choice by GPU and build.
    #[arg(long = "cuda-force", value_parser = values::cuda_force)]
    pub cuda_force: Option<bool>,
    /// The Vulkan driver of an AMD GPU under llama.cpp's Vulkan backend: `radv` (Mesa), `amdvlk` (AMD's discontinued open-source Linux driver) or `amd` (AMD's Windows driver); unset, `amd` on Windows and `radv` elsewhere. Changes the prompt speed of RDNA3/4 GPUs from llama.cpp b7700 (#18749's large prompt tiles: faster on RADV, slower on AMDVLK, not taken on Windows).
    #[arg(long = "vulkan-driver", value_parser = values::vulkan_driver)]
    pub vulkan_driver: Option<VulkanDriver>,
    /// CPU threads for the layers on the CPU, as llama.cpp's `-t` (default: the physical cores).
    #[arg(short = 't', long = "threads", value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub threads: Option<u32>,
    /// llama.cpp release whose allocation and kernel rules apply: `current`, a month `YYYY-MM` or a build `bNNNN` (llama-bench prints it after the commit).
    #[arg(long = "llama-cpp", default_value = "current", value_parser = values::llama_cpp)]
    pub llama_cpp: LlamaCppVersion,
    /// Decode speed (tokens/s) from which a fitting model "works well".
    #[arg(long = "good-tps", default_value_t = 20.0, value_parser = values::verdict_tps)]
    pub good_tps: f64,
    /// Decode speed (tokens/s) from which it is "usable" (below: "slow").
    #[arg(long = "usable-tps", default_value_t = 5.0, value_parser = values::verdict_tps)]
    pub usable_tps: f64,
    /// Print the command that starts this plan in this engine or app.
    #[arg(long, value_enum, ignore_case = true)]
    pub launch: Option<Launcher>,
    /// Print how to point this chat frontend at the server the plan starts (the --launch program, else the --backend one, else llama-server).
    #[arg(long, value_enum, ignore_case = true)]
    pub connect: Option<crate::connect::Frontend>,
    /// Engine whose memory rules apply, or a program built on llama.cpp (ollama, lmstudio, koboldcpp, gpt4all, jan, llamafile, textgen) whose defaults then apply; vllm is planned by `llmrig plan`.
    #[arg(long, default_value = "llama.cpp", value_parser = values::backend())]
    pub backend: BackendArg,
    /// What runs beside the model: projector, draft, other servers.
    #[command(flatten)]
    pub stack: StackArgs,
    /// Image models: size, steps and the engine's placement flags.
    #[command(flatten)]
    pub image: ImageArgs,
    /// The machine.
    #[command(flatten)]
    pub machine: MachineArgs,
}

/// Components beside the main model, with llama.cpp's names where it has them.
#[derive(Debug, Args, Default, Clone)]
pub struct StackArgs {
    /// Multimodal projector: `auto` (the one published with the model), a `.gguf` file, or
    /// `hf:ORG/REPO[/FILE]`, as llama.cpp's `--mmproj`.
    #[arg(long = "mmproj")]
    pub mmproj: Option<String>,
    /// Projector type when llmrig picks it (`f16`, `q8_0`, `bf16`, `f32`); default f16.
    #[arg(long = "mmproj-type", requires = "mmproj")]
    pub mmproj_type: Option<String>,
    /// Keep the projector on the CPU (llama.cpp's `--no-mmproj-offload`).
    #[arg(long = "no-mmproj-offload", requires = "mmproj")]
    pub no_mmproj_offload: bool,
    /// Image tokens each image takes in the context (default: the projector's count at its
    /// image size).
    #[arg(long = "image-tokens", requires = "mmproj", value_parser = clap::value_parser!(u64).range(1..=1 << 20))]
    pub image_tokens: Option<u64>,
    /// The image the context and the encoder are sized for, `WxH` (default 1024x768): its
    /// tokens after the projector's resizing or tiling, and InternVL's batched tiles.
    #[arg(long = "image-size", requires = "mmproj", value_parser = values::photo_size)]
    pub image_size: Option<(u64, u64)>,
    /// Image tokens llama-server encodes in one batch (llama.cpp's `--mtmd-batch-max-tokens`,
    /// default 1024): InternVL's tiles are batched up to it, and its encoder buffer with them.
    #[arg(long = "mtmd-batch-max-tokens", requires = "mmproj", value_parser = clap::value_parser!(u64).range(1..=1 << 20))]
    pub mtmd_batch_max_tokens: Option<u64>,
    /// Images per prompt that the context must hold (default 1 with a projector).
    #[arg(long = "images", requires = "mmproj", value_parser = clap::value_parser!(u64).range(0..=4096))]
    pub images: Option<u64>,
    /// Draft model for speculative decoding, `MODEL[:QUANT]` (llama.cpp's `-md`).
    #[arg(long = "draft", alias = "model-draft", alias = "spec-draft-model")]
    pub draft: Option<String>,
    /// Draft layers on the GPU (llama.cpp's `-ngld`; default all, as llama.cpp's -1).
    #[arg(long = "n-gpu-layers-draft", allow_hyphen_values = true, value_parser = values::gpu_layers, requires = "draft")]
    pub gpu_layers_draft: Option<GpuLayers>,
    /// Tokens drafted per step (llama.cpp's `--spec-draft-n-max`, default 3; `--draft-max` before
    /// mid-2026, default 16 then).
    #[arg(long = "draft-max", alias = "spec-draft-n-max", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub draft_max: u32,
    /// Chance the target accepts each drafted token (0–1; default 0.7 for chat, 0.8 when the
    /// draft pair is a coder's; see docs/research/speculative.md).
    #[arg(long = "draft-accept", value_parser = values::probability, requires = "draft")]
    pub draft_accept: Option<f64>,
    /// Another model served beside this one on the same machine, `MODEL[:QUANT]`: an embedder,
    /// a reranker or an LLM, each as its own llama.cpp server; `MODEL@tei` or
    /// `MODEL@sentence-transformers` serves an embedder or reranker in that engine. Repeatable.
    #[arg(long = "with")]
    pub with: Vec<String>,
    /// Tokens per document for embedders and rerankers (throughput, and the physical batch
    /// llama-server needs: a document must fit one ubatch).
    #[arg(long = "chunk", default_value_t = 512, value_parser = clap::value_parser!(u64).range(1..=1 << 20))]
    pub chunk: u64,
    /// `--backend sentence-transformers`: documents encoded together, encode()'s `batch_size`
    /// [default: 32].
    #[arg(long = "encode-batch", value_parser = clap::value_parser!(u64).range(1..=1 << 16))]
    pub encode_batch: Option<u64>,
    /// `--backend tei`: its `--max-batch-tokens`, the tokens of one batch and of its startup
    /// warmup [default: 16384].
    #[arg(long = "max-batch-tokens", value_parser = clap::value_parser!(u64).range(1..=1 << 24))]
    pub max_batch_tokens: Option<u64>,
}

/// Image-generation settings, with stable-diffusion.cpp's names where it has them.
#[derive(Debug, Args, Default, Clone)]
pub struct ImageArgs {
    /// Image size `WxH` in pixels (default: the model's native size).
    #[arg(long = "image", value_parser = values::image_size)]
    pub image: Option<(u32, u32)>,
    /// Sampling steps (default: the model card's).
    #[arg(long = "steps", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub steps: Option<u32>,
    /// Images generated one after another (sd.cpp's `-b/--batch-count`).
    #[arg(long = "batch-count", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub batch_count: u32,
    /// Guidance scale: 1 runs one denoiser pass per step instead of two (default: the model's;
    /// FLUX's guidance is distilled into one pass).
    #[arg(long = "cfg-scale")]
    pub cfg_scale: Option<f64>,
    /// The large text encoder's weight format (T5-XXL's or an LLM's file: `fp16`, `fp8`, `q8_0`,
    /// …; default F16; CLIP's files stay F16).
    #[arg(long = "te-quant")]
    pub te_quant: Option<String>,
    /// Flash attention in the denoiser (sd.cpp's `--diffusion-fa`).
    #[arg(long = "diffusion-fa")]
    pub diffusion_fa: bool,
    /// Tiled VAE decode (sd.cpp `--vae-tiling`; diffusers `enable_tiling`).
    #[arg(long = "vae-tiling")]
    pub vae_tiling: bool,
    /// Text encoders on the CPU (sd.cpp `--clip-on-cpu`).
    #[arg(long = "clip-on-cpu")]
    pub clip_on_cpu: bool,
    /// VAE on the CPU (sd.cpp `--vae-on-cpu`, ComfyUI `--cpu-vae`).
    #[arg(long = "vae-on-cpu")]
    pub vae_on_cpu: bool,
    /// Weights in RAM, one model at a time on the GPU (sd.cpp `--offload-to-cpu`; same as
    /// `--offload model`).
    #[arg(long = "offload-to-cpu")]
    pub offload_to_cpu: bool,
    /// Offload policy: `none` (all on the GPU; ComfyUI `highvram`), `auto` (the engine's default;
    /// ComfyUI `normalvram`), `model` (one model at a time: diffusers `enable_model_cpu_offload`,
    /// sd.cpp `--offload-to-cpu`), `sequential` (one layer at a time: diffusers
    /// `enable_sequential_cpu_offload`, ComfyUI `novram`), `lowvram` (ComfyUI `--lowvram`).
    #[arg(long = "offload", value_parser = ["none", "auto", "model", "sequential", "lowvram", "normalvram", "highvram", "novram"])]
    pub offload: Option<String>,
}

/// Describes the machine instead of (or on top of) detecting it.
#[derive(Debug, Args, Default)]
pub struct MachineArgs {
    /// A GPU: catalog id (`rtx-4090`), a count (`2x rtx-3090`), free memory (`rtx-4090:20GiB`). Repeatable.
    #[arg(long = "gpu", value_parser = values::gpu)]
    pub gpu: Vec<values::GpuArg>,
    /// No GPU: CPU and RAM only.
    #[arg(long = "no-gpu", conflicts_with = "gpu")]
    pub no_gpu: bool,
    /// RAM configuration from the device catalog (`ddr5-5600`, `epyc-9004-12ch-ddr5-4800`).
    #[arg(long = "cpu", value_parser = values::cpu)]
    pub cpu: Option<&'static llmrig_catalog::DeviceEntry>,
    /// System RAM (`64GiB`, `32GB`; a bare number is GiB).
    #[arg(long = "ram", allow_hyphen_values = true, value_parser = values::size)]
    pub ram: Option<u64>,
    /// RAM bandwidth in GB/s.
    #[arg(long = "ram-bw", value_parser = values::ram_bandwidth)]
    pub ram_bw: Option<f64>,
    /// GPU API llama.cpp was built with.
    #[arg(long = "api", value_enum, ignore_case = true)]
    pub api: Option<ApiArg>,
    /// Operating system (default: this one; macOS for Apple silicon): decides the RAM kept for it and, on Windows, spilling into shared GPU memory.
    #[arg(long = "os", value_parser = values::os())]
    pub os: Option<llmrig_core::system::Os>,
    /// RAM kept for the OS and other programs (`4GiB`, `0`); default: the RAM available when detected, else the OS's reserve.
    #[arg(long = "os-reserve", value_parser = values::reserve)]
    pub os_reserve: Option<u64>,
    /// macOS: the GPU's wired-memory limit set with `sudo sysctl iogpu.wired_limit_mb=N` (`24GiB`); default: Metal's share of the RAM.
    #[arg(long = "wired-limit", value_parser = values::size)]
    pub wired_limit: Option<u64>,
    /// Machine description (TOML, as `llmrig hw --save` writes it) instead of detection.
    #[arg(long = "system", env = "LLMRIG_SYSTEM")]
    pub system: Option<PathBuf>,
}

/// llama.cpp's single-dash long options and their `--long` equivalents here.
const LLAMA_FLAGS: &[(&str, &str)] = &[
    ("-ngl", "--n-gpu-layers"),
    ("-ub", "--ubatch-size"),
    ("-fa", "--flash-attn"),
    ("-ctk", "--cache-type-k"),
    ("-ctv", "--cache-type-v"),
    ("-np", "--parallel"),
    ("-ts", "--tensor-split"),
    ("-sm", "--split-mode"),
    ("-kvu", "--kv-unified"),
    ("-nkvo", "--no-kv-offload"),
    ("-fitt", "--fit-target"),
    ("-fitc", "--fit-ctx"),
    ("-ot", "--override-tensor"),
    ("-mg", "--main-gpu"),
    ("-dev", "--device"),
    ("-cmoe", "--cpu-moe"),
    ("-ncmoe", "--n-cpu-moe"),
    ("--gpu-layers", "--n-gpu-layers"),
    ("--ctx", "--ctx-size"),
    ("-md", "--draft"),
    ("-ngld", "--n-gpu-layers-draft"),
    ("--gpu-layers-draft", "--n-gpu-layers-draft"),
    ("--spec-draft-ngl", "--n-gpu-layers-draft"),
];

/// Takes in a pasted llama.cpp command line ([`paste`]), then rewrites llama.cpp's one-dash long
/// options (`-ngl 99`, `-ngl=99`) to the `--long` form.
pub fn normalize_llama_flags(args: impl IntoIterator<Item = String>) -> Vec<String> {
    let out: Vec<String> = paste::paste(args.into_iter().collect())
        .into_iter()
        .map(|a| {
            let (flag, value) = match a.split_once('=') {
                Some((f, v)) => (f.to_string(), Some(v.to_string())),
                None => (a.clone(), None),
            };
            match LLAMA_FLAGS.iter().find(|(short, _)| *short == flag) {
                Some((_, long)) => match value {
                    Some(v) => format!("{long}={v}"),
                    None => (*long).to_string(),
                },
                None => a,
            }
        })
        .collect();
    join_gpu_counts(out)
}

/// `--gpu 2x rtx-3090` typed without quotes arrives as two arguments; join them so the count is
/// not taken for the model name.
fn join_gpu_counts(args: Vec<String>) -> Vec<String> {
    let is_count = |s: &str| {
        s.strip_suffix(['x', 'X'])
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    let mut out: Vec<String> = Vec::with_capacity(args.len());
    let mut it = args.into_iter().peekable();
    while let Some(a) = it.next() {
        let after_gpu = out.last().is_some_and(|p| p == "--gpu");
        match it.peek() {
            Some(next) if after_gpu && is_count(&a) && !next.starts_with('-') => {
                let next = it.next().unwrap_or_default();
                out.push(format!("{a} {next}"));
            }
            _ => out.push(a),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn llama_flags_are_rewritten() {
        let v = normalize_llama_flags(["-ngl", "99", "-ub=256", "-c", "8192"].map(String::from));
        assert_eq!(
            v,
            ["--n-gpu-layers", "99", "--ubatch-size=256", "-c", "8192"]
        );
    }

    #[test]
    fn unquoted_gpu_counts_are_joined() {
        let v =
            normalize_llama_flags(["estimate", "--gpu", "2x", "rtx-3090", "m"].map(String::from));
        assert_eq!(v, ["estimate", "--gpu", "2x rtx-3090", "m"]);
        // Only right after --gpu, and only a count.
        let v = normalize_llama_flags(["estimate", "2x", "rtx-3090"].map(String::from));
        assert_eq!(v, ["estimate", "2x", "rtx-3090"]);
        let v = normalize_llama_flags(["--gpu", "rtx-4090", "m"].map(String::from));
        assert_eq!(v, ["--gpu", "rtx-4090", "m"]);
    }
}
