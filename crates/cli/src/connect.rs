//! `--connect FRONTEND`: how to point a chat frontend at the server the plan starts (the
//! `--launch` program, else the `--backend` program, else llama-server): which connection type to
//! pick, the base URL in the form that frontend wants, the model name, and the embedder it runs
//! for documents when it runs one. Each frontend's facts carry their source (the frontend's own
//! docs or code, read in 2026).

use llmrig_core::estimate::Program;
use serde::Serialize;

use crate::launch::Launcher;

/// The frontends `--connect` knows; clap lists them in `--help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Frontend {
    #[value(name = "open-webui", alias = "openwebui")]
    OpenWebui,
    #[value(alias = "silly-tavern")]
    Sillytavern,
    #[value(alias = "anything-llm")]
    Anythingllm,
    Chatbox,
    Msty,
    Jan,
    Continue,
    /// Copilot for Obsidian (logancyang/obsidian-copilot), the Obsidian plugin with first-class
    /// Ollama and LM Studio providers.
    #[value(alias = "obsidian-copilot")]
    Obsidian,
}

impl Frontend {
    fn title(self) -> &'static str {
        match self {
            Frontend::OpenWebui => "Open WebUI",
            Frontend::Sillytavern => "SillyTavern",
            Frontend::Anythingllm => "AnythingLLM",
            Frontend::Chatbox => "Chatbox",
            Frontend::Msty => "Msty",
            Frontend::Jan => "Jan",
            Frontend::Continue => "Continue",
            Frontend::Obsidian => "Copilot for Obsidian",
        }
    }
}

/// The kind of server a plan starts, as frontends tell them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Server {
    /// llama.cpp's llama-server (and llamafile): OpenAI `/v1` and its native `/completion`.
    LlamaCpp,
    /// Ollama's native API at `/api` (and OpenAI's at `/v1`).
    Ollama,
    /// LM Studio: OpenAI `/v1`.
    LmStudio,
    /// koboldcpp: the KoboldAI API and OpenAI `/v1`.
    Koboldcpp,
    /// Any other OpenAI-compatible server.
    OpenAi,
}

/// What `--connect` says, also the `connect` object of `--json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Connect {
    /// The frontend.
    pub frontend: &'static str,
    /// The server the plan starts (`llama-server`, `ollama`, …) and its port.
    pub server: String,
    /// The connection type to pick in the frontend.
    pub api: String,
    /// The base URL to enter there.
    pub base_url: String,
    /// The model name the server answers to.
    pub model: String,
    /// What to do, in the frontend's words.
    pub steps: Vec<String>,
    /// The embedder the frontend runs for documents by default, if it runs one locally.
    pub embedder: Option<String>,
    /// Where these facts come from.
    pub source: &'static str,
}

/// The server the plan starts: `--launch`'s program, else `--backend`'s, else llama-server.
fn server(launch: Option<Launcher>, program: Program) -> (Server, &'static str, u16) {
    match launch {
        Some(Launcher::LlamaCpp) => (Server::LlamaCpp, "llama-server", 8080),
        Some(Launcher::Ollama) => (Server::Ollama, "ollama", 11434),
        Some(Launcher::Lmstudio) => (Server::LmStudio, "LM Studio", 1234),
        Some(Launcher::Koboldcpp) => (Server::Koboldcpp, "koboldcpp", 5001),
        Some(Launcher::Vllm) => (Server::OpenAi, "vLLM", 8000),
        Some(Launcher::Sglang) => (Server::OpenAi, "SGLang", 30000),
        Some(Launcher::Exllamav2) => (Server::OpenAi, "TabbyAPI", 5000),
        Some(Launcher::Mlx) => (Server::OpenAi, "mlx_lm.server", 8080),
        Some(Launcher::Gpt4all) => (Server::OpenAi, "GPT4All", 4891),
        Some(Launcher::Jan) => (Server::OpenAi, "Jan", 1337),
        Some(Launcher::Llamafile) => (Server::LlamaCpp, "llamafile", 8080),
        Some(Launcher::Textgen) => (Server::OpenAi, "text-generation-webui", 5000),
        None => {
            let port = program.defaults(0).port;
            match program {
                Program::LlamaCpp => (Server::LlamaCpp, "llama-server", port),
                Program::Ollama => (Server::Ollama, "ollama", port),
                Program::Lmstudio => (Server::LmStudio, "LM Studio", port),
                Program::Koboldcpp => (Server::Koboldcpp, "koboldcpp", port),
                Program::Gpt4all => (Server::OpenAi, "GPT4All", port),
                Program::Jan => (Server::OpenAi, "Jan", port),
                Program::Llamafile => (Server::LlamaCpp, "llamafile", port),
                Program::Textgen => (Server::OpenAi, "text-generation-webui", port),
            }
        }
    }
}

/// How to connect `f` to the server the plan starts, serving `model` with a context of `ctx`.
#[must_use]
#[allow(clippy::too_many_lines)]
pub fn connect(
    f: Frontend,
    launch: Option<Launcher>,
    program: Program,
    model: &str,
    ctx: u64,
) -> Connect {
    let (kind, name, port) = server(launch, program);
    let host = format!("http://localhost:{port}");
    let v1 = format!("{host}/v1");
    let ollama = kind == Server::Ollama;
    let mut steps = Vec::new();
    let (api, base_url, embedder, source): (String, String, Option<String>, &'static str) = match f
    {
        Frontend::OpenWebui => {
            if ollama {
                steps.push(format!("Admin Settings > Connections > Ollama > Manage: URL {host} (or start it with OLLAMA_BASE_URL={host})"));
            } else {
                steps.push(format!("Admin Settings > Connections > OpenAI > Add Connection: URL {v1}, any API key, Model IDs {model} (or start it with OPENAI_API_BASE_URL={v1})"));
            }
            steps.push("from Open WebUI's Docker container the host is host.docker.internal, not localhost (on Linux add --add-host=host.docker.internal:host-gateway)".into());
            (
                if ollama { "Ollama" } else { "OpenAI" }.into(),
                if ollama { host.clone() } else { v1.clone() },
                Some("sentence-transformers/all-MiniLM-L6-v2 on the CPU (RAG_EMBEDDING_MODEL; Admin Settings > Documents); `--with all-minilm-l6-v2` counts it".into()),
                "open-webui/docs: getting-started/quick-start/starting-with-ollama.mdx, starting-with-openai-compatible.mdx, reference/env-configuration.mdx (2026)",
            )
        }
        Frontend::Sillytavern => {
            let (api, url) = match kind {
                Server::Ollama => ("Text Completion > API Type Ollama", host.clone()),
                Server::LlamaCpp => ("Text Completion > API Type llama.cpp", host.clone()),
                Server::Koboldcpp => ("Text Completion > API Type KoboldCpp", host.clone()),
                Server::LmStudio | Server::OpenAi => {
                    ("Chat Completion > Custom (OpenAI-compatible)", v1.clone())
                }
            };
            steps.push(format!(
                "API Connections (the plug icon) > {api}: URL {url}, model {model}"
            ));
            steps.push("from a Docker container use http://host.docker.internal:PORT".into());
            (
                api.into(),
                url,
                None,
                "SillyTavern public/index.html (API types and URL placeholders); docs Usage/API_Connections",
            )
        }
        Frontend::Anythingllm => {
            let (api, url, env) = match kind {
                Server::Ollama => (
                    "Ollama",
                    host.clone(),
                    "LLM_PROVIDER=ollama OLLAMA_BASE_PATH",
                ),
                Server::LmStudio => (
                    "LM Studio",
                    v1.clone(),
                    "LLM_PROVIDER=lmstudio LMSTUDIO_BASE_PATH",
                ),
                Server::Koboldcpp => (
                    "KoboldCPP",
                    v1.clone(),
                    "LLM_PROVIDER=koboldcpp KOBOLD_CPP_BASE_PATH",
                ),
                Server::LlamaCpp | Server::OpenAi => (
                    "Generic OpenAI",
                    v1.clone(),
                    "LLM_PROVIDER=generic-openai GENERIC_OPEN_AI_BASE_PATH",
                ),
            };
            steps.push(format!(
                "Settings > AI Providers > LLM > {api}: base URL {url}, model {model}"
            ));
            if api == "Generic OpenAI" {
                steps.push(format!("Token context window {ctx} (GENERIC_OPEN_AI_MODEL_TOKEN_LIMIT), the context this plan allocates"));
            }
            steps.push(format!(
                "Docker's .env: {env}={url}, with host.docker.internal for localhost"
            ));
            (
                api.into(),
                url,
                Some("Xenova/all-MiniLM-L6-v2 (its native embedder, on the CPU); `--with all-minilm-l6-v2` counts it".into()),
                "Mintplex-Labs/anything-llm: frontend LLMPreference, docker/.env.example, server/utils/EmbeddingEngines/native; anythingllm-docs setup/embedder-configuration",
            )
        }
        Frontend::Chatbox => {
            let api = match kind {
                Server::Ollama => "Ollama",
                Server::LmStudio => "LM Studio",
                _ => "Add provider > API Mode: OpenAI API Compatible",
            };
            steps.push(format!("Settings > Model Provider > {api}: API Host {host} (Chatbox adds /v1 itself), model {model}"));
            (
                api.into(),
                host.clone(),
                None,
                "chatboxai/chatbox src/shared/providers/definitions, src/shared/utils/llm_utils.ts",
            )
        }
        Frontend::Msty => {
            steps.push(format!("Settings > Remote Model Providers > Add New Provider > Open AI Compatible: API Endpoint {v1}, model {model} (Msty Studio: Model Hub > Model Providers > Add Provider)"));
            (
                "Open AI Compatible".into(),
                v1.clone(),
                Some("gte-tiny for Knowledge Stacks (where it runs is not documented); `--with gte-base` is the nearest the catalog sizes".into()),
                "cloudstack-llc/msty-docs how-to guides; msty-studio-docs managing-models, knowledge-stacks (2026)",
            )
        }
        Frontend::Jan => {
            steps.push(format!("Settings > Model Providers > Add Provider (OpenAI-compatible): Base URL {v1}, API key sk-no-key, model {model}"));
            if port == 1337 {
                steps.push(
                    "port 1337 is Jan's own API server: run the other program on another port"
                        .into(),
                );
            }
            (
                "OpenAI-compatible".into(),
                v1.clone(),
                Some("all-MiniLM-L6-v2 (GGUF, in its bundled llama-server) for project files; `--with all-minilm-l6-v2` counts it".into()),
                "janhq/jan docs/src/pages/docs/desktop/remote-models/custom-endpoint.mdx; extensions/llamacpp-extension embed()",
            )
        }
        Frontend::Continue => {
            let (provider, api_base) = match kind {
                Server::Ollama => ("ollama", host.clone()),
                Server::LlamaCpp => ("llama.cpp", host.clone()),
                Server::LmStudio => ("lmstudio", v1.clone()),
                Server::Koboldcpp | Server::OpenAi => ("openai", v1.clone()),
            };
            steps.push(format!(
                "~/.continue/config.yaml, under models:\n  - name: {model}\n    provider: {provider}\n    model: {model}\n    apiBase: {api_base}\n    roles: [chat, edit, apply]"
            ));
            (
                provider.into(),
                api_base,
                Some("all-MiniLM-L6-v2 through transformers.js inside VS Code (none in JetBrains); `--with all-minilm-l6-v2` counts it".into()),
                "continuedev/continue docs/customize/model-providers, core/llm/llms (2026)",
            )
        }
        Frontend::Obsidian => {
            let (provider, url) = match kind {
                Server::Ollama => ("ollama", host.clone()),
                Server::LmStudio => ("lm-studio", v1.clone()),
                _ => ("3rd party (openai-format)", v1.clone()),
            };
            steps.push(format!("Copilot settings > Add Custom Model: name {model}, provider {provider}, base URL {url}"));
            match kind {
                Server::Ollama => steps.push(
                    "start Ollama with OLLAMA_ORIGINS=app://obsidian.md* so Obsidian may call it"
                        .into(),
                ),
                Server::LmStudio => {
                    steps.push("turn on CORS in LM Studio's server settings".into())
                }
                _ => {}
            }
            (
                provider.into(),
                url,
                None,
                "logancyang/obsidian-copilot src/constants.ts, local_copilot.md",
            )
        }
    };
    Connect {
        frontend: f.title(),
        server: format!("{name} on port {port}"),
        api,
        base_url,
        model: model.to_string(),
        steps,
        embedder,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_take_the_form_each_frontend_wants() {
        // Ollama's native API has no /v1 in Open WebUI; llama-server's OpenAI API does.
        let c = connect(
            Frontend::OpenWebui,
            Some(Launcher::Ollama),
            Program::LlamaCpp,
            "m",
            4096,
        );
        assert_eq!(c.base_url, "http://localhost:11434");
        let c = connect(Frontend::OpenWebui, None, Program::LlamaCpp, "m", 4096);
        assert_eq!(c.base_url, "http://localhost:8080/v1");
        // Jan wants /v1 even for Ollama; Chatbox adds it itself.
        let c = connect(Frontend::Jan, None, Program::Ollama, "m", 4096);
        assert_eq!(c.base_url, "http://localhost:11434/v1");
        let c = connect(Frontend::Chatbox, None, Program::Lmstudio, "m", 4096);
        assert_eq!(c.base_url, "http://localhost:1234");
        // koboldcpp on its own port, as SillyTavern's KoboldCpp type.
        let c = connect(Frontend::Sillytavern, None, Program::Koboldcpp, "m", 4096);
        assert_eq!(
            (c.api.as_str(), c.base_url.as_str()),
            (
                "Text Completion > API Type KoboldCpp",
                "http://localhost:5001"
            )
        );
        // AnythingLLM's generic provider is told the context.
        let c = connect(
            Frontend::Anythingllm,
            Some(Launcher::LlamaCpp),
            Program::LlamaCpp,
            "m",
            8192,
        );
        assert!(c.steps.iter().any(|s| s.contains("8192")));
    }
}
