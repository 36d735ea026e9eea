//! `llmrig serve` (the HTTP API on 127.0.0.1) and `llmrig mcp` (a Model Context Protocol server
//! over stdio): the command line's own commands, reached another way.
//!
//! Both turn a request into the command line the user would have typed (`request.rs`: a query
//! string or an MCP tool's arguments → `estimate MODEL --gpu … --json`), refuse what a remote
//! caller must not do (read a local path, fetch from the network, write a file) unless the
//! server was started to allow it, and hand the arguments to the binary's own dispatcher
//! ([`Runner`]). So the body of `GET /api/v1/estimate?model=…` is byte for byte what `llmrig
//! estimate … --json` prints, by construction, and a new flag reaches both without code here.
//!
//! - `http.rs`: the server (hyper, HTTP/1.1): Host and Origin checks against DNS rebinding, limits
//!   on request size, header read time, command time and concurrency, JSON errors.
//! - `mcp.rs`: the MCP tools (rmcp), one per command, their input schemas made from the flags.

use std::sync::Arc;

pub mod http;
pub mod mcp;
pub mod request;

/// One command as the API and MCP expose it: what `Cli::command()` knows of it.
#[derive(Debug, Clone)]
pub struct CommandSpec {
    /// The subcommand (`estimate`), also the endpoint and the MCP tool name.
    pub name: String,
    /// Its one-line help.
    pub about: String,
    /// Its arguments.
    pub args: Vec<ArgSpec>,
}

/// One argument of a command.
#[derive(Debug, Clone)]
pub struct ArgSpec {
    /// The long flag without `--` (`ctx-size`), or a positional's name in lower case (`model`).
    pub name: String,
    /// Its help line.
    pub help: String,
    /// Takes a value (`--gpu rtx-4090`), or is a switch (`--cpu-moe`).
    pub takes_value: bool,
    /// May be given more than once (`--gpu a --gpu b`).
    pub repeat: bool,
    /// A positional argument (MODEL, RESULTS).
    pub positional: bool,
    /// Must be given.
    pub required: bool,
    /// The values it accepts, when they are a fixed list.
    pub values: Vec<String>,
}

/// Why a command did not produce its output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The arguments do not parse (an unknown flag, a bad value): clap's message.
    Usage(String),
    /// The command ran and refused its input (an unknown model, an unreadable file).
    Input(String),
}

/// Runs a command line (without the program name, `--json` already appended) in-process and
/// returns what it would print.
pub type Runner = Arc<dyn Fn(Vec<String>) -> Result<String, Failure> + Send + Sync>;

/// What callers may make the process do beyond computing an answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Policy {
    /// Read a local path named in a request (`model=/models/x.gguf`, `system=machine.toml`).
    pub allow_files: bool,
    /// Fetch from the network (`hf:ORG/REPO`, `ollama:NAME`, a URL).
    pub allow_remote: bool,
}
