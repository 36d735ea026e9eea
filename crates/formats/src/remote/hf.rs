//! Hugging Face Hub: list a repo's files, build `/resolve/` URLs, choose the GGUF files of a quant,
//! find `config.json` and safetensors files. Parsing those files is not done here.

use serde::Deserialize;

use super::error::{PickError, RemoteError};
use super::http::{open_url, Client, HttpSource, Target};
use super::{human_bytes, is_name, RemoteConfig};
use std::time::Duration;

/// Pages of a tree listing followed at most (the Hub sends about 1000 entries a page).
const MAX_PAGES: usize = 200;

/// One file in a repo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoFile {
    /// Path in the repo, `/`-separated.
    pub path: String,
    /// Size in bytes (of the LFS object for LFS files, not of the pointer).
    pub size: u64,
    /// SHA-256 of an LFS file's content.
    pub lfs_sha256: Option<String>,
}

#[derive(Deserialize)]
struct TreeEntry {
    #[serde(rename = "type")]
    kind: String,
    path: String,
    #[serde(default)]
    size: u64,
    #[serde(default)]
    lfs: Option<Lfs>,
}

#[derive(Deserialize)]
struct Lfs {
    #[serde(default)]
    oid: Option<String>,
    #[serde(default)]
    size: Option<u64>,
}

/// Percent-encodes everything but unreserved characters (RFC 3986), as the Hub's clients do for
/// revisions (`refs/pr/1` becomes `refs%2Fpr%2F1`).
fn encode(s: &str) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn encode_path(p: &str) -> String {
    p.split('/').map(encode).collect::<Vec<_>>().join("/")
}

fn is_commit(rev: &str) -> bool {
    rev.len() == 40 && rev.chars().all(|c| c.is_ascii_hexdigit())
}

fn check_repo(repo: &str) -> Result<(), RemoteError> {
    let ok = match repo.split_once('/') {
        Some((org, name)) => is_name(org) && is_name(name),
        None => is_name(repo),
    };
    if ok {
        Ok(())
    } else {
        Err(RemoteError::BadSpec {
            spec: repo.to_string(),
            expected: "a Hugging Face repo id `ORG/REPO`",
        })
    }
}

/// The download URL of a file: `{endpoint}/{repo}/resolve/{revision}/{path}`.
#[must_use]
pub fn hf_url(repo: &str, revision: &str, path: &str, cfg: &RemoteConfig) -> String {
    format!(
        "{}/{}/resolve/{}/{}",
        cfg.endpoint.trim_end_matches('/'),
        encode_path(repo),
        encode(revision),
        encode_path(path)
    )
}

/// Opens a repo file for range reads (see [`open_url`]).
///
/// # Errors
/// [`RemoteError`]: a bad repo id, or the first read failed (404 names the repo and file).
pub fn hf_open(
    repo: &str,
    revision: &str,
    path: &str,
    cfg: &RemoteConfig,
) -> Result<HttpSource, RemoteError> {
    check_repo(repo)?;
    open_url(&hf_url(repo, revision, path, cfg), cfg)
}

/// Lists the files of a repo at a revision:
/// `GET {endpoint}/api/models/{repo}/tree/{revision}?recursive=true`, following `Link` pages. The
/// listing is cached like file metadata (forever for a commit-hash revision). Sorted by path.
///
/// # Errors
/// [`RemoteError`]: 404 for an unknown repo or revision, 401/403 for a gated or private repo
/// without a suitable `HF_TOKEN`, network failures, or an answer that is not a tree listing.
pub fn hf_list(
    repo: &str,
    revision: &str,
    cfg: &RemoteConfig,
) -> Result<Vec<RepoFile>, RemoteError> {
    check_repo(repo)?;
    let client = Client::new(cfg);
    let ttl = if is_commit(revision) {
        Duration::MAX
    } else {
        cfg.cache_ttl
    };
    let mut url = format!(
        "{}/api/models/{}/tree/{}?recursive=true",
        cfg.endpoint.trim_end_matches('/'),
        encode_path(repo),
        encode(revision)
    );
    let mut files = Vec::new();
    for _ in 0..MAX_PAGES {
        let target = Target::new(
            &url,
            format!("Hugging Face repo `{repo}` (revision `{revision}`, `{url}`)"),
        )?;
        let (entries, next): (Vec<TreeEntry>, _) =
            client.get_json(&target, "application/json", ttl)?;
        files.extend(entries.into_iter().filter(|e| e.kind == "file").map(|e| {
            let lfs = e.lfs.unwrap_or(Lfs {
                oid: None,
                size: None,
            });
            RepoFile {
                path: e.path,
                size: lfs.size.unwrap_or(e.size),
                lfs_sha256: lfs.oid,
            }
        }));
        match next {
            Some(n) => url = n,
            None => {
                files.sort_by(|a, b| a.path.cmp(&b.path));
                return Ok(files);
            }
        }
    }
    Err(RemoteError::BadResponse {
        what: format!("Hugging Face repo `{repo}`"),
        url,
        reason: format!("the file listing has more than {MAX_PAGES} pages"),
    })
}

/// The files a reader of a non-GGUF (or mixed) repo needs, by path; only the repo's top folder
/// counts for `config.json` and safetensors (subfolders hold other variants).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelFiles {
    /// `config.json`.
    pub config: Option<String>,
    /// `model.safetensors.index.json` (its `weight_map` says which shards hold the weights).
    pub safetensors_index: Option<String>,
    /// Top-level `*.safetensors`, sorted (may include extras such as `consolidated.safetensors`
    /// beside `model-0000N-of-0000M.safetensors`; the index settles which are used).
    pub safetensors: Vec<String>,
    /// Every `.gguf` file other than projectors, sorted.
    pub gguf: Vec<String>,
    /// Multimodal projector GGUFs (`mmproj`).
    pub mmproj: Vec<String>,
}

/// Sorts a listing into [`ModelFiles`].
#[must_use]
pub fn hf_model_files(files: &[RepoFile]) -> ModelFiles {
    let mut m = ModelFiles::default();
    for f in files {
        let lower = f.path.to_ascii_lowercase();
        let top = !f.path.contains('/');
        if f.path == "config.json" {
            m.config = Some(f.path.clone());
        } else if f.path == "model.safetensors.index.json" {
            m.safetensors_index = Some(f.path.clone());
        } else if top && lower.ends_with(".safetensors") {
            m.safetensors.push(f.path.clone());
        } else if lower.ends_with(".gguf") {
            if is_mmproj(&f.path) {
                m.mmproj.push(f.path.clone());
            } else {
                m.gguf.push(f.path.clone());
            }
        }
    }
    m.safetensors.sort();
    m.gguf.sort();
    m.mmproj.sort();
    m
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn is_mmproj(path: &str) -> bool {
    file_name(path).to_ascii_lowercase().contains("mmproj")
}

/// `…-00002-of-00003.gguf` -> (set key without the shard part, 2, 3).
fn split_shard(path: &str) -> Option<(String, usize, usize)> {
    let lower = path.to_ascii_lowercase();
    let stem = &path[..lower.strip_suffix(".gguf")?.len()];
    let (left, of) = stem.rsplit_once("-of-")?;
    let (base, idx) = left.rsplit_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.len() <= 6 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(idx) || !digits(of) {
        return None;
    }
    Some((base.to_string(), idx.parse().ok()?, of.parse().ok()?))
}

/// A quant name as file names spell it: `Q4_K_M`, `IQ2_XXS`, `TQ1_0`, `Q8_0`, `F16`, `BF16`, `MXFP4`.
fn is_quant_token(t: &str) -> bool {
    let l = t.to_ascii_lowercase();
    if matches!(
        l.as_str(),
        "f16" | "f32" | "bf16" | "fp16" | "fp32" | "mxfp4" | "mxfp4_moe"
    ) {
        return true;
    }
    let rest = l
        .strip_prefix("iq")
        .or_else(|| l.strip_prefix("tq"))
        .or_else(|| l.strip_prefix('q'));
    rest.is_some_and(|r| {
        r.starts_with(|c: char| c.is_ascii_digit())
            && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    })
}

/// The quant a path names (its last quant-like token, in a folder or file name), upper case;
/// Unsloth's `UD-` prefix is kept.
fn quant_label(path: &str) -> Option<String> {
    let stem = path
        .len()
        .checked_sub(5)
        .filter(|&n| path.is_char_boundary(n))
        .map_or(path, |n| &path[..n]);
    let tokens: Vec<&str> = stem.split(['/', '-', '.']).collect();
    let i = tokens.iter().rposition(|t| is_quant_token(t))?;
    let q = tokens[i].to_ascii_uppercase();
    Some(if i > 0 && tokens[i - 1].eq_ignore_ascii_case("ud") {
        format!("UD-{q}")
    } else {
        q
    })
}

/// Whether `path` contains `quant` as a separate token: not inside a longer name (`Q4_K` does not
/// match `Q4_K_M`), case-insensitive.
fn names_quant(path: &str, quant: &str) -> bool {
    let p = path.to_ascii_lowercase();
    let q = quant.to_ascii_lowercase();
    if q.is_empty() {
        return false;
    }
    p.match_indices(&q).any(|(i, _)| {
        let before = p[..i].chars().next_back();
        let after = p[i + q.len()..].chars().next();
        before.is_none_or(|c| !c.is_ascii_alphanumeric())
            && after.is_none_or(|c| !c.is_ascii_alphanumeric() && c != '_')
    })
}

/// Files of one model: a single file or the shards of a split set.
struct Set<'a> {
    key: String,
    label: Option<String>,
    /// (shard index, shard count, file); (1, 1, f) for a single file.
    files: Vec<(usize, usize, &'a RepoFile)>,
}

impl Set<'_> {
    fn size(&self) -> u64 {
        self.files.iter().map(|(_, _, f)| f.size).sum()
    }
    fn first(&self) -> &str {
        self.files.first().map_or("", |(_, _, f)| f.path.as_str())
    }
    fn describe(&self) -> String {
        let name = self
            .label
            .clone()
            .unwrap_or_else(|| file_name(self.first()).to_string());
        format!("{name} ({})", human_bytes(self.size()))
    }
}

/// Chooses the GGUF files of a quant from a repo listing; the shards of a split set
/// (`…-00001-of-00003.gguf`, or a quant folder `Q4_K_M/…`) come all of them, in order.
///
/// `quant` matches case-insensitively as a separate token of the path (`Q4_K_M` matches
/// `Model-Q4_K_M.gguf`, `model.q4_k_m.gguf` and `Q4_K_M/model-00001-of-00002.gguf`; `Q4_K` matches
/// none of them). Multimodal projectors (`mmproj`) are left out unless the quant asked names them.
/// Without a quant, a repo with one model file or set gives it.
///
/// # Errors
/// [`PickError`]: no GGUF; no match (listing the quants there are, with sizes); several quants and
/// none asked; several different files match; a split set with shards missing.
pub fn pick_gguf(files: &[RepoFile], quant: Option<&str>) -> Result<Vec<RepoFile>, PickError> {
    let quant = quant.map(str::trim).filter(|q| !q.is_empty());
    let want_mmproj = quant.is_some_and(|q| q.to_ascii_lowercase().contains("mmproj"));
    let mut sets: Vec<Set<'_>> = Vec::new();
    for f in files {
        if !f.path.to_ascii_lowercase().ends_with(".gguf") || is_mmproj(&f.path) != want_mmproj {
            continue;
        }
        let (key, idx, of) = split_shard(&f.path).unwrap_or_else(|| (f.path.clone(), 1, 1));
        match sets.iter_mut().find(|s| s.key == key) {
            Some(s) => s.files.push((idx, of, f)),
            None => sets.push(Set {
                key,
                label: quant_label(&f.path),
                files: vec![(idx, of, f)],
            }),
        }
    }
    if sets.is_empty() {
        return Err(PickError::NoGguf { files: files.len() });
    }
    sets.sort_by(|a, b| a.size().cmp(&b.size()).then_with(|| a.key.cmp(&b.key)));
    let available = || {
        let mut v: Vec<String> = sets.iter().map(Set::describe).collect();
        v.dedup();
        v
    };
    let chosen: Vec<&Set<'_>> = match quant {
        Some(q) => sets.iter().filter(|s| names_quant(s.first(), q)).collect(),
        None => sets.iter().collect(),
    };
    let set = match chosen.as_slice() {
        [] => {
            return Err(PickError::QuantNotFound {
                asked: quant.unwrap_or_default().to_string(),
                available: available(),
            })
        }
        [one] => *one,
        many => {
            let mut labels: Vec<Option<&String>> = many.iter().map(|s| s.label.as_ref()).collect();
            labels.sort();
            labels.dedup();
            if quant.is_none() && labels.len() > 1 {
                return Err(PickError::QuantNeeded {
                    available: available(),
                });
            }
            return Err(PickError::Ambiguous {
                asked: quant.map(str::to_string),
                candidates: many.iter().map(|s| s.first().to_string()).collect(),
            });
        }
    };
    let mut shards = set.files.clone();
    shards.sort_by_key(|(i, _, _)| *i);
    let of = shards[0].1;
    let complete = shards.len() == of
        && shards
            .iter()
            .enumerate()
            .all(|(n, (i, o, _))| *i == n + 1 && *o == of);
    if !complete {
        return Err(PickError::IncompleteSplit {
            first: shards[0].2.path.clone(),
            have: shards.len(),
            of,
        });
    }
    Ok(shards.into_iter().map(|(_, _, f)| f.clone()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(path: &str, size: u64) -> RepoFile {
        RepoFile {
            path: path.to_string(),
            size,
            lfs_sha256: None,
        }
    }

    fn paths(v: &[RepoFile]) -> Vec<&str> {
        v.iter().map(|f| f.path.as_str()).collect()
    }

    fn repo() -> Vec<RepoFile> {
        vec![
            f("README.md", 10),
            f("Qwen2.5-7B-Instruct-Q4_K_M.gguf", 4 << 30),
            f("Qwen2.5-7B-Instruct-Q4_K_S.gguf", 3 << 30),
            f("Qwen2.5-7B-Instruct-Q8_0-00002-of-00002.gguf", 3 << 30),
            f("Qwen2.5-7B-Instruct-Q8_0-00001-of-00002.gguf", 5 << 30),
            f("mmproj-Qwen2.5-7B-f16.gguf", 1 << 29),
        ]
    }

    #[test]
    fn quant_as_token_case_insensitive() {
        let got = pick_gguf(&repo(), Some("q4_k_m")).unwrap();
        assert_eq!(paths(&got), ["Qwen2.5-7B-Instruct-Q4_K_M.gguf"]);
        assert!(matches!(
            pick_gguf(&repo(), Some("Q4_K")),
            Err(PickError::QuantNotFound { .. })
        ));
    }

    #[test]
    fn split_set_in_order() {
        let got = pick_gguf(&repo(), Some("Q8_0")).unwrap();
        assert_eq!(
            paths(&got),
            [
                "Qwen2.5-7B-Instruct-Q8_0-00001-of-00002.gguf",
                "Qwen2.5-7B-Instruct-Q8_0-00002-of-00002.gguf"
            ]
        );
    }

    #[test]
    fn quant_folder_and_dot_forms() {
        let files = [
            f("Q4_K_M/m-Q4_K_M-00002-of-00002.gguf", 1),
            f("Q4_K_M/m-Q4_K_M-00001-of-00002.gguf", 1),
            f("Q6_K/m-Q6_K-00001-of-00001.gguf", 1),
            f("model.Q5_K_M.gguf", 1),
        ];
        let got = pick_gguf(&files, Some("Q4_K_M")).unwrap();
        assert_eq!(
            paths(&got),
            [
                "Q4_K_M/m-Q4_K_M-00001-of-00002.gguf",
                "Q4_K_M/m-Q4_K_M-00002-of-00002.gguf"
            ]
        );
        assert_eq!(
            paths(&pick_gguf(&files, Some("q5_k_m")).unwrap()),
            ["model.Q5_K_M.gguf"]
        );
    }

    #[test]
    fn no_quant_asked_lists_quants_with_sizes() {
        let err = pick_gguf(&repo(), None).unwrap_err();
        let PickError::QuantNeeded { available } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(
            available,
            &["Q4_K_S (3.0 GiB)", "Q4_K_M (4.0 GiB)", "Q8_0 (8.0 GiB)"]
        );
        assert!(err.to_string().contains("pick one with `-q QUANT`"));
    }

    #[test]
    fn single_file_needs_no_quant_and_mmproj_on_request() {
        let files = [f("model.gguf", 5), f("mmproj-model-f16.gguf", 1)];
        assert_eq!(paths(&pick_gguf(&files, None).unwrap()), ["model.gguf"]);
        assert_eq!(
            paths(&pick_gguf(&files, Some("mmproj")).unwrap()),
            ["mmproj-model-f16.gguf"]
        );
    }

    #[test]
    fn unsloth_ud_prefix() {
        let files = [f("M-UD-Q4_K_XL.gguf", 2), f("M-Q4_K_M.gguf", 1)];
        assert_eq!(
            paths(&pick_gguf(&files, Some("UD-Q4_K_XL")).unwrap()),
            ["M-UD-Q4_K_XL.gguf"]
        );
        assert_eq!(
            paths(&pick_gguf(&files, Some("q4_k_xl")).unwrap()),
            ["M-UD-Q4_K_XL.gguf"]
        );
        assert_eq!(
            quant_label("M-UD-Q4_K_XL.gguf").as_deref(),
            Some("UD-Q4_K_XL")
        );
    }

    #[test]
    fn errors_no_gguf_ambiguous_incomplete() {
        assert_eq!(
            pick_gguf(&[f("config.json", 1)], None),
            Err(PickError::NoGguf { files: 1 })
        );
        let two = [f("a-7b-Q4_K_M.gguf", 1), f("a-14b-Q4_K_M.gguf", 2)];
        assert!(matches!(
            pick_gguf(&two, Some("Q4_K_M")),
            Err(PickError::Ambiguous { .. })
        ));
        let gap = [
            f("m-Q2_K-00001-of-00003.gguf", 1),
            f("m-Q2_K-00003-of-00003.gguf", 1),
        ];
        assert_eq!(
            pick_gguf(&gap, None),
            Err(PickError::IncompleteSplit {
                first: "m-Q2_K-00001-of-00003.gguf".into(),
                have: 2,
                of: 3
            })
        );
    }

    #[test]
    fn model_files_top_level() {
        let files = [
            f("config.json", 1),
            f("model.safetensors.index.json", 1),
            f("model-00002-of-00002.safetensors", 1),
            f("model-00001-of-00002.safetensors", 1),
            f("original/consolidated.safetensors", 1),
            f("mmproj-x.gguf", 1),
        ];
        let m = hf_model_files(&files);
        assert_eq!(m.config.as_deref(), Some("config.json"));
        assert_eq!(
            m.safetensors_index.as_deref(),
            Some("model.safetensors.index.json")
        );
        assert_eq!(
            m.safetensors,
            [
                "model-00001-of-00002.safetensors",
                "model-00002-of-00002.safetensors"
            ]
        );
        assert_eq!(m.mmproj, ["mmproj-x.gguf"]);
        assert!(m.gguf.is_empty());
    }

    #[test]
    fn url_encodes_revision_and_path() {
        let cfg = RemoteConfig::default();
        assert_eq!(
            hf_url("org/repo", "refs/pr/1", "dir/a b.gguf", &cfg),
            "https://huggingface.co/org/repo/resolve/refs%2Fpr%2F1/dir/a%20b.gguf"
        );
    }
}
