//! Whisper models as whisper.cpp runs them (`ggml-*.bin` from ggerganov/whisper.cpp on Hugging
//! Face). Dimensions: OpenAI's published model dimensions (openai/whisper `ModelDimensions` per
//! checkpoint; large-v3: 128 mel bins and one more token; large-v3-turbo: large-v3 with 4 decoder
//! layers), as whisper.cpp logs them when it loads each file (ggml-org/ci whisper.cpp bench logs).

use llmrig_core::model::WhisperSpec;

/// Average English short-form WER (%) over the Open ASR Leaderboard's eight datasets,
/// huggingface/open_asr_leaderboard@16743c6 scripts/data/en_shortform.csv ("as of 26 March
/// 2026"); one harness for all, so comparable. The leaderboard lists tiny, base, small and medium
/// only as their English-only `.en` models; the multilingual ones have no row.
const OPEN_ASR_WER: [(&str, f64); 7] = [
    ("whisper-large-v3", 7.44),
    ("whisper-large-v3-turbo", 7.83),
    ("whisper-large-v2", 7.835),
    ("whisper-medium.en", 8.09),
    ("whisper-small.en", 8.59),
    ("whisper-base.en", 10.3175),
    ("whisper-tiny.en", 12.80625),
];

/// The source of [`speech_wer`], as recommendations print it.
pub const SPEECH_QUALITY_SOURCE: &str =
    "Open ASR Leaderboard, English short-form average WER (huggingface/open_asr_leaderboard@16743c6, 2026-03-26)";

/// A Whisper model's average WER (%) on the Open ASR Leaderboard, if it has a row.
#[must_use]
pub fn speech_wer(id: &str) -> Option<f64> {
    OPEN_ASR_WER.iter().find(|(m, _)| *m == id).map(|&(_, v)| v)
}

/// A Whisper model in the catalog.
#[derive(Debug, Clone)]
pub struct SpeechEntry {
    /// Catalog id (`whisper-large-v3-turbo`).
    pub id: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Other names people use (`large-v3-turbo`, `ggml-large-v3-turbo`).
    pub aliases: &'static [&'static str],
    /// Its numbers.
    pub spec: WhisperSpec,
}

fn entry(
    id: &'static str,
    name: &'static str,
    aliases: &'static [&'static str],
    dims: (u64, u64, u64, u64, u64, u64),
) -> SpeechEntry {
    let (enc, dec, state, heads, mels, vocab) = dims;
    SpeechEntry {
        id,
        name,
        aliases,
        spec: WhisperSpec::new(enc, dec, state, heads, mels, vocab),
    }
}

/// Every Whisper model whisper.cpp publishes (the `.en` models have one token less).
#[must_use]
pub fn whisper_models() -> Vec<SpeechEntry> {
    vec![
        entry(
            "whisper-tiny",
            "Whisper tiny",
            &["tiny", "ggml-tiny"],
            (4, 4, 384, 6, 80, 51865),
        ),
        entry(
            "whisper-tiny.en",
            "Whisper tiny.en",
            &["tiny.en", "ggml-tiny.en"],
            (4, 4, 384, 6, 80, 51864),
        ),
        entry(
            "whisper-base",
            "Whisper base",
            &["base", "ggml-base"],
            (6, 6, 512, 8, 80, 51865),
        ),
        entry(
            "whisper-base.en",
            "Whisper base.en",
            &["base.en", "ggml-base.en"],
            (6, 6, 512, 8, 80, 51864),
        ),
        entry(
            "whisper-small",
            "Whisper small",
            &["small", "ggml-small"],
            (12, 12, 768, 12, 80, 51865),
        ),
        entry(
            "whisper-small.en",
            "Whisper small.en",
            &["small.en", "ggml-small.en"],
            (12, 12, 768, 12, 80, 51864),
        ),
        entry(
            "whisper-medium",
            "Whisper medium",
            &["medium", "ggml-medium"],
            (24, 24, 1024, 16, 80, 51865),
        ),
        entry(
            "whisper-medium.en",
            "Whisper medium.en",
            &["medium.en", "ggml-medium.en"],
            (24, 24, 1024, 16, 80, 51864),
        ),
        entry(
            "whisper-large-v2",
            "Whisper large-v2",
            &["large-v2", "ggml-large-v2"],
            (32, 32, 1280, 20, 80, 51865),
        ),
        entry(
            "whisper-large-v3",
            "Whisper large-v3",
            &["large-v3", "ggml-large-v3"],
            (32, 32, 1280, 20, 128, 51866),
        ),
        entry(
            "whisper-large-v3-turbo",
            "Whisper large-v3-turbo",
            &["large-v3-turbo", "ggml-large-v3-turbo", "whisper-turbo"],
            (32, 4, 1280, 20, 128, 51866),
        ),
    ]
}

/// The Whisper model `name` names (id or alias, case-insensitive, `openai/` prefix allowed).
#[must_use]
pub fn find_whisper(name: &str) -> Option<SpeechEntry> {
    let n = name.trim().to_ascii_lowercase();
    let n = n.strip_prefix("openai/").unwrap_or(&n);
    let n = n.strip_suffix(".bin").unwrap_or(n);
    whisper_models()
        .into_iter()
        .find(|e| e.id == n || e.aliases.contains(&n) || e.id.strip_prefix("whisper-") == Some(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmrig_core::quant::GgmlType;

    #[test]
    fn names_resolve_and_sizes_match_the_published_files() {
        assert_eq!(
            find_whisper("openai/whisper-large-v3-turbo").unwrap().id,
            "whisper-large-v3-turbo"
        );
        assert_eq!(
            find_whisper("ggml-base.en.bin").unwrap().id,
            "whisper-base.en"
        );
        assert!(find_whisper("llama-3.1-8b").is_none());
        // The weights buffer is the file's tensor data: ggml-large-v3.bin is 3,095,033,483 bytes
        // with about 0.7 MB of header, mel filters, vocabulary and tensor headers.
        let v3 = find_whisper("whisper-large-v3")
            .unwrap()
            .spec
            .weights_bytes(GgmlType::F16);
        assert!(3_095_033_483 - v3 < 800_000, "{v3}");
    }
}
