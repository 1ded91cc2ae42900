//! A synthesis stream on the configured transport.

use crate::config::{Settings, Transport};
use crate::http::HttpSpeech;
use crate::socket::SocketSpeech;
use voiceblox_plugin_contract::types::{Action, Input, ProviderConfig, ProviderError};
use voiceblox_plugin_sdk::tts::Request;

#[derive(Debug)]
pub enum Speech {
    WebSocket(SocketSpeech),
    Http(HttpSpeech),
}

impl Speech {
    /// Validates the configuration; nothing is sent before `start`.
    pub fn open(config: &ProviderConfig, request: &Request) -> Result<Self, ProviderError> {
        let settings = Settings::new(config, request)?;
        Ok(match settings.transport {
            Transport::WebSocket => Speech::WebSocket(SocketSpeech::open(&settings)),
            Transport::Http => Speech::Http(HttpSpeech::open(&settings)),
        })
    }

    pub fn handle(&mut self, input: Input) -> Vec<Action> {
        match self {
            Speech::WebSocket(stream) => stream.handle(input),
            Speech::Http(stream) => stream.handle(input),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::test_support::{config, request};

    #[test]
    fn the_transport_option_picks_the_stream() {
        let config = config("sonic-3", None, json!({}));
        let mut ws = Speech::open(&config, &request(None, None, json!({}))).unwrap();
        assert!(matches!(ws.handle(Input::Start).as_slice(), [Action::WsConnect(_)]));
        let mut http = Speech::open(&config, &request(None, None, json!({"transport": "http"}))).unwrap();
        assert!(http.handle(Input::Start).is_empty());
        assert!(matches!(
            Speech::open(&config, &request(None, None, json!({"speed": 3}))),
            Err(ProviderError::InvalidRequest(_))
        ));
    }
}
