//! The speed model against published llama-bench results (data/calibration/throughput.csv), with
//! the constants shipped in `SpeedParams::default()`, in sample and out of sample, and better than
//! the naive rule "tokens/s = bandwidth / model size" on every source. The thresholds are the
//! README's figures plus a small margin, so a change that makes a claim false fails here.

use llmrig_catalog::accuracy::{score_all, stats, Phase};

#[test]
fn decode_and_prefill_meet_the_targets() {
    let (rows, skipped) = score_all();
    let rows: Vec<_> = rows
        .into_iter()
        .filter(|r| r.engine == "llama.cpp")
        .collect();
    assert!(rows.len() >= 1600, "{} rows scored", rows.len());
    assert!(skipped.len() <= 1500, "{} rows skipped", skipped.len());
    let decode = stats(rows.iter().filter(|r| r.phase == Phase::Decode));
    let prefill = stats(rows.iter().filter(|r| r.phase == Phase::Prefill));
    // README, in sample (2026-12-06, 2,457 rows: kyuz0's R9700 ones, then the 115 of MiniMax-M2.7,
    // Hunyuan-A13B, dots.llm1, Granite 3.x MoE, Gemma 2B and the Gemma QAT files, which joined
    // without a refit; the MoE layers' per-token cost, the expert products' tile fill, RDNA's
    // under WMMA MMQ, the attention shares, the per-token cost's scaling with the GPU and
    // rocm-gddr's prompt constants fitted before them): decode 6.0% / 25.4%, prefill 18.4% /
    // 67.3% once matrix-core MMQ was capped at twice the dot-product rate and BF16 weights took
    // their path by GPU and build (18.8% / 71.3%
    // before; 6.0% / 25.1% and 18.3% / 70.7% on the 2,342 rows before those). 2026-12-06,
    // night: 2,449 rows (the L40S's contradicted 8B F16 rows excluded), CUDA's pre-b3216 prompts
    // through cuBLAS and the CUDA classes' prompt constants refitted alone: prefill 17.7% / 63.3%.
    // Later, AMD's Vulkan prompts by driver and the Vulkan class's prompt constants refitted alone
    // with AMDVLK's factor: prefill 17.2% / 60.1%. Later still, AMD's HIP flash attention on the
    // matrix cores and the ROCm classes' prompt constants refitted alone with its factor: 17.1% /
    // 60.5%. Shared LPDDR's own bandwidth share (`SpeedParams::lpddr_bw`), fitted with the
    // bandwidth shares and per-token costs of the classes whose LPDDR GPUs moved to it: decode
    // 6.0% / 25.4% -> 5.8% / 23.8%. The HIP flash attention's tile kernel at the vector rate
    // (`prompt_kernels::amd_fa_tile_peak`), the ROCm classes' prompt constants refitted alone:
    // prefill 17.1% / 60.5% -> 15.9% / 57.5%. 2,418 rows once 31 duplicates left the calibration
    // data, and the catalog's CPUs named AVX-512 VNNI as detection does (the CPU class's quantized
    // prompt share refitted alone): prefill 15.9% / 57.5% -> 15.7% / 56.3%. 2026-12-07: a
    // prompt ubatch pays decode's launch cost and a one-token ubatch no more (every class's
    // prompt constants refitted together): prefill 15.1% / 55.7%. Later: flash attention's scalar
    // shader on AMD's matrix cores, the Vulkan class's prompt constants refitted with its factor:
    // decode 5.8% -> 5.9% (BF16 experts' decode reads the Vulkan float share), prefill 14.8% /
    // 55.3%. Later still, MMQ's weight tiles at small ubatches (`SpeedParams::mmq_tile`), the CUDA
    // and ROCm classes' prompt constants refitted with it: prefill 15.0% / 53.9%. The 86 rows of
    // eleven PR threads (80 scored) joined without a refit: decode 5.9% / 24.3%, prefill 15.1% /
    // 53.0% over 2,498 rows. 2026-12-07, evening: SYCL its own class (`sycl`, fitted alone) and 41
    // rows of AMD's and Intel's GPUs from llama.cpp threads: decode 6.0% / 25.8%, prefill 15.2% /
    // 52.9% over 2,533 rows. 2026-12-07, night: llama.cpp's gpt-oss GGUFs keep the released
    // MXFP4 experts at every file type, and a row's "MXFP4" is the file type MXFP4_MOE, so 110
    // gpt-oss rows the size check had skipped are scored and 47 scored as the safetensors
    // release are read as MXFP4_MOE (157 in all), without a refit: decode 5.9% / 24.5%,
    // prefill 15.5% / 53.2% over 2,643 rows. 2026-12-08: decode without flash attention reads a
    // grouped-query layer's cache again per query head (`SpeedParams::nofa_kv_reread`, fitted
    // with the cache's read share and the no-FA per-token cost): decode 6.2% / 27.2% -> 6.0% /
    // 27.6%, prefill 15.9% / 55.4% -> 15.8% / 55.4% over 2,767 rows.
    assert!(
        decode.median <= 0.0625,
        "decode median {:.1}%",
        decode.median * 100.0
    );
    assert!(decode.p90 <= 0.278, "decode p90 {:.1}%", decode.p90 * 100.0);
    assert!(
        prefill.median <= 0.160,
        "prefill median {:.1}%",
        prefill.median * 100.0
    );
    assert!(
        prefill.p90 <= 0.557,
        "prefill p90 {:.1}%",
        prefill.p90 * 100.0
    );
}

/// Better than the naive rule on every source that gives at least five results of a phase (the
/// one- and two-row sources are single machines, several of them GPUs behind a Raspberry Pi's
/// one PCIe lane, which no spec sheet shows).
/// Where llmrig is still worse than the naive rule. The Cix P1 CP8180 (12 Arm cores) prefill is
/// predicted 1.6× too fast (2.6× until the catalog's x86 CPUs named AVX-512 VNNI and the CPU
/// class's prompt share was refitted): the CPU constants are fitted mostly on x86 laptops (the
/// 7840HS rows of llmfit's cache), and the Arm per-core rate is a rough one (`flops_per_core`). (Intel's Arc
/// GPUs on Vulkan in PR #14001 were here, 3–6× slower than predicted, until their prompts ran on
/// the scalar shaders that build used: `prompt_kernels::vulkan_matrix_cores`.)
const KNOWN_WORSE: [(&str, Phase); 1] = [("geerlingguy/ai-benchmarks#51", Phase::Prefill)];

#[test]
fn better_than_the_naive_rule_on_every_source() {
    let (rows, _) = score_all();
    let mut sources: Vec<&str> = rows.iter().map(|r| r.source.as_str()).collect();
    sources.sort_unstable();
    sources.dedup();
    for src in sources {
        for phase in [Phase::Decode, Phase::Prefill] {
            let s = stats(rows.iter().filter(|r| r.source == src && r.phase == phase));
            if s.n < 5 {
                continue;
            }
            if KNOWN_WORSE.contains(&(src, phase)) {
                assert!(
                    s.median >= s.naive_median,
                    "{src} {phase:?} is now better than the naive rule: drop it from KNOWN_WORSE"
                );
                continue;
            }
            assert!(
                s.median < s.naive_median,
                "{src} {phase:?}: median {:.1}% vs naive {:.1}%",
                s.median * 100.0,
                s.naive_median * 100.0
            );
        }
    }
}

/// Out of sample: each device held out of the refit that then scores it (10 folds by device,
/// `llmrig accuracy`), each fold refitted from `SpeedParams::prior`. The README's figures for the
/// llama.cpp rows plus a small margin, so a change that makes them worse fails here: decode
/// median 7.7% / p90 36.2%, prefill median 21.1% / p90 95.4% (2026-12-07, night: 157 gpt-oss rows
/// scored once its GGUFs are sized as llama.cpp writes them, experts MXFP4 at every file type;
/// their Strix Halo Vulkan decodes come out 1.19x too fast in its fold, the old rows' predictions
/// moving by under 2%; 7.4% / 36.7% and 20.4% / 90.6% before; 2026-12-07, evening: SYCL its own
/// class and 41 rows of AMD's and Intel's GPUs; Vulkan's prefill p90 in Strix Halo's fold 107% ->
/// 295%, whose float share, which also scales the class's attention, the new discrete Radeons'
/// flash-attention rows now set at 0.24 where Strix Halo's BF16 prompts want 0.05; 7.3% / 35.0%
/// and 19.8% / 69.1% before; 2026-12-07, later: flash attention's
/// scalar shader on AMD's matrix cores, `prompt_kernels::vulkan_fa_scalar`, which no fold without
/// Strix Halo's AMDVLK rows can fit; 7.3% / 34.1% and 20.8% / 69.3% before, through the constants
/// the folds share, the CUDA and Vulkan prefill pins loosened to match; 2026-12-07: a prompt ubatch pays
/// decode's launch cost and a one-token ubatch no more, every class's prompt constants refitted;
/// the MI100's one-token ubatches had been predicted 7x too slow in its fold; 7.2% / 33.6% and
/// 22.4% / 73.3% before, decode through the constants the folds share; 2026-12-06, night: 31 duplicated
/// rows gone, 2,418 rows, and the catalog's CPUs naming AVX-512 VNNI as detection does, the CPU
/// class's quantized prompt share refitted; 7.3% / 34.2% and 22.5% / 74.5% before; later: the HIP flash
/// attention's tile kernel at the vector rate, `prompt_kernels::amd_fa_tile_peak`, Strix Halo's
/// and the R9700's deep prompts carrying over to each other; 7.4% / 33.9% and 27.3% / 75.1%
/// before, decode through the constants the folds share; last: shared LPDDR's
/// own bandwidth share, `SpeedParams::lpddr_bw`, Strix Halo's decode learnt from the DGX Spark's
/// and back; 11.0% / 36.2% and 27.7% / 76.5% before, the prefill median measured against the
/// ranges of then; later still: AMD's HIP
/// flash attention on the matrix cores, `prompt_kernels::amd_fa_matrix_tokens`; 11.3% / 37.3%
/// and 27.9% / 78.7% before; late: AMD's Vulkan
/// prompts by driver, `prompt_kernels::vulkan_amd_tiles`; 11.3% / 36.8% and 27.7% / 77.7%
/// before, through the constants the folds share, the pins loosened to match; night: CUDA's
/// quantized prompts before b3216 through cuBLAS, `prompt_kernels::cuda_kernels`, and the L40S's
/// contradicted 8B F16 rows excluded, 2,449 rows; decode was 11.0% / 36.4% and prefill 28.5% /
/// 79.4% before, decode moving through the constants the folds share; earlier, matrix-core MMQ
/// capped at twice the dot-product rate, `prompt_kernels::MATRIX_MMQ_PER_DP4A`, and BF16
/// weights by GPU and build, `prompt_kernels::amd_bf16_rate`: 10.8% / 36.5% and 30.0% / 80.9%
/// before; each row at its
/// llama.cpp build and rocBLAS backend, 2,457 rows with kyuz0's R9700 ones and the 115 of the
/// models added that day, 10.7% / 34.8% and 28.2% / 79.6% on the 2,342 before them; MoE layers'
/// per-token cost, the expert products' tile fill, RDNA's under WMMA MMQ, RDNA4's MMQ at its FP16
/// rate, the attention shares, the per-token cost's scaling with the GPU, Vulkan's matrix cores
/// by maker, NVIDIA's own Vulkan class and BF16 experts through Vulkan's matrix-matrix shaders;
/// decode was 8.2% / 29.5% before the R9700's rows, which set rocm-gddr's decode constants in
/// Strix Halo's fold); the ranges hold 82.7% of decode and 83.4% of prefill results (they are
/// set from these residuals and the source-out ones, the wider of the two at each end). `.ci/run`
/// runs it in a release build.
#[test]
#[ignore = "slow: .ci/run runs it in a release build"]
fn cross_validated_errors_meet_the_readme() {
    use llmrig_catalog::accuracy::{cross_validate, prepare};
    let (cases, _) = prepare();
    let all = cross_validate(&cases);
    let rows: Vec<_> = all
        .iter()
        .filter(|r| r.engine == "llama.cpp")
        .cloned()
        .collect();
    assert!(rows.len() >= 1600, "{} rows scored", rows.len());
    // llama.cpp's rows only: the README's backend rows also hold the hybrid and llamafile rows
    // of that backend (here, decode / prefill medians: CUDA 7.8% / 18.6%, Metal 4.8% / 6.5%,
    // ROCm 6.7% / 20.9%, Vulkan 17.0% / 44.6% with the 157 gpt-oss rows (CUDA 7.9% / 19.5%,
    // Metal 5.0% / 8.1%); ROCm 6.4% / 18.1%, Vulkan 13.7% / 43.0% with SYCL's class and the 41 rows of AMD's and
    // Intel's GPUs; CUDA 7.8% / 18.6%, Metal 4.8% / 6.5%, ROCm 6.1% / 18.9%, Vulkan 12.5% / 37.9% with the 86 rows of the PR threads, decode worse
    // through the constants the folds share; CUDA 7.5% / 18.2%, Metal 4.0% / 6.6%, ROCm 6.2% /
    // 18.1%, Vulkan 10.7% / 38.4% before them; CUDA 7.6% / 19.1%, Metal 4.0% / 7.3%, ROCm 6.6% /
    // 21.6% and Vulkan 10.9% / 37.7% before MMQ's weight tiles at small ubatches, Vulkan's
    // through the constants the folds share; CUDA's prefill 18.6% and Vulkan's 36.9% before
    // the Vulkan scalar flash attention, through the constants the folds share; Vulkan's decode
    // 9.1% and Metal's prefill 7.0% before the ubatch's launch cost, the same way). 2026-12-08,
    // no-FA decode's cache re-reads (`SpeedParams::nofa_kv_reread`): CUDA 7.5% / 19.4%, Metal
    // 4.2% / 8.1%, ROCm 6.0% / 19.8%, Vulkan 12.6% / 30.3%; all rows decode 8.3% / 32.5% ->
    // 7.7% / 30.9%, prefill 21.1% / 72.5% -> 20.5% / 70.9%.
    let over = pin_backends(
        &rows,
        &[
            ("cuda", 0.077, 0.196),
            ("metal", 0.044, 0.083),
            ("rocm", 0.062, 0.201),
            ("vulkan", 0.128, 0.306),
        ],
    );
    pin(&rows, (0.079, 0.313, 0.83), (0.207, 0.713, 0.835));
    // README: hybrid, Gemma 3n and Gemma 4 E2B/E4B rows (Qwen3.6 among them), device out,
    // decode 15.5% / 65.0%, prefill 44.5% / 161.6% with the 157 gpt-oss rows (17.5% / 65.0% and
    // 46.5% / 147.7% before: Strix Halo's Vulkan fold as above; 16.5% /
    // 44.7% and 41.7% / 80.8% before SYCL's class and the 41 rows; 16.7% / 44.2% and 40.0% / 80.8% before the
    // PR threads' 86 rows; 16.3% / 43.6% and 39.8% / 77.7% before MMQ's
    // weight tiles, through the constants the folds share; 14.5% / 43.3% and 40.7% / 80.7% before the
    // ubatch's launch cost, decode through the constants the folds share; 15.4% / 43.3% and 40.3% / 79.8% before the
    // catalog's CPUs named AVX-512 VNNI; 13.7% / 43.4% and 36.6% / 73.9% before the tile
    // kernel's vector rate: worse, through the constants the folds share).
    pin_hybrid(&all, (0.116, 0.494), (0.352, 0.92));
    assert!(over.is_empty(), "{}", over.join("; "));
}

/// Each source (one benchmark table, one thread, one results repository) predicted by constants
/// refitted on the others (from `SpeedParams::prior`). The README's figures plus a margin: decode
/// median 10.6% / p90 37.2%, prefill median 21.1% / p90 67.7% (2026-12-07, night: 157 gpt-oss
/// rows scored once its GGUFs are sized as llama.cpp writes them; 11.1% / 38.6% and 21.9% / 70.1%
/// before; 2026-12-07, evening: SYCL its own
/// class and 41 rows of AMD's and Intel's GPUs; 10.7% / 38.9% and 21.3% / 72.2% before;
/// 2026-12-07, last, the 86 rows of
/// eleven PR threads: on the 2,418 rows before them 9.7% / 38.4% -> 10.7% / 38.8% and 24.9% /
/// 74.9% -> 22.0% / 72.9%; before, MMQ's weight tiles at small ubatches: 10.2% / 38.2% and 23.1% / 73.5% before, CUDA's prefill worse in the
/// fold of XiongjieDai's tables, whose cuBLAS-era prompts read cuda-gddr's float share, which
/// that fold now fits at 0.64 against 0.56 before and 0.53 in sample; later, flash
/// attention's scalar shader on AMD's matrix cores: 10.3% / 38.8% and 22.6% / 72.9% before, worse
/// through the constants the folds share, CUDA's, Metal's and Vulkan's prefill and the hybrid
/// rows' pins loosened to match; 2026-12-07, a prompt ubatch at
/// decode's launch cost: 10.9% / 39.5% and 22.2% / 79.7% before; 2026-12-06, night, the duplicates
/// gone and the catalog's CPUs naming AVX-512 VNNI: 10.3% / 38.9% and 25.9% / 76.4% before, decode
/// through the constants the folds share, the prefill p90 in the fold of XiongjieDai's tables,
/// whose H100 and A100 prompts the V100's and H200's rows alone now predict over 2x too slow;
/// later, the HIP flash
/// attention's tile kernel at the vector rate: 10.3% / 38.9% and 28.0% / 74.4% before; last, shared LPDDR's
/// own bandwidth share: 8.5% / 41.0% and 26.1% / 73.5% before, worse in the fold of
/// XiongjieDai's tables, whose other CUDA rows no longer include the DGX Spark's; later still, AMD's HIP
/// flash attention on the matrix cores: 9.5% / 41.4% and 27.6% / 73.4% before; late, AMD's Vulkan
/// prompts by driver: 9.0% / 41.3% and 27.4% / 73.1% before, decode through the constants the
/// folds share, the pins loosened to match; night, CUDA's
/// pre-b3216 prompts through cuBLAS: 9.0% / 42.4% and 30.8% / 78.8% before; earlier, matrix-core MMQ
/// capped at twice the dot-product rate and BF16 weights by GPU and build: 8.8% / 44.0% and
/// 32.7% / 79.0% before; 2,457 rows with
/// kyuz0's R9700 ones and the 115 of the models added that day; 9.1% / 41.7% and 31.9% / 80.0%
/// on the 2,342 before them; MoE layers' per-token cost, the expert products' tile fill, RDNA's under
/// WMMA MMQ, RDNA4's MMQ at its FP16 rate, the attention shares, the per-token cost's scaling
/// with the GPU, Vulkan's matrix cores by maker, BF16 experts through Vulkan's matrix-matrix
/// shaders); the ranges hold 80.3% of decode and 81.7% of prefill results (the issue asks for 80%
/// out of sample; the ranges, ×0.75–1.21 and ×0.60–1.92, are set from these residuals and the
/// device-out ones).
#[test]
#[ignore = "slow: .ci/run runs it in a release build"]
fn cross_validated_by_source_meets_the_readme() {
    use llmrig_catalog::accuracy::{cross_validate_sources, prepare};
    let (cases, _) = prepare();
    let all = cross_validate_sources(&cases);
    let rows: Vec<_> = all
        .iter()
        .filter(|r| r.engine == "llama.cpp")
        .cloned()
        .collect();
    assert!(rows.len() >= 1600, "{} rows scored", rows.len());
    // llama.cpp's rows only, decode / prefill medians: CUDA 16.8% / 19.9%, Metal 8.1% / 11.5%,
    // ROCm 6.8% / 20.5%, Vulkan 9.2% / 29.6% with the 157 gpt-oss rows (before them, as the
    // README's backend rows then): CUDA 15.8% / 22.3%, Metal 8.3% / 9.9%,
    // ROCm 7.0% / 20.3%, Vulkan 8.0% / 31.9% (CUDA 15.7% / 20.6%, Metal 7.9% / 9.3%, ROCm 7.0% /
    // 19.6%, Vulkan 8.7% / 35.3% before SYCL's class and the 41 rows; CUDA 14.5% / 30.5%, Metal 7.1% / 9.8%, ROCm 6.2% /
    // 20.2%, Vulkan 7.8% / 36.5% before the PR threads' 86 rows; CUDA 15.3% / 24.8%, Metal 7.7% / 9.6%, ROCm 6.5% /
    // 21.1% and Vulkan 7.6% / 34.6% before MMQ's weight tiles; 16.5% / 23.6%, 7.4% / 8.3%, 6.9% / 21.0% and
    // 7.5% / 34.1% before the Vulkan scalar flash attention, through the constants the folds
    // share; CUDA's prefill 20.8% before the ubatch's launch cost, in the fold of XiongjieDai's
    // tables). 2026-12-08, no-FA decode's cache re-reads: CUDA 15.5% / 20.6%, Metal 6.0% /
    // 11.6%, ROCm 6.9% / 20.0%, Vulkan 9.9% / 32.4%; all rows decode 10.4% / 36.6% -> 10.0% /
    // 37.1%, prefill 21.5% / 71.2% -> 21.4% / 70.4%.
    let over = pin_backends(
        &rows,
        &[
            ("cuda", 0.158, 0.208),
            ("metal", 0.062, 0.118),
            ("rocm", 0.071, 0.202),
            ("vulkan", 0.101, 0.327),
        ],
    );
    pin(&rows, (0.102, 0.374, 0.82), (0.216, 0.708, 0.82));
    // README: hybrid, Gemma 3n and Gemma 4 E2B/E4B rows, source out, decode 14.0% / 43.6%,
    // prefill 35.2% / 66.1% with the 157 gpt-oss rows, through the constants the folds share
    // (12.0% / 39.7% and 33.5% / 70.1% before; 12.3% / 34.0% and 36.1% / 73.7% before SYCL's class and the 41
    // rows; 12.7% / 34.0% and 36.4% / 75.4% before the PR threads' 86 rows;
    // 12.3% / 34.0% and 35.7% / 73.8% before MMQ's weight tiles;
    // 35.1% / 73.9% before the Vulkan scalar flash attention;
    // 13.2% / 37.4% and 36.8% / 74.0% before the ubatch's launch cost;
    // 11.8% / 34.8% and 36.6% / 73.7% before the catalog's CPUs named
    // AVX-512 VNNI; 11.7% / 37.2% and 35.2% / 69.8% before the tile kernel's vector rate).
    // 2026-12-08, no-FA decode's cache re-reads: decode 13.2% / 49.2% -> 15.6% / 49.2%, prefill
    // 34.3% / 77.1% -> 34.0% / 74.2%, through the constants the folds share (llmfit's 31 CUDA
    // decodes of the hybrid models, mostly an RTX 3060's, 13.4% -> 17.9% median; their median
    // ratio 0.92 -> 0.94).
    pin_hybrid(&all, (0.158, 0.494), (0.343, 0.75));
    assert!(over.is_empty(), "{}", over.join("; "));
}

/// The hybrid and Gemma 3n rows (scored, never fitted: `engine` "llama.cpp-hybrid"), decode and
/// prefill (median, p90) against limits.
fn pin_hybrid(rows: &[llmrig_catalog::accuracy::Scored], decode: (f64, f64), prefill: (f64, f64)) {
    let hybrid: Vec<_> = rows
        .iter()
        .filter(|r| r.engine == "llama.cpp-hybrid")
        .collect();
    for (phase, (median, p90)) in [(Phase::Decode, decode), (Phase::Prefill, prefill)] {
        let sel: Vec<_> = hybrid
            .iter()
            .filter(|r| r.phase == phase)
            .copied()
            .collect();
        assert!(sel.len() >= 61, "{phase:?}: {} hybrid rows", sel.len());
        let st = stats(sel.into_iter());
        #[allow(clippy::print_stderr)]
        {
            eprintln!(
                "hybrid {phase:?}: {:.2}% / {:.2}%",
                st.median * 100.0,
                st.p90 * 100.0
            );
        }
        assert!(
            st.median <= median && st.p90 <= p90,
            "hybrid {phase:?}: median {:.1}% p90 {:.1}%",
            st.median * 100.0,
            st.p90 * 100.0
        );
    }
}

/// The hybrid, Gemma 3n and Gemma 4 E2B/E4B rows with the shipped constants (never fitted on
/// them): the README's decode 11.2% / 37.9% (13.9% / 38.6% before shared LPDDR's own bandwidth
/// share) and prefill 22.3% / 60.1% (21.2% before the CPU class's prompt share was refitted with
/// the catalog's CPUs naming AVX-512 VNNI: LFM2 on the 7840HS 0.84x -> 0.89x; Qwen3.6's BF16 rows on
/// Strix Halo among them; 20.1% / 66.8% before AMD's Vulkan prompts followed the driver, which
/// puts Qwen3.6-27B's dense RADV prompt 1.6× too fast, the median pin loosened to match; 60.4%
/// p90 before rocm-gddr's prompt constants were refitted with the R9700's rows), plus a small
/// margin. 2026-12-07: prefill 22.3% / 60.1% -> 23.0% / 61.6% once a prompt ubatch paid decode's
/// launch cost and every class's prompt constants were refitted with it (the shifts are a few
/// percent on every device; the ubatch rows that moved are not hybrid ones). 2026-12-07, evening:
/// the Arc 140V's Gemma 4 E2B BF16 rows under Vulkan (#22461) join, decode 11.4% / 39.2%, prefill
/// 21.1% / 62.9%. 2026-12-07, late night: two R9700s under Vulkan (kyuz0/amd-r9700-ai-toolboxes)
/// add 12 rows of Qwen3-Next-80B-A3B, predicted 1.6–3.2x too fast (RADV's decodes half AMDVLK's at
/// b7423), and the Vulkan class was refitted: decode 10.7% / 45.3%, prefill 21.4% / 74.2%.
/// 2026-12-08: no-FA decode's cache re-reads, decode 10.7% / 45.9%.
#[test]
fn hybrid_rows_are_scored_apart_at_the_readme_figures() {
    let (rows, _) = score_all();
    pin_hybrid(&rows, (0.109, 0.462), (0.217, 0.745));
}

/// Decode and prefill (median, p90, share in range) against limits.
fn pin(
    rows: &[llmrig_catalog::accuracy::Scored],
    decode: (f64, f64, f64),
    prefill: (f64, f64, f64),
) {
    let d = stats(rows.iter().filter(|r| r.phase == Phase::Decode));
    let p = stats(rows.iter().filter(|r| r.phase == Phase::Prefill));
    // The figures go to stderr so a run with --nocapture shows them for the README.
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "decode {:.2}% / {:.2}% ({:.1}% in range), prefill {:.2}% / {:.2}% ({:.1}% in range)",
            d.median * 100.0,
            d.p90 * 100.0,
            d.in_range * 100.0,
            p.median * 100.0,
            p.p90 * 100.0,
            p.in_range * 100.0
        );
    }
    assert!(
        d.median <= decode.0,
        "decode median {:.1}%",
        d.median * 100.0
    );
    assert!(d.p90 <= decode.1, "decode p90 {:.1}%", d.p90 * 100.0);
    assert!(
        d.in_range >= decode.2,
        "decode in range {:.0}%",
        d.in_range * 100.0
    );
    assert!(
        p.median <= prefill.0,
        "prefill median {:.1}%",
        p.median * 100.0
    );
    assert!(p.p90 <= prefill.1, "prefill p90 {:.1}%", p.p90 * 100.0);
    assert!(
        p.in_range >= prefill.2,
        "prefill in range {:.0}%",
        p.in_range * 100.0
    );
}

/// Decode and prefill median error per backend at most the README's figures plus a margin. Every
/// backend's figures are printed, and the limits it exceeds returned, so one run shows them all.
fn pin_backends(
    rows: &[llmrig_catalog::accuracy::Scored],
    limits: &[(&str, f64, f64)],
) -> Vec<String> {
    let mut over = Vec::new();
    for &(backend, decode_max, prefill_max) in limits {
        for (phase, max) in [(Phase::Decode, decode_max), (Phase::Prefill, prefill_max)] {
            let st = stats(
                rows.iter()
                    .filter(|r| r.backend == backend && r.phase == phase),
            );
            #[allow(clippy::print_stderr)]
            {
                eprintln!(
                    "{backend} {phase:?}: {:.2}% / {:.2}%",
                    st.median * 100.0,
                    st.p90 * 100.0
                );
            }
            if st.median > max {
                over.push(format!(
                    "{backend} {phase:?} median {:.1}% > {:.1}%",
                    st.median * 100.0,
                    max * 100.0
                ));
            }
        }
    }
    over
}

/// Calibrating one machine on one model and quant carries over to its other results
/// (`llmrig calibrate`; `cargo run --release -p llmrig-catalog --example accuracy -- --holdouts`
/// lists every machine). Each machine starts from the constants of its device-out fold, fitted
/// without its device, as a user's machine that llmrig has never seen would (starting from the
/// shipped constants, fitted on its own rows, flattered the "before" figures). Over the machines
/// of the calibration data with results for two or more model–quant pairs, the median of their
/// median errors on the pairs not calibrated on (each calibrated on its pair with most results,
/// `--holdouts`), 2026-12-04 with the dynamic mixes and Gemma 4: decode 8.1% → 7.4% calibrated
/// (better on 28 machines, worse on 25), prefill 15.4% → 17.2% (better on 24, worse on 24: one
/// pair says little of the other weight types' prompt kernels; before those rows 8.1% → 6.4%
/// and 15.8% → 16.1%). Here, calibrated on Llama 3.1 8B Q8_0 where a machine has it, over 65
/// machines, with the MoE layers' per-token cost in every fold: decode 8.5% → 7.4%, prefill
/// 16.3% → 17.5% (better on 28, worse on 29: a coin flip, pinned as such, not as a gain). With
/// the expert tiles, the attention shares and rocBLAS's default by era (2026-12-05): decode 8.0%
/// → 5.8%, prefill 16.0% → 17.7% (better on 36 machines, worse on 24, yet the median machine
/// worse). With the 76 rows of 2026-12-05 (69 machines) and the per-token cost's scaling with
/// the GPU: decode 7.0% → 6.1%, prefill 17.8% → 17.8% (better on 35, worse on 27). With
/// NVIDIA's Vulkan rows and class (70 machines): decode 7.5% → 7.1%, prefill 18.3% → 18.3%
/// (better on 37, worse on 27). With BF16 experts through Vulkan's matrix-matrix shaders: decode
/// 7.6% → 5.9%, prefill 16.8% → 18.4% (better on 39, worse on 26). Then the prompt shares move
/// only 65% of the way to one pair's fit (`calibrate::prompt_shrink`, an empirical-Bayes weight
/// from the device-out residuals, not from these figures): prefill 16.8% → 16.1% (better on 40,
/// worse on 25), so calibrating now helps the median machine's prompts. On a Mac the share the
/// run did not measure moves with the one it did (`calibrate::carry_prompt_shares`, slopes from
/// the device-out residuals of the 27 Apple machines): prefill 16.8% → 14.5% (better on 36,
/// worse on 29); the target is 15%. With RDNA's expert tiles the folds' constants moved,
/// and decode with them: 6.9% → 6.0% (prefill the same). With kyuz0's R9700 rows (71 machines)
/// and RDNA4's MMQ at its FP16 rate: decode 7.7% → 6.3%, prefill 16.8% → 13.7% (better on 35,
/// worse on 29). With the 115 rows of the six models added on 2026-12-06 (no machine more, but
/// more results on Strix Halo, the MI100 and the DGX Spark, and other folds): decode 7.8% → 6.6%,
/// prefill 17.2% → 14.4% (better on 33, worse on 32). With matrix-core MMQ capped at twice the
/// dot-product rate (the folds' constants moved, and `prompt_shrink`'s residuals with them):
/// decode 7.9% → 6.2%, prefill 16.3% → 13.8%, but better on 31 machines and worse on 35; with
/// BF16 weights by GPU and build too, decode 7.9% → 6.3%, prefill 15.6% → 13.8% (better on
/// 34, worse on 32), pinned then as a coin flip (at least 40% helped). With CUDA's quantized
/// prompts before b3216 through cuBLAS (`prompt_kernels::cuda_kernels`; XiongjieDai's May 2024
/// rows had run at today's MMQ rules) and the L40S's contradicted 8B F16 rows out: decode 7.9% →
/// 6.9%, prefill 17.5% → 12.8%, better on 40 machines and worse on 26: pinned as a majority.
/// With shared LPDDR's own bandwidth share (`SpeedParams::lpddr_bw`, fitted on an LPDDR
/// machine's decode results): decode 7.0% → 5.6%, prefill 18.2% → 12.6% (better on 41, worse
/// on 24; 7.9% → 6.4% and 19.1% → 12.9%, 39 and 27, before). With the HIP flash attention's
/// tile kernel at the vector rate (`prompt_kernels::amd_fa_tile_peak`): decode 7.5% → 5.6%,
/// prefill 16.0% → 11.6% (better on 36, worse on 28: the uncalibrated start is closer).
#[test]
#[ignore = "slow: .ci/run runs it in a release build"]
fn cross_validated_calibration_carries_over_to_other_models() {
    use llmrig_catalog::accuracy::{device_fold_params, prepare};
    use llmrig_catalog::calibrate::holdouts;
    let (cases, _) = prepare();
    let folds = device_fold_params(&cases);
    let h = holdouts(&cases, Some(("llama-3.1-8b", "Q8_0")), Some(&folds));
    assert!(h.len() >= 50, "{} machines", h.len());
    let median = |v: Vec<f64>| {
        let mut v: Vec<f64> = v.into_iter().filter(|x| x.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let decode = median(
        h.iter()
            .filter(|m| m.decode.0 > 0)
            .map(|m| m.decode.2)
            .collect(),
    );
    let decode_before = median(
        h.iter()
            .filter(|m| m.decode.0 > 0)
            .map(|m| m.decode.1)
            .collect(),
    );
    let prefill = median(
        h.iter()
            .filter(|m| m.prefill.0 > 0)
            .map(|m| m.prefill.2)
            .collect(),
    );
    let prefill_before = median(
        h.iter()
            .filter(|m| m.prefill.0 > 0)
            .map(|m| m.prefill.1)
            .collect(),
    );
    let (better, worse) = h
        .iter()
        .filter(|m| m.prefill.0 > 0)
        .fold((0, 0), |(b, w), m| {
            (
                b + usize::from(m.prefill.2 < m.prefill.1),
                w + usize::from(m.prefill.2 > m.prefill.1),
            )
        });
    // The carry-over figures go to stderr so a run with --nocapture shows them for the README.
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "calibration carry-over over {} machines: decode {decode_before:.4} -> {decode:.4}, prefill {prefill_before:.4} -> {prefill:.4} (better on {better}, worse on {worse})",
            h.len()
        );
    }
    // 5.8% from 7.7% uncalibrated (prefill 12.5%, from 17.9%; better on 35 machines, worse on
    // 32) over 72 machines since no-FA decode re-reads a grouped-query layer's cache (2026-12-08);
    // 6.3% (prefill 12.5%, from 17.1% uncalibrated; better on 37 machines, worse on 28) over 72
    // machines since two R9700s under Vulkan joined with BF16 under Vulkan and Vulkan's serial
    // multi-GPU prompts (2026-12-07, late night): Strix Halo's Vulkan machine 106% -> 29%
    // uncalibrated, most others 2-3 points worse through the constants the folds share, and the
    // RX 9070 XT's Vulkan prompts of #26663 15% -> 74%, its fold fitting Vulkan's per-ubatch cost
    // at 38 ms to the R9700's AMDVLK deep prompts, which llmrig does not model;
    // 6.2% (prefill 11.5%, from 15.5% uncalibrated; better on 41 machines, worse on 24) since
    // the 157 gpt-oss rows were scored (2026-12-07, night; `--example accuracy -- --holdouts`);
    // 6.06% (prefill 12.90%, from 15.35% uncalibrated; better on 38 machines, worse on 26) since
    // SYCL's class and the 41 rows of AMD's and Intel's GPUs joined (2026-12-07, evening); 6.11%
    // (prefill 11.98%, from 15.44% uncalibrated; better on 37 machines, worse on 28) since
    // the PR threads' 86 rows joined; 5.68% (prefill 12.19%, from 14.96% uncalibrated; better on
    // 34, worse on 32) with MMQ's weight tiles at small ubatches before them; 6.11% (prefill 12.44%, from 15.32% uncalibrated) since a prompt ubatch pays decode's
    // launch cost, through the device-out starts the refit moved (one pair leaves a machine's
    // per-token cost where it starts: `calibrate::fixed_rows`); 5.36% (prefill 11.28% from 17.59%)
    // since the calibration data lost its 31 duplicates and the catalog's CPUs name AVX-512
    // VNNI; 5.56% since shared LPDDR has its own bandwidth share, and with the tile kernel's vector rate (6.41% before; 6.98% before AMD's HIP
    // flash attention took its kernel; 6.9% before AMD's Vulkan prompts followed the driver,
    // through the constants the folds share).
    assert!(decode <= 0.062, "decode {:.1}%", decode * 100.0);
    assert!(
        decode < decode_before,
        "decode {decode} vs uncalibrated {decode_before}"
    );
    assert!(prefill <= 0.128, "prefill {:.1}%", prefill * 100.0);
    // Calibrating prompts on one model and quant helps the median machine's other models, and
    // most machines (35 helped, 30 hurt since a prompt ubatch pays decode's launch cost; 37 and
    // 29 since the catalog's CPUs name AVX-512 VNNI; 36 and 28
    // since the tile kernel runs at the vector rate; 41 and 24
    // since shared LPDDR has its own bandwidth share; 39 and 27
    // since AMD's HIP flash attention took its kernel; 40 and
    // 26 before; 34 and 32 before CUDA's pre-b3216 prompts went through
    // cuBLAS, when this asked for at least 40% helped).
    assert!(
        prefill < prefill_before && better > worse,
        "prefill {prefill} vs uncalibrated {prefill_before}: better on {better} machines, worse on {worse}"
    );
}

/// The noise floor is a floor: the speed model predicts the same speed for rows with the same
/// inputs, so within every such set its mean error is at least the floor's (the weighted median
/// minimises it), and the rows the floor calls noisy are the ones that disagree.
#[test]
fn the_noise_floor_is_below_the_model_in_every_group() {
    use llmrig_catalog::accuracy::{floor, prepare, score};
    let (cases, _) = prepare();
    let model = score(&cases, &llmrig_core::estimate::SpeedParams::default());
    let floor = floor(&cases);
    assert_eq!(model.len(), floor.len());
    // Group by the floor's prediction and the row's inputs as far as Scored shows them.
    let mut groups: std::collections::HashMap<String, (f64, f64, usize)> =
        std::collections::HashMap::new();
    for (m, f) in model.iter().zip(&floor) {
        let key = format!(
            "{}|{}|{}|{}|{}|{}|{:?}|{}",
            m.device, m.gpus, m.backend, m.model, m.quant, m.test, m.phase, f.predicted
        );
        let g = groups.entry(key).or_default();
        g.0 += m.error();
        g.1 += f.error();
        g.2 += 1;
    }
    let noisy = groups.values().filter(|g| g.1 > 0.0).count();
    assert!(noisy >= 10, "only {noisy} groups of rows disagree");
    for (k, (model_err, floor_err, n)) in &groups {
        assert!(
            *floor_err <= *model_err + 1e-9 * *n as f64,
            "{k}: floor {floor_err} above the model's {model_err} over {n} rows"
        );
    }
    // The README's figures over the llama.cpp rows: decode p90 0.6%, prefill p90 2.2%, ROCm
    // prefill p90 8.0% (3.2% and 8.7% before 31 duplicated rows left the data: the twice-copied
    // tables of PRs #17505, #22880 and #27841, one copy without a setting the other stated;
    // medians 0: most rows are alone in their group; 9.5% before PR #22880's
    // MI100 rows ran at the builds of its branch and of master before it, not both at the
    // thread's month). Before the Vulkan driver
    // was an input (Strix Halo's RADV and AMDVLK runs of one build shared a group): 1.3% and 7.1%. The R9700's rows ran one
    // build under three ROCm releases (6.4.4, 7.1.1, a 7 nightly) that llmrig does not see, and
    // some prompts differ 2x between them: before those rows, 6.1% and 8.0%. Before each row ran at
    // its own llama.cpp build, rows of other builds shared a group: 1.2%, 12.2% and 52.5%; before
    // each ran with its rocBLAS backend (`ROCBLAS_USE_HIPBLASLT`), with Unsloth's dynamic
    // mixes: 1.3%, 12.3% and 32.8%.
    let pick = |phase: Phase, backend: Option<&str>| {
        stats(floor.iter().filter(|r| {
            r.engine == "llama.cpp" && r.phase == phase && backend.is_none_or(|b| r.backend == b)
        }))
    };
    let (d, p, rocm) = (
        pick(Phase::Decode, None),
        pick(Phase::Prefill, None),
        pick(Phase::Prefill, Some("rocm")),
    );
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "noise floor p90: decode {:.2}%, prefill {:.2}%, ROCm prefill {:.2}%",
            d.p90 * 100.0,
            p.p90 * 100.0,
            rocm.p90 * 100.0
        );
    }
    assert!(d.median < 0.005 && d.p90 <= 0.015, "decode {d:?}");
    assert!(
        p.median < 0.005 && (0.015..=0.03).contains(&p.p90),
        "prefill {p:?}"
    );
    assert!((0.07..=0.09).contains(&rocm.p90), "ROCm prefill {rocm:?}");
    let all_model: f64 = groups.values().map(|g| g.0).sum();
    let all_floor: f64 = groups.values().map(|g| g.1).sum();
    assert!(all_floor < all_model);
}

/// RDNA's expert tile fill under WMMA MMQ (`SpeedParams::moe_tile[2]`) is informed by one machine,
/// Strix Halo, so neither hold-out of `llmrig accuracy` can test it (without Strix Halo, or
/// without kyuz0's results, no row informs it and the fold keeps the prior). This holds it out
/// within that machine: fitted alone on the MoE models kyuz0 ran at b7423 (GLM-4.5-Air, the
/// Qwen3 MoEs), it must predict the prompts of those run at b9187–b9193 (Gemma 4 26B-A4B,
/// GLM-4.7-Flash, gpt-oss-120b, Qwen3.5-122B-A10B, Qwen3.6-35B-A3B) better than no term, and the
/// other way round (measured: median / p90 11.1% / 64.5% → 7.3% / 29.5% and 42.4% / 113.5% →
/// 13.2% / 37.0%).
#[test]
#[ignore = "slow: .ci/run runs it in a release build"]
fn cross_validated_rdna_expert_tiles_across_models() {
    use llmrig_catalog::accuracy::{prepare, rdna_tile_holdout};
    let (cases, _) = prepare();
    let early = [
        "glm-4.5-air",
        "qwen3-235b-a22b-instruct-2507",
        "qwen3-30b-a3b",
        "qwen3-30b-a3b-instruct-2507",
        "qwen3-coder-30b-a3b",
        "qwen3-next-80b-a3b",
    ];
    let late = [
        "gemma-4-26b-a4b",
        "glm-4.7-flash",
        "gpt-oss-120b",
        "qwen3.5-122b-a10b",
        "qwen3.6-35b-a3b",
    ];
    // Each half held out in turn: the term is fitted on every other row (the other half's
    // among them) and scored on the held-out half's Strix Halo ROCm prompts.
    // The README's figures with the term, plus a small margin: 7.4% / 44.6% and 15.7% / 69.3%
    // since a prompt ubatch pays decode's launch cost (every class's prompt constants refitted);
    // 6.6% / 43.4% and 14.7% / 69.3%
    // since the HIP flash attention's tile kernel runs at the vector rate (the ROCm classes'
    // attention shares moved with it); 6.9% / 32.4% and 14.0% / 63.9%
    // since AMD's HIP flash attention takes its kernel (7.1% / 38.3% and 12.4% / 65.7% before;
    // 7.3% / 33.3% and 14.2% / 65.5% before MiniMax-M2.7's b9187-b9193 prompts joined the
    // rows that fit the term, 2026-12-06; 7.3% / 29.5% and 13.2% / 37.0% before the R9700's rows
    // moved rocm-gddr's prompt constants: the second half's BF16 MoE prompts, Qwen3-30B-A3B's,
    // are now 1.5-1.8x too fast).
    for (held, (median, p90)) in [(&late[..], (0.077, 0.45)), (&early[..], (0.16, 0.70))] {
        let (fitted, a, b) = rdna_tile_holdout(&cases, held);
        assert!(b.n >= 30, "{} rows", b.n);
        #[allow(clippy::print_stderr)]
        {
            eprintln!(
                "tile {:.1}: {} rows {:.1}% / {:.1}% -> {:.1}% / {:.1}%",
                fitted.moe_tile[2],
                b.n,
                a.median * 100.0,
                a.p90 * 100.0,
                b.median * 100.0,
                b.p90 * 100.0
            );
        }
        assert!(b.median < a.median && b.p90 < a.p90, "{a:?} -> {b:?}");
        assert!(b.median <= median && b.p90 <= p90, "{b:?}");
    }
}

#[test]
fn catalog_cpus_name_their_simd_as_detection_does() {
    // A CPU's prompt rate follows its SIMD flags (`cpu_int8_factor`), so a catalog CPU must list
    // them by the names detection reads from /proc/cpuinfo, or `--cpu ryzen-9-7950x` and the same
    // CPU detected predict different prompts. Until 2026-12-06 no entry named `avx512_vnni`: every
    // AVX-512 VNNI CPU (Zen 4 and 5, Ice Lake to Sapphire Rapids) read as plain AVX2.
    use llmrig_catalog::{accuracy::extra_devices, devices, EntryKind};
    use llmrig_core::system::SIMD_FLAGS;
    // x86 features older than AVX that no llama.cpp kernel llmrig models reads; they stay listed so
    // that the entry does not read as "unknown", which is taken as AVX2.
    const OLDER: [&str; 5] = ["sse3", "sse4a", "sse4.1", "sse4.2", "fma4"];
    let mut cpus = 0;
    for e in devices().all().iter().chain(extra_devices().all()) {
        if e.kind != EntryKind::Cpu || e.cores.is_none() {
            continue;
        }
        cpus += 1;
        for f in &e.simd {
            assert!(
                SIMD_FLAGS.contains(&f.as_str()) || OLDER.contains(&f.as_str()),
                "{}: SIMD flag {f} is not a /proc/cpuinfo name llmrig reads",
                e.id
            );
        }
    }
    assert!(cpus >= 150, "{cpus} CPUs");
    // The VNNI generations, by their product names (Intel ARK and AMD's specifications list
    // AVX-512 VNNI for Cascade Lake, Ice/Tiger/Rocket Lake, Sapphire Rapids and Zen 4/5).
    for id in [
        "ryzen-7-7840hs",
        "ryzen-9-7950x",
        "epyc-9654",
        "xeon-platinum-8280",
        "core-i7-1185g7",
    ] {
        let e = extra_devices()
            .find(id)
            .or_else(|_| devices().find(id))
            .unwrap();
        assert!(e.simd.iter().any(|f| f == "avx512_vnni"), "{id}");
    }
}

#[test]
fn no_result_is_transcribed_twice() {
    // One published result, one row: a table copied twice weighs its rows double in every fit
    // and score, and the copies can disagree about a setting (until 2026-12-06, PR #17505's V100
    // table, #22880's MI100 and #27841's MI50 tables and geerlingguy/ai-benchmarks#51 were in
    // twice, one copy without the build or `flash_attn` the other stated). A result is its source
    // (a PR's own URL; otherwise the URL before any `#`), device, test, quant, value and the
    // ubatch, threads and GPU count it ran with, whatever each copy calls the model; LocalScore's
    // rounded results are told apart by their result id.
    const CSV: &str = include_str!("../../data/calibration/throughput.csv");
    let mut rdr = csv::Reader::from_reader(CSV.as_bytes());
    let headers = rdr.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (src, hw, test, quant, tps) = (
        col("source"),
        col("hardware"),
        col("test"),
        col("quant"),
        col("tokens_per_s"),
    );
    let (ub, threads, gpus, notes) = (
        col("n_ubatch"),
        col("n_threads"),
        col("gpu_count"),
        col("notes"),
    );
    let squash = |s: &str, keep: fn(char) -> bool| -> String {
        s.chars()
            .filter(|c| keep(*c))
            .flat_map(char::to_lowercase)
            .collect()
    };
    let mut seen = std::collections::HashMap::new();
    let mut twice = Vec::new();
    for (i, row) in rdr.records().enumerate() {
        let row = row.unwrap();
        let Ok(value) = row[tps].trim().parse::<f64>() else {
            continue;
        };
        let source = if row[src].contains("/pull/") {
            row[src].trim()
        } else {
            row[src].split('#').next().unwrap_or_default().trim()
        };
        let result_id: String = row[notes]
            .split("localscore.ai/result/")
            .nth(1)
            .map(|s| s.chars().take_while(char::is_ascii_digit).collect())
            .unwrap_or_default();
        let key = (
            source.to_string(),
            squash(&row[hw], |c| c.is_ascii_alphanumeric()),
            squash(&row[test], |c| !c.is_whitespace()),
            row[quant].trim().to_uppercase(),
            format!("{value:.2}"),
            [&row[ub], &row[threads], &row[gpus]].map(|s| s.trim().to_string()),
            result_id,
        );
        if let Some(first) = seen.insert(key, i + 2) {
            twice.push(format!("records {first} and {}", i + 2));
        }
    }
    assert!(seen.len() >= 4000, "{} rows", seen.len());
    assert!(
        twice.is_empty(),
        "the same result twice: {}",
        twice.join("; ")
    );
}
