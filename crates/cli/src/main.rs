//! llmrig: parse → settings → one library call → render → exit code.

/// mimalloc instead of the system allocator: an estimate builds and drops a few hundred KiB of
/// graph per replay, which glibc's malloc returns to the OS and faults back in each time (a third
/// of `recommend`'s time on a GPU machine, measured with `perf stat -e page-faults`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod args;
mod commands;
mod connect;
mod launch;
mod options;
mod progress;
mod render;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

#[allow(clippy::print_stderr)]
fn main() -> ExitCode {
    let argv = args::normalize_llama_flags(std::env::args());
    let cli = match Cli::try_parse_from(argv) {
        Ok(c) => c,
        Err(e) => {
            // clap prints help/version to stdout with exit 0, usage errors to stderr with exit 2.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    let result = match &cli.command {
        Some(Command::Serve(a)) => commands::serve::serve(a),
        Some(Command::Mcp(a)) => commands::serve::mcp(a),
        _ => dispatch(&cli),
    };
    match result {
        Ok(text) => {
            let mut out = std::io::stdout().lock();
            // A closed pipe (`llmrig models | head`) is success.
            match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    eprintln!("error: {e}");
                    ExitCode::from(1)
                }
                _ => ExitCode::SUCCESS,
            }
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Runs a parsed command and returns what it prints (also what `serve` and `mcp` answer with).
fn dispatch(cli: &Cli) -> anyhow::Result<String> {
    match &cli.command {
        Some(Command::Estimate(a)) => commands::estimate::run(a, cli.json, cli.verbose),
        Some(Command::Models(a)) if a.installed => Ok(commands::catalogs::installed_cmd(cli.json)),
        Some(Command::Models(_)) => Ok(commands::catalogs::models_cmd(cli.json)),
        Some(Command::Devices) => Ok(commands::catalogs::devices_cmd(cli.json)),
        Some(Command::Quants) => Ok(commands::catalogs::quants_cmd(cli.json)),
        Some(Command::Inspect(a)) => commands::inspect::run(a, cli.json),
        Some(Command::Hw(m)) => commands::hw::run(m, cli.json),
        Some(Command::Accuracy(a)) => Ok(commands::accuracy::run(a, cli.json)),
        Some(Command::Calibrate(a)) => commands::calibrate::run(a, cli.json),
        Some(Command::Plan(a)) => commands::plan::run(a, cli.json),
        Some(Command::Need(a)) => commands::need::run(a, cli.json),
        Some(Command::Recommend(a)) => commands::recommend::run(a, cli.json),
        Some(Command::Serve(_) | Command::Mcp(_)) => {
            anyhow::bail!("`serve` and `mcp` are not commands a request can run")
        }
        None => commands::recommend::overview(cli.json),
    }
}
