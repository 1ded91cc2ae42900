//! The AgentConfig document: what the builder compiles a graph into and the agent runs.

use serde::{Deserialize, Serialize};

use super::error::{ConfigError, Problem};
use super::postcall::PostCallConfig;
use super::provider::{LLMConfig, STTConfig, TTSConfig};
use super::step::{ConversationStep, StepKind};
use super::tools::{ExaConfig, McpServerConfig, TransferConfig};
use super::turn_taking::TurnTakingConfig;

pub const DEFAULT_LANGUAGE: &str = "en";

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentConfig {
    #[serde(default)]
    pub framework_id: String,
    /// Always `livekit` in configs the builder makes.
    #[serde(default)]
    pub framework_provider: String,
    #[serde(default)]
    pub agent_name: String,
    #[serde(default)]
    pub instructions: String,
    /// BCP-47; goes to STT, TTS and the prompt.
    #[serde(default = "default_language")]
    pub language: String,
    /// When false, the user's audio is ignored while the agent speaks.
    #[serde(default = "default_true")]
    pub allow_interruption: bool,
    /// [ours] Endpointing and interruption tuning; absent: the voice loop's defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_taking: Option<TurnTakingConfig>,
    #[serde(default)]
    pub llm: LLMConfig,
    #[serde(default)]
    pub tts: TTSConfig,
    #[serde(default)]
    pub stt: STTConfig,
    #[serde(default)]
    pub steps: Vec<ConversationStep>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mcp_servers: Vec<McpServerConfig>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exa_configs: Vec<ExaConfig>,
    /// [ours] Transferring a phone caller to a person (`transfer_to_human`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer: Option<TransferConfig>,
    /// Structured Output and the post-call webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_call: Option<PostCallConfig>,
    /// [ours] Asks for this session to be recorded. Honoured where the operator records
    /// sessions on request (`--record DIR --record-on-request`); elsewhere it changes nothing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub record: bool,
}

fn default_language() -> String {
    DEFAULT_LANGUAGE.to_string()
}

fn default_true() -> bool {
    true
}

impl AgentConfig {
    /// Parses JSON without validating it; a syntax or type error comes with the path where it
    /// happened.
    pub fn from_json(json: &str) -> Result<Self, ConfigError> {
        let deserializer = &mut serde_json::Deserializer::from_str(json);
        serde_path_to_error::deserialize(deserializer).map_err(|error| {
            let path = error.path().to_string();
            // The crate prints the document root as ".".
            let path = if path == "." { String::new() } else { path };
            ConfigError { problems: vec![Problem::error(path, error.into_inner().to_string())] }
        })
    }

    /// The `start` step, when there is exactly one place to begin.
    pub fn start_step(&self) -> Option<&ConversationStep> {
        let mut starts = self.steps.iter().filter(|s| matches!(s.kind, StepKind::Start { .. }));
        let first = starts.next();
        if starts.next().is_some() { None } else { first }
    }

    pub fn step(&self, id: &str) -> Option<&ConversationStep> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// The LLM that evaluates a step's branch: its own, else the main one.
    pub fn evaluation_llm<'a>(&'a self, step: &'a ConversationStep) -> &'a LLMConfig {
        step.evaluation_llm.as_ref().unwrap_or(&self.llm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_document_takes_the_defaults() {
        let config = AgentConfig::from_json("{}").unwrap();
        assert_eq!(config.language, "en");
        assert!(config.allow_interruption);
        assert!(config.steps.is_empty() && config.mcp_servers.is_empty() && config.exa_configs.is_empty());
    }

    #[test]
    fn type_errors_carry_their_path() {
        let error = AgentConfig::from_json(r#"{"llm": {"model": "m", "maxTokens": "lots"}}"#).unwrap_err();
        assert_eq!(error.problems[0].path, "llm.maxTokens");
        let error = AgentConfig::from_json(r#"{"steps": [{"id": "a", "type": "start"}, 7]}"#).unwrap_err();
        assert_eq!(error.problems[0].path, "steps[1]");
        let error = AgentConfig::from_json("[").unwrap_err();
        assert_eq!(error.problems[0].path, "");
    }

    #[test]
    fn unknown_step_type_is_named() {
        let error = AgentConfig::from_json(r#"{"steps": [{"id": "a", "type": "dance"}]}"#).unwrap_err();
        assert_eq!(error.problems[0].path, "steps[0]");
        assert!(error.problems[0].message.contains("dance"), "{error}");
    }
}
