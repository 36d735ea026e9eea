//! What the user should know about a plan: [`PlanWarning`], one variant per stable code, carrying
//! the numbers its message states. `code()` is the identifier scripts match; `Display` is the text
//! for people; serialized, a warning is `{"code": …, "message": …}`. Which warnings a plan gets is
//! decided in `notes.rs`.

use std::fmt;

use super::engine::Engine;
use crate::quant::{OtherFormat, Quant};
use crate::units::gib;

/// A note on a serving plan.
#[derive(Debug, Clone, PartialEq)]
pub enum PlanWarning {
    /// `does-not-fit`: no plan starts; the one shown has the most room for weights.
    DoesNotFit {
        /// The model's name.
        model: String,
        /// The weights' format.
        quant: String,
        /// All weights, bytes.
        weights_bytes: u64,
        /// GPUs in the cluster.
        gpus: u32,
        /// The GPU every rank is planned as.
        gpu: String,
        /// The plan shown.
        tp: u32,
        /// The plan shown.
        pp: u32,
        /// Weights on each GPU of that plan, bytes.
        weights_per_gpu_bytes: u64,
        /// What does not fit.
        reason: NoFitReason,
    },
    /// `limited-concurrency`: fewer sequences of `max_model_len` fit than there are users.
    LimitedConcurrency {
        /// Sequences that fit at once.
        seqs: u64,
        /// `--max-model-len`.
        max_model_len: u64,
        /// `--users`.
        users: u32,
    },
    /// `below-min-tps`: the plan's per-user speed misses `--min-tps`.
    BelowMinTps {
        /// Decode tokens/s per user.
        per_user_tokens_per_s: f64,
        /// `--min-tps`.
        min_tps: f64,
        /// Some other plan that starts reaches it (holding fewer users).
        faster_alternatives: bool,
    },
    /// `cuda-graph-headroom`: vLLM's `1 − util` share is smaller than the CUDA context and graphs.
    CudaGraphHeadroom {
        /// `--gpu-memory-utilization`.
        utilization: f64,
        /// Memory outside the engine's budget, bytes.
        left_bytes: u64,
        /// CUDA graphs and overhead, bytes.
        needed_bytes: u64,
    },
    /// `tp-across-nodes`: TP's all-reduces cross the network.
    TpAcrossNodes,
    /// `multi-node-launch`: how to start the engine on several nodes.
    MultiNodeLaunch(MultiNodeLaunch),
    /// `context-beyond-training`: `--max-model-len` exceeds the trained context.
    ContextBeyondTraining {
        /// `--max-model-len`.
        max_model_len: u64,
        /// The model's trained context, tokens.
        trained: u64,
    },
    /// `mixed-gpus`: the GPUs differ; every rank is planned as the smallest.
    MixedGpus {
        /// The GPU every rank is planned as.
        planned_as: String,
    },
    /// `engine-unsupported-device`: some GPU is neither CUDA nor ROCm.
    EngineUnsupportedDevice {
        /// The engine.
        engine: Engine,
    },
    /// `sliding-window-not-modelled`.
    SlidingWindowNotModelled,
    /// `recurrent-not-modelled`.
    RecurrentNotModelled,
    /// `moe-speed-rough`.
    MoeSpeedRough,
    /// `format-engine`: the weights' format is not one vLLM and SGLang load natively.
    FormatEngine(ForeignFormat),
    /// `speed-uncalibrated`.
    SpeedUncalibrated,
}

/// Why the plan shown does not start.
#[derive(Debug, Clone, PartialEq)]
pub enum NoFitReason {
    /// Each GPU's weights exceed what the engine may use after activations and overhead.
    Weights {
        /// What the engine may use, bytes.
        budget_bytes: u64,
        /// Memory CUDA reports, bytes.
        capacity_bytes: u64,
        /// `--gpu-memory-utilization`.
        utilization: f64,
        /// About how many such GPUs the weights need.
        gpus_needed: f64,
    },
    /// The weights fit, but the KV cache holds less than one `max_model_len` sequence.
    Context {
        /// KV cache tokens of one replica.
        kv_tokens: u64,
        /// `--max-model-len`.
        max_model_len: u64,
    },
}

/// How to start a plan that spans nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MultiNodeLaunch {
    /// Every node holds whole replicas, this many each.
    ReplicasPerNode(u32),
    /// vLLM spans nodes through a Ray cluster.
    Ray,
    /// SGLang: every node runs the command with its own `--node-rank`.
    NodeRank,
}

/// A weight format vLLM and SGLang do not load natively.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForeignFormat {
    /// llama.cpp's GGUF.
    Gguf,
    /// EXL2/EXL3 (ExLlamaV2/V3).
    ExLlama,
    /// MLX (Apple silicon).
    Mlx,
    /// bitsandbytes and HQQ (transformers).
    Transformers,
}

impl ForeignFormat {
    /// The foreign format `q` is, if it is one.
    #[must_use]
    pub fn of(q: Quant) -> Option<Self> {
        Some(match q {
            Quant::Gguf(_) => ForeignFormat::Gguf,
            Quant::Other(f) => match f {
                OtherFormat::Exl2 { .. } | OtherFormat::Exl3 { .. } => ForeignFormat::ExLlama,
                OtherFormat::Mlx { .. } => ForeignFormat::Mlx,
                OtherFormat::Hqq { .. }
                | OtherFormat::BnbNf4 { .. }
                | OtherFormat::BnbFp4 { .. }
                | OtherFormat::BnbInt8 => ForeignFormat::Transformers,
                _ => return None,
            },
        })
    }
}

impl PlanWarning {
    /// The stable identifier scripts match (`does-not-fit`).
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            PlanWarning::DoesNotFit { .. } => "does-not-fit",
            PlanWarning::LimitedConcurrency { .. } => "limited-concurrency",
            PlanWarning::BelowMinTps { .. } => "below-min-tps",
            PlanWarning::CudaGraphHeadroom { .. } => "cuda-graph-headroom",
            PlanWarning::TpAcrossNodes => "tp-across-nodes",
            PlanWarning::MultiNodeLaunch(_) => "multi-node-launch",
            PlanWarning::ContextBeyondTraining { .. } => "context-beyond-training",
            PlanWarning::MixedGpus { .. } => "mixed-gpus",
            PlanWarning::EngineUnsupportedDevice { .. } => "engine-unsupported-device",
            PlanWarning::SlidingWindowNotModelled => "sliding-window-not-modelled",
            PlanWarning::RecurrentNotModelled => "recurrent-not-modelled",
            PlanWarning::MoeSpeedRough => "moe-speed-rough",
            PlanWarning::FormatEngine(_) => "format-engine",
            PlanWarning::SpeedUncalibrated => "speed-uncalibrated",
        }
    }
}

impl fmt::Display for PlanWarning {
    #[allow(clippy::too_many_lines)]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanWarning::DoesNotFit {
                model,
                quant,
                weights_bytes,
                gpus,
                gpu,
                tp,
                pp,
                weights_per_gpu_bytes,
                reason,
            } => {
                write!(
                    f,
                    "{model} in {quant} ({:.1} GiB of weights) does not fit {gpus} × {gpu}",
                    gib(*weights_bytes)
                )?;
                match reason {
                    NoFitReason::Weights {
                        budget_bytes,
                        capacity_bytes,
                        utilization,
                        gpus_needed,
                    } => write!(
                        f,
                        ": split over TP{tp} PP{pp} each GPU holds {:.1} GiB of weights but the engine may use {:.1} GiB of {:.1} GiB (utilization {utilization:.2}); about {gpus_needed:.0} such GPUs are needed: add GPUs or nodes (--nodes), or use a smaller format (fp8, awq)",
                        gib(*weights_per_gpu_bytes),
                        gib(*budget_bytes),
                        gib(*capacity_bytes),
                    ),
                    NoFitReason::Context {
                        kv_tokens,
                        max_model_len,
                    } => write!(
                        f,
                        ": after {:.1} GiB of weights per GPU (TP{tp} PP{pp}) the KV cache holds {kv_tokens} tokens, fewer than one --max-model-len {max_model_len} sequence: lower --max-model-len, use --kv-cache-dtype fp8, or add GPUs",
                        gib(*weights_per_gpu_bytes),
                    ),
                }
            }
            PlanWarning::LimitedConcurrency {
                seqs,
                max_model_len,
                users,
            } => write!(
                f,
                "only {seqs} sequences of {max_model_len} tokens fit at once (of {users} users); the engine queues or preempts the rest when all run long"
            ),
            PlanWarning::BelowMinTps {
                per_user_tokens_per_s,
                min_tps,
                faster_alternatives,
            } => write!(
                f,
                "{per_user_tokens_per_s:.1} tokens/s per user is below --min-tps {min_tps:.0}; {}",
                if *faster_alternatives {
                    "the faster alternatives hold fewer users at --max-model-len"
                } else {
                    "no plan reaches it on these GPUs"
                }
            ),
            PlanWarning::CudaGraphHeadroom {
                utilization,
                left_bytes,
                needed_bytes,
            } => write!(
                f,
                "--gpu-memory-utilization {utilization:.2} leaves {:.2} GiB for the CUDA context and graphs (~{:.1} GiB needed); lower it or add --enforce-eager",
                gib(*left_bytes),
                gib(*needed_bytes)
            ),
            PlanWarning::TpAcrossNodes => f.write_str("tensor parallelism crosses nodes: every layer's all-reduces go over the network; keep TP inside a node and use PP across nodes"),
            PlanWarning::MultiNodeLaunch(how) => match how {
                MultiNodeLaunch::ReplicasPerNode(n) => write!(f, "each node holds whole replicas: run the command on every node with {n} replica(s) each (vLLM --data-parallel-size-local, SGLang --dp-size) and spread requests over the nodes"),
                MultiNodeLaunch::Ray => f.write_str("vLLM spans nodes through a Ray cluster: `ray start --head` on one node, `ray start --address HEAD:6379` on the others, then run the command on the head"),
                MultiNodeLaunch::NodeRank => f.write_str("run the command on every node with its own --node-rank, pointing --dist-init-addr at node 0"),
            },
            PlanWarning::ContextBeyondTraining {
                max_model_len,
                trained,
            } => write!(
                f,
                "--max-model-len {max_model_len} exceeds the trained {trained} tokens; vLLM refuses it unless VLLM_ALLOW_LONG_MAX_MODEL_LEN=1"
            ),
            PlanWarning::MixedGpus { planned_as } => write!(
                f,
                "the GPUs differ; every rank is planned as the smallest, {planned_as}"
            ),
            PlanWarning::EngineUnsupportedDevice { engine } => write!(
                f,
                "{} runs on NVIDIA (CUDA) and AMD (ROCm) GPUs; on Apple silicon use MLX (mlx_lm.server) or llama.cpp",
                engine.name()
            ),
            PlanWarning::SlidingWindowNotModelled => f.write_str("sliding-window layers are counted at full length; vLLM's hybrid allocator frees their blocks outside the window, so the real KV capacity is larger"),
            PlanWarning::RecurrentNotModelled => f.write_str("recurrent layers' per-sequence state is not modelled; only attention layers' KV is counted"),
            PlanWarning::MoeSpeedRough => f.write_str("mixture-of-experts speed assumes uniform routing over TP-sharded experts (no expert parallelism)"),
            // What differs for formats vLLM and SGLang do not load natively.
            PlanWarning::FormatEngine(format) => f.write_str(match format {
                ForeignFormat::Gguf => "vLLM loads GGUF experimentally (one file, slower kernels) and SGLang partly; prefer a BF16, FP8 or AWQ checkpoint, or llama.cpp",
                ForeignFormat::ExLlama => "EXL2/EXL3 run on ExLlamaV2/V3 (TabbyAPI), not vLLM or SGLang: they split layers over GPUs by default (one GPU works at a time for one user) and have a tensor-parallel mode; memory here follows vLLM's rules",
                ForeignFormat::Mlx => "MLX weights run on Apple silicon with mlx-lm, one machine (its distributed mode pipelines layers over Thunderbolt or Ethernet); not on vLLM or SGLang",
                ForeignFormat::Transformers => "bitsandbytes and HQQ are transformers formats: device_map=\"auto\" places layers in sequence (no tensor parallelism); vLLM loads bitsandbytes with slower kernels",
            }),
            PlanWarning::SpeedUncalibrated => f.write_str("serving speed uses published efficiencies (bandwidth 0.8, compute 0.6, all-reduce latencies from NCCL profiles), not yet calibrated against vLLM or SGLang runs"),
        }
    }
}
