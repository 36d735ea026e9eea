//! The engine a plan is for ([`Engine`]: vLLM or SGLang) and the KV cache element type it
//! stores ([`KvDtype`]): the two settings every part of a plan reads.

use serde::Serialize;

/// The serving engine whose memory rules and flags the plan uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    /// vLLM (V1 engine).
    Vllm,
    /// SGLang.
    Sglang,
}

impl Engine {
    /// The name users type.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Engine::Vllm => "vllm",
            Engine::Sglang => "sglang",
        }
    }
}

/// KV cache element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KvDtype {
    /// The model's activation dtype (BF16/FP16, 2 bytes).
    Auto,
    /// FP8 e4m3 (1 byte).
    Fp8,
}
