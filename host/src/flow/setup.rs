//! Building a session's tools from its config: connect to every MCP server (concurrently),
//! set up Exa. A tool that cannot be set up is reported (an `error` event) and left out; the
//! session runs without it.

use std::sync::Arc;

use futures_util::future::{BoxFuture, join_all};

use super::toolbox::{ToolProvider, Toolbox};
use super::tools::exa::ExaSearch;
use super::tools::mcp::{McpServer, McpTimeouts};
use super::tools::transfer::CallTransfer;
use super::tools::{ToolError, ToolSpec};
use crate::config::AgentConfig;
use crate::egress::policy::redact_url;
use crate::events::ToolSource;
use crate::events::{AgentEvent, ErrorCode, EventSink};
use crate::plugin::PluginRuntime;
use crate::transport::UserLink;

/// Where Exa is reached, when not at its public API (a proxy, or a test's fake).
pub const EXA_BASE_URL_VAR: &str = "EXA_BASE_URL";

impl ToolProvider for McpServer {
    fn source(&self) -> ToolSource {
        ToolSource::Mcp
    }

    fn specs(&self) -> Vec<ToolSpec> {
        self.tools()
    }

    fn call<'a>(&'a self, name: &'a str, arguments: serde_json::Value) -> BoxFuture<'a, Result<String, ToolError>> {
        Box::pin(McpServer::call(self, name, arguments))
    }
}

impl ToolProvider for ExaSearch {
    fn source(&self) -> ToolSource {
        ToolSource::Exa
    }

    fn specs(&self) -> Vec<ToolSpec> {
        vec![ExaSearch::spec()]
    }

    fn call<'a>(&'a self, _name: &'a str, arguments: serde_json::Value) -> BoxFuture<'a, Result<String, ToolError>> {
        Box::pin(ExaSearch::call(self, arguments))
    }
}

/// `link`: the user's side, which a call transfer goes through (none: a text console, where
/// `transfer_to_human` answers that only a phone caller can be transferred).
pub async fn tools(
    config: &AgentConfig,
    runtime: &PluginRuntime,
    link: Option<&Arc<dyn UserLink>>,
    sink: &dyn EventSink,
) -> Toolbox {
    let mut toolbox = Toolbox::default();
    let egress = runtime.egress();
    let connecting = config.mcp_servers.iter().map(|server| McpServer::connect(server, egress, McpTimeouts::default()));
    for (server, connected) in config.mcp_servers.iter().zip(join_all(connecting).await) {
        match connected {
            Ok(connection) => {
                tracing::info!(url = %connection.url(), tools = connection.tools().len(), "MCP server connected");
                toolbox.add(Arc::new(connection));
            }
            Err(error) => {
                tracing::warn!(url = %redact_url(&server.server_url), %error, "MCP server left out");
                sink.emit(AgentEvent::error(
                    ErrorCode::ToolFailed,
                    format!("MCP server {}: {error}; its tools are not offered", redact_url(&server.server_url)),
                ));
            }
        }
    }
    // One web search tool is enough; a second Exa entry would only clash with the first.
    if let Some(exa) = config.exa_configs.first() {
        let env = |name: &str| runtime.env_var(name);
        let base_url = runtime.env_var(EXA_BASE_URL_VAR);
        match ExaSearch::new(exa, &env, base_url.as_deref(), egress) {
            Ok(search) => toolbox.add(Arc::new(search)),
            Err(error) => sink.emit(AgentEvent::error(ErrorCode::ToolFailed, format!("Exa search: {error}"))),
        }
    }
    if let Some(transfer) = &config.transfer {
        toolbox.add(Arc::new(CallTransfer::new(transfer.clone(), link.cloned())));
    }
    toolbox
}
