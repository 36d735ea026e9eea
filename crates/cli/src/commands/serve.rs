//! `llmrig serve` and `llmrig mcp`: the commands below, reached over HTTP or MCP. The server
//! (crates/web) turns a request into a command line; this module tells it which commands and
//! flags exist (from the clap definitions, so a new flag reaches the API and the MCP schema with
//! no code here) and runs the command line in-process with the same dispatcher as the terminal.

use std::sync::Arc;
use std::time::Duration;

use clap::{ArgAction, CommandFactory, Parser};
use llmrig_web::http::{bind, serve as serve_http, ServeConfig};
use llmrig_web::mcp::{serve_stdio, Tools};
use llmrig_web::{ArgSpec, CommandSpec, Failure, Policy, Runner};

use crate::args::{AllowArgs, Cli, McpArgs, ServeArgs};

/// The commands the API and MCP offer (the contract in DESIGN.md): every command that answers a
/// question; `calibrate` (reads and writes files), `accuracy` (minutes of refits), `serve` and `mcp`
/// are left out.
pub const EXPOSED: [&str; 9] = [
    "estimate",
    "recommend",
    "plan",
    "need",
    "inspect",
    "models",
    "devices",
    "quants",
    "hw",
];

/// Global flags every command has that a request does not set (`--json` is always on).
const NOT_KEYS: [&str; 3] = ["json", "help", "version"];

fn arg_spec(a: &clap::Arg) -> Option<ArgSpec> {
    if a.is_hide_set() {
        return None;
    }
    let positional = a.is_positional();
    let name = if positional {
        a.get_id().as_str().to_ascii_lowercase()
    } else {
        a.get_long()?.to_string()
    };
    if NOT_KEYS.contains(&name.as_str()) {
        return None;
    }
    let takes_value = a.get_action().takes_values();
    let repeat = matches!(a.get_action(), ArgAction::Append)
        || a.get_num_args().is_some_and(|n| n.max_values() > 1);
    Some(ArgSpec {
        name,
        help: a.get_help().map(ToString::to_string).unwrap_or_default(),
        takes_value,
        repeat,
        positional,
        required: a.is_required_set(),
        values: if takes_value {
            a.get_possible_values()
                .iter()
                .filter(|v| !v.is_hide_set())
                .map(|v| v.get_name().to_string())
                .collect()
        } else {
            Vec::new()
        },
    })
}

/// The exposed commands with their arguments, as clap defines them.
#[must_use]
pub fn specs() -> Vec<CommandSpec> {
    let mut root = Cli::command();
    root.build();
    EXPOSED
        .iter()
        .filter_map(|name| {
            let c = root.find_subcommand(name)?;
            Some(CommandSpec {
                name: (*name).to_string(),
                about: c.get_about().map(ToString::to_string).unwrap_or_default(),
                args: c.get_arguments().filter_map(arg_spec).collect(),
            })
        })
        .collect()
}

/// Runs a command line in-process: clap's errors are usage failures, the command's are input
/// failures.
#[must_use]
pub fn runner() -> Runner {
    Arc::new(|args: Vec<String>| {
        let argv = std::iter::once("llmrig".to_string()).chain(args);
        let cli = Cli::try_parse_from(argv).map_err(|e| Failure::Usage(e.to_string()))?;
        crate::dispatch(&cli).map_err(|e| Failure::Input(format!("{e:#}")))
    })
}

fn policy(a: AllowArgs) -> Policy {
    Policy {
        allow_files: a.allow_files,
        allow_remote: a.allow_remote,
    }
}

/// `llmrig serve`: binds, says where, serves until interrupted.
///
/// # Errors
/// The address cannot be bound.
#[allow(clippy::print_stdout, clippy::print_stderr)]
pub fn serve(a: &ServeArgs) -> anyhow::Result<String> {
    let cfg = ServeConfig {
        host: a.host,
        port: a.port,
        policy: policy(a.allow),
        max_running: a.max_running.map_or_else(
            || std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
            |n| n as usize,
        ),
        command_timeout: Duration::from_secs(a.command_timeout),
        header_timeout: Duration::from_millis(a.header_timeout_ms),
    };
    let (listener, addr) =
        bind(&cfg).map_err(|e| anyhow::anyhow!("--host {} --port {}: {e}", a.host, a.port))?;
    if !a.host.is_loopback() {
        eprintln!(
            "warning: listening on {addr}: other machines on the network can use this API \
             (anything but 127.0.0.1 or ::1 is reachable from outside)"
        );
    }
    // The first line says where (tests and scripts read it; with --port 0 it names the port).
    println!("llmrig serve: http://{addr}/api/v1/");
    let _ = std::io::Write::flush(&mut std::io::stdout());
    if a.open {
        open_browser(&format!("http://{addr}/"));
    }
    serve_http(listener, &cfg, specs(), runner())?;
    Ok(String::new())
}

/// Asks the desktop to open `url` (`xdg-open`, `open`, `start`); a failure only prints a note.
#[allow(clippy::print_stderr)]
fn open_browser(url: &str) {
    let mut c = if cfg!(target_os = "macos") {
        std::process::Command::new("open")
    } else if cfg!(windows) {
        let mut c = std::process::Command::new("cmd");
        c.args(["/C", "start", ""]);
        c
    } else {
        std::process::Command::new("xdg-open")
    };
    if c.arg(url).spawn().is_err() {
        eprintln!("note: could not open a browser; open {url}");
    }
}

/// `llmrig mcp`: MCP on stdin/stdout until the client closes it.
///
/// # Errors
/// The transport failed.
pub fn mcp(a: &McpArgs) -> anyhow::Result<String> {
    serve_stdio(Tools::new(specs(), runner(), policy(a.allow)))?;
    Ok(String::new())
}

/// A parse check used by tests: every exposed command's spec parses back.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_exposed_command_has_a_spec_and_estimate_has_its_flags() {
        let s = specs();
        assert_eq!(s.len(), EXPOSED.len());
        let est = s.iter().find(|c| c.name == "estimate").unwrap();
        let model = est.args.iter().find(|a| a.name == "model").unwrap();
        assert!(model.positional && model.required);
        for f in ["ctx-size", "gpu", "quant", "flash-attn", "verbose"] {
            assert!(est.args.iter().any(|a| a.name == f), "{f}");
        }
        assert!(!est
            .args
            .iter()
            .any(|a| a.name == "json" || a.name == "pasted-flag"));
        let gpu = est.args.iter().find(|a| a.name == "gpu").unwrap();
        assert!(gpu.repeat, "--gpu is repeatable");
        let _ =
            Cli::try_parse_from(["llmrig", "estimate", "--json", "--", "llama-3.1-8b"]).unwrap();
    }
}
