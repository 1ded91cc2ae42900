use serde_json::{Value, json};

use super::*;
use crate::config::header;
use crate::test_support::{CHUNK_SIZES, config, messages, recording, request};
use voiceblox_plugin_contract::test_support::{flushed, sent_json as sent};
use voiceblox_plugin_contract::types::RateLimit;

fn stream(options: Value) -> StreamInput {
    let settings = Settings::new(&config("eleven_flash_v2_5", None, json!({})), &request(None, None, options));
    StreamInput::open(&settings.unwrap())
}

fn opened(options: Value) -> StreamInput {
    let mut stream = stream(options);
    stream.handle(Input::Start);
    stream.handle(Input::WsOpen);
    stream
}

fn server(stream: &mut StreamInput, message: &str) -> Vec<Action> {
    stream.handle(Input::WsMessage(WsMessage::Text(message.into())))
}

fn replay(stream: &mut StreamInput, name: &str) -> Vec<Action> {
    messages(name).iter().flat_map(|m| server(stream, m)).collect()
}

/// The PCM of the audio events, each checked to hold whole samples at `rate`.
fn pcm(actions: &[Action], rate: u32) -> Vec<u8> {
    let mut out = Vec::new();
    for action in actions {
        if let Action::Emit(Event::Tts(TtsEvent::Audio(audio))) = action {
            assert_eq!(audio.sample_rate, rate);
            assert!(!audio.pcm.is_empty() && audio.pcm.len() % 2 == 0, "whole samples");
            out.extend_from_slice(&audio.pcm);
        }
    }
    out
}

/// Standard base64, for making server messages out of recorded PCM.
fn encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn start_connects_with_the_key_header_and_sends_the_init_message_first() {
    let mut stream = stream(json!({"stability": 0.45, "similarityBoost": 0.8}));
    let actions = stream.handle(Input::Start);
    let [Action::WsConnect(connect)] = actions.as_slice() else { panic!("{actions:?}") };
    assert_eq!(
        connect.url,
        "wss://api.elevenlabs.io/v1/text-to-speech/21m00Tcm4TlvDq8ikWAM/stream-input?model_id=eleven_flash_v2_5\
         &output_format=pcm_24000&sync_alignment=true&inactivity_timeout=180"
    );
    assert_eq!(connect.headers, [header("xi-api-key", "{{api-key}}")]);
    assert!(stream.handle(Input::Start).is_empty(), "one connection per stream");
    assert!(stream.handle(Input::Text("Hi there, ".into())).is_empty(), "held until the socket opens");
    assert_eq!(
        sent(&stream.handle(Input::WsOpen)),
        [
            json!({"text": " ", "voice_settings": {"stability": 0.45, "similarity_boost": 0.8}}),
            json!({"text": "Hi there, "}),
        ]
    );
}

#[test]
fn text_goes_out_word_by_word_as_it_arrives() {
    let mut stream = opened(json!({}));
    // Chunks as an LLM streams them: cut mid-word.
    let mut frames = Vec::new();
    for chunk in ["Your ta", "ble is bo", "oked for", " eight", " tonight."] {
        frames.extend(sent(&stream.handle(Input::Text(chunk.into()))));
    }
    assert_eq!(
        frames,
        [
            json!({"text": "Your "}),
            json!({"text": "table is "}),
            json!({"text": "booked "}),
            json!({"text": "for "}),
            json!({"text": "eight "})
        ]
    );
    assert_eq!(sent(&stream.handle(Input::Flush)), [json!({"text": "tonight. ", "flush": true})]);
    // A flush with nothing new sends nothing; a flush after whole words still forces them out.
    stream.handle(Input::Text("See you. ".into()));
    assert_eq!(sent(&stream.handle(Input::Flush)), [json!({"text": " ", "flush": true})]);
    let actions = stream.handle(Input::Flush);
    assert!(sent(&actions).is_empty());
}

#[test]
fn recorded_session_plays_flushes_in_order_and_ends_cleanly() {
    let mut stream = opened(json!({}));
    stream.handle(Input::Text("Hello there.".into()));
    assert!(stream.handle(Input::Flush).iter().all(|a| matches!(a, Action::WsSend(_))));
    stream.handle(Input::Text("How can I help?".into()));
    stream.handle(Input::Flush);
    let end = stream.handle(Input::End);
    assert_eq!(
        end,
        [Action::WsSend(WsMessage::Text(r#"{"text":""}"#.into())), Action::SetTimer((CLOSE_TIMER, CLOSE_GRACE_MS))]
    );
    let messages = messages("stream_input_session.jsonl");
    let actions: Vec<Vec<Action>> = messages.iter().map(|m| server(&mut stream, m)).collect();
    let audio = recording("speech_24k.pcm");
    assert_eq!(pcm(&actions.concat(), 24_000), audio, "every byte, decoded, in order");
    // " Hello" alone does not finish "Hello there."; " there." does, after its own audio.
    assert!(!actions[0].contains(&flushed()));
    assert_eq!(actions[1].last(), Some(&flushed()));
    assert!(!actions[2].contains(&flushed()));
    assert_eq!(actions[3].iter().filter(|a| **a == flushed()).count(), 1);
    assert!(actions[4].is_empty(), "isFinal: nothing left to answer");
    assert_eq!(stream.handle(Input::WsClosed(WsClose { code: 1000, reason: String::new() })), [Action::Finish]);
    assert!(stream.handle(Input::Text("late".into())).is_empty());
}

#[test]
fn audio_split_anywhere_comes_out_in_whole_samples() {
    let audio = recording("speech_24k.pcm");
    for &size in CHUNK_SIZES {
        let mut stream = opened(json!({}));
        stream.handle(Input::Text("Hello.".into()));
        stream.handle(Input::Flush);
        let mut actions = Vec::new();
        for piece in audio.chunks(size.min(audio.len())) {
            actions.extend(server(&mut stream, &json!({"audio": encode(piece), "isFinal": null}).to_string()));
        }
        assert_eq!(pcm(&actions, 24_000), audio, "chunk size {size}");
        let last = server(&mut stream, r#"{"audio":null,"isFinal":true}"#);
        assert_eq!(last, [flushed()], "without alignment the flush is answered at isFinal");
    }
}

#[test]
fn end_before_open_is_sent_once_the_socket_opens() {
    let mut stream = stream(json!({"transport": "websocket"}));
    stream.handle(Input::Start);
    stream.handle(Input::Text("Short.".into()));
    assert!(stream.handle(Input::End).is_empty());
    let frames = stream.handle(Input::WsOpen);
    assert_eq!(sent(&frames), [json!({"text": " "}), json!({"text": "Short. ", "flush": true}), json!({"text": ""})]);
    assert_eq!(frames.last(), Some(&Action::SetTimer((CLOSE_TIMER, CLOSE_GRACE_MS))));
    // A close without a status after the end of input is normal too; the flush is answered.
    assert_eq!(
        stream.handle(Input::WsClosed(WsClose { code: 1005, reason: String::new() })),
        [flushed(), Action::Finish]
    );
}

#[test]
fn nothing_to_say_finishes_without_waiting() {
    let mut stream = opened(json!({}));
    assert_eq!(stream.handle(Input::Flush), [flushed()]);
    stream.handle(Input::Text("  ".into()));
    assert_eq!(
        stream.handle(Input::End),
        [Action::WsClose(WsClose { code: 1000, reason: String::new() }), Action::Finish]
    );
    let mut never_started = stream_default();
    assert_eq!(never_started.handle(Input::End), [Action::Finish]);
}

fn stream_default() -> StreamInput {
    stream(json!({}))
}

#[test]
fn a_server_error_message_fails_the_stream() {
    let mut stream = opened(json!({}));
    stream.handle(Input::Text("Hello.".into()));
    stream.handle(Input::Flush);
    let actions = replay(&mut stream, "stream_input_error_quota.json");
    assert_eq!(
        actions,
        [Action::Fail(ProviderError::Unauthorized(
            "elevenlabs error: This request exceeds your quota of 10000. You have 3 credits remaining, while 15 \
             credits are required for this request. (quota_exceeded)"
                .into()
        ))]
    );
    assert!(stream.handle(Input::WsClosed(WsClose { code: 1008, reason: "quota".into() })).is_empty());

    let mut stream = opened(json!({}));
    let actions = replay(&mut stream, "stream_input_error_invalid_message.json");
    assert!(matches!(actions.as_slice(), [Action::Fail(ProviderError::InvalidRequest(_))]), "{actions:?}");
}

#[test]
fn a_refused_key_or_early_close_fails_the_stream() {
    // The host refuses a handshake answered with HTTP 401 itself; a key refused after the
    // upgrade arrives as a 1008 close whose reason says so.
    let mut stream = opened(json!({}));
    stream.handle(Input::Text("Hello.".into()));
    assert_eq!(
        stream.handle(Input::WsClosed(WsClose { code: 1008, reason: "Invalid API key".into() })),
        [Action::Fail(ProviderError::Unauthorized(
            "elevenlabs closed the stream with code 1008: Invalid API key".into()
        ))]
    );
    let mut stream = opened(json!({}));
    assert_eq!(
        stream.handle(Input::WsClosed(WsClose { code: 1000, reason: String::new() })),
        [Action::Fail(ProviderError::Unavailable("elevenlabs closed the stream before it was ended".into()))]
    );
    let mut stream = opened(json!({}));
    assert_eq!(
        stream.handle(Input::WsClosed(WsClose { code: 4429, reason: String::new() })),
        [Action::Fail(ProviderError::RateLimited(RateLimit {
            message: "elevenlabs closed the stream with code 4429".into(),
            retry_after_ms: None
        }))]
    );
    let mut stream = opened(json!({}));
    assert!(matches!(server(&mut stream, "{not json").as_slice(), [Action::Fail(ProviderError::Protocol(_))]));
}

#[test]
fn a_server_that_never_closes_times_out() {
    let mut stream = opened(json!({}));
    stream.handle(Input::Text("Hello.".into()));
    stream.handle(Input::End);
    assert!(stream.handle(Input::Timer(99)).is_empty(), "unknown timers are ignored");
    assert_eq!(
        stream.handle(Input::Timer(CLOSE_TIMER)),
        [
            Action::WsClose(WsClose { code: 1000, reason: String::new() }),
            Action::Fail(ProviderError::Timeout(
                "elevenlabs did not finish speaking within 15 s of the end of input".into()
            ))
        ]
    );
    // After isFinal only the close was slow: the stream still finishes.
    let mut stream = opened(json!({}));
    stream.handle(Input::Text("Hello.".into()));
    stream.handle(Input::End);
    assert_eq!(server(&mut stream, r#"{"audio":null,"isFinal":true}"#), [flushed()]);
    assert_eq!(
        stream.handle(Input::Timer(CLOSE_TIMER)),
        [Action::WsClose(WsClose { code: 1000, reason: String::new() }), Action::Finish]
    );
}
