//! API keys inside a config: deserialised into the host's [`Secret`], never printed back.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::egress::secret::Secret;

/// What a serialised config shows where a key was, so a config echoed into room metadata,
/// logs or events never carries the key itself.
pub const REDACTED: &str = "[redacted]";

#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(Secret);

impl ApiKey {
    pub fn new(value: impl Into<String>) -> Self {
        Self(Secret::new(value))
    }

    pub fn secret(&self) -> &Secret {
        &self.0
    }

    pub fn into_secret(self) -> Secret {
        self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

impl Serialize for ApiKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(REDACTED)
    }
}

/// The JSON fields of an AgentConfig that hold secrets: provider keys and MCP credentials.
pub const SECRET_FIELDS: [&str; 2] = ["apiKey", "authValue"];

/// Removes every secret field from a config's JSON, at any depth, leaving what every
/// participant of a room may read. Returns how many were removed.
pub fn strip_secrets(value: &mut serde_json::Value) -> usize {
    match value {
        serde_json::Value::Object(fields) => {
            let before = fields.len();
            fields.retain(|name, _| !SECRET_FIELDS.contains(&name.as_str()));
            let removed = before - fields.len();
            removed + fields.values_mut().map(strip_secrets).sum::<usize>()
        }
        serde_json::Value::Array(items) => items.iter_mut().map(strip_secrets).sum(),
        _ => 0,
    }
}

/// Builders send `""` or `null` for a key the user left blank; both mean "use the environment".
pub fn optional<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<ApiKey>, D::Error> {
    let value = Option::<String>::deserialize(deserializer)?;
    Ok(value.filter(|v| !v.trim().is_empty()).map(ApiKey::new))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, Serialize)]
    struct Holder {
        #[serde(default, deserialize_with = "optional")]
        key: Option<ApiKey>,
    }

    #[test]
    fn never_prints_the_value() {
        let holder: Holder = serde_json::from_str(r#"{"key": "sk-live-abcdef"}"#).unwrap();
        assert!(!format!("{holder:?}").contains("sk-live"));
        assert!(!serde_json::to_string(&holder).unwrap().contains("sk-live"));
        assert_eq!(holder.key.unwrap().into_secret(), Secret::new("sk-live-abcdef"));
    }

    #[test]
    fn secrets_are_stripped_at_any_depth_and_nothing_else() {
        let mut config = serde_json::json!({
            "llm": {"model": "m", "apiKey": "sk-1"},
            "steps": [{"id": "c", "evaluationLlm": {"apiKey": "sk-2"}}],
            "mcpServers": [{"serverUrl": "https://x", "authType": "bearer", "authValue": "tok"}],
            "instructions": "apiKey is a word"
        });
        assert_eq!(strip_secrets(&mut config), 3);
        assert_eq!(
            config,
            serde_json::json!({
                "llm": {"model": "m"}, "steps": [{"id": "c", "evaluationLlm": {}}],
                "mcpServers": [{"serverUrl": "https://x", "authType": "bearer"}], "instructions": "apiKey is a word"
            })
        );
    }

    #[test]
    fn blank_means_absent() {
        let holder: Holder = serde_json::from_str(r#"{"key": "  "}"#).unwrap();
        assert!(holder.key.is_none());
        let holder: Holder = serde_json::from_str(r#"{"key": null}"#).unwrap();
        assert!(holder.key.is_none());
    }
}
