//! What a stream is configured with: where it connects, how it authenticates, which model,
//! voice, language and PCM rate it asks for, the generation controls and the transport.

use serde_json::{Map, Value, json};
pub use voiceblox_plugin_kit::config::Transport;
use voiceblox_plugin_kit::config::{configured_base_url, merge_options, model_name, transport};
use voiceblox_plugin_kit::json::{OptionsExt, f32_number, ranged, type_name};
use voiceblox_plugin_kit::url::{self, Query};

use crate::PROVIDER;
use crate::error::invalid;
use voiceblox_plugin_contract::types::{Header, ProviderConfig, ProviderError};
use voiceblox_plugin_sdk::tts::Request;

/// The API's origin; a configured base URL replaces it (`CARTESIA_BASE_URL`). Paths (`tts/bytes`,
/// `tts/websocket`) are directly below it, as in Cartesia's SDKs.
pub const DEFAULT_BASE_URL: &str = "https://api.cartesia.ai";

/// The API version every request names (`Cartesia-Version` header, `cartesia_version` on the
/// socket). 2025-04-16 is the version that introduced contexts with `flush`/`flush_done` and
/// `generation_config`, and still takes the `X-API-Key` header.
pub const API_VERSION: &str = "2025-04-16";

/// Sonic 3, Cartesia's current generally available model; the only one `generation_config`
/// (speed, emotion, volume) applies to.
pub const DEFAULT_MODEL: &str = "sonic-3";

/// "Katie", a stock voice every account has; the voice of Cartesia's real-time quickstart,
/// recommended there for voice agents.
pub const DEFAULT_VOICE: &str = "f786b574-daa5-4673-aa0c-cbe3e8534c02";

/// The rates raw output supports; the first is the default.
pub const SAMPLE_RATES: &[u32] = &[24_000, 8_000, 16_000, 22_050, 44_100, 48_000];

/// Keys read from the options: `transport` (`websocket`, the default, or `http`), `emotion`
/// (the TTS config's), `speed` (0.6–1.5, or `slow`/`normal`/`fast`), `volume` (0.5–2.0),
/// `language` (defaults to the conversation's) and `maxBufferDelayMs` (0–5000, socket only).
pub const CONFIG_KEYS: &[&str] = &["transport", "emotion", "speed", "volume", "language", "maxBufferDelayMs"];

/// A stream's resolved configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    base: String,
    api_key: Option<String>,
    pub voice: String,
    pub model: String,
    pub language: Option<String>,
    pub sample_rate: u32,
    pub transport: Transport,
    /// `max_buffer_delay_ms`, when configured (the socket's default is Cartesia's own).
    pub max_buffer_delay_ms: Option<u32>,
    /// Fields every generation request carries besides the transcript and the context fields:
    /// Cartesia requires all of them to stay the same across the inputs of one context.
    fields: Map<String, Value>,
}

impl Settings {
    pub fn new(config: &ProviderConfig, request: &Request) -> Result<Self, ProviderError> {
        let options = merge_options(&config.options, &request.options).map_err(invalid)?;
        let base = configured_base_url(config.base_url.as_deref(), DEFAULT_BASE_URL).trim_end_matches('/').to_string();
        let voice = request.voice.as_deref().map(str::trim).filter(|v| !v.is_empty()).unwrap_or(DEFAULT_VOICE);
        let sample_rate = request.sample_rate.filter(|rate| SAMPLE_RATES.contains(rate)).unwrap_or(SAMPLE_RATES[0]);
        let model = model_name(&config.model, PROVIDER, DEFAULT_MODEL);
        let language = match options.opt_str("language").map_err(invalid)?.map(str::trim) {
            Some(language) if !language.is_empty() => Some(language.to_string()),
            _ => config.language.as_deref().and_then(primary_language),
        };
        let mut settings = Settings {
            base,
            api_key: config.api_key.clone(),
            voice: voice.to_string(),
            model,
            language,
            sample_rate,
            transport: transport(&options).map_err(invalid)?,
            max_buffer_delay_ms: max_buffer_delay(&options)?,
            fields: Map::new(),
        };
        settings.fields = settings.request_fields(&options)?;
        Ok(settings)
    }

    /// The socket's URL: `wss://.../tts/websocket?cartesia_version=...`.
    pub fn websocket_url(&self) -> String {
        let mut query = Query::new();
        query.push("cartesia_version", API_VERSION);
        url::append_query(&url::to_websocket(&url::join(&self.base, "tts/websocket")), &query.encode())
    }

    /// The bytes endpoint's URL.
    pub fn bytes_url(&self) -> String {
        url::join(&self.base, "tts/bytes")
    }

    /// `X-API-Key: <placeholder>` when the host holds a key (a local gateway may need none), and
    /// the version: a header value is one of the places the host fills the key in.
    pub fn headers(&self) -> Vec<Header> {
        let mut headers: Vec<Header> =
            self.api_key.as_deref().map(|key| vec![header("X-API-Key", key)]).unwrap_or_default();
        headers.push(header("Cartesia-Version", API_VERSION));
        headers
    }

    /// A generation request for `transcript`: the fixed fields, then `extra` (context fields).
    pub fn generation(&self, transcript: &str, extra: Map<String, Value>) -> Map<String, Value> {
        let mut body = Map::new();
        body.insert("model_id".into(), json!(self.model));
        body.insert("transcript".into(), json!(transcript));
        body.extend(self.fields.clone());
        body.extend(extra);
        body
    }

    /// Voice, language, output format and the generation controls.
    fn request_fields(&self, options: &Map<String, Value>) -> Result<Map<String, Value>, ProviderError> {
        let mut voice = Map::new();
        voice.insert("mode".into(), json!("id"));
        voice.insert("id".into(), json!(self.voice));
        let mut fields = Map::new();
        let emotion = emotion(options)?;
        let speed = speed(options)?;
        let volume = ranged(options, "volume", 0.5..=2.0).map_err(invalid)?;
        let mut config = Map::new();
        if uses_generation_config(&self.model) {
            if let Some(emotion) = emotion {
                // Sonic 3 takes one emotion; a list names the primary one first.
                config.insert("emotion".into(), json!(emotion.first().cloned().unwrap_or_default()));
            }
        } else if let Some(emotion) = emotion {
            // Older models read the deprecated per-voice controls (`positivity:high`...).
            voice.insert("__experimental_controls".into(), json!({ "emotion": emotion }));
        }
        match speed {
            Some(Speed::Scale(scale)) => {
                config.insert("speed".into(), f32_number(scale));
            }
            Some(Speed::Named(name)) => {
                fields.insert("speed".into(), json!(name));
            }
            None => {}
        }
        if let Some(volume) = volume {
            config.insert("volume".into(), f32_number(volume));
        }
        fields.insert("voice".into(), Value::Object(voice));
        if let Some(language) = &self.language {
            fields.insert("language".into(), json!(language));
        }
        fields.insert(
            "output_format".into(),
            json!({"container": "raw", "encoding": "pcm_s16le", "sample_rate": self.sample_rate}),
        );
        if !config.is_empty() {
            fields.insert("generation_config".into(), Value::Object(config));
        }
        Ok(fields)
    }
}

pub fn header(name: &str, value: &str) -> Header {
    Header { name: name.to_string(), value: value.to_string() }
}

/// Sonic 3 and later (and `sonic-latest`) read `generation_config`; the models before it
/// (Sonic, Sonic 2, Sonic Turbo) read the voice's experimental controls instead.
fn uses_generation_config(model: &str) -> bool {
    const OLDER: &[&str] = &["sonic-2", "sonic-turbo", "sonic-english", "sonic-multilingual", "sonic-preview"];
    model != "sonic" && !OLDER.iter().any(|older| model.starts_with(older))
}

/// Cartesia's language codes are ISO 639-1 (`en`, `de`, `zh`): the conversation's BCP-47 tag
/// (`en-US`) without its region.
fn primary_language(tag: &str) -> Option<String> {
    let primary = tag.trim().split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
    (!primary.is_empty()).then_some(primary)
}

/// The emotion(s): the TTS config's `emotion` is a string, a list of strings is accepted too.
fn emotion(options: &Map<String, Value>) -> Result<Option<Vec<String>>, ProviderError> {
    let emotions: Vec<String> = match options.get("emotion") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(emotion)) => vec![emotion.trim().to_string()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(|s| s.trim().to_string()))
            .collect::<Option<_>>()
            .ok_or_else(|| invalid("option `emotion` must be a string or a list of strings"))?,
        Some(other) => {
            return Err(invalid(format!("option `emotion` must be a string, got {}", type_name(other))));
        }
    };
    let emotions: Vec<String> = emotions.into_iter().filter(|e| !e.is_empty()).collect();
    Ok((!emotions.is_empty()).then_some(emotions))
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Speed {
    /// Sonic 3's `generation_config.speed` multiplier.
    Scale(f32),
    /// The top-level `speed` setting.
    Named(&'static str),
}

fn speed(options: &Map<String, Value>) -> Result<Option<Speed>, ProviderError> {
    match options.get("speed") {
        Some(Value::String(name)) => match name.trim() {
            "slow" => Ok(Some(Speed::Named("slow"))),
            "normal" => Ok(Some(Speed::Named("normal"))),
            "fast" => Ok(Some(Speed::Named("fast"))),
            other => Err(invalid(format!(
                "option `speed` must be a number or \"slow\", \"normal\" or \"fast\", got {other:?}"
            ))),
        },
        _ => Ok(ranged(options, "speed", 0.6..=1.5).map_err(invalid)?.map(Speed::Scale)),
    }
}

fn max_buffer_delay(options: &Map<String, Value>) -> Result<Option<u32>, ProviderError> {
    match options.opt_f64("maxBufferDelayMs").map_err(invalid)? {
        None => Ok(None),
        Some(ms) if (0.0..=5000.0).contains(&ms) && ms.fract() == 0.0 => Ok(Some(ms as u32)),
        Some(ms) => Err(invalid(format!("option `maxBufferDelayMs` must be a whole number from 0 to 5000, got {ms}"))),
    }
}

#[cfg(test)]
mod tests;
