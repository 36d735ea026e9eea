//! Unit tests of the non-GGUF formats: name parsing and round trips, storage
//! layouts against worked values, roles, and hostile inputs.

use super::*;

const EPS: f64 = 1e-9;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < EPS
}

fn p(name: &str) -> OtherFormat {
    OtherFormat::parse(name).unwrap_or_else(|| panic!("{name} should parse"))
}

fn gptq(bits: u8, group: Option<u32>, desc_act: bool) -> OtherFormat {
    OtherFormat::Gptq {
        bits,
        group,
        desc_act,
    }
}

fn fp8(scales: Fp8Scales) -> OtherFormat {
    OtherFormat::Fp8 { scales }
}

const LIN: WeightRole = WeightRole::Linear;

#[test]
fn examples_round_trip_and_are_canonical() {
    for &e in OtherFormat::examples() {
        let f = p(e);
        assert_eq!(f.name(), e, "{e} is not canonical");
        assert_eq!(OtherFormat::parse(&f.name()), Some(f));
        assert!(!f.description().is_empty());
        assert!(!f.backends().is_empty());
        assert!(f.nominal_bits() > 0.0);
    }
}

#[test]
fn brief_names_parse() {
    use OtherFormat as F;
    let g4 = gptq(4, Some(128), false);
    let awq = F::Awq {
        bits: 4,
        group: 128,
    };
    let e2 = F::Exl2 {
        bpw: 4.65,
        head_bits: 6,
    };
    let nf4 = F::BnbNf4 {
        double_quant: false,
    };
    let nf4dq = F::BnbNf4 { double_quant: true };
    let mlx = |bits, group| F::Mlx { bits, group };
    let cases: &[(&str, OtherFormat)] = &[
        ("fp8", fp8(Fp8Scales::PerTensor)),
        ("fp8-dynamic", fp8(Fp8Scales::PerChannel)),
        ("fp8-per-channel", fp8(Fp8Scales::PerChannel)),
        ("fp8-block", fp8(Fp8Scales::Block128)),
        ("w8a8-fp8", fp8(Fp8Scales::PerTensor)),
        ("NVFP4", F::Nvfp4),
        ("mxfp4", F::Mxfp4),
        ("gptq", g4),
        ("gptq-4bit", g4),
        ("gptq-4bit-128g", g4),
        ("GPTQ-Int4", g4),
        ("gptq_8bit_32g", gptq(8, Some(32), false)),
        ("gptq-4bit-128g-actorder", gptq(4, Some(128), true)),
        ("gptq-4bit-per-channel", gptq(4, None, false)),
        (
            "w4a16",
            F::Wna16 {
                bits: 4,
                group: Some(128),
                sym: true,
            },
        ),
        ("int4", awq),
        ("int4-awq", awq),
        ("awq", awq),
        ("awq-4bit", awq),
        ("awq-4bit-64g", F::Awq { bits: 4, group: 64 }),
        ("exl2:4.65", e2),
        ("exl2-4.65bpw", e2),
        ("4.65bpw-exl2", e2),
        ("Exl2 4.65", e2),
        (
            "exl3:3.0",
            F::Exl3 {
                bpw: 3.0,
                head_bits: 6,
            },
        ),
        (
            "exl2:4.0h8",
            F::Exl2 {
                bpw: 4.0,
                head_bits: 8,
            },
        ),
        ("nf4", nf4),
        ("bnb-nf4", nf4),
        ("bnb-4bit", nf4dq),
        ("nf4-dq", nf4dq),
        (
            "bnb-fp4",
            F::BnbFp4 {
                double_quant: false,
            },
        ),
        ("int8", F::BnbInt8),
        ("bnb-int8", F::BnbInt8),
        ("llm.int8", F::BnbInt8),
        ("mlx-4bit", mlx(4, 64)),
        ("mlx-4bit-g32", mlx(4, 32)),
        ("mlx:8", mlx(8, 64)),
        ("4bit-mlx", mlx(4, 64)),
        ("hqq-4bit", F::Hqq { bits: 4, group: 64 }),
        ("hqq-4bit-g64", F::Hqq { bits: 4, group: 64 }),
        ("fp16", F::Fp16),
        ("bf16", F::Bf16),
        ("fp32", F::Fp32),
        ("f32", F::Fp32),
    ];
    for (name, want) in cases {
        assert_eq!(OtherFormat::parse(name), Some(*want), "{name}");
        assert_eq!(OtherFormat::parse(&want.name()), Some(*want), "{name}");
    }
}

#[test]
fn gguf_and_junk_names_are_rejected_without_panic() {
    let odd = [
        "",
        " ",
        "exl2:",
        "exl2:abc",
        "exl2:99",
        "exl2",
        "exl2:1.0",
        "exl3:1",
        "exl3:16.5",
        "exl2:nan",
        "exl2:inf",
        "exl2:1e3",
        "exl2:4.65h7",
        "exl2:4.6.5",
        "exl2:.",
        "gptq-0bit",
        "gptq-5bit",
        "gptq-4bit-0g",
        "gptq-4bit-100g",
        "gptq-99999999999bit",
        "gptq--4bit",
        "-gptq",
        "gptq-4bit-8bit",
        "mlx:-4",
        "mlx:7",
        "mlx-4bit-g0",
        "mlx:4:4",
        "hqq-7bit",
        "hqq-4bit-g0",
        "awq-3bit",
        "awq-4bit-256g",
        "awq-4bit-channel",
        "q4_k_m",
        "Q8_0",
        "iq2_xxs",
        "q4_0",
        "tq1_0",
        "bnb",
        "fp4",
        "4bit",
        "fp8-block-channel",
        "bnb-int8-dq",
        "int8-4bit",
        "nf4-8bit",
        "w4a16-g0",
        "w4a16-abc",
        "mxfp4-w4a16",
        "fp16-dq",
        "😀",
        "::::",
    ];
    for s in odd {
        assert_eq!(OtherFormat::parse(s), None, "{s:?} should not parse");
    }
    assert_eq!(OtherFormat::parse(&"gptq-".repeat(100)), None);
}

#[test]
fn gptq_layout() {
    // qweight 4 + (scales 16 + qzeros 4)/128 + g_idx 32/n_out.
    let f = p("gptq-4bit-128g");
    let want = 4.0 + 20.0 / 128.0 + 32.0 / 11008.0;
    assert!(close(f.bits_per_weight(LIN, 4096, 11008), want));
    assert!(close(f.bits_per_weight(LIN, 0, 0), 4.15625));
    // Per-channel: one scale + zero per output column, amortised over n_in.
    let c = p("gptq-4bit-channel");
    let want = 4.0 + 20.0 / 4096.0 + 32.0 / 4096.0;
    assert!(close(c.bits_per_weight(LIN, 4096, 4096), want));
    // act-order does not change storage.
    let a = p("gptq-4bit-128g-actorder");
    let e = WeightRole::Expert;
    assert!(close(
        a.bits_per_weight(e, 2048, 768),
        f.bits_per_weight(e, 2048, 768)
    ));
    // 8-bit g32: 8 + (16 + 8)/32.
    assert!(close(p("gptq-8bit-32g").bits_per_weight(LIN, 0, 0), 8.75));
    // Embeddings, head and norms stay 16-bit.
    for role in [WeightRole::Embedding, WeightRole::Output, WeightRole::Norm] {
        assert!(close(f.bits_per_weight(role, 4096, 128_256), 16.0));
    }
}

#[test]
fn awq_and_wna16_layout() {
    let awq = p("awq-4bit-128g");
    assert!(close(awq.bits_per_weight(LIN, 4096, 4096), 4.15625));
    assert!(close(p("awq-4bit-64g").bits_per_weight(LIN, 0, 0), 4.3125));
    // compressed-tensors W4A16: symmetric, no zeros, no g_idx.
    assert!(close(p("w4a16").bits_per_weight(LIN, 0, 0), 4.125));
    assert!(close(p("w4a16-asym").bits_per_weight(LIN, 0, 0), 4.15625));
    // W8A16 per-channel: 8 + 16/n_in (+ 64-bit weight_shape per tensor).
    let want = 8.0 + 16.0 / 4096.0 + 64.0 / (4096.0 * 4096.0);
    assert!(close(p("w8a16").bits_per_weight(LIN, 4096, 4096), want));
}

#[test]
fn bnb_layout() {
    assert!(close(p("nf4").bits_per_weight(LIN, 0, 0), 4.5));
    let dq = 4.0 + 8.0 / 64.0 + 32.0 / (64.0 * 256.0);
    assert!(close(p("nf4-dq").bits_per_weight(LIN, 0, 0), dq));
    assert!((dq - 4.127).abs() < 1e-3);
    // Exact, with the 16-entry fp32 quant_map per tensor.
    let want = 4.5 + 512.0 / (4096.0 * 4096.0);
    assert!(close(p("bnb-fp4").bits_per_weight(LIN, 4096, 4096), want));
    // 64 values: 32 bytes payload + 4 bytes absmax + 64 bytes quant_map.
    assert_eq!(p("bnb-fp4").tensor_bytes(LIN, 64, 1), 32 + 4 + 64);
    let int8 = p("llm.int8");
    let want = 8.0 + 32.0 / 4096.0;
    assert!(close(int8.bits_per_weight(LIN, 4096, 14336), want));
    assert!(close(
        int8.bits_per_weight(WeightRole::Output, 4096, 32000),
        16.0
    ));
}

#[test]
fn mlx_and_hqq_layout() {
    let m = p("mlx-4bit-g64");
    assert!(close(m.bits_per_weight(LIN, 4096, 4096), 4.5));
    assert!(close(p("mlx-4bit-g32").bits_per_weight(LIN, 0, 0), 5.0));
    // MLX quantizes the embedding table and the head too.
    assert!(close(
        m.bits_per_weight(WeightRole::Embedding, 4096, 128_256),
        4.5
    ));
    assert!(close(
        m.bits_per_weight(WeightRole::Output, 4096, 128_256),
        4.5
    ));
    assert!(close(m.bits_per_weight(WeightRole::Norm, 4096, 1), 16.0));
    assert!(close(p("hqq-4bit-g64").bits_per_weight(LIN, 0, 0), 4.5));
    assert!(close(p("hqq-3bit-g64").bits_per_weight(LIN, 0, 0), 3.7));
    assert!(close(p("hqq-6bit-g128").bits_per_weight(LIN, 0, 0), 8.25));
    let head = p("hqq-4bit").bits_per_weight(WeightRole::Output, 0, 0);
    assert!(close(head, 16.0));
}

#[test]
fn fp4_and_fp8_layout() {
    let nv = p("nvfp4");
    assert!(close(nv.bits_per_weight(WeightRole::Expert, 0, 0), 4.5));
    assert!(close(nv.bits_per_weight(WeightRole::Output, 0, 0), 16.0));
    let mx = p("mxfp4");
    assert!(close(
        mx.bits_per_weight(WeightRole::Expert, 2880, 5760),
        4.25
    ));
    assert!(close(mx.bits_per_weight(LIN, 2880, 4096), 16.0));
    let ch = p("fp8-per-channel");
    assert!(close(
        ch.bits_per_weight(LIN, 7168, 2048),
        8.0 + 32.0 / 7168.0
    ));
    let blk = p("fp8-block");
    assert!(close(blk.bits_per_weight(LIN, 0, 0), 8.0 + 32.0 / 16384.0));
    // Partial tiles round up: 7168 x 1536 -> 56 x 12 tiles.
    let want = 8.0 + 56.0 * 12.0 * 32.0 / (7168.0 * 1536.0);
    assert!(close(blk.bits_per_weight(LIN, 7168, 1536), want));
    assert!(close(
        p("fp8").bits_per_weight(WeightRole::Embedding, 0, 0),
        16.0
    ));
}

#[test]
fn exllama_layout() {
    let e2 = p("exl2-4.65bpw");
    assert!(close(e2.bits_per_weight(LIN, 4096, 4096), 4.65));
    assert!(close(
        e2.bits_per_weight(WeightRole::Embedding, 4096, 32000),
        16.0
    ));
    // Head 6: 15% 8-bit + 85% 6-bit at g128, 4-bit scales: 6.3 + 4/128.
    assert!(close(e2.bits_per_weight(WeightRole::Output, 0, 0), 6.33125));
    let h8 = p("exl2:4.0h8").bits_per_weight(WeightRole::Output, 4096, 128_256);
    assert!(close(
        h8,
        8.0 + 4.0 / 128.0 + (32.0 + 48.0 / 128.0) / 128_256.0
    ));
    let e3 = p("exl3-4bpw");
    let want = 4.0 + 16.0 / 4096.0 + 16.0 / 14336.0;
    assert!(close(e3.bits_per_weight(LIN, 4096, 14336), want));
    let unq = p("exl3-4bpw-h16").bits_per_weight(WeightRole::Output, 0, 0);
    assert!(close(unq, 16.0));
}

#[test]
fn floats_and_roles() {
    let f32f = p("fp32");
    for role in [WeightRole::Norm, LIN, WeightRole::Embedding] {
        assert!(close(f32f.bits_per_weight(role, 10, 10), 32.0));
    }
    assert!(close(
        p("bf16").bits_per_weight(WeightRole::Expert, 10, 10),
        16.0
    ));
    assert_eq!(p("bf16").tensor_bytes(LIN, 4096, 4096), 4096 * 4096 * 2);
    assert!(!p("gptq").quantizes(WeightRole::Other));
}

#[test]
fn hostile_dimensions_and_invalid_values_do_not_panic() {
    let dims = [0, 1, 3, 17, 4096, u64::from(u32::MAX), u64::MAX];
    let roles = [
        WeightRole::Embedding,
        WeightRole::Output,
        WeightRole::Linear,
        WeightRole::Expert,
        WeightRole::Norm,
        WeightRole::Other,
    ];
    for &e in OtherFormat::examples() {
        let f = p(e);
        for &r in &roles {
            for &a in &dims {
                for &b in &dims {
                    let v = f.bits_per_weight(r, a, b);
                    assert!(v.is_finite() && v > 0.0, "{e} {r:?} {a} {b} -> {v}");
                    let _ = f.tensor_bytes(r, a, b);
                }
            }
        }
    }
    let bad = [
        gptq(0, Some(0), false),
        OtherFormat::Awq { bits: 4, group: 0 },
        OtherFormat::Mlx { bits: 7, group: 64 },
        OtherFormat::Hqq { bits: 4, group: 0 },
        OtherFormat::Exl2 {
            bpw: f64::NAN,
            head_bits: 6,
        },
        OtherFormat::Exl3 {
            bpw: 99.0,
            head_bits: 6,
        },
        OtherFormat::Wna16 {
            bits: 4,
            group: Some(0),
            sym: true,
        },
    ];
    for f in bad {
        assert!(!f.is_valid());
        assert!(f.bits_per_weight(LIN, 4096, 4096).is_nan());
        assert_eq!(f.tensor_bytes(LIN, 4096, 4096), 0);
        let _ = (f.name(), f.description(), f.backends(), f.nominal_bits());
    }
}
