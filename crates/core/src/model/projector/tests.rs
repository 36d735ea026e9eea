//! Projector inventories and buffers against published files and the real libmtmd.

use super::*;

#[test]
fn gemma3_tensors_rebuild_the_published_file() {
    // ggml-org/gemma-3-4b-it-GGUF mmproj-model-f16.gguf is 851,251,104 bytes: 851,226,048 of
    // tensor data (439 tensors) and about 25 KB of header.
    let p = ProjectorSpec::gemma3(2560);
    let t = p.tensors(GgmlType::F16);
    assert_eq!(t.len(), 439);
    let data: u64 = t.iter().map(ProjectorTensor::bytes).sum();
    assert_eq!(data, 851_226_048);
    assert!(851_251_104 - data < 64 * 1024);
    // Q8_0 keeps ffn_down (rows of 4304) and the input projection F16.
    let q8 = p.tensors(GgmlType::Q8_0);
    let down = q8
        .iter()
        .find(|t| t.name == "v.blk.0.ffn_down.weight")
        .unwrap();
    assert_eq!(down.ggml_type, GgmlType::F16);
    let up = q8
        .iter()
        .find(|t| t.name == "v.blk.0.ffn_up.weight")
        .unwrap();
    assert_eq!(up.ggml_type, GgmlType::Q8_0);
}

#[test]
fn warmup_buffers_match_libmtmd() {
    // Measured with libmtmd on CPU (llama.cpp 0c1e570): 1132.00 / 121.25 MiB for Gemma 3,
    // 4871.57 / 704.79 MiB for Qwen2.5-VL, whatever the text width.
    let g = ProjectorSpec::gemma3(3840);
    assert_eq!(g.compute_bytes(false), 1_186_988_032);
    assert_eq!(g.compute_bytes(true), 127_139_840);
    assert_eq!(g.image_tokens(), 256);
    let q = ProjectorSpec::qwen25vl(3584);
    assert_eq!(q.compute_bytes(false), 5_108_210_240);
    assert_eq!(q.compute_bytes(true), 739_025_728);
}

#[test]
fn pixtral_matches_the_published_file_and_libmtmd() {
    // koboldcpp/mmproj lists mmproj-mistralai_Mistral-Small-3.1-24B-Instruct-2503-f16.gguf at
    // 878 MB; libmtmd logs 837.36 MiB (F16) and 458.39 MiB (Q8_0) of tensors.
    let p = ProjectorSpec::pixtral(5120);
    assert_eq!(p.tensors(GgmlType::F16).len(), 223);
    assert_eq!(p.weights_bytes(GgmlType::F16), 878_039_040);
    assert_eq!(p.weights_bytes(GgmlType::Q8_0), 480_653_312);
    // libmtmd at the 448² warm-up: 64.62 MiB with flash attention, 86.62 without.
    assert_eq!(p.compute_bytes(true), 67_756_032);
    assert_eq!(p.compute_bytes(false), 90_824_704);
    assert_eq!(p.warmup_patches(), 1024);
    // A 1024×768 photo: 37×27 merged patches, 26 [IMG_BREAK]s and [IMG_END] (mtmd_tokenize
    // gave 1025 embeddings).
    assert_eq!(p.image_tokens(), 1026);
    // Past 1024 merged tokens the image is scaled down: 1540² becomes 32×32.
    assert_eq!(p.image_tokens_for(1540, 1540), 1024 + 31 + 1);
    assert_eq!(p.image_tokens_for(100, 100), 19 + 1);
}

#[test]
fn llama4_matches_hf_counts_and_libmtmd() {
    // HF's parameter table for Llama-4-Scout's vision model; libmtmd logs 1665.83 MiB (F16).
    let p = ProjectorSpec::llama4(5120);
    assert_eq!(p.tensors(GgmlType::F16).len(), 554);
    assert_eq!(p.params(), 871_932_416);
    assert_eq!(p.weights_bytes(GgmlType::F16), 1_746_748_416);
    assert_eq!(p.weights_bytes(GgmlType::Q8_0), 933_095_424);
    // libmtmd at the 336² warm-up: 19.89 / 37.11 MiB.
    assert_eq!(p.compute_bytes(true), 20_857_408);
    assert_eq!(p.compute_bytes(false), 38_915_200);
    // 144 tokens a tile; a 1024×768 photo takes the 3×3 grid and the overview.
    assert_eq!(p.image_tokens_for(300, 300), 144 + 2);
    assert_eq!(p.image_tokens_for(672, 672), 720 + 2);
    assert_eq!(p.image_tokens_for(1920, 1080), 1008 + 2);
    assert_eq!(p.image_tokens(), 1440 + 2);
}

#[test]
fn smolvlm_towers_match_libmtmd() {
    // libmtmd: 181.22 MiB (256M F16), 190.22 (500M F16), 831.87 / 565.05 (2.2B F16 / Q8_0).
    let small = ProjectorSpec::idefics3_base(576);
    assert_eq!(small.tensors(GgmlType::F16).len(), 198);
    assert_eq!(small.weights_bytes(GgmlType::F16), 190_018_560);
    assert_eq!(small.weights_bytes(GgmlType::Q8_0), 103_756_800);
    assert_eq!(
        ProjectorSpec::idefics3_base(960).weights_bytes(GgmlType::F16),
        199_455_744
    );
    // Ollama's riven/smolvlm (ggml-org's 500M files): "clip 98.2M params".
    assert_eq!(ProjectorSpec::idefics3_base(960).params(), 98_229_504);
    let big = ProjectorSpec::idefics3_so400m(2048);
    assert_eq!(big.weights_bytes(GgmlType::F16), 872_275_392);
    // The 2.2B's ffn_down rows (4304) stay F16 in a Q8_0 file.
    assert_eq!(big.weights_bytes(GgmlType::Q8_0), 592_494_912);
    // libmtmd: 21.00 / 60.00 MiB and 21.58 / 45.25 MiB.
    assert_eq!(small.compute_bytes(true), 22_020_096);
    assert_eq!(small.compute_bytes(false), 62_914_560);
    assert_eq!(big.compute_bytes(true), 22_628_160);
    assert_eq!(big.compute_bytes(false), 47_449_152);
    // mtmd_tokenize: a 1024×768 photo is 4×3 tiles and the overview, 13 chunks and 30 text
    // tokens; any square image 4×4 and the overview.
    assert_eq!(small.image_tokens(), 862);
    assert_eq!(big.image_tokens(), 1083);
    assert_eq!(small.image_tokens_for(512, 512), 1127);
    assert_eq!(big.image_tokens_for(100, 100), 1416);
}

#[test]
fn internvit_matches_published_sizes_and_libmtmd() {
    // QuantStack mmproj-InternVL3_5-14B-f16.gguf: 705 MB; libmtmd 361.60 MiB for Q8_0 at 5120.
    let p = ProjectorSpec::internvit_300m(5120);
    assert_eq!(p.tensors(GgmlType::F16).len(), 442);
    assert_eq!(p.weights_bytes(GgmlType::F16), 705_310_720);
    assert_eq!(
        ProjectorSpec::internvit_300m(896).weights_bytes(GgmlType::F16),
        619_850_752
    );
    // libmtmd: 28.03 / 80.14 MiB at warm-up, 112.11 / 320.56 after a 4-tile batch.
    assert_eq!(p.compute_bytes(true), 29_388_800);
    assert_eq!(p.compute_bytes(false), 84_033_600);
    assert_eq!(p.compute_bytes_batched(true, 4), 4 * 29_388_800);
    // 256 tokens a tile; a 1024×768 photo is 3×2 tiles and the overview (1920×1080: 4×3 + 1).
    assert_eq!(p.image_tokens_for(800, 600), 1280);
    assert_eq!(p.image_tokens_for(1920, 1080), 3328);
    assert_eq!(p.image_tokens_for(300, 1200), 1024);
    assert_eq!(
        p.encode_batch(p.tiles_for(1024, 768), MTMD_BATCH_MAX_TOKENS),
        4
    );
    assert_eq!(p.encode_batch(1, MTMD_BATCH_MAX_TOKENS), 1);
    // The 6B tower: RMS norms and q/k norms; libmtmd 87.59 / 150.24 MiB.
    let six = ProjectorSpec::internvit_6b(5120);
    assert_eq!(six.tensors(GgmlType::F16).len(), 685);
    assert_eq!(six.weights_bytes(GgmlType::F16), 11_266_664_960);
    assert_eq!(six.compute_bytes(true), 91_840_000);
    assert_eq!(six.compute_bytes(false), 157_542_528);
}

#[test]
fn llava_matches_published_files_and_libmtmd() {
    // mys/ggml_llava-v1.5-7b and -13b mmproj-model-f16.gguf: 624 MB and 645 MB; libmtmd
    // 595.49 / 615.49 MiB.
    let l7 = ProjectorSpec::llava(4096, false);
    assert_eq!(l7.tensors(GgmlType::F16).len(), 377);
    assert_eq!(l7.weights_bytes(GgmlType::F16), 624_412_672);
    assert_eq!(
        ProjectorSpec::llava(5120, false).weights_bytes(GgmlType::F16),
        645_392_384
    );
    assert_eq!(
        ProjectorSpec::llava(7168, true).weights_bytes(GgmlType::F16),
        699_934_720
    );
    // libmtmd: 21.55 / 32.88 MiB (7B), 26.05 / 32.88 (13B), 35.05 both (34B: the MLP's outputs).
    assert_eq!(l7.compute_bytes(true), 22_593_056);
    assert_eq!(l7.compute_bytes(false), 34_479_712);
    assert_eq!(
        ProjectorSpec::llava(5120, false).compute_bytes(true),
        27_311_648
    );
    let l34 = ProjectorSpec::llava(7168, true);
    assert_eq!(l34.compute_bytes(true), 36_748_832);
    assert_eq!(l34.compute_bytes(false), 36_748_832);
    // 1.5 pads every image to one 336² tile; 1.6 adds the best pinpoint's tiles.
    assert_eq!(l7.image_tokens(), 576);
    let l16 = ProjectorSpec::llava(4096, true);
    assert_eq!(l16.image_tokens(), 2880);
    assert_eq!(l16.image_tokens_for(300, 200), 576);
}

#[test]
fn gguf_names_round_trip() {
    for k in [
        ProjectorKind::Gemma3,
        ProjectorKind::Qwen25Vl,
        ProjectorKind::Qwen3Vl,
        ProjectorKind::Pixtral,
        ProjectorKind::Llama4,
        ProjectorKind::Idefics3,
        ProjectorKind::InternVl,
        ProjectorKind::Llava,
    ] {
        assert_eq!(ProjectorKind::from_gguf_name(k.gguf_name()), Some(k));
    }
}

#[test]
fn qwen3vl_towers_match_published_files_and_libmtmd() {
    // ik_llama.cpp#919 loads Qwen3-30B-mmproj-F16.gguf: 352 tensors, data ending at
    // 1,083,478,976 bytes (1033.29 MiB).
    let moe = ProjectorSpec::qwen3vl(2048, true);
    assert_eq!(moe.tensors(GgmlType::F16).len(), 352);
    assert_eq!(moe.weights_bytes(GgmlType::F16), 1_083_478_976);
    assert!(moe
        .tensors(GgmlType::F16)
        .iter()
        .any(|t| t.name == "v.deepstack.24.fc1.weight"));
    let small = ProjectorSpec::qwen3vl(2048, false);
    assert_eq!(small.tensors(GgmlType::F16).len(), 316);
    assert_eq!(small.weights_bytes(GgmlType::F16), 819_376_128);
    assert!(small
        .tensors(GgmlType::F16)
        .iter()
        .any(|t| t.name == "v.deepstack.17.fc1.weight"));
    // libmtmd at the 1472² warm-up (MiB, FA on / off): 2B and 4B 322.49 / 4728.07; 8B 372.08,
    // 32B 417.54, 30B-A3B 359.68, all 4769.39 without flash attention. CUDA and OpenCL logs
    // of the 4B show the same 322.49.
    assert_eq!(small.compute_bytes(true), 338_153_728);
    assert_eq!(small.compute_bytes(false), 4_957_737_216);
    assert_eq!(
        ProjectorSpec::qwen3vl(2560, false).compute_bytes(true),
        338_153_728
    );
    assert_eq!(
        ProjectorSpec::qwen3vl(4096, true).compute_bytes(true),
        390_156_544
    );
    assert_eq!(
        ProjectorSpec::qwen3vl(5120, true).compute_bytes(true),
        437_825_792
    );
    assert_eq!(moe.compute_bytes(true), 377_155_840);
    assert_eq!(moe.compute_bytes(false), 5_001_072_896);
    // Qwen3.5's projector is the same type without deep-stack: 248.10 MiB for the 27-block
    // tower (ollama#17482, CUDA).
    let mut q35 = ProjectorSpec::qwen3vl(4096, true);
    q35.deepstack = 0;
    let mib = q35.compute_bytes(true) as f64 / 1_048_576.0;
    assert!((mib - 248.10).abs() < 0.005, "{mib}");
    // The host keeps the raw image and the positions: 24.93 MiB in both GPU logs.
    assert_eq!(small.host_input_bytes(), 26_136_832);
}

#[test]
fn qwen35_towers_match_published_mmproj_files() {
    // File sizes of published mmproj GGUFs (tensor data plus a header of a few KiB):
    // unsloth Qwen3.5-0.8B and -4B mmproj-F16.gguf and -4B mmproj-BF16.gguf, and a 9B fine-tune's
    // BF16 mmproj (khtsly/Mini-Coder-GGUF@e0f87a9), all converted by llama.cpp. The remainders
    // are 10,080, 18,112 (the 4B's F16 and BF16 files alike) and 19,648 bytes: the headers.
    for (text, blocks, t, file) in [
        (1024, 12, GgmlType::F16, 204_987_232u64),
        (2560, 24, GgmlType::F16, 672_423_616),
        (2560, 24, GgmlType::BF16, 675_569_344),
        (4096, 27, GgmlType::BF16, 921_704_576),
    ] {
        let p = ProjectorSpec::qwen35(text, blocks);
        let w = p.weights_bytes(t);
        assert!(
            w <= file && file - w < 64 * 1024,
            "{blocks} blocks to {text} in {t:?}: {w} against the file's {file}"
        );
        assert!(!p.tensors(t).iter().any(|x| x.name.contains("deepstack")));
    }
}
