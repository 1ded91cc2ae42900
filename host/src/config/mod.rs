//! The AgentConfig: the JSON document the Voiceblox builder compiles a graph into, and that a
//! session runs (spec: `reference/voiceblox.md`).
//!
//! - [`AgentConfig::from_json`] parses it (camelCase, unknown fields ignored, optional fields
//!   defaulted); a parse error carries the JSON path where it happened.
//! - [`validate`] reports every problem at once, each with its JSON path
//!   (`steps[2].nextStepIds.true`) and a [`Severity`]; [`ProviderCatalog`] tells it which
//!   providers are loaded and which environment variables hold their keys.
//! - [`load`] does both and refuses a config with any error, so a session never starts on one.
//! - API keys are [`ApiKey`]s: neither `Debug` nor `Serialize` ever shows the value.

pub mod agent;
pub mod catalog;
pub mod error;
pub mod postcall;
pub mod provider;
pub mod secret;
pub mod step;
pub mod tools;
pub mod turn_taking;
pub mod valid;
pub mod validate;

pub use agent::AgentConfig;
pub use catalog::{ProviderCatalog, StaticCatalog, SttInput};
pub use error::{ConfigError, Problem, Severity};
pub use postcall::{FieldType, OutputField, PostCallConfig};
pub use provider::{LLMConfig, ProviderKind, STTConfig, TTSConfig};
pub use secret::{ApiKey, strip_secrets};
pub use step::{ConversationStep, StepKind};
pub use tools::{ExaConfig, McpAuthType, McpServerConfig, TransferConfig};
pub use turn_taking::{BackchannelSetting, TurnDetection, TurnTakingConfig, VadModel};
pub use valid::{Medium, ValidConfig};
pub use validate::{validate, validate_structure};

/// A config that passed validation, with the warnings worth showing its author.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: AgentConfig,
    pub warnings: Vec<Problem>,
}

/// Parses and validates; any error-level problem refuses the config, listing all of them.
pub fn load(json: &str, catalog: &dyn ProviderCatalog) -> Result<Loaded, ConfigError> {
    let config = AgentConfig::from_json(json)?;
    let warnings = ConfigError::check(validate(&config, catalog))?;
    Ok(Loaded { config, warnings })
}

#[cfg(test)]
mod fixture_tests;
