//! Reading each store's layout. Walks are bounded in depth and, over the whole scan, in entries
//! visited, so a home folder with millions of files cannot stall a command; manifests and settings
//! files over 1 MiB are skipped.

use std::path::{Path, PathBuf};

use super::{Installed, Layout, Root, Store};

/// Directory entries one scan may visit in all.
const MAX_ENTRIES: u32 = 200_000;
/// A manifest or settings file larger than this is not one.
const MAX_SMALL_FILE: u64 = 1 << 20;

/// What is left of the scan's entry budget.
pub(super) struct Budget(u32);

impl Default for Budget {
    fn default() -> Self {
        Budget(MAX_ENTRIES)
    }
}

impl Budget {
    /// The entries of `dir`, as far as the budget allows.
    fn read_dir(&mut self, dir: &Path) -> Vec<std::fs::DirEntry> {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for e in rd.flatten() {
            if self.0 == 0 {
                break;
            }
            self.0 -= 1;
            out.push(e);
        }
        out.sort_by_key(std::fs::DirEntry::file_name);
        out
    }
}

fn size(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

fn read_small(p: &Path) -> Option<String> {
    (size(p) <= MAX_SMALL_FILE)
        .then(|| std::fs::read_to_string(p).ok())
        .flatten()
}

fn lower_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

/// A model GGUF: not a projector, not a partial download (GPT4All's `incomplete-*`), and of a
/// split model only the first shard.
fn is_model_gguf(p: &Path) -> bool {
    let n = lower_name(p);
    n.ends_with(".gguf")
        && !n.contains("mmproj")
        && !n.starts_with("incomplete-")
        && crate::local::split_parts(&n).is_none_or(|(_, i, _)| i == 1)
}

fn is_llamafile(p: &Path) -> bool {
    let n = lower_name(p);
    crate::llamafile::is_llamafile_name(n.trim_end_matches(".exe"))
}

/// A model's size: every shard of a split GGUF, every file of a model folder.
fn model_size(p: &Path) -> u64 {
    if p.is_dir() {
        return std::fs::read_dir(p)
            .map(|rd| {
                rd.flatten()
                    .take(10_000)
                    .filter(|e| e.path().is_file())
                    .map(|e| size(&e.path()))
                    .sum()
            })
            .unwrap_or(0);
    }
    crate::local::shard_paths(p)
        .iter()
        .map(|s| size(s))
        .sum::<u64>()
        .max(size(p))
}

/// Whether `dir` holds a Hugging Face-format model: `config.json` beside weight files.
fn is_model_folder(dir: &Path) -> bool {
    dir.join("config.json").is_file()
        && std::fs::read_dir(dir).is_ok_and(|rd| {
            rd.flatten().take(10_000).any(|e| {
                let n = lower_name(&e.path());
                n.ends_with(".safetensors") || n.ends_with(".bin") || n.ends_with(".pth")
            })
        })
}

/// Files (and with `folders`, model folders) under `dir`, at most `depth` folders down, for which
/// `want` holds.
fn walk(
    dir: &Path,
    depth: u32,
    folders: bool,
    want: &dyn Fn(&Path) -> bool,
    b: &mut Budget,
    out: &mut Vec<PathBuf>,
) {
    for e in b.read_dir(dir) {
        let p = e.path();
        // Not following links to folders: a link back up would loop.
        let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
        if is_dir {
            if folders && is_model_folder(&p) {
                out.push(p);
            } else if depth > 0 && !lower_name(&p).starts_with('.') {
                walk(&p, depth - 1, folders, want, b, out);
            }
        } else if want(&p) {
            out.push(p);
        }
    }
}

fn relative(root: &Path, p: &Path) -> String {
    p.strip_prefix(root)
        .unwrap_or(p)
        .to_string_lossy()
        .replace('\\', "/")
}

/// Reads one place into `out`.
pub(super) fn scan_root(r: &Root, b: &mut Budget, out: &mut Vec<Installed>) {
    let file = |store: Store, name: String, path: PathBuf| Installed {
        store,
        name,
        size: model_size(&path),
        path,
    };
    match r.layout {
        Layout::Ollama => ollama(r.store, &r.path, b, out),
        Layout::HfHub => hf_hub(&r.path, b, out),
        Layout::Files(depth) | Layout::FilesAndFolders(depth) => {
            let mut found = Vec::new();
            let folders = r.layout == Layout::FilesAndFolders(depth);
            walk(
                &r.path,
                depth,
                folders,
                &|p| is_model_gguf(p) || is_llamafile(p),
                b,
                &mut found,
            );
            out.extend(found.into_iter().map(|p| {
                let store = if is_llamafile(&p) {
                    Store::Llamafile
                } else {
                    r.store
                };
                file(store, relative(&r.path, &p), p)
            }));
        }
        Layout::Llamafiles(depth) => {
            let mut found = Vec::new();
            walk(&r.path, depth, false, &is_llamafile, b, &mut found);
            out.extend(
                found
                    .into_iter()
                    .map(|p| file(Store::Llamafile, relative(&r.path, &p), p)),
            );
        }
        Layout::Kcpps(depth) => {
            let mut found = Vec::new();
            walk(
                &r.path,
                depth,
                false,
                &|p| lower_name(p).ends_with(".kcpps"),
                b,
                &mut found,
            );
            for k in found {
                if let Some(model) = kcpps_model(&k) {
                    let name = format!(
                        "{} ({})",
                        model
                            .file_name()
                            .map(|n| n.to_string_lossy().to_string())
                            .unwrap_or_default(),
                        relative(&r.path, &k)
                    );
                    out.push(file(Store::Koboldcpp, name, model));
                }
            }
        }
    }
}

/// The model a koboldcpp settings file loads: its JSON's `model_param` (the `--model` argument
/// as koboldcpp's launcher saves it), else `model` (a string, or a list in later versions), when
/// that file exists.
fn kcpps_model(path: &Path) -> Option<PathBuf> {
    let v: serde_json::Value = serde_json::from_str(&read_small(path)?).ok()?;
    let text = |k: &str| {
        let x = v.get(k)?;
        x.as_str()
            .or_else(|| x.as_array()?.first()?.as_str())
            .map(str::trim)
            .filter(|m| !m.is_empty())
    };
    let m = text("model_param").or_else(|| text("model"))?;
    if m.is_empty() || m.starts_with("http://") || m.starts_with("https://") {
        return None;
    }
    let p = PathBuf::from(m);
    // A relative path is relative to where koboldcpp ran; the settings file's folder is the best
    // guess.
    let p = if p.is_relative() {
        path.parent().map_or(p.clone(), |d| d.join(&p))
    } else {
        p
    };
    p.is_file().then_some(p)
}

/// The Hugging Face hub cache: `models--ORG--REPO/snapshots/<rev>/FILE`.
fn hf_hub(hub: &Path, b: &mut Budget, out: &mut Vec<Installed>) {
    for e in b.read_dir(hub) {
        let dir = e.file_name().to_string_lossy().to_string();
        let Some(repo) = dir.strip_prefix("models--") else {
            continue;
        };
        let repo = repo.replacen("--", "/", 1);
        let mut files = Vec::new();
        walk(
            &e.path().join("snapshots"),
            3,
            false,
            &is_model_gguf,
            b,
            &mut files,
        );
        for f in files {
            let file_name = f
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            out.push(Installed {
                store: super::Store::HuggingFace,
                name: format!("{repo}/{file_name}"),
                size: model_size(&f),
                path: f,
            });
        }
    }
}

/// An Ollama store: `manifests/<registry>/<namespace>/<name>/<tag>` JSON files whose model
/// layer's digest names a blob `blobs/sha256-<hex>`.
fn ollama(store: Store, root: &Path, b: &mut Budget, out: &mut Vec<Installed>) {
    for reg in b.read_dir(&root.join("manifests")) {
        for ns in b.read_dir(&reg.path()) {
            for name in b.read_dir(&ns.path()) {
                for tag in b.read_dir(&name.path()) {
                    let Some(blob) = ollama_blob(root, &tag.path()) else {
                        continue;
                    };
                    let ns_name = ns.file_name().to_string_lossy().to_string();
                    let model = name.file_name().to_string_lossy().to_string();
                    let tag = tag.file_name().to_string_lossy().to_string();
                    let label = if ns_name == "library" {
                        format!("{model}:{tag}")
                    } else {
                        format!("{ns_name}/{model}:{tag}")
                    };
                    out.push(Installed {
                        store,
                        name: label,
                        size: size(&blob),
                        path: blob,
                    });
                }
            }
        }
    }
}

/// The model blob a manifest names, if it is there.
fn ollama_blob(root: &Path, manifest: &Path) -> Option<PathBuf> {
    let v: serde_json::Value = serde_json::from_str(&read_small(manifest)?).ok()?;
    let digest = v
        .get("layers")?
        .as_array()?
        .iter()
        .find(|l| {
            l.get("mediaType").and_then(|m| m.as_str())
                == Some("application/vnd.ollama.image.model")
        })?
        .get("digest")?
        .as_str()?;
    // `sha256:<64 hex>` only: a digest is a file name here, never a path.
    let hex = digest.strip_prefix("sha256:")?;
    if hex.len() != 64 || !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let blob = root.join("blobs").join(format!("sha256-{hex}"));
    blob.is_file().then_some(blob)
}
