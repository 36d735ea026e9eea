//! Whisper speech-to-text models as whisper.cpp loads them (whisper.cpp 1.8.5, `src/whisper.cpp`
//! `whisper_model_load`, `whisper_init_state`): the weights of the ggml file, three F16 KV caches
//! and four compute buffers reserved at init, and the encoder/decoder work per 30 s of audio.
//!
//! The compute buffers are closed forms of ggml-alloc's peak over whisper's graphs on the CPU
//! backend (the conv, encode, cross and decode graphs are allocated in turn at init), each plus the
//! graph metadata whisper.cpp counts in them; validation/ checks them against the real whisper.cpp.

use serde::{Deserialize, Serialize};

use crate::quant::GgmlType;

/// Graph metadata whisper.cpp adds to every compute buffer it reports (`whisper_sched_size`):
/// `ggml_tensor_overhead()` × `WHISPER_MAX_NODES` (368 × 4096) + `ggml_graph_overhead()` for 2048
/// nodes (82,608), ggml 0.13.
pub const WHISPER_META_BYTES: u64 = 368 * 4096 + 82_608;

/// The numbers of a Whisper model (the ggml file's hparams).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhisperSpec {
    /// Tokens (51865 multilingual, 51864 English-only, 51866 large-v3).
    pub n_vocab: u64,
    /// Audio frames after the convolutions (1500 for 30 s).
    pub n_audio_ctx: u64,
    /// Width of encoder and decoder.
    pub n_state: u64,
    /// Attention heads (head width 64).
    pub n_head: u64,
    /// Encoder blocks.
    pub n_audio_layer: u64,
    /// Text context (448).
    pub n_text_ctx: u64,
    /// Decoder blocks.
    pub n_text_layer: u64,
    /// Mel bins (80; 128 for large-v3).
    pub n_mels: u64,
}

/// Memory whisper.cpp allocates for one model and state, bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WhisperMemory {
    /// The weights buffer (`whisper_model_load: CPU total size`).
    pub weights: u64,
    /// `kv self` + `kv cross` + `kv pad` (F16).
    pub kv: u64,
    /// The four compute buffers (conv, encode, cross, decode), each with its graph metadata.
    pub compute: u64,
    /// Graph inputs kept on the CPU when the model runs on a GPU (the mel, the decoder's inputs).
    pub host_inputs: u64,
}

fn pad(x: u64, to: u64) -> u64 {
    x.div_ceil(to) * to
}

impl WhisperSpec {
    /// An official model: `(encoder layers, decoder layers, width, heads, mels, vocab)` with the
    /// 1500-frame audio and 448-token text contexts every Whisper has.
    #[must_use]
    pub fn new(enc: u64, dec: u64, state: u64, heads: u64, mels: u64, vocab: u64) -> WhisperSpec {
        WhisperSpec {
            n_vocab: vocab,
            n_audio_ctx: 1500,
            n_state: state,
            n_head: heads,
            n_audio_layer: enc,
            n_text_ctx: 448,
            n_text_layer: dec,
            n_mels: mels,
        }
    }

    /// Parameters.
    #[must_use]
    pub fn params(&self) -> u64 {
        let (s, m) = (self.n_state, self.n_mels);
        let (le, ld) = (self.n_audio_layer, self.n_text_layer);
        let mats = s * self.n_vocab + le * 12 * s * s + ld * 16 * s * s;
        let conv = 3 * m * s + 3 * s * s;
        let small =
            self.n_audio_ctx * s + self.n_text_ctx * s + 2 * s + le * 12 * s + ld * 17 * s + 4 * s;
        mats + conv + small
    }

    /// The weights buffer with matrices of `wtype` (whisper.cpp's quantizer quantizes the 2-D
    /// tensors only: the convolution kernels stay F16, positions and 1-D tensors F32).
    #[must_use]
    pub fn weights_bytes(&self, wtype: GgmlType) -> u64 {
        let (s, m) = (self.n_state, self.n_mels);
        let (le, ld) = (self.n_audio_layer, self.n_text_layer);
        // Every matrix row is `n_state` (or 4·n_state) wide: one row size covers them.
        let q = |n: u64| wtype.row_size(s) * (n / s);
        let mats =
            q(s * self.n_vocab) + le * (q(4 * s * s) + 2 * q(4 * s * s)) + ld * q(16 * s * s);
        let conv = 2 * (3 * m * s + 3 * s * s);
        let f32s = 4
            * (self.n_audio_ctx * s
                + self.n_text_ctx * s
                + 2 * s
                + le * 12 * s
                + ld * 17 * s
                + 4 * s);
        mats + conv + f32s
    }

    /// The three F16 caches `whisper_init_state` allocates (`kv self`, `kv cross`, `kv pad`),
    /// each padded to 256 cells.
    #[must_use]
    pub fn kv_bytes(&self) -> u64 {
        let s = self.n_state;
        let self_kv = 2 * 2 * s * self.n_text_layer * pad(self.n_text_ctx, 256);
        let cross = 2 * 2 * s * self.n_text_layer * pad(self.n_audio_ctx, 256);
        let pad_kv = 2 * 2 * s * pad(self.n_audio_ctx, 256);
        self_kv + cross + pad_kv
    }

    /// The four compute buffers, each with its metadata: with T audio frames, M mels, width S,
    /// X = 4·S·T (one F32 activation):
    /// conv 20·T·M + 16·T·S (the convolution's im2col, product and biased copy);
    /// encode 7X with flash attention (the FFN's 4S-wide activation and neighbours), else the F32
    /// attention of every head 4·T²·H + 4X; cross X; decode the logits of all 448 text positions
    /// 4·V·448 with two 448-token activations.
    #[must_use]
    pub fn compute_bytes(&self, flash_attn: bool) -> u64 {
        let (t, s, m) = (self.n_audio_ctx, self.n_state, self.n_mels);
        let x = 4 * s * t;
        let conv = 20 * t * m + 16 * t * s;
        let encode = if flash_attn {
            7 * x
        } else {
            4 * t * t * self.n_head + 4 * x
        };
        let cross = x;
        let n = self.n_text_ctx;
        let decode = 4 * self.n_vocab * n + 2 * 4 * s * n;
        conv + encode + cross + decode + 4 * WHISPER_META_BYTES
    }

    /// Memory at init.
    #[must_use]
    pub fn memory(&self, wtype: GgmlType, flash_attn: bool) -> WhisperMemory {
        WhisperMemory {
            weights: self.weights_bytes(wtype),
            kv: self.kv_bytes(),
            compute: self.compute_bytes(flash_attn),
            // The mel input (2T × M F32) and the decoder's embeddings, positions and mask.
            host_inputs: 8 * self.n_audio_ctx * self.n_mels
                + 8 * self.n_text_ctx
                + 4 * 512 * self.n_text_ctx,
        }
    }

    /// FLOPs of one encoder pass (30 s of audio): the two convolutions and every block's
    /// projections, FFN and attention.
    #[must_use]
    pub fn encoder_flops(&self) -> f64 {
        let (t, s, m) = (
            self.n_audio_ctx as f64,
            self.n_state as f64,
            self.n_mels as f64,
        );
        let le = self.n_audio_layer as f64;
        le * (24.0 * t * s * s + 4.0 * t * t * s)
            + 2.0 * 2.0 * t * 3.0 * m * s
            + 2.0 * t * 3.0 * s * s
    }

    /// Bytes one decoded token reads: the decoder's matrices and the token table (used again for
    /// the logits).
    #[must_use]
    pub fn decoder_bytes(&self, wtype: GgmlType) -> f64 {
        let s = self.n_state;
        let rows = self.n_text_layer * 16 * s + self.n_vocab;
        (wtype.row_size(s) * rows) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_match_whisper_cpp_logs() {
        // whisper.cpp's `CPU total size` for the published files (MB = 1e6 bytes): tiny F16 77.11,
        // base F16 147.37, large-v3-turbo F16 1623.92, turbo q5_0 573.40.
        let mb = |b: u64| (b as f64 / 1e6 * 100.0).round() / 100.0;
        let tiny = WhisperSpec::new(4, 4, 384, 6, 80, 51865);
        assert_eq!(mb(tiny.weights_bytes(GgmlType::F16)), 77.11);
        let base = WhisperSpec::new(6, 6, 512, 8, 80, 51865);
        assert_eq!(mb(base.weights_bytes(GgmlType::F16)), 147.37);
        let turbo = WhisperSpec::new(32, 4, 1280, 20, 128, 51866);
        assert_eq!(mb(turbo.weights_bytes(GgmlType::F16)), 1623.92);
        assert_eq!(mb(turbo.weights_bytes(GgmlType::Q5_0)), 573.40);
    }

    #[test]
    fn state_buffers_match_whisper_cpp_logs() {
        // ggml-org/ci x86 CPU run (flash off), whisper.cpp's log: tiny kv self 3.15, cross 9.44,
        // pad 2.36 MB; compute conv 13.19, encode 64.79, cross 3.88, decode 95.89 MB with the
        // older 1,573,536-byte metadata (16,400 bytes less per buffer than ggml 0.13's).
        let tiny = WhisperSpec::new(4, 4, 384, 6, 80, 51865);
        assert_eq!(tiny.kv_bytes(), 3_145_728 + 9_437_184 + 2_359_296);
        let old = tiny.compute_bytes(false) - 4 * (WHISPER_META_BYTES - 1_573_536);
        let logged = (13.19 + 64.79 + 3.88 + 95.89) * 1e6;
        assert!(
            (old as f64 - logged).abs() < 4.0 * 0.005e6,
            "{old} vs {logged}"
        );
    }
}
