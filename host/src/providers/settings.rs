//! AgentConfig sections → runtime settings, and the loaded plugins as a [`ProviderCatalog`].

use crate::config::{ApiKey, LLMConfig, ProviderCatalog, ProviderKind, STTConfig, SttInput, TTSConfig};
use crate::plugin::types::{Kind, SttMode};
use crate::plugin::{PluginRuntime, ProviderSettings};

fn kind(kind: ProviderKind) -> Kind {
    match kind {
        ProviderKind::Llm => Kind::Llm,
        ProviderKind::Tts => Kind::Tts,
        ProviderKind::Stt => Kind::Stt,
    }
}

/// What every section shares: provider, model, key, language.
fn section(provider: String, model: &str, key: Option<&ApiKey>, language: &str) -> ProviderSettings {
    ProviderSettings {
        provider,
        model: model.to_string(),
        api_key: key.map(|k| k.secret().clone()),
        base_url: None,
        language: Some(language.to_string()),
        options: serde_json::Map::new(),
    }
}

/// Settings of an LLM section (the main one or a step's `evaluationLlm`).
pub fn llm(config: &LLMConfig, language: &str) -> ProviderSettings {
    let settings = section(config.provider_id(), &config.model, config.api_key.as_ref(), language);
    ProviderSettings { base_url: config.base_url.clone(), ..settings }
}

/// Settings of the TTS section; the provider-specific voice options travel in `options`.
pub fn tts(config: &TTSConfig, language: &str) -> ProviderSettings {
    let mut settings = section(config.provider_id(), &config.model, config.api_key.as_ref(), language);
    let options = [
        ("instructions", config.instructions.clone().map(Into::into)),
        ("stability", config.stability.map(Into::into)),
        ("similarityBoost", config.similarity_boost.map(Into::into)),
        ("emotion", config.emotion.clone().map(Into::into)),
    ];
    settings.options = options.into_iter().filter_map(|(k, v)| Some((k.to_string(), v?))).collect();
    settings
}

pub fn stt(config: &STTConfig, language: &str) -> ProviderSettings {
    let mut settings = section(config.provider_id(), &config.model, config.api_key.as_ref(), language);
    if let Some(prompt) = &config.keyterms_prompt {
        settings.options.insert("keytermsPrompt".into(), prompt.clone().into());
    }
    settings
}

/// Validation's view of the loaded plugins and the process environment.
pub struct RuntimeCatalog<'a>(pub &'a PluginRuntime);

impl ProviderCatalog for RuntimeCatalog<'_> {
    fn providers(&self, k: ProviderKind) -> Vec<String> {
        self.0.registry().providers(kind(k)).into_iter().map(String::from).collect()
    }

    fn key_vars(&self, k: ProviderKind, provider: &str) -> Vec<String> {
        match self.0.registry().get(provider, kind(k)) {
            Some(_) => self.0.key_vars(provider),
            None => Vec::new(),
        }
    }

    fn env_has(&self, var: &str) -> bool {
        self.0.env_var(var).is_some()
    }

    fn stt_input(&self, provider: &str) -> Option<SttInput> {
        stt_input(self.0, provider)
    }
}

/// The audio STT `provider` takes, from its plugin's description (16 kHz streamed unless it
/// says otherwise); `None` when no plugin serves it.
pub fn stt_input(runtime: &PluginRuntime, provider: &str) -> Option<SttInput> {
    let plugin = runtime.plugin_for(provider, Kind::Stt).ok()?;
    let info = plugin.provider(provider)?;
    Some(SttInput {
        streaming: !matches!(info.stt_mode, Some(SttMode::Batch)),
        sample_rate: info.stt_sample_rate.unwrap_or(16_000),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AgentConfig;

    #[test]
    fn sections_become_settings() {
        let config = AgentConfig::from_json(
            r#"{"language": "de-DE",
                "llm": {"model": "openai/gpt-4.1-mini", "apiKey": "sk-1", "baseURL": "http://127.0.0.1:9/v1"},
                "tts": {"provider": "openai", "model": "gpt-4o-mini-tts", "instructions": "calm", "stability": 0.4},
                "stt": {"provider": "deepgram", "model": "nova-3", "keytermsPrompt": "Acme"}}"#,
        )
        .unwrap();
        let l = llm(&config.llm, &config.language);
        assert_eq!((l.provider.as_str(), l.model.as_str()), ("openai", "openai/gpt-4.1-mini"));
        assert!(l.api_key.is_some());
        assert_eq!(l.base_url.as_deref(), Some("http://127.0.0.1:9/v1"));
        assert_eq!(l.language.as_deref(), Some("de-DE"));
        let t = tts(&config.tts, &config.language);
        assert_eq!(t.options["instructions"], "calm");
        assert_eq!(t.options["stability"], 0.4);
        assert!(!t.options.contains_key("emotion"));
        assert_eq!(stt(&config.stt, "en").options["keytermsPrompt"], "Acme");
    }
}
