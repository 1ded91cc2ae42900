//! The three provider sections of an AgentConfig: `llm`, `tts` and `stt`.

use serde::{Deserialize, Serialize};

use super::secret::{self, ApiKey};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    Llm,
    Tts,
    Stt,
}

impl ProviderKind {
    pub fn name(self) -> &'static str {
        match self {
            ProviderKind::Llm => "LLM",
            ProviderKind::Tts => "TTS",
            ProviderKind::Stt => "STT",
        }
    }
}

/// The provider a section names: `provider`, or when that is blank the `provider/` prefix of
/// the model (`openai/gpt-4.1-mini`). Lowercased, since ids are lowercase and builders are not.
fn provider_id(provider: &str, model: &str) -> String {
    let provider = provider.trim();
    if !provider.is_empty() {
        return provider.to_ascii_lowercase();
    }
    model.split_once('/').map(|(prefix, _)| prefix.trim().to_ascii_lowercase()).unwrap_or_default()
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LLMConfig {
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub provider: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(default, deserialize_with = "secret::optional", skip_serializing_if = "Option::is_none")]
    pub api_key: Option<ApiKey>,
    /// An OpenAI-style endpoint elsewhere (Ollama, Azure, Groq, vLLM...).
    #[serde(default, rename = "baseURL", skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// [ours] Who takes a request this LLM cannot serve now (unreachable, timing out, 429, 5xx
    /// before its first token), in order; each a whole LLM section (its own fallbacks unused).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fallbacks: Vec<LLMConfig>,
    /// [ours] Seconds a provider of this chain that could not serve is passed over before it is
    /// tried first again (default 30; 0: always first). Read from the main section only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_cool_down_secs: Option<u32>,
}

impl LLMConfig {
    pub fn provider_id(&self) -> String {
        provider_id(&self.provider, &self.model)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TTSConfig {
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub provider: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice_id: Option<String>,
    #[serde(default, deserialize_with = "secret::optional", skip_serializing_if = "Option::is_none")]
    pub api_key: Option<ApiKey>,
    /// Speaking-style instructions (OpenAI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// ElevenLabs, 0–1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stability: Option<f64>,
    /// ElevenLabs, 0–1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub similarity_boost: Option<f64>,
    /// Cartesia.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emotion: Option<String>,
    /// [ours] Who speaks an utterance this voice cannot (unreachable, timing out, 429, 5xx before
    /// its first audio), in order; each a whole TTS section (its own fallbacks unused).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fallbacks: Vec<TTSConfig>,
    /// [ours] Seconds a provider of this chain that could not serve is passed over before it is
    /// tried first again (default 30; 0: always first). Read from the main section only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_cool_down_secs: Option<u32>,
}

impl TTSConfig {
    pub fn provider_id(&self) -> String {
        provider_id(&self.provider, &self.model)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct STTConfig {
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub provider: String,
    #[serde(default, deserialize_with = "secret::optional", skip_serializing_if = "Option::is_none")]
    pub api_key: Option<ApiKey>,
    /// Comma-separated, as the builder stores it; see [`STTConfig::keyterm_list`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyterms: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_diarization: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyterms_prompt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language_detection: Option<bool>,
    /// [ours] Who transcribes when this STT cannot (unreachable, timing out, 429, 5xx), in order;
    /// each a whole STT section taking the same audio (its own fallbacks unused).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fallbacks: Vec<STTConfig>,
    /// [ours] Seconds a provider of this chain that could not serve is passed over before it is
    /// tried first again (default 30; 0: always first). Read from the main section only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_cool_down_secs: Option<u32>,
}

impl STTConfig {
    pub fn provider_id(&self) -> String {
        provider_id(&self.provider, &self.model)
    }

    pub fn keyterm_list(&self) -> Vec<String> {
        split_keyterms(self.keyterms.as_deref().unwrap_or(""))
    }
}

/// Splits the builder's comma-separated keyterms, dropping blanks left by stray commas.
pub fn split_keyterms(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|t| !t.is_empty()).map(String::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_falls_back_to_model_prefix() {
        let llm: LLMConfig = serde_json::from_str(r#"{"model": "openai/gpt-4.1-mini"}"#).unwrap();
        assert_eq!(llm.provider_id(), "openai");
        let llm: LLMConfig = serde_json::from_str(r#"{"model": "x/y", "provider": "Groq"}"#).unwrap();
        assert_eq!(llm.provider_id(), "groq");
    }

    #[test]
    fn keyterms_split_on_commas() {
        let stt: STTConfig = serde_json::from_str(r#"{"keyterms": "Voiceblox, LiveKit,, Acme Corp ,"}"#).unwrap();
        assert_eq!(stt.keyterm_list(), ["Voiceblox", "LiveKit", "Acme Corp"]);
        assert!(STTConfig::default().keyterm_list().is_empty());
    }

    #[test]
    fn base_url_keeps_its_spelling() {
        let llm: LLMConfig = serde_json::from_str(r#"{"baseURL": "http://localhost:11434/v1"}"#).unwrap();
        assert_eq!(llm.base_url.as_deref(), Some("http://localhost:11434/v1"));
        assert!(serde_json::to_string(&llm).unwrap().contains("\"baseURL\""));
    }
}
