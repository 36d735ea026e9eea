//! A request (query pairs, or an MCP tool's JSON arguments) → the command line it stands for, with
//! what a caller may not do refused first.
//!
//! Every long flag is a key (`ctx-size=8192`, `gpu=rtx-3090&gpu=rtx-3090`); a positional is its name
//! in lower case (`model=llama-3.1-8b`); a switch is on for an empty value, `true`, `1`, `on` or
//! `yes` and left out for `false`, `0`, `off` or `no`. Values go to the parser as `--key=value`, so
//! a value can never become a flag of its own.

use std::path::Path;

use serde_json::Value;

use crate::{CommandSpec, Policy};

/// The largest query string or argument set accepted, bytes: a real request is under 1 KiB.
pub const MAX_REQUEST_BYTES: usize = 8 * 1024;

/// A request refused before anything ran: the API's 4xx body.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RequestError {
    /// HTTP status.
    #[serde(skip)]
    pub status: u16,
    /// What is wrong.
    pub error: String,
    /// The part of the request it is about (`key=value`, a path).
    pub input: String,
    /// What would have been accepted.
    pub expected: String,
}

impl RequestError {
    pub(crate) fn new(status: u16, error: &str, input: &str, expected: &str) -> RequestError {
        RequestError {
            status,
            error: error.to_string(),
            input: input.to_string(),
            expected: expected.to_string(),
        }
    }

    /// The JSON body.
    #[must_use]
    pub fn body(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_string())
    }
}

/// Flags that write files on the machine the server runs on: never from a request.
const WRITES: &[&str] = &["save"];

/// Switches that list local files (`models --installed`: paths in the model stores): only when
/// the server may read files.
const LISTS_FILES: &[&str] = &["installed"];

/// Extensions of the files the commands read (models, machine files, benchmark results).
const FILE_EXTENSIONS: &[&str] = &[
    ".gguf",
    ".safetensors",
    ".json",
    ".jsonl",
    ".toml",
    ".llamafile",
    ".bin",
    ".csv",
    ".txt",
    ".md",
    ".yaml",
    ".yml",
];

/// A value that makes the command fetch from the network (`open_model`'s remote forms).
fn is_remote(v: &str) -> bool {
    let l = v.trim().to_ascii_lowercase();
    ["hf:", "ollama:", "http:", "https:"]
        .iter()
        .any(|p| l.starts_with(p))
}

/// A value the command would read as a local path: anything with a separator, a leading `.` or
/// `~`, a file extension the commands read, or a name that exists here.
fn is_path(v: &str) -> bool {
    let l = v.trim().to_ascii_lowercase();
    l.contains('/')
        || l.contains('\\')
        || l.starts_with('.')
        || l.starts_with('~')
        || FILE_EXTENSIONS.iter().any(|e| l.ends_with(e))
        || (!l.is_empty() && Path::new(v).exists())
}

fn check_value(key: &str, v: &str, policy: Policy) -> Result<(), RequestError> {
    let input = format!("{key}={v}");
    if v.len() > 1024 || v.chars().any(char::is_control) {
        return Err(RequestError::new(
            400,
            "value too long or with control characters",
            &input,
            "a value of at most 1024 printable characters",
        ));
    }
    if is_remote(v) {
        if !policy.allow_remote {
            return Err(RequestError::new(
                403,
                "this server does not fetch from the network",
                &input,
                "a catalog model or device; start the server with --allow-remote to read hf:, ollama: and URLs",
            ));
        }
    } else if is_path(v) && !policy.allow_files {
        return Err(RequestError::new(
            403,
            "this server does not read local paths",
            &input,
            "a catalog model or device; start the server with --allow-files to read files on this machine",
        ));
    }
    Ok(())
}

fn switch_on(key: &str, v: &str) -> Result<bool, RequestError> {
    match v.to_ascii_lowercase().as_str() {
        "" | "true" | "1" | "on" | "yes" => Ok(true),
        "false" | "0" | "off" | "no" => Ok(false),
        _ => Err(RequestError::new(
            400,
            "a switch takes no value",
            &format!("{key}={v}"),
            "empty, true or false",
        )),
    }
}

/// The command line for `cmd` from its `pairs` in order, with `--json`; refused when a key is
/// not one of the command's flags, a flag that takes one value is repeated, or a value names a
/// path or a remote model the policy does not allow.
///
/// # Errors
/// [`RequestError`] naming the key and value and what was expected.
pub fn argv(
    cmd: &CommandSpec,
    pairs: &[(String, String)],
    policy: Policy,
) -> Result<Vec<String>, RequestError> {
    let size: usize = pairs.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
    if size > MAX_REQUEST_BYTES {
        return Err(RequestError::new(
            413,
            "request too large",
            &format!("{size} bytes of arguments"),
            &format!("at most {MAX_REQUEST_BYTES} bytes"),
        ));
    }
    let mut out = vec![cmd.name.clone(), "--json".to_string()];
    let mut positional = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (k, v) in pairs {
        let Some(arg) = cmd.args.iter().find(|a| a.name == *k) else {
            let keys: Vec<&str> = cmd.args.iter().map(|a| a.name.as_str()).collect();
            return Err(RequestError::new(
                400,
                &format!("`{}` has no argument `{k}`", cmd.name),
                k,
                &format!("one of: {}", keys.join(", ")),
            ));
        };
        if WRITES.contains(&k.as_str()) {
            return Err(RequestError::new(
                403,
                "a request cannot write files on the server",
                k,
                "the same request without it",
            ));
        }
        if seen.contains(&k.as_str()) && !arg.repeat {
            return Err(RequestError::new(
                400,
                "given more than once",
                k,
                "one value",
            ));
        }
        seen.push(k);
        if !arg.takes_value && !arg.positional {
            if switch_on(k, v)? {
                if LISTS_FILES.contains(&k.as_str()) && !policy.allow_files {
                    return Err(RequestError::new(
                        403,
                        "this server does not list local files",
                        k,
                        "the same request without it; start the server with --allow-files to list them",
                    ));
                }
                out.push(format!("--{k}"));
            }
            continue;
        }
        check_value(k, v, policy)?;
        if !arg.values.is_empty() && !arg.values.iter().any(|x| x.eq_ignore_ascii_case(v)) {
            return Err(RequestError::new(
                400,
                "not one of the accepted values",
                &format!("{k}={v}"),
                &arg.values.join(", "),
            ));
        }
        if arg.positional {
            positional.push(v.clone());
        } else {
            out.push(format!("--{k}={v}"));
        }
    }
    for a in cmd.args.iter().filter(|a| a.required) {
        if !seen.contains(&a.name.as_str()) {
            return Err(RequestError::new(
                400,
                &format!("`{}` needs `{}`", cmd.name, a.name),
                &a.name,
                &a.help,
            ));
        }
    }
    // Positionals after `--`, so a value such as `-q` is never read as a flag.
    if !positional.is_empty() {
        out.push("--".to_string());
        out.extend(positional);
    }
    Ok(out)
}

/// Query-string pairs, percent-decoded, in order.
#[must_use]
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// An MCP tool's JSON arguments as pairs: strings, numbers and booleans as text, arrays as
/// repeated keys, nulls left out.
///
/// # Errors
/// [`RequestError`] for an object or nested array value.
pub fn json_pairs(
    args: &serde_json::Map<String, Value>,
) -> Result<Vec<(String, String)>, RequestError> {
    let mut out = Vec::new();
    for (k, v) in args {
        let items: Vec<&Value> = match v {
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        for item in items {
            let text = match item {
                Value::Null => continue,
                Value::String(s) => s.clone(),
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => n.to_string(),
                Value::Array(_) | Value::Object(_) => {
                    return Err(RequestError::new(
                        400,
                        "nested value",
                        k,
                        "a string, number, boolean or a list of them",
                    ))
                }
            };
            out.push((k.clone(), text));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
