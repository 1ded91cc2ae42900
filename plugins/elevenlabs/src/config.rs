//! What a stream is configured with: where it connects, how it authenticates, which voice,
//! model and PCM rate it asks for, the voice settings and the transport.

use serde_json::{Map, Value, json};
pub use voiceblox_plugin_kit::config::Transport;
use voiceblox_plugin_kit::config::{configured_base_url, merge_options, model_name, transport};
use voiceblox_plugin_kit::json::{OptionsExt, f32_number, ranged};
use voiceblox_plugin_kit::url::{self, Query, percent_encode};

use crate::PROVIDER;
use crate::error::invalid;
use voiceblox_plugin_contract::types::{Header, ProviderConfig, ProviderError};
use voiceblox_plugin_sdk::tts::Request;

/// The API's origin; a configured base URL replaces it (`ELEVENLABS_BASE_URL`). Paths are
/// `v1/...` below it, as in ElevenLabs' SDKs.
pub const DEFAULT_BASE_URL: &str = "https://api.elevenlabs.io";

/// The lowest-latency model, the one ElevenLabs recommends for real-time agents.
pub const DEFAULT_MODEL: &str = "eleven_flash_v2_5";

/// "Rachel", a premade voice every account has; the voice of the API reference's examples.
pub const DEFAULT_VOICE: &str = "21m00Tcm4TlvDq8ikWAM";

/// The rates of the `pcm_*` output formats the stream-input socket documents (16-bit mono
/// little-endian); the first is the default. `pcm_44100` needs a Pro plan, so it is only used
/// when asked for.
pub const SAMPLE_RATES: &[u32] = &[24_000, 16_000, 22_050, 44_100];

/// Keys read from the options: `transport` (`websocket`, the default, or `http`) and the voice
/// settings (`stability`, `similarityBoost`, `style`: 0–1; `speed`: 0.7–1.2;
/// `useSpeakerBoost`).
pub const CONFIG_KEYS: &[&str] = &["transport", "stability", "similarityBoost", "style", "speed", "useSpeakerBoost"];

/// ElevenLabs requires `stability` and `similarity_boost` together; when only one is
/// configured the other gets the API's default.
const DEFAULT_STABILITY: f32 = 0.5;
const DEFAULT_SIMILARITY_BOOST: f32 = 0.75;

/// The socket closes after this many seconds without text (the API's maximum; its default, 20 s,
/// is shorter than a slow tool call between two sentences of one reply).
pub const INACTIVITY_TIMEOUT_S: u32 = 180;

/// A stream's resolved configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    base: String,
    api_key: Option<String>,
    pub voice: String,
    pub model: String,
    pub sample_rate: u32,
    /// The `voice_settings` object, when any setting was configured.
    pub voice_settings: Option<Value>,
    pub transport: Transport,
}

impl Settings {
    pub fn new(config: &ProviderConfig, request: &Request) -> Result<Self, ProviderError> {
        let options = merge_options(&config.options, &request.options).map_err(invalid)?;
        let base = configured_base_url(config.base_url.as_deref(), DEFAULT_BASE_URL);
        let base = base.trim_end_matches('/');
        // A base URL copied from an SDK that includes the version path gets no second one.
        let base = base.strip_suffix("/v1").unwrap_or(base).to_string();
        let voice = request.voice.as_deref().map(str::trim).filter(|v| !v.is_empty()).unwrap_or(DEFAULT_VOICE);
        let sample_rate = request.sample_rate.filter(|rate| SAMPLE_RATES.contains(rate)).unwrap_or(SAMPLE_RATES[0]);
        Ok(Settings {
            base,
            api_key: config.api_key.clone(),
            voice: voice.to_string(),
            model: model_name(&config.model, PROVIDER, DEFAULT_MODEL),
            sample_rate,
            voice_settings: voice_settings(&options)?,
            transport: transport(&options).map_err(invalid)?,
        })
    }

    /// `pcm_<rate>`.
    pub fn output_format(&self) -> String {
        format!("pcm_{}", self.sample_rate)
    }

    /// `{base}/v1/text-to-speech/{voice_id}/{endpoint}`, the voice id percent-encoded (it is a
    /// path segment).
    fn voice_url(&self, endpoint: &str) -> String {
        url::join(&self.base, &format!("v1/text-to-speech/{}/{endpoint}", percent_encode(&self.voice)))
    }

    /// The stream-input socket's URL.
    pub fn stream_input_url(&self) -> String {
        let mut query = Query::new();
        query
            .push("model_id", self.model.clone())
            .push("output_format", self.output_format())
            // Timing data with every audio chunk: it says which text the chunk speaks, so
            // flushes are answered when their own audio is complete (see `flushes`).
            .push("sync_alignment", "true")
            .push("inactivity_timeout", INACTIVITY_TIMEOUT_S.to_string());
        url::append_query(&url::to_websocket(&self.voice_url("stream-input")), &query.encode())
    }

    /// The HTTP streaming endpoint's URL.
    pub fn stream_url(&self) -> String {
        let mut query = Query::new();
        query.push("output_format", self.output_format());
        url::append_query(&self.voice_url("stream"), &query.encode())
    }

    /// `xi-api-key: <placeholder>` when the host holds a key (a local gateway may need none).
    pub fn auth_headers(&self) -> Vec<Header> {
        self.api_key.as_deref().map(|key| vec![header("xi-api-key", key)]).unwrap_or_default()
    }
}

pub fn header(name: &str, value: &str) -> Header {
    Header { name: name.to_string(), value: value.to_string() }
}

fn voice_settings(options: &Map<String, Value>) -> Result<Option<Value>, ProviderError> {
    let stability = ranged(options, "stability", 0.0..=1.0).map_err(invalid)?;
    let similarity = ranged(options, "similarityBoost", 0.0..=1.0).map_err(invalid)?;
    let style = ranged(options, "style", 0.0..=1.0).map_err(invalid)?;
    let speed = ranged(options, "speed", 0.7..=1.2).map_err(invalid)?;
    let speaker_boost = options.opt_bool("useSpeakerBoost").map_err(invalid)?;
    if stability.is_none() && similarity.is_none() && style.is_none() && speed.is_none() && speaker_boost.is_none() {
        // Nothing configured: the voice's own stored settings apply.
        return Ok(None);
    }
    let mut settings = Map::new();
    settings.insert("stability".into(), f32_number(stability.unwrap_or(DEFAULT_STABILITY)));
    settings.insert("similarity_boost".into(), f32_number(similarity.unwrap_or(DEFAULT_SIMILARITY_BOOST)));
    if let Some(style) = style {
        settings.insert("style".into(), f32_number(style));
    }
    if let Some(speed) = speed {
        settings.insert("speed".into(), f32_number(speed));
    }
    if let Some(boost) = speaker_boost {
        settings.insert("use_speaker_boost".into(), json!(boost));
    }
    Ok(Some(Value::Object(settings)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{config, request};

    fn settings(base_url: Option<&str>, voice: Option<&str>, rate: Option<u32>, options: Value) -> Settings {
        Settings::new(&config("", base_url, json!({})), &request(voice, rate, options)).unwrap()
    }

    #[test]
    fn defaults() {
        let settings = settings(None, None, None, json!({}));
        assert_eq!(settings.model, "eleven_flash_v2_5");
        assert_eq!(settings.voice, "21m00Tcm4TlvDq8ikWAM");
        assert_eq!(settings.sample_rate, 24_000);
        assert_eq!(settings.voice_settings, None);
        assert_eq!(settings.transport, Transport::WebSocket);
        assert_eq!(
            settings.stream_input_url(),
            "wss://api.elevenlabs.io/v1/text-to-speech/21m00Tcm4TlvDq8ikWAM/stream-input?model_id=eleven_flash_v2_5\
             &output_format=pcm_24000&sync_alignment=true&inactivity_timeout=180"
        );
        assert_eq!(
            settings.stream_url(),
            "https://api.elevenlabs.io/v1/text-to-speech/21m00Tcm4TlvDq8ikWAM/stream?output_format=pcm_24000"
        );
        assert_eq!(settings.auth_headers(), [header("xi-api-key", "{{api-key}}")]);
    }

    #[test]
    fn base_urls_voices_and_rates() {
        let local = settings(Some("http://127.0.0.1:9/v1/"), Some(" my voice/x "), Some(16_000), json!({}));
        assert_eq!(
            local.stream_input_url(),
            "ws://127.0.0.1:9/v1/text-to-speech/my%20voice%2Fx/stream-input?model_id=eleven_flash_v2_5\
             &output_format=pcm_16000&sync_alignment=true&inactivity_timeout=180"
        );
        assert_eq!(settings(None, None, Some(22_050), json!({})).output_format(), "pcm_22050");
        assert_eq!(settings(None, None, Some(44_100), json!({})).output_format(), "pcm_44100");
        // A rate ElevenLabs has no PCM format for falls back to the default.
        assert_eq!(settings(None, None, Some(48_000), json!({})).output_format(), "pcm_24000");
        let model =
            Settings::new(&config("elevenlabs/eleven_turbo_v2_5", None, json!({})), &request(None, None, json!({})));
        assert_eq!(model.unwrap().model, "eleven_turbo_v2_5");
    }

    #[test]
    fn voice_settings_fill_the_required_pair() {
        let both = settings(None, None, None, json!({"stability": 0.45, "similarityBoost": 0.8}));
        assert_eq!(both.voice_settings, Some(json!({"stability": 0.45, "similarity_boost": 0.8})));
        let one = settings(None, None, None, json!({"stability": 0.3, "speed": 1.1, "useSpeakerBoost": true}));
        assert_eq!(
            one.voice_settings,
            Some(json!({"stability": 0.3, "similarity_boost": 0.75, "speed": 1.1, "use_speaker_boost": true}))
        );
        let style = settings(None, None, None, json!({"style": 0.2}));
        assert_eq!(style.voice_settings, Some(json!({"stability": 0.5, "similarity_boost": 0.75, "style": 0.2})));
    }

    #[test]
    fn bad_options_are_refused() {
        let open =
            |options: Value| Settings::new(&config("", None, json!({})), &request(None, None, options)).map(|_| ());
        assert_eq!(
            open(json!({"stability": 1.5})),
            Err(ProviderError::InvalidRequest("option `stability` must be between 0 and 1, got 1.5".into()))
        );
        assert_eq!(
            open(json!({"similarityBoost": "high"})),
            Err(ProviderError::InvalidRequest("option `similarityBoost` must be a number, got a string".into()))
        );
        assert!(matches!(open(json!({"speed": 2.0})), Err(ProviderError::InvalidRequest(_))));
        assert_eq!(
            open(json!({"transport": "grpc"})),
            Err(ProviderError::InvalidRequest(
                "option `transport` must be \"websocket\" or \"http\", got \"grpc\"".into()
            ))
        );
        let http = settings(None, None, None, json!({"transport": "http"}));
        assert_eq!(http.transport, Transport::Http);
    }

    #[test]
    fn no_key_no_header() {
        let mut config = config("", None, json!({}));
        config.api_key = None;
        let settings = Settings::new(&config, &request(None, None, json!({}))).unwrap();
        assert!(settings.auth_headers().is_empty());
    }
}
