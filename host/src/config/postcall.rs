//! After the call ([ours] shape): Structured Output fields extracted from the transcript, and
//! the post-call webhook.
//!
//! ```json
//! "postCall": {
//!   "webhookUrl": "https://hooks.example.com/calls",
//!   "command": "Budgets are per month; leave plan null unless the caller chose one.",
//!   "structuredOutput": [
//!     {"name": "budget", "type": "int", "description": "Monthly budget in euros"},
//!     {"name": "plan", "type": "enum", "options": ["basic", "pro"]}
//!   ]
//! }
//! ```

use serde::{Deserialize, Serialize};

use super::provider::LLMConfig;

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PostCallConfig {
    /// Receives `{conversation, structuredOutput?}` when the session ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub structured_output: Vec<OutputField>,
    /// What to extract and how, in the designer's words (e.g. "amounts in euros, names as
    /// spelled by the caller"); joins the extraction prompt.
    #[serde(default, alias = "instructions", skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// The extraction LLM; absent: the main one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llm: Option<LLMConfig>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputField {
    pub name: String,
    #[serde(rename = "type", default)]
    pub kind: FieldType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The allowed values of an `enum` field.
    #[serde(default, alias = "enum", alias = "values", skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    #[default]
    String,
    #[serde(alias = "integer")]
    Int,
    #[serde(alias = "number")]
    Float,
    #[serde(alias = "bool")]
    Boolean,
    #[serde(alias = "array")]
    List,
    Enum,
}
