//! `Settings`: the llama.cpp options an estimate is for, named as llama.cpp names them; the engine
//! (`Backend`) they are for; and the checks that refuse what llama.cpp (or that engine) refuses.

use serde::Serialize;

use crate::model::ModelSpec;
use crate::quant::GgmlType;
use crate::system::{GpuApi, Os, SystemSpec};

/// Largest context the estimator accepts, in tokens (16 Mi; no model is trained longer).
pub const MAX_CTX: u64 = 1 << 24;

/// `-ngl`: how many layers go to the GPUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GpuLayers {
    /// The most that fit, like llama.cpp's `--fit` (the default since late 2025).
    Auto,
    /// Exactly this many of the last layers (the output layer counts as layer `n_layer + 1`).
    Count(u32),
}

/// `-fa`: flash attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlashAttn {
    On,
    Off,
    /// llama.cpp turns it on where the backend supports it (CUDA, Metal, Vulkan, CPU do).
    Auto,
}

/// The Vulkan driver an AMD GPU runs llama.cpp's Vulkan backend on. They compile the same shaders
/// with different compilers (Mesa's ACO; AMD's LLPC in AMDVLK and the Windows driver), and
/// ggml-vulkan picks its prompt tiles by the driver (`ggml_vk_load_shaders`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VulkanDriver {
    /// Mesa's RADV, the Linux default (`(radv)` in ggml_vulkan's device line).
    #[default]
    Radv,
    /// AMDVLK, AMD's open-source Linux driver (`AMD open-source driver`; discontinued by AMD in
    /// 2025, still shipped by some toolboxes).
    Amdvlk,
    /// AMD's proprietary driver (Windows, Adrenalin: `AMD proprietary driver`).
    Amd,
}

impl VulkanDriver {
    /// The driver an AMD GPU runs Vulkan on under `os` unless told otherwise: AMD's own on
    /// Windows (the only one there), Mesa's RADV on Linux (the distributions' default).
    #[must_use]
    pub fn for_os(os: Option<Os>) -> VulkanDriver {
        if os == Some(Os::Windows) {
            VulkanDriver::Amd
        } else {
            VulkanDriver::Radv
        }
    }

    /// The driver a text names: ggml_vulkan's device line (`(radv)`, `AMD open-source driver` for
    /// AMDVLK, `AMD proprietary driver`), llama-bench's `gpu_info` (`(RADV GFX1151)`), a host or
    /// file name (`vulkan_amdvlk`); a Windows host that names none ran AMD's own.
    #[must_use]
    pub fn named_in(text: &str) -> Option<VulkanDriver> {
        let t = text.to_ascii_lowercase();
        if t.contains("amdvlk") || t.contains("amd open-source driver") {
            Some(VulkanDriver::Amdvlk)
        } else if t.contains("amd proprietary driver")
            || (t.contains("windows") && !t.contains("radv"))
        {
            Some(VulkanDriver::Amd)
        } else if t.contains("radv") {
            Some(VulkanDriver::Radv)
        } else {
            None
        }
    }

    /// The `--vulkan-driver` name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            VulkanDriver::Radv => "radv",
            VulkanDriver::Amdvlk => "amdvlk",
            VulkanDriver::Amd => "amd",
        }
    }
}

/// How the llama.cpp that runs the CPU's share was built: what multiplies its prompt's matrices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CpuBuild {
    /// The default CPU build: ggml's own kernels (repacked AVX2/AVX-512/AMX/NEON GEMMs) and
    /// llamafile's sgemm (GGML_USE_LLAMAFILE, on by default since llama.cpp PR #6414, April 2024).
    #[default]
    #[serde(rename = "llama.cpp")]
    LlamaCpp,
    /// `-DGGML_BLAS=ON -DGGML_BLAS_VENDOR=OpenBLAS`: the BLAS backend takes every matrix product of
    /// 32 or more rows, converting the weights to f32 first (ggml-blas.cpp).
    OpenBlas,
    /// The same with Intel oneMKL (`GGML_BLAS_VENDOR=Intel10_64lp`).
    Mkl,
    /// The same with BLIS (`GGML_BLAS_VENDOR=FLAME`).
    Blis,
    /// llamafile: since 0.10 llama.cpp's own server and kernels in one executable (its tinyBLAS
    /// sgemm went upstream in April 2024).
    Llamafile,
}

impl CpuBuild {
    /// The `--cpu-build` name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            CpuBuild::LlamaCpp => "llama.cpp",
            CpuBuild::OpenBlas => "openblas",
            CpuBuild::Mkl => "mkl",
            CpuBuild::Blis => "blis",
            CpuBuild::Llamafile => "llamafile",
        }
    }

    /// Parses a `--cpu-build` name.
    #[must_use]
    pub fn parse(s: &str) -> Option<CpuBuild> {
        Some(
            match s.to_ascii_lowercase().replace(['-', '_'], "").as_str() {
                "llama.cpp" | "llamacpp" | "default" => CpuBuild::LlamaCpp,
                "openblas" => CpuBuild::OpenBlas,
                "mkl" | "onemkl" | "intelmkl" => CpuBuild::Mkl,
                "blis" => CpuBuild::Blis,
                "llamafile" => CpuBuild::Llamafile,
                _ => return None,
            },
        )
    }

    /// Whether the BLAS backend takes the large matrix products.
    #[must_use]
    pub fn is_blas(self) -> bool {
        matches!(self, CpuBuild::OpenBlas | CpuBuild::Mkl | CpuBuild::Blis)
    }
}

/// Every `--cpu-build`, in the order `--help` lists them.
pub const CPU_BUILDS: [CpuBuild; 5] = [
    CpuBuild::LlamaCpp,
    CpuBuild::OpenBlas,
    CpuBuild::Mkl,
    CpuBuild::Blis,
    CpuBuild::Llamafile,
];

/// `-sm`: how layers are split over several GPUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitMode {
    /// Whole layers per GPU (the default).
    Layer,
    /// Rows of each matrix over GPUs (CUDA only).
    Row,
    /// Only the main GPU.
    None,
}

/// The llama.cpp release whose allocation and kernel rules apply, by release month or build
/// number (its behaviour changes often; see [`LlamaCppVersion::rules`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LlamaCppVersion {
    /// A build from this year and month (e.g. 2025-10).
    Month {
        /// Year.
        year: u16,
        /// Month, 1–12.
        month: u8,
    },
    /// A build by number (`b7279`; llama-bench prints it after the commit, `4df6e859e (7349)`).
    Build(u32),
    /// The current rules (the default).
    Current,
}

/// Builds whose merge month is known: `(build, year, month)`, ascending. Build numbers are
/// llama.cpp's commit counts (its release tags `bNNNN`); months are of the merge. From the PRs
/// that changed AMD's prompt kernels (`estimate::prompt_kernels`: #4682 b1728, #8075 b3216,
/// #11244 b4567, #11831 b4699, #12372 b4966, #14624 b5997, #14949 b6036, #17156 b7148, #17576
/// b7279, #18202 b7564, #18537 b7645, counted on a full-history fork and checked against issue
/// #17917's `4df6e859e (7349)`) and from llama-bench runs in throughput.csv that state their
/// date beside their build (lhl/strix-halo-testing, kyuz0/amd-strix-halo-toolboxes, ROCm blogs).
const BUILD_MONTHS: &[(u32, u16, u8)] = &[
    (1728, 2023, 12),
    (1786, 2024, 1),
    (3216, 2024, 6),
    (3891, 2024, 10),
    (4201, 2024, 11),
    (4234, 2024, 12),
    (4567, 2025, 1),
    (4699, 2025, 2),
    (4966, 2025, 3),
    (5863, 2025, 7),
    (6077, 2025, 8),
    (6552, 2025, 9),
    (6715, 2025, 10),
    (7148, 2025, 11),
    (7279, 2025, 12),
    (7645, 2026, 1),
    (7772, 2026, 1),
    (8664, 2026, 4),
    (9187, 2026, 5),
    (9820, 2026, 6),
    (10334, 2026, 9),
];

/// The version-dependent allocation rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// `n_ctx` is padded to 256 (PR #17046, Nov 2025); before, the KV size was padded to 256 with
    /// flash attention and to 32 without (PR #16812 removed that in Oct 2025).
    pub ctx_pad_256: bool,
    /// MLA stores V as a view of the latent K, allocating no V cache (PR #19067, Jan 2026).
    pub mla_v_less: bool,
    /// The sliding-window cache stays F16 when `-ctk/-ctv` are quantized (PR #21277, Apr 2026).
    pub swa_f16_when_quantized: bool,
    /// Q/K (and V) are rotated by a Hadamard matrix when the cache is quantized, which adds the
    /// rotation inputs and one matmul per rotated tensor to the graph (PR #21038, March 2026: in the commit the validation harness builds, which predates PR #21277).
    pub attn_rotation: bool,
    /// The CPU compute buffer is replayed over llama.cpp's graph (`estimate::graph`), which is
    /// written after the commit the validation harness builds (0c1e57098, March 2026 rules).
    /// Older builds wrote the KV cache with `ggml_cpy` instead of `set_rows` (no index inputs, no
    /// unused embeddings input), so for them the closed form, fitted to their logs, is used.
    pub graph_replay: bool,
    /// Every graph creates both inputs, token ids and embeddings (the latter unused for a text
    /// batch but allocated), so switching input type needs no reallocation (PR #18898, merged
    /// 2026-01-17).
    pub embd_input_always: bool,
    /// `-ngl` offloads the output layer first, then blocks from the last (PR #18148, merged
    /// mid-December 2025: builds from early that month still count blocks first).
    pub ngl_output_first: bool,
}

impl LlamaCppVersion {
    /// Parses `current`, `YYYY-MM` or a build number `bNNNN`.
    #[must_use]
    pub fn parse(s: &str) -> Option<LlamaCppVersion> {
        if s.eq_ignore_ascii_case("current") || s.eq_ignore_ascii_case("latest") {
            return Some(LlamaCppVersion::Current);
        }
        if let Some(n) = s.strip_prefix(['b', 'B']) {
            return n
                .parse::<u32>()
                .ok()
                .filter(|n| (1..10_000_000).contains(n))
                .map(LlamaCppVersion::Build);
        }
        let (y, m) = s.split_once('-')?;
        let (year, month): (u16, u8) = (y.parse().ok()?, m.parse().ok()?);
        ((2023..=2100).contains(&year) && (1..=12).contains(&month))
            .then_some(LlamaCppVersion::Month { year, month })
    }

    /// The release month: a build's is that of the latest known build at or below it
    /// (`BUILD_MONTHS`); `None` for the current rules.
    #[must_use]
    pub fn month(self) -> Option<(u16, u8)> {
        match self {
            LlamaCppVersion::Current => None,
            LlamaCppVersion::Month { year, month } => Some((year, month)),
            LlamaCppVersion::Build(b) => Some(
                BUILD_MONTHS
                    .iter()
                    .take_while(|&&(n, _, _)| n <= b)
                    .last()
                    .map_or((2023, 6), |&(_, y, m)| (y, m)),
            ),
        }
    }

    /// Whether this version includes the change merged as build `build`: a month includes it
    /// when that build's month is before it (a change merged mid-month is in some of that
    /// month's builds only; counted out).
    #[must_use]
    pub fn has_build(self, build: u32) -> bool {
        match self {
            LlamaCppVersion::Current => true,
            LlamaCppVersion::Build(b) => b >= build,
            LlamaCppVersion::Month { .. } => self.month() > LlamaCppVersion::Build(build).month(),
        }
    }

    /// The rules of this version.
    #[must_use]
    pub fn rules(self) -> Rules {
        let at_least = |y: u16, m: u8| self.month().is_none_or(|ym| ym >= (y, m));
        Rules {
            ctx_pad_256: at_least(2025, 11),
            mla_v_less: at_least(2026, 1),
            swa_f16_when_quantized: at_least(2026, 4),
            attn_rotation: at_least(2026, 3),
            graph_replay: at_least(2026, 3),
            ngl_output_first: at_least(2025, 12),
            embd_input_always: at_least(2026, 2),
        }
    }
}

/// One `-ot PATTERN=DEVICE`: llama.cpp's `--override-tensor` (common/arg.cpp), applied as
/// `llama_model::load_tensors` applies it: the first pattern that `std::regex_search` finds in a
/// tensor's name decides that tensor's buffer, before the layer's device is looked at.
#[derive(Debug, Clone, Serialize)]
pub struct TensorOverride {
    /// The pattern as given (`exps`, `blk\.(2[0-9])\.ffn_.*_exps`).
    pub pattern: String,
    /// Where matching tensors go: `Some(g)` for GPU `g`, `None` for the CPU (system RAM).
    pub device: Option<usize>,
    #[serde(skip)]
    regex: regex::Regex,
}

impl TensorOverride {
    /// Compiles `pattern` for `device`. The pattern comes from the user, so its compiled size is
    /// bounded; the regex crate matches in linear time whatever the pattern.
    ///
    /// # Errors
    /// The pattern's syntax error, or that it is too large.
    pub fn new(pattern: &str, device: Option<usize>) -> Result<TensorOverride, regex::Error> {
        let regex = regex::RegexBuilder::new(pattern)
            .size_limit(1 << 20)
            .dfa_size_limit(1 << 20)
            .build()?;
        Ok(TensorOverride {
            pattern: pattern.to_string(),
            device,
            regex,
        })
    }

    /// Whether the pattern is found in `tensor` (a search, not a whole-name match, like
    /// `std::regex_search`).
    #[must_use]
    pub fn matches(&self, tensor: &str) -> bool {
        self.regex.is_match(tensor)
    }
}

impl PartialEq for TensorOverride {
    fn eq(&self, other: &Self) -> bool {
        self.pattern == other.pattern && self.device == other.device
    }
}

/// Everything about a run besides the model and the machine.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    /// `-c`: context in tokens; `None` = the model's trained length, shrunk to fit like `--fit`.
    pub ctx: Option<u64>,
    /// `-b`: logical batch (default 2048).
    pub batch: u64,
    /// `-ub`: physical batch (default 512).
    pub ubatch: u64,
    /// `-ngl`.
    pub gpu_layers: GpuLayers,
    /// `-fa`.
    pub flash_attn: FlashAttn,
    /// `-ctk` (default f16).
    pub cache_type_k: GgmlType,
    /// `-ctv` (default f16).
    pub cache_type_v: GgmlType,
    /// `-np`: parallel sequences.
    pub parallel: u32,
    /// `-kvu`: one KV pool shared by all sequences (llama-server's default when `-np` is left at 1).
    pub kv_unified: bool,
    /// `--swa-full`: full-size cache for sliding-window layers.
    pub swa_full: bool,
    /// `--n-cpu-moe N`: the routed experts of the first N layers stay in RAM (`--cpu-moe` = all).
    pub n_cpu_moe: u32,
    /// `-ot PATTERN=DEVICE` (`--override-tensor`), in the order given: a tensor whose name the
    /// first matching pattern finds goes to that device, whatever its layer's device.
    pub tensor_overrides: Vec<TensorOverride>,
    /// With `-ngl auto`, choose `n_cpu_moe` for an MoE model that does not fit whole (as `--fit`
    /// does); off when the user gave `--n-cpu-moe`/`--cpu-moe`.
    pub auto_cpu_moe: bool,
    /// `-nkvo`: KV cache in system RAM.
    pub no_kv_offload: bool,
    /// `--no-op-offload`: ops whose weights are in RAM run on the CPU even for large batches
    /// (by default a GPU takes them and the weights cross PCIe for each ubatch).
    pub no_op_offload: bool,
    /// `-ts`: proportions of layers per GPU; empty = by free memory.
    pub tensor_split: Vec<f64>,
    /// `-sm`.
    pub split_mode: SplitMode,
    /// `-mg`: the GPU that holds the whole model with `-sm none` (default 0).
    pub main_gpu: usize,
    /// `-fitt`: memory `-ngl auto` leaves free on each GPU, bytes (default 1 GiB).
    pub fit_margin_bytes: u64,
    /// `-fitc`: the smallest context `--fit` shrinks to (default 4096).
    pub fit_min_ctx: u64,
    /// The llama.cpp version whose allocation rules apply (default: current).
    pub llama_cpp: LlamaCppVersion,
    /// `--backend`: the engine whose allocations are modelled (default llama.cpp).
    pub backend: Backend,
    /// Decode speed at or above which a fitting model "works well", tokens/s (default 20).
    pub good_tps: f64,
    /// Decode speed at or above which it is "usable" (below: "slow"), tokens/s (default 5).
    pub usable_tps: f64,
    /// Speed test: prompt tokens (llama-bench `-p`, default 512).
    pub prompt: u64,
    /// Speed test: generated tokens (llama-bench `-n`, default 128).
    pub gen: u64,
    /// Speed test: tokens already in context (llama-bench `-d`, default 0).
    pub depth: u64,
    /// `-t`: CPU threads for the layers on the CPU; `None` is llama.cpp's default, one per
    /// physical core (`cpu_get_num_math` in common/common.cpp).
    pub threads: Option<u32>,
    /// `--cpu-build`: how the llama.cpp running the CPU's share was built (its prompt kernels).
    pub cpu_build: CpuBuild,
    /// rocBLAS's GEMM backend (`ROCBLAS_USE_HIPBLASLT`): `Some(true)` hipBLASLt, `Some(false)`
    /// Tensile, `None` rocBLAS's own choice (Tensile on RDNA3.5). Changes the prompt speed of
    /// the weights a ROCm build sends to hipBLAS.
    pub hipblaslt: Option<bool>,
    /// How the CUDA/HIP backend was built to choose its quantized prompt kernels: `Some(true)`
    /// with `GGML_CUDA_FORCE_MMQ` (llama.cpp's MMQ at every batch size), `Some(false)` with
    /// `GGML_CUDA_FORCE_CUBLAS` (dequantized to F16 for cuBLAS/hipBLAS above the one-token
    /// kernels' batch sizes), `None` llama.cpp's own choice by GPU and build
    /// (`prompt_kernels::cuda_kernels`, `prompt_kernels::amd_kernels`).
    pub force_mmq: Option<bool>,
    /// The Vulkan driver of AMD GPUs under the Vulkan backend (`prompt_kernels::vulkan_amd_tiles`);
    /// `None`: AMD's own on Windows, Mesa's RADV elsewhere ([`VulkanDriver::for_os`]).
    pub vulkan_driver: Option<VulkanDriver>,
}

impl Settings {
    /// The Vulkan driver AMD GPUs run on a machine with `os`: the one set, else
    /// [`VulkanDriver::for_os`].
    #[must_use]
    pub fn vulkan_driver_on(&self, os: Option<Os>) -> VulkanDriver {
        self.vulkan_driver
            .unwrap_or_else(|| VulkanDriver::for_os(os))
    }
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            ctx: None,
            batch: 2048,
            ubatch: 512,
            gpu_layers: GpuLayers::Auto,
            flash_attn: FlashAttn::Auto,
            cache_type_k: GgmlType::F16,
            cache_type_v: GgmlType::F16,
            parallel: 1,
            kv_unified: false,
            swa_full: false,
            n_cpu_moe: 0,
            tensor_overrides: Vec::new(),
            auto_cpu_moe: true,
            no_kv_offload: false,
            no_op_offload: false,
            tensor_split: Vec::new(),
            split_mode: SplitMode::Layer,
            main_gpu: 0,
            fit_margin_bytes: 1 << 30,
            fit_min_ctx: 4096,
            llama_cpp: LlamaCppVersion::Current,
            backend: Backend::LlamaCpp,
            good_tps: 20.0,
            usable_tps: 5.0,
            prompt: 512,
            gen: 128,
            depth: 0,
            threads: None,
            cpu_build: CpuBuild::LlamaCpp,
            hipblaslt: None,
            force_mmq: None,
            vulkan_driver: None,
        }
    }
}

/// KV cache types llama.cpp accepts for `-ctk`/`-ctv` (`kv_cache_types` in common/arg.cpp).
pub const KV_CACHE_TYPES: [GgmlType; 9] = [
    GgmlType::F32,
    GgmlType::F16,
    GgmlType::BF16,
    GgmlType::Q8_0,
    GgmlType::Q4_0,
    GgmlType::Q4_1,
    GgmlType::IQ4_NL,
    GgmlType::Q5_0,
    GgmlType::Q5_1,
];

/// The inference engine (`--backend`) whose allocations are modelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// llama.cpp and the tools built on it (Ollama, LM Studio, koboldcpp).
    #[default]
    #[serde(rename = "llama.cpp")]
    LlamaCpp,
    /// turboderp's ExLlamaV2 (EXL2 weights, CUDA/ROCm only, no offload to RAM).
    #[serde(rename = "exllamav2")]
    ExLlamaV2,
    /// ExLlamaV3 (EXL3 weights).
    #[serde(rename = "exllamav3")]
    ExLlamaV3,
    /// Apple's mlx-lm (unified memory only).
    Mlx,
    /// Hugging Face transformers `generate()` (PyTorch, `device_map="auto"`).
    Transformers,
    /// vLLM: planned by `llmrig plan`; `estimate` keeps llama.cpp's rules and says so.
    Vllm,
    /// stable-diffusion.cpp, for image models (`crate::stack::image`).
    #[serde(rename = "sd.cpp")]
    SdCpp,
    /// ComfyUI, for image models.
    #[serde(rename = "comfyui")]
    ComfyUi,
    /// Hugging Face diffusers, for image models.
    Diffusers,
    /// Hugging Face text-embeddings-inference (TEI), for embedding and reranker models.
    #[serde(rename = "tei")]
    Tei,
    /// sentence-transformers (PyTorch), for embedding and reranker models.
    #[serde(rename = "sentence-transformers")]
    SentenceTransformers,
}

impl Backend {
    /// Parses a `--backend` name; `ollama`, `lmstudio` and `koboldcpp` are llama.cpp.
    #[must_use]
    pub fn parse(s: &str) -> Option<Backend> {
        Some(
            match s.to_ascii_lowercase().replace(['-', '_'], "").as_str() {
                "llama.cpp" | "llamacpp" | "ollama" | "lmstudio" | "koboldcpp" => Backend::LlamaCpp,
                "exllamav2" | "exl2" | "tabbyapi" => Backend::ExLlamaV2,
                "exllamav3" | "exl3" => Backend::ExLlamaV3,
                "mlx" | "mlxlm" => Backend::Mlx,
                "transformers" | "hf" => Backend::Transformers,
                "vllm" => Backend::Vllm,
                "sd.cpp" | "sdcpp" | "stablediffusion.cpp" => Backend::SdCpp,
                "comfyui" | "comfy" => Backend::ComfyUi,
                "diffusers" => Backend::Diffusers,
                "tei" | "textembeddingsinference" => Backend::Tei,
                "sentencetransformers" | "sbert" | "st" => Backend::SentenceTransformers,
                _ => return None,
            },
        )
    }

    /// The `--backend` name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Backend::LlamaCpp => "llama.cpp",
            Backend::ExLlamaV2 => "exllamav2",
            Backend::ExLlamaV3 => "exllamav3",
            Backend::Mlx => "mlx",
            Backend::Transformers => "transformers",
            Backend::Vllm => "vllm",
            Backend::SdCpp => "sd.cpp",
            Backend::ComfyUi => "comfyui",
            Backend::Diffusers => "diffusers",
            Backend::Tei => "tei",
            Backend::SentenceTransformers => "sentence-transformers",
        }
    }

    /// Engines that serve embedding and reranker models only.
    #[must_use]
    pub fn is_embedding(self) -> bool {
        matches!(self, Backend::Tei | Backend::SentenceTransformers)
    }

    /// Engines that run image models, not text models.
    #[must_use]
    pub fn is_image(self) -> bool {
        matches!(self, Backend::SdCpp | Backend::ComfyUi | Backend::Diffusers)
    }

    /// Engines that keep every layer on the GPUs (no offload to system RAM).
    #[must_use]
    pub fn gpu_only(self) -> bool {
        matches!(self, Backend::ExLlamaV2 | Backend::ExLlamaV3 | Backend::Mlx)
    }

    /// Engines whose memory `estimate` models with this module's rules.
    #[must_use]
    pub fn modelled_here(self) -> bool {
        !matches!(self, Backend::LlamaCpp | Backend::Vllm) && !self.is_image()
    }

    /// The CUDA context, cuBLAS/cuDNN kernels and allocator slack of a PyTorch process, per GPU:
    /// 1343 MiB measured on a V100 in transformers' docs (docs/source/en/model_memory_anatomy.md,
    /// "1-2GB" in general). llama.cpp's own runtime is smaller (457 MiB, see `GpuApi`).
    #[must_use]
    pub fn runtime_bytes(self) -> Option<u64> {
        match self {
            Backend::ExLlamaV2 | Backend::ExLlamaV3 | Backend::Transformers => Some(1343 << 20),
            Backend::Mlx => Some(0),
            // A PyTorch process since CUDA 11.7 loads its kernels lazily: its context is about
            // 400 MiB (ptrblck in pytorch#109888; 274 MiB measured in pytorch PR #86509, without
            // cuBLAS's kernels).
            Backend::SentenceTransformers => Some(400 << 20),
            // TEI (candle, cuBLASLt, flash-attn kernels) as llama.cpp's CUDA runtime.
            Backend::Tei => None,
            Backend::LlamaCpp | Backend::Vllm => None,
            Backend::SdCpp | Backend::ComfyUi | Backend::Diffusers => None,
        }
    }
}

/// Settings that llama.cpp would reject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EstimateError {
    /// A numeric setting out of range.
    #[error("{flag} {value} is out of range: expected {expected}")]
    OutOfRange {
        /// The flag (`-c`).
        flag: &'static str,
        /// What was given.
        value: String,
        /// The accepted range.
        expected: String,
    },
    /// A KV cache type llama.cpp does not accept.
    #[error("{flag} {value} is not a KV cache type: expected one of f32, f16, bf16, q8_0, q4_0, q4_1, iq4_nl, q5_0, q5_1")]
    CacheType {
        /// `-ctk` or `-ctv`.
        flag: &'static str,
        /// The type given.
        value: String,
    },
    /// Quantized V cache without flash attention.
    #[error("-ctv {0} needs flash attention: llama.cpp refuses a quantized V cache with -fa off")]
    QuantizedVNeedsFa(String),
    /// Different K and V cache types on an MLA model.
    #[error("-ctk {k} with -ctv {v}: llama.cpp refuses different K and V cache types for MLA models (DeepSeek V2/V3, Kimi K2); give both the same type")]
    MlaKvTypes {
        /// The K type.
        k: String,
        /// The V type.
        v: String,
    },
    /// An embedding engine asked to run a text generator.
    #[error("--backend {0} serves embedding and reranker models only")]
    EmbeddingOnly(&'static str),
    /// An engine that cannot run on this machine.
    #[error("--backend {backend} needs {needs}; this machine has none")]
    BackendNeeds {
        /// The engine.
        backend: &'static str,
        /// What it needs.
        needs: &'static str,
    },
    /// `-sm row` on a backend without split buffers.
    #[error(
        "-sm row: {0} does not support split buffers (only CUDA, ROCm and SYCL do); use -sm layer"
    )]
    RowSplitUnsupported(String),
    /// More `-ts` entries than GPUs.
    #[error("-ts has {given} entries but the machine has {gpus} GPU(s)")]
    TensorSplit {
        /// Entries given.
        given: usize,
        /// GPUs present.
        gpus: usize,
    },
}

/// Refuses settings llama.cpp (or the chosen engine) would refuse, before anything is computed.
///
/// # Errors
/// [`EstimateError`] naming the flag and what it accepts.
pub fn check(spec: &ModelSpec, s: &Settings, sys: &SystemSpec) -> Result<(), EstimateError> {
    let range = |flag: &'static str, v: u64, lo: u64, hi: u64| {
        if v < lo || v > hi {
            Err(EstimateError::OutOfRange {
                flag,
                value: v.to_string(),
                expected: format!("{lo}..={hi}"),
            })
        } else {
            Ok(())
        }
    };
    if let Some(c) = s.ctx {
        range("-c", c, 1, MAX_CTX)?;
    }
    range("-b", s.batch, 1, MAX_CTX)?;
    range("-ub", s.ubatch, 1, MAX_CTX)?;
    range("-np", u64::from(s.parallel), 1, 1024)?;
    range("--prompt", s.prompt, 0, MAX_CTX)?;
    range("--gen", s.gen, 0, MAX_CTX)?;
    range("--depth", s.depth, 0, MAX_CTX)?;
    if let Some(th) = s.threads {
        range("-t", u64::from(th), 1, 4096)?;
    }
    if s.main_gpu > 0 && s.main_gpu >= sys.gpus.len() {
        return Err(EstimateError::OutOfRange {
            flag: "-mg",
            value: s.main_gpu.to_string(),
            expected: format!("0..={}", sys.gpus.len().saturating_sub(1)),
        });
    }
    if let Some(o) = s
        .tensor_overrides
        .iter()
        .find(|o| o.device.is_some_and(|g| g >= sys.gpus.len()))
    {
        return Err(EstimateError::OutOfRange {
            flag: "-ot",
            value: format!("{}=GPU{}", o.pattern, o.device.unwrap_or(0)),
            expected: match sys.gpus.len() {
                0 => "CPU: this machine has no GPU".to_string(),
                n => format!("CPU or one of the machine's {n} GPUs (0..={})", n - 1),
            },
        });
    }
    for (flag, t) in [("-ctk", s.cache_type_k), ("-ctv", s.cache_type_v)] {
        if !KV_CACHE_TYPES.contains(&t) {
            return Err(EstimateError::CacheType {
                flag,
                value: t.name().to_ascii_lowercase(),
            });
        }
    }
    if s.backend.is_embedding() && !spec.is_embedder() {
        return Err(EstimateError::EmbeddingOnly(s.backend.name()));
    }
    let needs = match s.backend {
        Backend::ExLlamaV2 | Backend::ExLlamaV3 => Some((
            "an NVIDIA (CUDA) or AMD (ROCm) GPU",
            sys.gpus
                .iter()
                .any(|g| matches!(g.api, GpuApi::Cuda | GpuApi::Rocm)),
        )),
        Backend::Mlx => Some((
            "Apple silicon (Metal, unified memory)",
            sys.gpus.iter().any(|g| g.api == GpuApi::Metal),
        )),
        _ => None,
    };
    if let Some((needs, false)) = needs {
        return Err(EstimateError::BackendNeeds {
            backend: s.backend.name(),
            needs,
        });
    }
    if s.backend.modelled_here() {
        // The llama.cpp-specific refusals below do not apply.
        return Ok(());
    }
    if s.cache_type_v.is_quantized() && s.flash_attn == FlashAttn::Off {
        return Err(EstimateError::QuantizedVNeedsFa(
            s.cache_type_v.name().to_ascii_lowercase(),
        ));
    }
    // MLA caches V as a view of the latent K, so llama_init_from_model refuses different types
    // (llama-context.cpp, "model does not support different K and V cache types").
    if spec.is_mla()
        && !spec.mla_legacy_kv
        && s.cache_type_k != s.cache_type_v
        && s.llama_cpp.rules().mla_v_less
    {
        return Err(EstimateError::MlaKvTypes {
            k: s.cache_type_k.name().to_ascii_lowercase(),
            v: s.cache_type_v.name().to_ascii_lowercase(),
        });
    }
    // -sm row puts matrices into a split buffer, which only CUDA, ROCm (HIP) and SYCL have:
    // llama.cpp stops with "device ... does not support split buffers" elsewhere.
    if s.split_mode == SplitMode::Row {
        if let Some(g) = sys
            .gpus
            .iter()
            .find(|g| !matches!(g.api, GpuApi::Cuda | GpuApi::Rocm | GpuApi::Sycl))
        {
            return Err(EstimateError::RowSplitUnsupported(g.name.clone()));
        }
    }
    if s.tensor_split.len() > sys.gpus.len() {
        return Err(EstimateError::TensorSplit {
            given: s.tensor_split.len(),
            gpus: sys.gpus.len(),
        });
    }
    if s.tensor_split.iter().any(|w| !w.is_finite() || *w < 0.0) {
        return Err(EstimateError::OutOfRange {
            flag: "-ts",
            value: format!("{:?}", s.tensor_split),
            expected: "non-negative proportions".into(),
        });
    }
    Ok(())
}
