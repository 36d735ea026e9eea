//! The engine's command line for a plan: `vllm serve …` or `python -m sglang.launch_server …`
//! with the parallel sizes, limits and cache settings the plan chose.

use super::engine::{Engine, KvDtype};
use super::plan::{Candidate, ServingPlan};

impl ServingPlan {
    /// The engine's command line for candidate `c` (the best plan when `None`), serving `model`
    /// (a Hugging Face repository or a path); `quantization` adds vLLM's `--quantization` (online
    /// FP8 of a BF16 checkpoint).
    #[must_use]
    pub fn command(
        &self,
        c: Option<&Candidate>,
        model: &str,
        quantization: Option<&str>,
    ) -> String {
        let c = c.unwrap_or(&self.best);
        let p = &c.plan;
        let mut v: Vec<String> = Vec::new();
        let mut arg = |k: &str, val: String| {
            v.push(k.into());
            v.push(val);
        };
        let kv = |sg: bool| match (self.kv_cache_dtype, sg) {
            (KvDtype::Auto, _) => "auto",
            (KvDtype::Fp8, false) => "fp8",
            (KvDtype::Fp8, true) => "fp8_e4m3",
        };
        let head = match self.engine {
            Engine::Vllm => {
                arg("--tensor-parallel-size", p.tp.to_string());
                arg("--pipeline-parallel-size", p.pp.to_string());
                if p.dp > 1 {
                    arg("--data-parallel-size", p.dp.to_string());
                }
                arg("--max-model-len", self.max_model_len.to_string());
                arg("--max-num-seqs", c.max_num_seqs.to_string());
                arg(
                    "--max-num-batched-tokens",
                    c.max_num_batched_tokens.to_string(),
                );
                arg(
                    "--gpu-memory-utilization",
                    format!("{:.2}", c.memory_utilization),
                );
                arg("--kv-cache-dtype", kv(false).into());
                arg("--block-size", self.block_size.to_string());
                if let Some(q) = quantization {
                    arg("--quantization", q.into());
                }
                if p.nodes > 1 && p.dp < p.nodes {
                    arg("--distributed-executor-backend", "ray".into());
                }
                format!("vllm serve {model}")
            }
            Engine::Sglang => {
                arg("--tp", p.tp.to_string());
                if p.pp > 1 {
                    arg("--pp-size", p.pp.to_string());
                }
                if p.dp_attention {
                    // SGLang's DeepSeek recipe: attention data-parallel over the TP ranks.
                    arg("--dp-size", p.tp.to_string());
                } else if p.dp > 1 {
                    arg("--dp-size", p.dp.to_string());
                }
                arg("--context-length", self.max_model_len.to_string());
                arg("--max-running-requests", c.max_num_seqs.to_string());
                arg(
                    "--chunked-prefill-size",
                    c.max_num_batched_tokens.to_string(),
                );
                arg(
                    "--mem-fraction-static",
                    format!("{:.2}", c.memory_utilization),
                );
                arg("--kv-cache-dtype", kv(true).into());
                if let Some(q) = quantization {
                    arg("--quantization", q.into());
                }
                if p.nodes > 1 {
                    arg("--nnodes", p.nodes.to_string());
                    arg("--node-rank", "0".into());
                    arg("--dist-init-addr", "NODE0_IP:5000".into());
                }
                format!("python -m sglang.launch_server --model-path {model}")
            }
        };
        let flag = if p.dp_attention {
            " --enable-dp-attention"
        } else {
            ""
        };
        format!("{head} {}{flag}", v.join(" "))
    }
}
