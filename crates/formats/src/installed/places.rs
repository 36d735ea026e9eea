//! Where each program keeps its models, per operating system. Each path carries its source; the
//! environment variables and settings files that move a store are honoured.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::{Layout, Root, Store};

/// An operating system's layout of home, configuration and cache folders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    /// Linux and other Unix systems (XDG base directories).
    Linux,
    /// macOS (`~/Library/…`).
    MacOs,
    /// Windows (`%USERPROFILE%`, `%APPDATA%`, `%LOCALAPPDATA%`).
    Windows,
}

/// The folders a layout's paths hang from.
struct Dirs {
    home: Option<PathBuf>,
    /// Per-user configuration: `$XDG_CONFIG_HOME` or `~/.config`; `~/Library/Application
    /// Support`; `%APPDATA%`.
    config: Option<PathBuf>,
    /// Per-user data: `$XDG_DATA_HOME` or `~/.local/share`; `~/Library/Application Support`;
    /// `%LOCALAPPDATA%`.
    data: Option<PathBuf>,
    /// Per-user cache: `$XDG_CACHE_HOME` or `~/.cache`; `~/Library/Caches`; `%LOCALAPPDATA%`.
    cache: Option<PathBuf>,
}

impl Dirs {
    fn new(os: Os, env: &dyn Fn(&str) -> Option<OsString>) -> Dirs {
        let var = |k: &str| env(k).map(PathBuf::from);
        match os {
            Os::Linux => {
                let home = var("HOME");
                let under = |k: &str, d: &str| var(k).or_else(|| home.as_ref().map(|h| h.join(d)));
                Dirs {
                    config: under("XDG_CONFIG_HOME", ".config"),
                    data: under("XDG_DATA_HOME", ".local/share"),
                    cache: under("XDG_CACHE_HOME", ".cache"),
                    home,
                }
            }
            Os::MacOs => {
                let home = var("HOME");
                let lib = |d: &str| home.as_ref().map(|h| h.join("Library").join(d));
                Dirs {
                    config: lib("Application Support"),
                    data: lib("Application Support"),
                    cache: lib("Caches"),
                    home,
                }
            }
            Os::Windows => {
                let home = var("USERPROFILE").or_else(|| var("HOME"));
                let local = var("LOCALAPPDATA")
                    .or_else(|| home.as_ref().map(|h| h.join("AppData").join("Local")));
                Dirs {
                    config: var("APPDATA")
                        .or_else(|| home.as_ref().map(|h| h.join("AppData").join("Roaming"))),
                    data: local.clone(),
                    cache: local,
                    home,
                }
            }
        }
    }
}

/// Every place to look on `os`, in the order they are listed.
#[allow(clippy::too_many_lines)]
pub(super) fn roots(os: Os, env: &dyn Fn(&str) -> Option<OsString>) -> Vec<Root> {
    let d = Dirs::new(os, env);
    let var = |k: &str| env(k).map(PathBuf::from);
    let home = |p: &str| d.home.as_ref().map(|h| h.join(p));
    let mut out: Vec<Root> = Vec::new();
    let mut add = |store: Store, path: Option<PathBuf>, layout: Layout| {
        if let Some(path) = path {
            let r = Root {
                store,
                path,
                layout,
            };
            if !out.contains(&r) {
                out.push(r);
            }
        }
    };

    // Ollama: `~/.ollama/models` on macOS, Linux and Windows (`%USERPROFILE%`), and
    // `/usr/share/ollama/.ollama/models` for the Linux service its install script sets up;
    // `OLLAMA_MODELS` moves it (Ollama docs, docs/faq.md "Where are models stored?").
    if let Some(m) = var("OLLAMA_MODELS") {
        add(Store::Ollama, Some(m), Layout::Ollama);
    }
    add(Store::Ollama, home(".ollama/models"), Layout::Ollama);
    if os == Os::Linux {
        add(
            Store::Ollama,
            Some(PathBuf::from("/usr/share/ollama/.ollama/models")),
            Layout::Ollama,
        );
    }

    // LM Studio: `<home>/models/<publisher>/<repo>/<file>.gguf`, its home being `LMSTUDIO_HOME`,
    // else the folder `~/.lmstudio-home-pointer` names, else `~/.cache/lm-studio` (older
    // installs) or `~/.lmstudio` (lmstudio-js, findLMStudioHome.ts; `%USERPROFILE%` on Windows,
    // lmstudio-bug-tracker #553); the app's "Models Directory" setting can move the models.
    let pointer = home(".lmstudio-home-pointer")
        .and_then(|p| small_text(&p))
        .map(|t| PathBuf::from(t.trim()))
        .filter(|p| p.is_absolute());
    for h in [
        var("LMSTUDIO_HOME"),
        pointer,
        home(".lmstudio"),
        home(".cache/lm-studio"),
    ] {
        add(
            Store::LmStudio,
            h.map(|h| h.join("models")),
            Layout::Files(3),
        );
    }

    // GPT4All: the downloaded `*.gguf` files lie flat in its "Download Path", by default Qt's
    // AppLocalDataLocation: `~/.local/share/nomic.ai/GPT4All`, `~/Library/Application
    // Support/nomic.ai/GPT4All`, `%LOCALAPPDATA%\nomic.ai\GPT4All` (gpt4all-chat/src/mysettings.cpp;
    // docs.gpt4all.io, desktop settings). A custom path is `modelPath` in its settings file:
    // `~/.config/nomic.ai/GPT4All.ini`, `~/.config/gpt4all.io/GPT4All.ini` on macOS,
    // `%APPDATA%\nomic.ai\GPT4All.ini` (gpt4all-chat/src/main.cpp's organisation and domain with
    // Qt's INI format; a maintainer in nomic-ai/gpt4all#3485). The Python package downloads to
    // `~/.cache/gpt4all` (gpt4all-bindings/python/gpt4all/gpt4all.py).
    for ini in [
        d.config
            .as_ref()
            .map(|c| c.join("nomic.ai").join("GPT4All.ini")),
        home(".config/nomic.ai/GPT4All.ini"),
        home(".config/gpt4all.io/GPT4All.ini"),
    ]
    .into_iter()
    .flatten()
    {
        add(
            Store::Gpt4All,
            ini_value(&ini, "modelPath"),
            Layout::Files(1),
        );
    }
    add(
        Store::Gpt4All,
        d.data.as_ref().map(|p| p.join("nomic.ai").join("GPT4All")),
        Layout::Files(1),
    );
    add(Store::Gpt4All, home(".cache/gpt4all"), Layout::Files(1));

    // Jan: its data folder, `JAN_DATA_FOLDER` or `data_folder` in `<app data>/Jan/settings.json`
    // when moved; by default `Jan/data` under the app-data folder: `~/.local/share` on Linux
    // for the Tauri builds (0.6+; src-tauri/src/core/app/commands.rs, default_data_folder_path),
    // `~/.config` for the Electron ones (Jan docs, data-folder.mdx), `~/Library/Application
    // Support`, `%APPDATA%`; `~/jan` in early builds (janhq/jan#1494). Models are under
    // `llamacpp/models/<id>/model.gguf` (0.6+; an id with `/` nests folders) or
    // `models/huggingface.co/<org>/<repo>/<file>.gguf` (earlier).
    let mut jan: Vec<PathBuf> = var("JAN_DATA_FOLDER").into_iter().collect();
    for app in [
        d.config.clone(),
        (os == Os::Linux).then(|| d.data.clone()).flatten(),
    ]
    .into_iter()
    .flatten()
    {
        let settings = app.join("Jan").join("settings.json");
        if let Some(f) = small_text(&settings)
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v.get("data_folder")?.as_str().map(PathBuf::from))
        {
            jan.push(f);
        }
        jan.push(app.join("Jan").join("data"));
    }
    jan.extend(home("jan"));
    for data in jan {
        add(
            Store::Jan,
            Some(data.join("llamacpp").join("models")),
            Layout::Files(4),
        );
        add(Store::Jan, Some(data.join("models")), Layout::Files(4));
    }

    // text-generation-webui: `models/` in its folder up to v3.0, `user_data/models` from v3.1
    // (oobabooga/text-generation-webui#6904; `--model-dir` moves it): GGUF files directly in it,
    // other formats a folder each. `LLMRIG_TEXTGEN_DIR` names the install; else the usual clone
    // and one-click-installer folders in home.
    let textgen = |dir: PathBuf| [dir.join("user_data").join("models"), dir.join("models")];
    let mut tg: Vec<PathBuf> = var("LLMRIG_TEXTGEN_DIR").into_iter().collect();
    for f in [
        "text-generation-webui",
        "text-generation-webui-main",
        "oobabooga/text-generation-webui",
        "oobabooga_linux/text-generation-webui",
        "oobabooga_macos/text-generation-webui",
        "oobabooga_windows/text-generation-webui",
    ] {
        tg.extend(home(f));
    }
    for dir in tg {
        for m in textgen(dir) {
            add(Store::TextGen, Some(m), Layout::FilesAndFolders(2));
        }
    }

    // Msty: its Local AI service is Ollama renamed (`msty-local` in `~/Library/Application
    // Support/Msty`, `%APPDATA%\Msty`, `~/.config/Msty`: cloudstack-llc/msty-docs, "get the latest
    // version of local ai service"), so its store is Ollama's layout; its default "Models Path"
    // is taken as `models` in that folder, which no official source states (third-party tools
    // use it for macOS and Linux). Pointed at Ollama's own store, Ollama's rows list them.
    add(
        Store::Msty,
        d.config.as_ref().map(|c| c.join("Msty").join("models")),
        Layout::Ollama,
    );

    // AnythingLLM desktop: `storage` in its app-data folder (`anythingllm-desktop` under
    // `~/Library/Application Support`, `%APPDATA%`, `~/.config`; anythingllm-docs,
    // installation-desktop/storage.mdx: "`models`: any locally stored LLMs or embedder models …
    // typically GGUF files"). Its built-in provider runs Ollama, whose pulls users report under
    // `storage/models/ollama` (Mintplex-Labs/anything-llm#3903; the desktop code is not public).
    if let Some(s) = d
        .config
        .as_ref()
        .map(|c| c.join("anythingllm-desktop").join("storage").join("models"))
    {
        add(Store::AnythingLlm, Some(s.join("ollama")), Layout::Ollama);
        add(Store::AnythingLlm, Some(s), Layout::Files(3));
    }

    // Hugging Face hub cache: `HF_HUB_CACHE`, else `HF_HOME/hub`, else
    // `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub` on every OS
    // (huggingface_hub's constants.py; llama.cpp's common/hf-cache.cpp reads the same, and its
    // `-hf` downloads land there).
    let hub = var("HF_HUB_CACHE")
        .or_else(|| var("HF_HOME").map(|h| h.join("hub")))
        .or_else(|| var("XDG_CACHE_HOME").map(|c| c.join("huggingface").join("hub")))
        .or_else(|| home(".cache/huggingface/hub"));
    add(Store::HuggingFace, hub, Layout::HfHub);

    // llama.cpp's own cache (`-hf` downloads before they moved to the hub cache): `LLAMA_CACHE`,
    // else `$XDG_CACHE_HOME` or `~/.cache` + `llama.cpp` on Linux, `~/Library/Caches/llama.cpp`,
    // `%LOCALAPPDATA%\llama.cpp` (llama.cpp common/common.cpp, fs_get_cache_directory).
    add(
        Store::LlamaCpp,
        var("LLAMA_CACHE").or_else(|| d.cache.as_ref().map(|c| c.join("llama.cpp"))),
        Layout::Files(1),
    );

    // koboldcpp has no store: it loads the file its command line or a settings file (`.kcpps`,
    // JSON of its arguments saved from the launcher) names, and downloads to the folder it runs
    // in (LostRuins/koboldcpp, koboldcpp.py). Settings files in the usual places say which.
    // llamafiles carry their model and live wherever they were downloaded (`~/.llamafile` holds
    // only its loader and GPU modules: Mozilla-Ocho/llamafile README).
    for (dir, depth) in [
        ("", 0),
        ("Downloads", 1),
        ("Documents", 1),
        ("Desktop", 0),
        ("koboldcpp", 1),
        ("models", 2),
        ("Models", 2),
        ("llamafile", 1),
        ("llamafiles", 1),
    ] {
        let p = if dir.is_empty() {
            d.home.clone()
        } else {
            home(dir)
        };
        add(Store::Koboldcpp, p.clone(), Layout::Kcpps(depth));
        add(Store::Llamafile, p, Layout::Llamafiles(depth));
    }

    // The user's own folders: `LLMRIG_MODEL_DIRS`, separated like PATH.
    if let Some(dirs) = env("LLMRIG_MODEL_DIRS") {
        for p in std::env::split_paths(&dirs) {
            add(Store::Folder, Some(p), Layout::FilesAndFolders(3));
        }
    }
    out
}

/// A small text file's contents (settings, pointers); `None` past 1 MiB.
fn small_text(path: &Path) -> Option<String> {
    if std::fs::metadata(path).ok()?.len() > 1 << 20 {
        return None;
    }
    std::fs::read_to_string(path).ok()
}

/// A `key=value` line's value from an INI file (Qt's QSettings format), if the file is small and
/// has it; Qt writes a path's backslashes and spaces escaped, which are undone.
fn ini_value(path: &Path, key: &str) -> Option<PathBuf> {
    small_text(path)?.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == key)
            .then(|| v.trim().trim_matches('"').replace("\\\\", "\\"))
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    })
}
