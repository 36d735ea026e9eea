//! `llmrig mcp`: a Model Context Protocol server over stdio (rmcp). Each command is a tool of the
//! same name whose input schema is made from its flags (the same keys as the HTTP API's query);
//! a call runs the command line those arguments stand for and returns its `--json` output, as
//! text (byte for byte what the command prints) and as structured content.

use std::io;
use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResult, Content, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerInfo, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler, ServiceExt};
use serde_json::{json, Map, Value};

use crate::request::{argv, json_pairs};
use crate::{ArgSpec, CommandSpec, Failure, Policy, Runner};

/// The tools: the commands, the dispatcher and what calls may make it do.
pub struct Tools {
    commands: Vec<CommandSpec>,
    runner: Runner,
    policy: Policy,
}

impl Tools {
    /// Tools for these commands.
    #[must_use]
    pub fn new(commands: Vec<CommandSpec>, runner: Runner, policy: Policy) -> Tools {
        Tools {
            commands,
            runner,
            policy,
        }
    }

    /// Every tool with its input schema.
    #[must_use]
    pub fn tools(&self) -> Vec<Tool> {
        self.commands
            .iter()
            .map(|c| Tool::new(c.name.clone(), c.about.clone(), input_schema(c)))
            .collect()
    }

    /// Runs one tool call; `Err` only for an unknown tool (a protocol error), every other failure
    /// is a result with `is_error` the caller's model can read.
    ///
    /// # Errors
    /// The tool does not exist.
    pub async fn call(
        &self,
        name: &str,
        args: Option<Map<String, Value>>,
    ) -> Result<CallToolResult, McpError> {
        let Some(cmd) = self.commands.iter().find(|c| c.name == name) else {
            return Err(McpError::invalid_params(
                format!("no tool `{name}`"),
                Some(json!({ "tools": self.commands.iter().map(|c| &c.name).collect::<Vec<_>>() })),
            ));
        };
        let args = args.unwrap_or_default();
        let argv = match json_pairs(&args).and_then(|p| argv(cmd, &p, self.policy)) {
            Ok(a) => a,
            Err(e) => return Ok(CallToolResult::error(vec![Content::text(e.body())])),
        };
        let runner = Arc::clone(&self.runner);
        let out = tokio::task::spawn_blocking(move || runner(argv))
            .await
            .unwrap_or_else(|_| Err(Failure::Input("the command failed unexpectedly".into())));
        Ok(match out {
            Ok(text) => {
                let mut r = CallToolResult::success(vec![Content::text(text.clone())]);
                r.structured_content = serde_json::from_str(&text).ok();
                r
            }
            Err(Failure::Usage(m) | Failure::Input(m)) => {
                CallToolResult::error(vec![Content::text(m.trim().to_string())])
            }
        })
    }
}

fn value_schema(a: &ArgSpec) -> Value {
    let mut one = json!({ "type": ["string", "number"] });
    if !a.values.is_empty() {
        one = json!({ "type": "string", "enum": a.values });
    }
    if !a.takes_value && !a.positional {
        return json!({ "type": "boolean", "description": a.help });
    }
    if a.repeat {
        json!({ "type": "array", "items": one, "description": a.help })
    } else {
        let mut s = one;
        s["description"] = Value::String(a.help.clone());
        s
    }
}

/// The JSON Schema of a command's arguments: one property per flag, positionals required.
#[must_use]
pub fn input_schema(c: &CommandSpec) -> Arc<Map<String, Value>> {
    let props: Map<String, Value> = c
        .args
        .iter()
        .map(|a| (a.name.clone(), value_schema(a)))
        .collect();
    let required: Vec<&str> = c
        .args
        .iter()
        .filter(|a| a.required)
        .map(|a| a.name.as_str())
        .collect();
    let schema = json!({
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": false,
    });
    match schema {
        Value::Object(m) => Arc::new(m),
        _ => Arc::new(Map::new()),
    }
}

impl ServerHandler for Tools {
    fn get_info(&self) -> ServerInfo {
        ServerInfo::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("llmrig", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Will a model run on a machine, how much memory, how fast: each tool is the llmrig \
                 command of the same name; arguments are its long flags without `--`, the model is \
                 `model`. Results are the command's --json output.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(self.tools()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        self.call(&request.name, request.arguments).await
    }
}

/// Serves MCP on stdin/stdout until the client closes it.
///
/// # Errors
/// The runtime could not start, or the transport failed.
pub fn serve_stdio(tools: Tools) -> io::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let running = tools
            .serve(rmcp::transport::stdio())
            .await
            .map_err(|e| io::Error::other(e.to_string()))?;
        running
            .waiting()
            .await
            .map_err(|e| io::Error::other(e.to_string()))?;
        Ok(())
    })
}
