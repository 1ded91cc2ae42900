//! MCP servers over streamable HTTP through the egress: rmcp sends its own requests, on the
//! one client and to the one authorized URL, with the credential the egress filled in.

use std::collections::HashMap;

use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;

use super::Egress;
use super::request::Authorized;

impl Egress {
    /// The transport for an authorized MCP server URL. rmcp writes `Authorization: Bearer`
    /// itself, so a bearer credential goes to it as its auth header; other headers are sent
    /// as they are.
    pub fn mcp_transport(&self, request: Authorized) -> StreamableHttpClientTransport<reqwest::Client> {
        StreamableHttpClientTransport::with_client(self.client.clone(), mcp_config(&request))
    }
}

/// rmcp's settings for an authorized request.
pub(crate) fn mcp_config(request: &Authorized) -> StreamableHttpClientTransportConfig {
    let mut config =
        StreamableHttpClientTransportConfig::with_uri(request.url.as_str()).reinit_on_expired_session(true);
    let mut custom = HashMap::new();
    for (name, value) in &request.headers {
        let bearer = value.to_str().ok().and_then(|v| v.strip_prefix("Bearer "));
        match bearer {
            Some(token) if name == http::header::AUTHORIZATION => config = config.auth_header(token),
            _ => {
                custom.insert(name.clone(), value.clone());
            }
        }
    }
    if !custom.is_empty() {
        config = config.custom_headers(custom);
    }
    config
}
