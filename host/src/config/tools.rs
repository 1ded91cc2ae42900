//! Tools offered to the LLM: MCP servers and Exa web search ([ours] shapes).

use serde::{Deserialize, Serialize};

use super::secret::{self, ApiKey};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum McpAuthType {
    #[default]
    None,
    /// `Authorization: Bearer <authValue>`.
    Bearer,
    /// `x-api-key: <authValue>`.
    ApiKey,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct McpServerConfig {
    #[serde(default)]
    pub server_url: String,
    #[serde(default)]
    pub auth_type: McpAuthType,
    /// A credential like any API key, so it is redacted the same way.
    #[serde(default, deserialize_with = "secret::optional", skip_serializing_if = "Option::is_none")]
    pub auth_value: Option<ApiKey>,
    /// [ours] Absent: every tool the server lists; present: only these (an empty list offers none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected_tools: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExaConfig {
    /// Absent: `EXA_API_KEY` from the environment.
    #[serde(default, deserialize_with = "secret::optional", skip_serializing_if = "Option::is_none")]
    pub api_key: Option<ApiKey>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_results: Option<u32>,
}

/// The variable Exa's own SDKs read.
pub const EXA_KEY_VAR: &str = "EXA_API_KEY";

/// [ours] Handing a phone caller to a person: the LLM is offered `transfer_to_human`, which
/// transfers the call (LiveKit SIP, a SIP REFER) to `to`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferConfig {
    /// Where the call goes: `tel:+15550100` or `sip:support@pbx.example.com`.
    #[serde(default)]
    pub to: String,
    /// When to transfer, in the LLM's terms (added to the tool's description).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The caller hears a dial tone while the far end rings.
    #[serde(default)]
    pub play_dialtone: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_types_use_the_reference_spelling() {
        let server: McpServerConfig = serde_json::from_str(
            r#"{"serverUrl": "https://mcp.example.com/mcp", "authType": "api_key", "authValue": "k-1"}"#,
        )
        .unwrap();
        assert_eq!(server.auth_type, McpAuthType::ApiKey);
        assert!(!format!("{server:?}").contains("k-1"));
        let server: McpServerConfig = serde_json::from_str(r#"{"serverUrl": "https://x"}"#).unwrap();
        assert_eq!(server.auth_type, McpAuthType::None);
        assert_eq!(server.selected_tools, None);
    }
}
