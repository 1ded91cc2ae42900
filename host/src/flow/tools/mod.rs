//! Tools the LLM may call during a turn: MCP servers' tools, Exa web search, a phone call's
//! `transfer_to_human`, and the step engine's own `step_complete`.
//!
//! Every tool is described to the LLM by a [`ToolSpec`] and answers with text for the tool
//! message ([`ToolOutput`]); a failure is reported to the LLM too (so it can recover in words)
//! and as a `tool_result` event with `ok: false`.

pub mod exa;
pub mod mcp;
mod net;
pub mod transfer;

/// What the LLM is told about a tool.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    /// JSON Schema of the arguments object.
    pub parameters: serde_json::Value,
}

/// Why a tool call failed; the message is shown to the LLM and in `tool_result.error`, so it
/// never carries a credential.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ToolError {
    #[error("connecting to {server}: {message}")]
    Connect { server: String, message: String },
    #[error("the tool `{0}` is not offered in this session")]
    UnknownTool(String),
    #[error("bad arguments for `{tool}`: {message}")]
    BadArguments { tool: String, message: String },
    #[error("`{tool}` failed: {message}")]
    Failed { tool: String, message: String },
    #[error("`{tool}` timed out after {seconds} s")]
    Timeout { tool: String, seconds: u64 },
    #[error("{0}")]
    Denied(String),
    #[error("`{tool}` has no API key: set it in the agent config or the {env} environment variable")]
    MissingKey { tool: String, env: &'static str },
}
