//! Replaying recorded provider traffic through an adapter's state machines, in its unit tests.

use voiceblox_plugin_kit::replay;
pub use voiceblox_plugin_kit::replay::CHUNK_SIZES;

use crate::types::{
    Action, Event, Header, HttpRequest, HttpResponse, Input, LlmEvent, ProviderConfig, TtsEvent, WsMessage,
};

/// A provider config as the host passes it: key placeholder, no prefix on the model.
pub fn config(provider: &str, model: &str, base_url: Option<&str>, options: &str) -> ProviderConfig {
    ProviderConfig {
        provider: provider.into(),
        model: model.into(),
        api_key: Some("{{api-key}}".into()),
        base_url: base_url.map(str::to_string),
        language: None,
        options: options.into(),
    }
}

/// Feeds one response (head, body in `chunk`-byte pieces, end) and collects the actions.
pub fn respond(
    handle: impl FnMut(Input) -> Vec<Action>,
    id: u32,
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
    chunk: usize,
) -> Vec<Action> {
    let headers = headers.iter().map(|(name, value)| Header { name: name.to_string(), value: value.to_string() });
    let head = HttpResponse { status, headers: headers.collect() };
    let (head, end) = (Input::HttpResponse((id, head)), Input::HttpEnd(id));
    replay::respond(handle, head, body, chunk, |bytes| Input::HttpBody((id, bytes)), end)
}

/// The single HTTP request among `actions`, with its id.
pub fn only_request(actions: &[Action]) -> (u32, HttpRequest) {
    replay::only_one(actions, "request", |action| match action {
        Action::HttpRequest((id, request)) => Some((*id, request.clone())),
        _ => None,
    })
}

/// Headers as (name, value) pairs, in order.
pub fn header_pairs(request: &HttpRequest) -> Vec<(&str, &str)> {
    request.headers.iter().map(|h| (h.name.as_str(), h.value.as_str())).collect()
}

/// The `flushed` event a TTS stream answers a `flush` with.
pub fn flushed() -> Action {
    Action::Emit(Event::Tts(TtsEvent::Flushed))
}

/// The PCM of a TTS stream's audio events, each checked to be at `rate` and to hold whole samples.
pub fn tts_pcm(actions: &[Action], rate: u32) -> Vec<u8> {
    let mut out = Vec::new();
    for action in actions {
        if let Action::Emit(Event::Tts(TtsEvent::Audio(audio))) = action {
            assert_eq!(audio.sample_rate, rate);
            assert_eq!(audio.pcm.len() % 2, 0, "audio events carry whole samples");
            out.extend_from_slice(&audio.pcm);
        }
    }
    out
}

/// The events an LLM stream emits, in order.
pub fn llm_events(actions: &[Action]) -> Vec<LlmEvent> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Emit(Event::Llm(event)) => Some(event.clone()),
            _ => None,
        })
        .collect()
}

/// The JSON of every text frame sent on a WebSocket, in order; a frame that is not JSON fails
/// the test.
pub fn sent_json(actions: &[Action]) -> Vec<serde_json::Value> {
    actions
        .iter()
        .filter_map(|action| match action {
            Action::WsSend(WsMessage::Text(text)) => {
                Some(serde_json::from_str(text).unwrap_or_else(|e| panic!("a sent frame is not JSON ({e}): {text}")))
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::TtsAudio;

    #[test]
    fn actions_are_read_by_kind() {
        let audio =
            |pcm: &[u8]| Action::Emit(Event::Tts(TtsEvent::Audio(TtsAudio { pcm: pcm.to_vec(), sample_rate: 8_000 })));
        let actions = [
            audio(&[1, 2]),
            flushed(),
            Action::WsSend(WsMessage::Text(r#"{"a":1}"#.into())),
            Action::WsSend(WsMessage::Binary(vec![0])),
            audio(&[3, 4]),
            Action::Emit(Event::Llm(LlmEvent::TextDelta("hi".into()))),
        ];
        assert_eq!(tts_pcm(&actions, 8_000), [1, 2, 3, 4]);
        assert_eq!(sent_json(&actions), [serde_json::json!({"a": 1})]);
        assert_eq!(llm_events(&actions), [LlmEvent::TextDelta("hi".into())]);
    }
}
