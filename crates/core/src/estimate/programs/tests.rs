use super::*;

#[test]
fn names_parse_back_and_spellings_are_taken() {
    for p in PROGRAMS {
        assert_eq!(Program::parse(p.name()), Some(p));
    }
    assert_eq!(Program::parse("LM-Studio"), Some(Program::Lmstudio));
    assert_eq!(
        Program::parse("text-generation-webui"),
        Some(Program::Textgen)
    );
    assert_eq!(Program::parse("oobabooga"), Some(Program::Textgen));
    assert_eq!(Program::parse("vllm"), None);
}

#[test]
fn a_given_flag_keeps_its_value_and_the_rest_take_the_programs() {
    let mut s = Settings {
        ctx: Some(16_384),
        ..Settings::default()
    };
    let given = Given {
        ctx: true,
        ..Given::default()
    };
    Program::Koboldcpp.apply(&mut s, &given, 24 << 30, 131_072);
    assert_eq!(s.ctx, Some(16_384));
    assert_eq!((s.batch, s.ubatch), (512, 512));
    assert_eq!(s.flash_attn, FlashAttn::On);
    // llama.cpp's own defaults change nothing.
    let mut t = Settings::default();
    Program::LlamaCpp.apply(&mut t, &Given::default(), 24 << 30, 131_072);
    assert_eq!(t, Settings::default());
}

#[test]
fn ollama_sizes_the_context_by_vram_within_the_models_and_the_batch_by_the_context() {
    let ctx = |vram: u64, train: u64| {
        let mut s = Settings::default();
        Program::Ollama.apply(&mut s, &Given::default(), vram, train);
        (s.ctx, s.batch, s.ubatch)
    };
    assert_eq!(ctx(8 << 30, 131_072), (Some(4096), 512, 512));
    assert_eq!(ctx(24 << 30, 131_072), (Some(32_768), 1024, 1024));
    assert_eq!(ctx(80 << 30, 131_072), (Some(131_072), 2048, 2048));
    assert_eq!(ctx(80 << 30, 8192), (Some(8192), 1024, 1024));
    // No GPU: the smallest tier.
    assert_eq!(ctx(0, 131_072).0, Some(4096));
}

#[test]
fn every_program_cites_its_defaults() {
    for p in PROGRAMS {
        let d = p.defaults(16 << 30);
        assert!(!d.sources.is_empty(), "{}", p.name());
        assert!(d.port > 0 && !d.apis.is_empty());
    }
}
