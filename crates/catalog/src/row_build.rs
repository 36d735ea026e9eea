//! The llama.cpp build a throughput.csv row ran, as far as the row tells: its build number
//! (`83bc2f28 (6077)`, `b7772`), a month it states, or the month of the llama.cpp pull request,
//! issue or discussion it comes from. A row that tells nothing runs the current rules.

use llmrig_core::estimate::{
    LlamaCppVersion, VulkanDriver, AMD_FA_CDNA_BUILD, AMD_FA_RDNA3_BUILD, AMD_FA_RDNA4_BUILD,
    VULKAN_FA_COOPMAT1_BUILD,
};

/// llama.cpp pull requests whose build the kernel rules take (`estimate::prompt_kernels`): a
/// row measured on such a PR's branch runs that build's rules, one measured on master before it
/// the build before (PR #22880's MI100 table compares the two; #13506's RX 9070 XT comment its
/// branch, which forked at b5344, with master's b5359).
const PR_BUILDS: &[(u32, u32)] = &[
    (13506, VULKAN_FA_COOPMAT1_BUILD),
    (18481, AMD_FA_RDNA4_BUILD),
    (19806, AMD_FA_CDNA_BUILD),
    (22880, AMD_FA_RDNA3_BUILD),
];

/// llama.cpp pull requests, issues and discussions (one numbering) with their month, ascending:
/// a thread's rows are dated by the latest entry at or below its number. From the threads
/// themselves (PR merge or issue open dates): #2059 (PR, Jul 2023), #4167 (discussion, Nov
/// 2023), #4682 (Dec 2023), #5835 (Mar 2024), #8075 (Jun 2024), #8278 (Jul 2024: its
/// description is dated 2024-07-03; without it the threads up to #10497 ran as June 2024, the
/// month of b3216, which `LlamaCppVersion::has_build` does not count as reaching it, so MMQ sweeps
/// of July took the older cuBLAS rule), #10498 (Nov 2024), #11244 (Jan 2025), #11831 (Feb 2025),
/// #12372 (Mar 2025), #14624 (Jul 2025), #17156 (Nov 2025), #17576 (Dec 2025), #18537 (Jan 2026),
/// #24588 (Jun 2026), #26046 (Jul 2026).
const THREAD_MONTHS: &[(u32, u16, u8)] = &[
    (2059, 2023, 7),
    (4167, 2023, 11),
    (4682, 2023, 12),
    (5835, 2024, 3),
    (8075, 2024, 6),
    (8278, 2024, 7),
    (10498, 2024, 11),
    (11244, 2025, 1),
    (11831, 2025, 2),
    (12372, 2025, 3),
    (14624, 2025, 7),
    (17156, 2025, 11),
    (17576, 2025, 12),
    (18537, 2026, 1),
    (24588, 2026, 6),
    (26046, 2026, 7),
];

/// The digits that follow `prefix` in `s`, as a number.
fn number_after(s: &str, prefix: &str) -> Option<u32> {
    let at = s.find(prefix)? + prefix.len();
    let digits: String = s[at..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The build of a row from its `build` column and its `source` address.
pub(crate) fn row_version(build: &str, source: &str) -> LlamaCppVersion {
    let build = build.trim();
    // `83bc2f28 (6077)`: llama-bench's commit and build number.
    if let Some(n) = build
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .and_then(|(n, _)| n.trim().parse::<u32>().ok())
    {
        return LlamaCppVersion::Build(n);
    }
    // `2026-06 (build before b9820, …)`: a month first, before the build it names as a bound.
    if let Some(v) = build.get(..7).and_then(LlamaCppVersion::parse) {
        return v;
    }
    // `b7772`, `b10643 (master)`.
    if let Some(n) = build
        .split(|c: char| !c.is_ascii_alphanumeric())
        .find_map(|w| w.strip_prefix('b').and_then(|d| d.parse::<u32>().ok()))
    {
        return LlamaCppVersion::Build(n);
    }
    // `PR #22880 (56ac96f6d)`, `master (before PR #22880)` of a PR whose build is known.
    let pr = number_after(build, "PR #");
    if let Some(&(_, b)) = pr.and_then(|n| PR_BUILDS.iter().find(|&&(p, _)| p == n)) {
        return LlamaCppVersion::Build(if build.contains("before") { b - 1 } else { b });
    }
    // `PR #22051 (b3cfe5eca)`, `master (before PR #22051)`, or the thread the row came from.
    let thread = pr.or_else(|| {
        let path = source.split("github.com/ggml-org/llama.cpp/").nth(1)?;
        ["pull/", "issues/", "discussions/"]
            .iter()
            .find_map(|p| number_after(path, p))
    });
    thread
        .and_then(|n| THREAD_MONTHS.iter().take_while(|&&(t, _, _)| t <= n).last())
        .map_or(LlamaCppVersion::Current, |&(_, year, month)| {
            LlamaCppVersion::Month { year, month }
        })
}

/// rocBLAS's GEMM backend a row ran with (`ROCBLAS_USE_HIPBLASLT`), where its notes say or its
/// source documents it: lhl/strix-halo-testing's sweeps record `hipblaslt=ROCBLAS_USE_HIPBLASLT=1`
/// or `hipblaslt=(default)`; kyuz0's toolbox logs a `hblt0` flag for `ROCBLAS_USE_HIPBLASLT=0`,
/// and its other runs before April 2026 (build `v` before b8664) set it to 1: the toolboxes
/// exported it until commit 7839985 (Jan 2026, "All these toolboxes export
/// `ROCBLAS_USE_HIPBLASLT=1`") and benchmark/run_benchmarks.sh prefixed every default run with it
/// until c129a04 (Apr 10, 2026). `None`: unset, rocBLAS's own choice.
pub(crate) fn row_hipblaslt(notes: &str, v: LlamaCppVersion) -> Option<bool> {
    let flags = notes
        .split("flags=")
        .nth(1)
        .and_then(|f| f.split([' ', ';']).next());
    if notes.contains("hipblaslt=ROCBLAS_USE_HIPBLASLT=1") {
        Some(true)
    } else if notes.contains("hipblaslt=ROCBLAS_USE_HIPBLASLT=0")
        || flags.is_some_and(|f| f.split(',').any(|x| x == "hblt0"))
    {
        Some(false)
    } else if notes.contains("toolbox=rocm") && flags.is_some() && !v.has_build(8664) {
        Some(true)
    } else {
        None
    }
}

/// The CUDA build option a row's notes name: `GGML_CUDA_FORCE_MMQ` (or its older spelling
/// `LLAMA_CUDA_FORCE_MMQ`) forces MMQ, `GGML_CUDA_FORCE_CUBLAS` cuBLAS. The MMQ pull requests of
/// June 2024 (#7676, #7860, #7921, #8062) measured their branches with it: before #8075 made
/// MMQ the default, a GPU with tensor cores ran MMQ above 32 tokens only when forced (#7676:
/// "this PR must be compiled with LLAMA_CUDA_FORCE_MMQ").
pub(crate) fn row_force_mmq(notes: &str) -> Option<bool> {
    if notes.contains("CUDA_FORCE_MMQ") {
        Some(true)
    } else if notes.contains("CUDA_FORCE_CUBLAS") {
        Some(false)
    } else {
        None
    }
}

/// The Vulkan driver a row ran on, from its notes, host and source ([`VulkanDriver::named_in`];
/// kyuz0's toolboxes name it in their file names); `None` when nothing says (RADV then, the
/// Linux default).
pub(crate) fn row_vulkan_driver(text: &str) -> Option<VulkanDriver> {
    VulkanDriver::named_in(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_tell_their_vulkan_driver() {
        let kyuz0 =
            "toolbox=vulkan_amdvlk; flags=fa1; file gemma-4-31B-it-BF16__vulkan_amdvlk__fa1.log";
        assert_eq!(row_vulkan_driver(kyuz0), Some(VulkanDriver::Amdvlk));
        assert_eq!(
            row_vulkan_driver("0 = Radeon 8060S Graphics (RADV GFX1151) (radv) | uma: 1"),
            Some(VulkanDriver::Radv)
        );
        assert_eq!(
            row_vulkan_driver("AMD Radeon RX 7900 XTX (AMD open-source driver) | uma: 0"),
            Some(VulkanDriver::Amdvlk)
        );
        assert_eq!(
            row_vulkan_driver("AMD Radeon RX 9070 XT (AMD proprietary driver) | uma: 0"),
            Some(VulkanDriver::Amd)
        );
        assert_eq!(
            row_vulkan_driver("Windows 11, Adrenalin 26.8.1"),
            Some(VulkanDriver::Amd)
        );
        assert_eq!(row_vulkan_driver("Ubuntu 24.04"), None);
    }

    #[test]
    fn rows_tell_their_blas_backend() {
        let may = LlamaCppVersion::Build(9187);
        let lhl = "lhl llm-bench sweep config build=llama.cpp-hip fa=-fa 1 hipblaslt=";
        assert_eq!(
            row_hipblaslt(&format!("{lhl}ROCBLAS_USE_HIPBLASLT=1; n_batch=2048"), may),
            Some(true)
        );
        assert_eq!(
            row_hipblaslt(&format!("{lhl}(default); n_batch=2048"), may),
            None
        );
        let kyuz0 = "toolbox=rocm-7_2_3; flags=fa1,hblt0 (hblt0 = ROCBLAS_USE_HIPBLASLT=0; longctxN = depth test)";
        assert_eq!(row_hipblaslt(kyuz0, may), Some(false));
        // The legend alone names the variable; only the flag sets it. Before April 2026 the
        // toolbox and its benchmark script set it to 1.
        let fa1 = "toolbox=rocm-7_2_3; flags=fa1 (hblt0 = ROCBLAS_USE_HIPBLASLT=0; longctxN = depth test)";
        assert_eq!(row_hipblaslt(fa1, may), None);
        assert_eq!(row_hipblaslt(fa1, LlamaCppVersion::Build(7423)), Some(true));
        let vulkan = "toolbox=vulkan-radv; flags=fa1 (hblt0 = ROCBLAS_USE_HIPBLASLT=0)";
        assert_eq!(row_hipblaslt(vulkan, LlamaCppVersion::Build(7423)), None);
    }

    #[test]
    fn rows_tell_forced_kernels() {
        assert_eq!(
            row_force_mmq("built with LLAMA_CUDA_FORCE_MMQ (#7676)"),
            Some(true)
        );
        assert_eq!(row_force_mmq("-DGGML_CUDA_FORCE_CUBLAS=ON"), Some(false));
        assert_eq!(row_force_mmq("compare-llama-bench table"), None);
    }

    #[test]
    fn rows_tell_their_build() {
        let lcpp = "https://github.com/ggml-org/llama.cpp";
        let cases = [
            ("83bc2f28 (6077)", "", LlamaCppVersion::Build(6077)),
            ("b7772", "", LlamaCppVersion::Build(7772)),
            ("b10643 (master)", "", LlamaCppVersion::Build(10643)),
            (
                "2026-06 (build before b9820, exact commit not stated)",
                "",
                LlamaCppVersion::Month {
                    year: 2026,
                    month: 6,
                },
            ),
            (
                "PR #22051 (b3cfe5eca)",
                "",
                LlamaCppVersion::Month {
                    year: 2026,
                    month: 1,
                },
            ),
            ("PR #22880 (56ac96f6d)", "", LlamaCppVersion::Build(9150)),
            // The branch's own build line (3dc90d7b (5344)) is older than master's 5359.
            ("PR #13506 (3dc90d7b)", "", LlamaCppVersion::Build(5400)),
            (
                "master (2026-05, before PR #22880)",
                "",
                LlamaCppVersion::Build(9149),
            ),
            (
                "",
                &format!("{lcpp}/pull/5835#issuecomment-1"),
                LlamaCppVersion::Month {
                    year: 2024,
                    month: 3,
                },
            ),
            (
                "",
                "https://github.com/XiongjieDai/x",
                LlamaCppVersion::Current,
            ),
        ];
        for (build, source, want) in cases {
            assert_eq!(row_version(build, source), want, "{build} {source}");
        }
    }

    #[test]
    fn july_2024_prs_run_after_b3216() {
        // #8075 (b3216, June 2024) made MMQ the default at every size on Turing and later; the
        // MMQ sweeps of #8278 (2024-07-03) and #8416 (2024-07-10) ran after it, #8215 (its
        // comments 2024-06-30) may not have.
        let pr = |n: u32| {
            row_version(
                "",
                &format!("https://github.com/ggml-org/llama.cpp/pull/{n}"),
            )
        };
        assert!(pr(8278).has_build(3216));
        assert!(pr(8416).has_build(3216));
        assert!(!pr(8215).has_build(3216));
    }
}
