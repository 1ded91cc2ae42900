//! The one way from JSON to what a session runs on: parse, then validate against the
//! providers the process can serve. The console, the worker, the in-process agent and the
//! server's API all go through [`ValidConfig::parse`].

use std::sync::Arc;

use super::{AgentConfig, ConfigError, Problem, ProviderCatalog, validate};

/// How the session will talk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Medium {
    /// Audio both ways: every provider must be usable.
    Voice,
    /// Text only (`console --text`): the speech providers are not used, so their problems
    /// do not refuse the session.
    Text,
}

/// An AgentConfig that passed validation, with the warnings it passed with.
#[derive(Debug, Clone)]
pub struct ValidConfig {
    config: Arc<AgentConfig>,
    warnings: Vec<Problem>,
}

impl ValidConfig {
    /// Parses and validates; every problem is reported at once.
    pub fn parse(json: &str, catalog: &dyn ProviderCatalog, medium: Medium) -> Result<Self, ConfigError> {
        let config = AgentConfig::from_json(json)?;
        let mut problems = validate(&config, catalog);
        if medium == Medium::Text {
            problems.retain(|p| !(p.path.starts_with("tts") || p.path.starts_with("stt")));
        }
        let warnings = ConfigError::check(problems)?;
        Ok(Self { config: Arc::new(config), warnings })
    }

    pub fn config(&self) -> &Arc<AgentConfig> {
        &self.config
    }

    pub fn warnings(&self) -> &[Problem] {
        &self.warnings
    }

    pub fn into_config(self) -> Arc<AgentConfig> {
        self.config
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::StaticCatalog;

    const CONFIG: &str = r#"{
        "agentName": "A", "instructions": "Be kind.",
        "llm": {"provider": "openai", "model": "gpt-4.1-mini"},
        "tts": {"provider": "nobody", "model": "x"},
        "stt": {"provider": "deepgram", "model": "nova-3"},
        "steps": [{"id": "s", "type": "start", "command": "Hi.", "isLiteral": true}]
    }"#;

    #[test]
    fn speech_problems_refuse_a_voice_session_but_not_a_text_one() {
        use crate::config::ProviderKind::{Llm, Stt, Tts};
        let catalog = StaticCatalog::default()
            .with(Llm, "openai", &["OPENAI_API_KEY"])
            .with(Tts, "openai", &["OPENAI_API_KEY"])
            .with(Stt, "deepgram", &["DEEPGRAM_API_KEY"])
            .with_env("OPENAI_API_KEY")
            .with_env("DEEPGRAM_API_KEY");
        let refused = ValidConfig::parse(CONFIG, &catalog, Medium::Voice).unwrap_err();
        assert!(refused.problems.iter().any(|p| p.path.starts_with("tts") && p.is_error()), "{refused:?}");
        let text = ValidConfig::parse(CONFIG, &catalog, Medium::Text).unwrap();
        assert_eq!(text.config().agent_name, "A");
        assert!(ValidConfig::parse("{", &catalog, Medium::Text).is_err());
    }
}
