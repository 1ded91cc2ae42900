//! MCP servers as LLM tools: one client session per configured server over streamable HTTP
//! ([rmcp]), its tools offered to the LLM (only the `selectedTools`, when listed) and their
//! text results returned as tool output.
//!
//! The server URL comes from the agent config, so it passes the network policy
//! ([`super::net`]) before any connection. The credential travels as `Authorization: Bearer`
//! or `x-api-key` and is scrubbed from every error; it is never logged.

use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, ContentBlock, Implementation,
    ResourceContents, Tool,
};
use rmcp::service::{ClientInitializeError, RunningService, ServiceError};
use rmcp::transport::DynamicTransportError;
use rmcp::transport::streamable_http_client::StreamableHttpError;
use rmcp::{RoleClient, ServiceExt};
use url::Url;

use super::{ToolError, ToolSpec, net};
use crate::config::tools::{McpAuthType, McpServerConfig};
use crate::egress::mcp::McpHttpError;
use crate::egress::policy::redact_url;
use crate::egress::secret::{API_KEY_PLACEHOLDER, Secret};
use crate::egress::{Egress, EgressError, Grant, Outgoing};

/// Time limits of an MCP session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct McpTimeouts {
    /// TCP + TLS, and separately the whole `initialize` handshake and the tool listing.
    pub connect: Duration,
    /// One `tools/call`, from request to result.
    pub call: Duration,
}

impl Default for McpTimeouts {
    fn default() -> Self {
        Self { connect: Duration::from_secs(10), call: Duration::from_secs(20) }
    }
}

/// A connected MCP server: its session and the tools it offers this agent.
pub struct McpServer {
    /// The server URL without its query, for messages and logs.
    label: String,
    url: Url,
    session: RunningService<RoleClient, ClientConfig>,
    tools: Vec<ToolSpec>,
    timeouts: McpTimeouts,
    /// Scrubbed from error text: some servers echo the credential back.
    secret: Option<Secret>,
}

impl std::fmt::Debug for McpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpServer").field("url", &self.label).field("tools", &self.tools).finish_non_exhaustive()
    }
}

impl McpServer {
    /// Opens a session with the server (`initialize`), then lists its tools.
    pub async fn connect(config: &McpServerConfig, egress: &Egress, timeouts: McpTimeouts) -> Result<Self, ToolError> {
        let label = redact_url(config.server_url.trim());
        let connect_error = |message: String| ToolError::Connect { server: label.clone(), message };
        let secret = config.auth_value.as_ref().map(|key| key.secret().clone());
        let request = request(config.server_url.trim(), config.auth_type, secret.is_some()).map_err(connect_error)?;
        let authorized = egress.authorize(Grant::ConfigUrl, request, secret.as_ref()).map_err(|error| match error {
            EgressError::Denied(denied) => ToolError::Denied(format!("MCP server {label}: {denied}")),
            other => connect_error(other.to_string()),
        })?;
        let url = Url::parse(authorized.url_for_logs()).map_err(|e| connect_error(e.to_string()))?;
        let transport = egress.mcp_transport(authorized);
        let handshake = client_config().serve(transport);
        let session = match tokio::time::timeout(timeouts.connect, handshake).await {
            Err(_) => return Err(connect_error(format!("no answer within {} s", timeouts.connect.as_secs()))),
            Ok(Err(error)) => return Err(init_failure(&error, &label, &url, secret.as_ref())),
            Ok(Ok(session)) => session,
        };
        let listed = match tokio::time::timeout(timeouts.connect, session.peer().list_all_tools()).await {
            Err(_) => {
                return Err(connect_error(format!("tools/list: no answer within {} s", timeouts.connect.as_secs())));
            }
            Ok(Err(error)) => {
                let message = service_failure(&error, &url, secret.as_ref());
                return Err(connect_error(format!("tools/list: {message}")));
            }
            Ok(Ok(listed)) => listed,
        };
        let tools = select_tools(listed, config.selected_tools.as_deref(), &label);
        tracing::info!(server = %label, tools = tools.len(), "MCP server connected");
        Ok(Self { label, url, session, tools, timeouts, secret })
    }

    /// The server URL without its query.
    pub fn url(&self) -> &str {
        &self.label
    }

    /// The tools offered to the LLM, in the server's order.
    pub fn tools(&self) -> Vec<ToolSpec> {
        self.tools.clone()
    }

    /// Calls one of [`Self::tools`] with a JSON object of arguments; returns its text output.
    pub async fn call(&self, name: &str, arguments: serde_json::Value) -> Result<String, ToolError> {
        if !self.tools.iter().any(|tool| tool.name == name) {
            return Err(ToolError::UnknownTool(name.to_string()));
        }
        let mut params = CallToolRequestParams::new(name.to_string());
        if let Some(arguments) = arguments_object(name, arguments)? {
            params = params.with_arguments(arguments);
        }
        let seconds = self.timeouts.call.as_secs();
        // Dropping the request on timeout makes rmcp send `notifications/cancelled`.
        let result = match tokio::time::timeout(self.timeouts.call, self.session.peer().call_tool(params)).await {
            Err(_) => return Err(ToolError::Timeout { tool: name.to_string(), seconds }),
            Ok(Err(error)) => {
                let message = service_failure(&error, &self.url, self.secret.as_ref());
                tracing::warn!(server = %self.label, tool = name, %message, "MCP tool call failed");
                return Err(ToolError::Failed { tool: name.to_string(), message });
            }
            Ok(Ok(result)) => result,
        };
        let text = Secret::scrub(self.secret.as_ref(), &result_text(&result));
        if result.is_error == Some(true) {
            let message = if text.is_empty() { "the tool reported an error".to_string() } else { text };
            return Err(ToolError::Failed { tool: name.to_string(), message });
        }
        Ok(text)
    }

    /// Ends the session (the server is told with a `DELETE` where it keeps sessions).
    pub async fn close(self) {
        if let Err(error) = self.session.cancel().await {
            tracing::debug!(server = %self.label, %error, "closing the MCP session");
        }
    }
}

fn client_config() -> ClientConfig {
    ClientConfig::new(ClientCapabilities::default(), Implementation::new("voiceblox", env!("CARGO_PKG_VERSION")))
}

/// The request the session is opened with: the credential placed as the auth type asks
/// (`{{api-key}}`, filled in by the egress).
fn request(url: &str, auth: McpAuthType, has_secret: bool) -> Result<Outgoing, String> {
    let request = Outgoing::post(url, Vec::new());
    match (auth, has_secret) {
        (McpAuthType::None, _) => Ok(request),
        (_, false) => Err(format!("authType {} needs an authValue", auth_name(auth))),
        (McpAuthType::Bearer, true) => Ok(request.header("authorization", format!("Bearer {API_KEY_PLACEHOLDER}"))),
        (McpAuthType::ApiKey, true) => Ok(request.header("x-api-key", API_KEY_PLACEHOLDER)),
    }
}

fn auth_name(auth: McpAuthType) -> &'static str {
    match auth {
        McpAuthType::None => "none",
        McpAuthType::Bearer => "bearer",
        McpAuthType::ApiKey => "api_key",
    }
}

/// The listed tools the agent offers: all when `selected` is absent, else those named
/// (an empty list offers none).
fn select_tools(listed: Vec<Tool>, selected: Option<&[String]>, label: &str) -> Vec<ToolSpec> {
    if let Some(selected) = selected {
        for name in selected.iter().filter(|name| !listed.iter().any(|tool| tool.name == name.as_str())) {
            tracing::warn!(server = %label, tool = %name, "a selected tool is not offered by the MCP server");
        }
    }
    listed
        .into_iter()
        .filter(|tool| selected.is_none_or(|selected| selected.iter().any(|name| name.as_str() == tool.name)))
        .map(|tool| ToolSpec {
            name: tool.name.to_string(),
            description: tool.description.map(|d| d.to_string()).or(tool.title).unwrap_or_default(),
            parameters: serde_json::Value::Object((*tool.input_schema).clone()),
        })
        .collect()
}

/// MCP takes an object of arguments (or none); anything else is the LLM's mistake.
fn arguments_object(
    tool: &str,
    arguments: serde_json::Value,
) -> Result<Option<serde_json::Map<String, serde_json::Value>>, ToolError> {
    match arguments {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::Object(map) => Ok(Some(map)),
        other => Err(ToolError::BadArguments {
            tool: tool.to_string(),
            message: format!("expected a JSON object, got {}", json_kind(&other)),
        }),
    }
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// The text blocks of a result, one per line; other content is named, not inlined (the LLM
/// reads text only). A result with structured content but no blocks gives its JSON.
fn result_text(result: &CallToolResult) -> String {
    if result.content.is_empty()
        && let Some(structured) = &result.structured_content
    {
        return structured.to_string();
    }
    let parts: Vec<String> = result
        .content
        .iter()
        .map(|block| match block {
            ContentBlock::Text(text) => text.text.clone(),
            ContentBlock::Resource(embedded) => match &embedded.resource {
                ResourceContents::TextResourceContents { text, .. } => text.clone(),
                ResourceContents::BlobResourceContents { uri, .. } => format!("[binary resource {uri} omitted]"),
                _ => "[resource omitted]".to_string(),
            },
            ContentBlock::Image(image) => format!("[{} image omitted]", image.mime_type),
            ContentBlock::Audio(audio) => format!("[{} audio omitted]", audio.mime_type),
            _ => "[non-text content omitted]".to_string(),
        })
        .collect();
    parts.join("\n")
}

type HttpError = StreamableHttpError<McpHttpError>;

/// Steps into rmcp's errors that hold their cause without reporting it as a source.
fn rmcp_inner<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a (dyn std::error::Error + 'static)> {
    if let Some(StreamableHttpError::Client(inner)) = error.downcast_ref::<HttpError>() {
        return Some(match inner.http() {
            Some(http) => http,
            None => inner,
        });
    }
    if let Some(ClientInitializeError::TransportError { error, .. }) = error.downcast_ref::<ClientInitializeError>() {
        return Some(error);
    }
    None
}

/// rmcp's own wrappers, whose text names Rust types rather than what went wrong.
fn is_wrapper(error: &(dyn std::error::Error + 'static)) -> bool {
    error.is::<ClientInitializeError>() || error.is::<ServiceError>() || error.is::<DynamicTransportError>()
}

/// What went wrong in the transport, in words for the LLM and the logs.
fn transport_message(
    causes: &[&(dyn std::error::Error + 'static)],
    url: &Url,
    secret: Option<&Secret>,
) -> Result<String, ToolError> {
    if let Some(denied) = net::denial(causes) {
        return Err(ToolError::Denied(format!("MCP server {}: {denied}", redact_url(url.as_str()))));
    }
    for cause in causes {
        match cause.downcast_ref::<HttpError>() {
            Some(StreamableHttpError::AuthRequired(_)) => {
                return Ok("the server refused the credentials (HTTP 401); check authType and authValue".into());
            }
            Some(StreamableHttpError::InsufficientScope(_)) => {
                return Ok("the credentials lack a permission the server requires (HTTP 403)".into());
            }
            _ => {}
        }
    }
    let start = causes.iter().position(|cause| !is_wrapper(*cause)).unwrap_or(0);
    let causes = &causes[start..];
    if let Some(http) = causes.iter().find_map(|cause| cause.downcast_ref::<reqwest::Error>()) {
        // The innermost cause says it best ("Connection refused", "deadline has elapsed").
        let root = causes.last().map(|cause| cause.to_string()).unwrap_or_default();
        if http.is_connect() {
            return Ok(format!("could not connect: {}", Secret::scrub(secret, &root)));
        }
        if http.is_timeout() {
            return Ok(format!("timed out: {}", Secret::scrub(secret, &root)));
        }
    }
    Ok(net::describe(causes, url, secret))
}

fn init_failure(error: &ClientInitializeError, label: &str, url: &Url, secret: Option<&Secret>) -> ToolError {
    let causes = crate::error_text::causes(error, rmcp_inner);
    match transport_message(&causes, url, secret) {
        Ok(message) => ToolError::Connect { server: label.to_string(), message },
        Err(denied) => denied,
    }
}

fn service_failure(error: &ServiceError, url: &Url, secret: Option<&Secret>) -> String {
    if let ServiceError::McpError(data) = error {
        return Secret::scrub(secret, &format!("{} (JSON-RPC error {})", data.message, data.code.0));
    }
    let causes = crate::error_text::causes(error, rmcp_inner);
    transport_message(&causes, url, secret).unwrap_or_else(|denied| denied.to_string())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;

    fn tool(name: &str) -> Tool {
        let schema = json!({"type": "object", "properties": {"city": {"type": "string"}}});
        let serde_json::Value::Object(schema) = schema else { unreachable!() };
        let mut tool = Tool::new(name.to_string(), format!("{name} does things"), Arc::new(schema));
        tool.title = Some(format!("{name} title"));
        tool
    }

    fn names(specs: &[ToolSpec]) -> Vec<&str> {
        specs.iter().map(|spec| spec.name.as_str()).collect()
    }

    #[test]
    fn selected_tools_filter_the_listing() {
        let listed = || vec![tool("a"), tool("b"), tool("c")];
        assert_eq!(names(&select_tools(listed(), None, "s")), ["a", "b", "c"]);
        let selected = vec!["c".to_string(), "a".to_string(), "missing".to_string()];
        assert_eq!(names(&select_tools(listed(), Some(&selected), "s")), ["a", "c"]);
        assert!(select_tools(listed(), Some(&[]), "s").is_empty());
        let spec = &select_tools(listed(), None, "s")[0];
        assert_eq!(spec.description, "a does things");
        assert_eq!(spec.parameters["properties"]["city"]["type"], "string");
    }

    #[test]
    fn arguments_must_be_an_object_or_absent() {
        assert_eq!(arguments_object("t", json!(null)).unwrap(), None);
        assert_eq!(arguments_object("t", json!({"a": 1})).unwrap().unwrap()["a"], 1);
        let err = arguments_object("t", json!("x")).unwrap_err();
        assert_eq!(err.to_string(), "bad arguments for `t`: expected a JSON object, got a string");
    }

    #[test]
    fn results_keep_text_and_name_the_rest() {
        let result = CallToolResult::success(vec![
            ContentBlock::text("line one"),
            ContentBlock::image("AAAA", "image/png"),
            ContentBlock::embedded_text("file:///x", "embedded"),
        ]);
        assert_eq!(result_text(&result), "line one\n[image/png image omitted]\nembedded");
        let mut structured = CallToolResult::structured(json!({"temp": 18}));
        structured.content.clear();
        assert_eq!(result_text(&structured), r#"{"temp":18}"#);
    }

    #[test]
    fn credentials_go_where_the_auth_type_says() {
        let egress = Egress::new(std::sync::Arc::new(Default::default()), Default::default()).unwrap();
        let secret = Secret::new("k-123");
        let headers = |auth| {
            let request = request("https://mcp.example.com/mcp", auth, true).unwrap();
            let authorized = egress.authorize(Grant::ConfigUrl, request, Some(&secret)).unwrap();
            format!("{authorized:?}")
        };
        assert!(
            headers(McpAuthType::Bearer).contains(r#""authorization": Sensitive"#),
            "{}",
            headers(McpAuthType::Bearer)
        );
        assert!(headers(McpAuthType::ApiKey).contains(r#""x-api-key": Sensitive"#));
        assert!(!headers(McpAuthType::None).contains("Sensitive"));
        let missing = request("https://mcp.example.com/mcp", McpAuthType::ApiKey, false).unwrap_err();
        assert_eq!(missing, "authType api_key needs an authValue");
    }
}
