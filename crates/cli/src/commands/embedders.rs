//! `--backend tei|sentence-transformers`: an embedding or reranker model as Hugging Face's
//! text-embeddings-inference server or a sentence-transformers script runs it. The memory rules
//! live in `llmrig_core::estimate` (engines.rs); here the engine's defaults become settings, and
//! the notes and the command to start it are written.
//!
//! Sources: text-embeddings-inference 0d124dc (2026-07, v1.9.x): router/src/main.rs (defaults),
//! backends/candle/src/lib.rs (flash models on CUDA with fp16 only; compute capability 8.0+ for
//! flash-attn v2, the Turing image ships with USE_FLASH_ATTENTION=False), backends/src/lib.rs
//! (warmup: one padding-free batch of exactly --max-batch-tokens tokens; a padded model one
//! sequence of min(max input length, --max-batch-tokens); an out-of-memory there stops the
//! server), backends/src/dtype.rs (float16 for candle builds, float32 for the CPU image).
//! sentence-transformers 85ec6455 (v5.2.0.dev0): SentenceTransformer.encode (batch_size 32,
//! padding to the longest text of a batch, longest first), models/Transformer.py (the model in
//! float32 unless `model_kwargs={"torch_dtype": ...}`).

use anyhow::Result;
use llmrig_core::estimate::{Backend, FlashAttn, Settings};
use llmrig_core::model::ModelSpec;
use llmrig_core::quant::GgmlType;
use llmrig_core::system::{GpuApi, SystemSpec};

/// TEI's `--max-batch-tokens` default (router/src/main.rs).
pub const TEI_MAX_BATCH_TOKENS: u64 = 16384;
/// `SentenceTransformer.encode`'s and `CrossEncoder.predict`'s `batch_size` default.
pub const ST_BATCH_SIZE: u64 = 32;
/// The TEI release the commands name.
const TEI_VERSION: &str = "1.9";

/// The weights' type an engine loads when `-q` names none: sentence-transformers float32; TEI
/// float16 on a GPU, float32 on the CPU.
#[must_use]
pub fn default_dtype(engine: Backend, sys: &SystemSpec) -> Option<&'static str> {
    match engine {
        Backend::SentenceTransformers => Some("F32"),
        Backend::Tei if sys.gpus.is_empty() => Some("F32"),
        Backend::Tei => Some("F16"),
        _ => None,
    }
}

/// NVIDIA GPU generations as TEI's images divide them (README "Docker Images", TEI 0d124dc), told
/// by the GPU's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Nvidia {
    /// Volta, Pascal and older: "NOT SUPPORTED".
    Old,
    /// Turing (T4, RTX 20, GTX 16): the experimental `turing-` image, without flash attention.
    Turing,
    /// Ampere 8.0 (A100, A30): the plain version tag.
    Ampere80,
    /// Ampere 8.6 (RTX 30, A10, A40, A6000): `86-`.
    Ampere86,
    /// Ada Lovelace (RTX 40, L4, L40): `89-`.
    Ada,
    /// Hopper (H100, H200, GH200): `hopper-`.
    Hopper,
    /// Blackwell 10.0 (B200, GB200): `100-`.
    Blackwell100,
    /// Blackwell 12.0 (RTX 50, RTX PRO 6000 Blackwell): `120-`.
    Blackwell120,
    /// Blackwell 12.1 (DGX Spark's GB10): `121-`.
    Blackwell121,
}

impl Nvidia {
    fn of(name: &str) -> Nvidia {
        let n = name.to_ascii_uppercase();
        let words: Vec<&str> = n
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        let has = |ws: &[&str]| ws.iter().any(|w| words.contains(w));
        // A GeForce model number's series: "RTX 3060" → 30, "GTX 1080" → 10.
        let series = words.windows(2).find_map(|p| {
            (matches!(p[0], "RTX" | "GTX") && p[1].len() == 4)
                .then(|| p[1][..2].parse::<u32>().ok())
                .flatten()
        });
        if has(&["GB10", "SPARK"]) {
            Nvidia::Blackwell121
        } else if has(&["B100", "B200", "GB200", "B300", "GB300"]) {
            Nvidia::Blackwell100
        } else if has(&["BLACKWELL"]) || series == Some(50) {
            Nvidia::Blackwell120
        } else if has(&["H100", "H200", "H800", "H20", "GH200"]) {
            Nvidia::Hopper
        } else if has(&["ADA", "L4", "L40", "L40S"]) || series == Some(40) {
            Nvidia::Ada
        } else if has(&["A100", "A30", "A800"]) {
            Nvidia::Ampere80
        } else if has(&["T4"])
            || matches!(series, Some(16 | 20))
            || (has(&["QUADRO", "TITAN"]) && has(&["RTX"]))
        {
            Nvidia::Turing
        } else if matches!(series, Some(9 | 10))
            || has(&["V100", "P100", "P40", "P4", "K80", "M40", "TITAN"])
        {
            Nvidia::Old
        } else {
            Nvidia::Ampere86
        }
    }

    /// The image tag for this generation.
    fn image(self) -> String {
        match self {
            Nvidia::Old | Nvidia::Ampere80 => TEI_VERSION.to_string(),
            Nvidia::Turing => format!("turing-{TEI_VERSION}"),
            Nvidia::Ampere86 => format!("86-{TEI_VERSION}"),
            Nvidia::Ada => format!("89-{TEI_VERSION}"),
            Nvidia::Hopper => format!("hopper-{TEI_VERSION}"),
            Nvidia::Blackwell100 => format!("100-{TEI_VERSION}"),
            Nvidia::Blackwell120 => format!("120-{TEI_VERSION}"),
            Nvidia::Blackwell121 => format!("121-{TEI_VERSION}"),
        }
    }
}

/// NVIDIA GPUs older than Ampere (compute capability below 8.0): TEI runs them without flash
/// attention, padding every batch and storing the attention scores.
fn pre_ampere(name: &str) -> bool {
    matches!(Nvidia::of(name), Nvidia::Old | Nvidia::Turing)
}

/// The engine's settings for this model: the batch its memory peaks at (TEI's warmup, a
/// sentence-transformers batch), the weights' type as the cache type (engines.rs reads it as the
/// activations' width), and flash attention where the engine uses it. Returns what the user
/// should know. `docs`: sentence-transformers' batch size; `max_batch_tokens`: TEI's.
///
/// # Errors
/// The engine cannot run this model, these weights or on this machine.
pub fn configure(
    engine: Backend,
    s: &mut Settings,
    (spec, quant): (&ModelSpec, &str),
    chunk: u64,
    (docs, max_batch_tokens): (Option<u64>, Option<u64>),
    sys: &SystemSpec,
) -> Result<Vec<String>> {
    if !engine.is_embedding() {
        return Ok(Vec::new());
    }
    if !spec.is_embedder() {
        anyhow::bail!(
            "--backend {}: serves embedding and reranker models; {} generates text (its engines: llama.cpp, vllm, exllamav2, mlx, transformers)",
            engine.name(),
            spec.name
        );
    }
    let wtype = match quant.to_ascii_uppercase().as_str() {
        "F32" => GgmlType::F32,
        "F16" => GgmlType::F16,
        "BF16" => GgmlType::BF16,
        _ => anyhow::bail!(
            "--backend {}: loads safetensors weights in float32, float16 or bfloat16 (-q F32, F16 or BF16), not {quant}",
            engine.name()
        ),
    };
    let gpu = sys.gpus.first();
    if engine == Backend::Tei
        && gpu.is_some_and(|g| g.api == GpuApi::Cuda && Nvidia::of(&g.name) == Nvidia::Old)
    {
        anyhow::bail!(
            "--backend tei: its CUDA images start at Turing (T4, RTX 20); {} is older (\"Volta: NOT SUPPORTED\" in TEI's image table): use --no-gpu for TEI's CPU image, or --backend sentence-transformers",
            gpu.map_or("", |g| g.name.as_str())
        );
    }
    if engine == Backend::Tei && gpu.is_some_and(|g| !matches!(g.api, GpuApi::Cuda | GpuApi::Metal))
    {
        anyhow::bail!(
            "--backend tei: its GPU builds are CUDA (NVIDIA) and Metal (Apple; AMD Instinct only experimentally, through a Python backend llmrig does not size); this machine's GPU is {} (use --no-gpu for TEI's CPU image, or --backend sentence-transformers)",
            gpu.map_or("", |g| g.name.as_str())
        );
    }
    // sentence-transformers cuts inputs at the repository's max_seq_length, which can be below
    // the position table (all-MiniLM-L6-v2: 256 of 512).
    let max_len = match (engine, spec.max_seq_length) {
        (Backend::SentenceTransformers, Some(m)) => m.min(spec.context_length),
        _ => spec.context_length,
    }
    .max(1);
    let t = chunk.clamp(1, max_len);
    let mut notes = Vec::new();
    if chunk > max_len {
        notes.push(format!(
            "{}: documents are cut at its {max_len} tokens; chunks of {chunk} are read as {t}",
            spec.name
        ));
    }
    s.ctx = Some(max_len);
    s.prompt = t;
    s.gen = 0;
    s.parallel = 1;
    s.gpu_layers = llmrig_core::estimate::GpuLayers::Count(spec.n_layer + 1);
    s.cache_type_k = wtype;
    s.cache_type_v = wtype;
    if engine == Backend::Tei {
        let budget = max_batch_tokens.unwrap_or(TEI_MAX_BATCH_TOKENS).max(1);
        // TEI's flash models need float16 and flash-attn (v2 on compute capability 8.0+; the
        // Turing image turns it off); the others pad.
        let flash = wtype == GgmlType::F16
            && gpu.is_some_and(|g| g.api == GpuApi::Cuda && !pre_ampere(&g.name));
        s.flash_attn = if flash { FlashAttn::On } else { FlashAttn::Off };
        // The warmup is the peak: the whole token budget in sequences of the longest input when
        // padding-free, one sequence of the longest input otherwise.
        let longest = max_len.min(budget);
        (s.ubatch, s.batch) = (t, budget);
        notes.push(if flash {
            format!(
                "tei: batches concatenate documents without padding (flash attention); memory peaks at startup, where TEI runs one batch of --max-batch-tokens {budget} tokens and stops if it does not fit"
            )
        } else {
            let why = gpu.map_or_else(
                || "the CPU image runs ONNX Runtime".to_string(),
                |g| {
                    if g.api == GpuApi::Cuda && wtype == GgmlType::F16 {
                        format!("{} is older than Ampere; TEI's Turing image turns it off", g.name)
                    } else {
                        format!("on {} with {} weights", g.name, wtype.name())
                    }
                },
            );
            format!(
                "tei: without flash attention ({why}) TEI pads each batch and keeps the attention scores of every head (batch × heads × length²); its startup runs one {longest}-token sequence and stops if it does not fit: --max-batch-tokens caps it"
            )
        });
    } else {
        let b = docs.unwrap_or(ST_BATCH_SIZE).max(1);
        (s.ubatch, s.batch) = (t, t * b);
        s.flash_attn = FlashAttn::On;
        let mask = if spec.is_encoder() && b > 1 {
            format!(
                "; with any padding transformers expands the attention mask to batch × {t}² values ({} here)",
                crate::render::size(b * t * t * if wtype == GgmlType::F32 { 4 } else { 2 })
            )
        } else {
            String::new()
        };
        notes.push(format!(
            "sentence-transformers: encode(batch_size={b}) pads each batch to its longest text ({t} tokens here){mask}; memory peaks with the first, longest batch"
        ));
        if !spec.is_encoder() {
            let per_token: u64 = (0..spec.n_layer)
                .filter(|&il| spec.has_kv(il))
                .map(|il| spec.n_embd_k_gqa(il) + spec.n_embd_v_gqa(il))
                .sum();
            let dt = if wtype == GgmlType::F32 { 4 } else { 2 };
            notes.push(format!(
                "sentence-transformers: {}'s forward fills a cache of every layer's K and V for the whole batch ({}, the KV cache column) because its config says use_cache; SentenceTransformer(..., config_kwargs={{\"use_cache\": False}}) frees it",
                spec.name,
                crate::render::size(per_token * t * b * dt)
            ));
        }
    }
    Ok(notes)
}

/// The command that runs the model in the engine, with the settings estimated.
#[must_use]
pub fn start_command(
    engine: Backend,
    spec: &ModelSpec,
    repo: &str,
    s: &Settings,
    sys: &SystemSpec,
) -> String {
    let f32 = s.cache_type_k == GgmlType::F32;
    if engine == Backend::Tei {
        // Apple silicon: Homebrew's Metal build (TEI README, "Local install").
        if sys.gpus.first().is_some_and(|g| g.api == GpuApi::Metal) {
            return format!(
                "brew install text-embeddings-inference && text-embeddings-router --model-id {repo} --port 8080"
            );
        }
        let image = match sys.gpus.first() {
            None => format!("cpu-{TEI_VERSION}"),
            Some(g) => Nvidia::of(&g.name).image(),
        };
        let gpus = if sys.gpus.is_empty() {
            ""
        } else {
            "--gpus all "
        };
        let dtype = if f32 && !sys.gpus.is_empty() {
            " --dtype float32"
        } else {
            ""
        };
        let budget = if s.batch != TEI_MAX_BATCH_TOKENS && s.flash_attn == FlashAttn::On {
            format!(" --max-batch-tokens {}", s.batch)
        } else {
            String::new()
        };
        return format!(
            "docker run {gpus}-p 8080:80 -v $PWD/data:/data ghcr.io/huggingface/text-embeddings-inference:{image} --model-id {repo}{dtype}{budget}"
        );
    }
    let device = match sys.gpus.first().map(|g| g.api) {
        None => "cpu",
        Some(GpuApi::Metal) => "mps",
        Some(_) => "cuda",
    };
    let kwargs = match s.cache_type_k {
        GgmlType::F16 => ", model_kwargs={\"torch_dtype\": \"float16\"}",
        GgmlType::BF16 => ", model_kwargs={\"torch_dtype\": \"bfloat16\"}",
        _ => "",
    };
    let b = s.batch / s.ubatch.max(1);
    if spec.pooling == Some(llmrig_core::model::Pooling::Rank) {
        format!(
            "python -c 'from sentence_transformers import CrossEncoder; m = CrossEncoder(\"{repo}\", device=\"{device}\"{kwargs}); print(m.predict([(\"query\", \"document\")], batch_size={b}))'"
        )
    } else {
        format!(
            "python -c 'from sentence_transformers import SentenceTransformer; m = SentenceTransformer(\"{repo}\", device=\"{device}\"{kwargs}); print(m.encode([\"document\"], batch_size={b}).shape)'"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::Nvidia;

    #[test]
    fn gpu_names_pick_teis_image() {
        for (name, generation) in [
            ("NVIDIA GeForce RTX 3060 12GB", Nvidia::Ampere86),
            ("NVIDIA RTX A6000", Nvidia::Ampere86),
            ("NVIDIA GeForce RTX 4090", Nvidia::Ada),
            ("NVIDIA L4", Nvidia::Ada),
            ("NVIDIA RTX 6000 Ada Generation", Nvidia::Ada),
            ("NVIDIA GeForce RTX 5090", Nvidia::Blackwell120),
            ("NVIDIA RTX PRO 6000 Blackwell", Nvidia::Blackwell120),
            ("NVIDIA B200", Nvidia::Blackwell100),
            ("NVIDIA DGX Spark (GB10)", Nvidia::Blackwell121),
            ("NVIDIA H100 80GB HBM3", Nvidia::Hopper),
            ("NVIDIA A100 SXM 80GB", Nvidia::Ampere80),
            ("NVIDIA T4", Nvidia::Turing),
            ("NVIDIA GeForce RTX 2080 Ti", Nvidia::Turing),
            ("NVIDIA GeForce GTX 1660 SUPER", Nvidia::Turing),
            ("NVIDIA Tesla V100 SXM2 32GB", Nvidia::Old),
            ("NVIDIA GeForce GTX 1080 Ti", Nvidia::Old),
            ("NVIDIA Tesla P40", Nvidia::Old),
        ] {
            assert_eq!(Nvidia::of(name), generation, "{name}");
        }
        assert_eq!(Nvidia::Ampere80.image(), "1.9");
        assert_eq!(Nvidia::Blackwell120.image(), "120-1.9");
    }
}
