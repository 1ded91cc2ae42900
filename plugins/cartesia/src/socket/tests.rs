use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use super::*;
use crate::config::header;
use crate::test_support::{CHUNK_SIZES, config, messages, recording, request};
use voiceblox_plugin_contract::test_support::{flushed, sent_json as sent};
use voiceblox_plugin_contract::types::RateLimit;

const VOICE: &str = "f786b574-daa5-4673-aa0c-cbe3e8534c02";

fn stream(options: Value) -> SocketSpeech {
    let settings = Settings::new(&config("sonic-3", None, json!({})), &request(None, None, options));
    SocketSpeech::open(&settings.unwrap())
}

fn opened(options: Value) -> SocketSpeech {
    let mut stream = stream(options);
    stream.handle(Input::Start);
    stream.handle(Input::WsOpen);
    stream
}

/// A generation request as the stream sends it with default settings.
fn generation(transcript: &str, context: u32, continues: bool, flush: bool) -> Value {
    let mut frame = json!({
        "model_id": "sonic-3",
        "transcript": transcript,
        "voice": {"mode": "id", "id": VOICE},
        "output_format": {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 24000},
        "context_id": format!("voiceblox-{context}"),
        "continue": continues,
    });
    if flush {
        frame["flush"] = json!(true);
    }
    frame
}

fn close() -> Action {
    Action::WsClose(WsClose { code: 1000, reason: String::new() })
}

/// What `done` after the end of input asks for: our close, and a wait for the server's.
fn close_after_done() -> [Action; 2] {
    [close(), Action::SetTimer((CLOSE_TIMER, CLOSE_REPLY_MS))]
}

fn closed(code: u16) -> Input {
    Input::WsClosed(WsClose { code, reason: String::new() })
}

fn server(stream: &mut SocketSpeech, message: &str) -> Vec<Action> {
    stream.handle(Input::WsMessage(WsMessage::Text(message.into())))
}

/// The PCM of the audio events, each checked to hold whole samples at 24 kHz.
fn pcm(actions: &[Action]) -> Vec<u8> {
    let mut out = Vec::new();
    for action in actions {
        if let Action::Emit(Event::Tts(TtsEvent::Audio(audio))) = action {
            assert_eq!(audio.sample_rate, 24_000);
            assert!(!audio.pcm.is_empty() && audio.pcm.len() % 2 == 0, "whole samples");
            out.extend_from_slice(&audio.pcm);
        }
    }
    out
}

fn chunk(bytes: &[u8], flush_id: u32, context: u32) -> String {
    json!({
        "type": "chunk", "data": BASE64.encode(bytes), "done": false, "status_code": 206, "step_time": 10.5,
        "flush_id": flush_id, "context_id": format!("voiceblox-{context}"),
    })
    .to_string()
}

fn flush_done(flush_id: u32, context: u32) -> String {
    json!({
        "type": "flush_done", "done": false, "flush_done": true, "flush_id": flush_id, "status_code": 206,
        "context_id": format!("voiceblox-{context}"),
    })
    .to_string()
}

fn done(context: u32) -> String {
    json!({"type": "done", "done": true, "status_code": 200, "context_id": format!("voiceblox-{context}")}).to_string()
}

#[test]
fn start_connects_with_the_key_and_version_and_text_waits_for_the_socket() {
    let mut stream = stream(json!({"emotion": "calm", "maxBufferDelayMs": 250}));
    let actions = stream.handle(Input::Start);
    let [Action::WsConnect(connect)] = actions.as_slice() else { panic!("{actions:?}") };
    assert_eq!(connect.url, "wss://api.cartesia.ai/tts/websocket?cartesia_version=2025-04-16");
    assert_eq!(connect.headers, [header("X-API-Key", "{{api-key}}"), header("Cartesia-Version", "2025-04-16")]);
    assert!(stream.handle(Input::Start).is_empty(), "one connection per stream");
    assert!(stream.handle(Input::Text("Hi there, ".into())).is_empty(), "held until the socket opens");
    let mut expected = generation("Hi there, ", 1, true, false);
    expected["generation_config"] = json!({"emotion": "calm"});
    expected["max_buffer_delay_ms"] = json!(250);
    assert_eq!(sent(&stream.handle(Input::WsOpen)), [expected]);
}

#[test]
fn every_chunk_goes_out_at_once_as_a_continuation() {
    let mut stream = opened(json!({}));
    // Chunks as an LLM streams them, cut mid-word: Cartesia joins transcripts verbatim.
    let mut frames = Vec::new();
    for piece in ["Your ta", "ble is bo", "oked."] {
        frames.extend(sent(&stream.handle(Input::Text(piece.into()))));
    }
    assert_eq!(
        frames,
        [
            generation("Your ta", 1, true, false),
            generation("ble is bo", 1, true, false),
            generation("oked.", 1, true, false)
        ]
    );
    assert!(stream.handle(Input::Text(String::new())).is_empty(), "an empty chunk says nothing");
    assert_eq!(sent(&stream.handle(Input::Flush)), [generation("", 1, true, true)]);
    let actions = stream.handle(Input::Flush);
    assert!(sent(&actions).is_empty(), "nothing new: no flush is sent");
    assert!(actions.is_empty(), "and the empty flush waits for the one before it");
}

#[test]
fn recorded_session_answers_each_flush_after_its_own_audio() {
    let mut stream = opened(json!({}));
    stream.handle(Input::Text("Hello there.".into()));
    stream.handle(Input::Flush);
    stream.handle(Input::Text("How can I help?".into()));
    stream.handle(Input::Flush);
    let end = stream.handle(Input::End);
    assert_eq!(sent(&end), [generation("", 1, false, false)], "the empty last input closes the context");
    assert_eq!(end.len(), 2);
    assert_eq!(end[1], Action::SetTimer((CLOSE_TIMER, CLOSE_GRACE_MS)));
    let replies: Vec<Vec<Action>> = messages("socket_session.jsonl").iter().map(|m| server(&mut stream, m)).collect();
    assert_eq!(pcm(&replies.concat()), recording("speech_24k.pcm"), "every byte, decoded, in order");
    // Chunks 0-2 are the first group, then its flush_done; chunks 4-5 the second, its flush_done.
    for i in [0, 1, 2, 4, 5] {
        assert!(!replies[i].contains(&flushed()), "message {i}: {:?}", replies[i]);
    }
    assert_eq!(replies[3], [flushed()]);
    assert_eq!(replies[6], [flushed()]);
    assert_eq!(replies[7], close_after_done(), "done: every flush answered, the socket closing");
    assert!(server(&mut stream, &done(1)).is_empty(), "nothing more while closing");
    assert_eq!(stream.handle(closed(1000)), [Action::Finish], "finished once the server answered the close");
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
            actions.extend(server(&mut stream, &chunk(piece, 1, 1)));
        }
        assert_eq!(pcm(&actions), audio, "chunk size {size}");
        assert!(!actions.contains(&flushed()), "chunk size {size}");
        assert_eq!(server(&mut stream, &flush_done(1, 1)), [flushed()]);
    }
}

#[test]
fn a_missed_flush_done_is_answered_by_later_audio_or_done() {
    let mut stream = opened(json!({}));
    stream.handle(Input::Text("One.".into()));
    stream.handle(Input::Flush);
    stream.handle(Input::Text("Two.".into()));
    stream.handle(Input::Flush);
    assert!(pcm(&server(&mut stream, &chunk(&[1, 0], 1, 1))).len() == 2);
    let second_group = server(&mut stream, &chunk(&[2, 0], 2, 1));
    assert_eq!(second_group.last(), Some(&flushed()), "group 2 audio: group 1 is complete");
    stream.handle(Input::Text("Three.".into()));
    stream.handle(Input::End);
    assert_eq!(server(&mut stream, &done(1)), [[flushed(), flushed()].as_slice(), &close_after_done()].concat());
    // A server that never answers the close: the audio is complete, the stream still finishes.
    assert_eq!(stream.handle(Input::Timer(CLOSE_TIMER)), [Action::Finish]);
}

#[test]
fn text_left_unflushed_at_the_end_is_spoken_and_answered_at_done() {
    let mut stream = stream(json!({}));
    stream.handle(Input::Start);
    stream.handle(Input::Text("Short.".into()));
    // The end before the socket opened is queued behind the text.
    assert_eq!(stream.handle(Input::End), [Action::SetTimer((CLOSE_TIMER, CLOSE_GRACE_MS))]);
    assert_eq!(
        sent(&stream.handle(Input::WsOpen)),
        [generation("Short.", 1, true, false), generation("", 1, false, false)]
    );
    let mut actions = server(&mut stream, &chunk(&[7, 0, 8], 1, 1));
    actions.extend(server(&mut stream, &chunk(&[0], 1, 1)));
    assert_eq!(pcm(&actions), [7, 0, 8, 0]);
    assert_eq!(server(&mut stream, &done(1)), [[flushed()].as_slice(), &close_after_done()].concat());
    // A close without a status answers ours too.
    assert_eq!(stream.handle(closed(1005)), [Action::Finish]);
}

#[test]
fn nothing_to_say_finishes_without_waiting() {
    let mut stream = opened(json!({}));
    assert_eq!(stream.handle(Input::Flush), [flushed()]);
    assert_eq!(stream.handle(Input::End), [close(), Action::Finish]);
    let mut never_started = self::stream(json!({}));
    assert_eq!(never_started.handle(Input::End), [Action::Finish]);
}

#[test]
fn a_context_ended_early_is_replaced_by_a_new_one() {
    let mut stream = opened(json!({}));
    stream.handle(Input::Text("First.".into()));
    stream.handle(Input::Flush);
    assert_eq!(server(&mut stream, &done(1)), [flushed()], "done before the end answers what was asked");
    assert_eq!(sent(&stream.handle(Input::Text("Second.".into()))), [generation("Second.", 2, true, false)]);
    assert!(server(&mut stream, &chunk(&[9, 9], 1, 1)).is_empty(), "audio of the old context is ignored");
    assert_eq!(sent(&stream.handle(Input::Flush)), [generation("", 2, true, true)]);
    assert_eq!(server(&mut stream, &flush_done(1, 2)), [flushed()]);
}

#[test]
fn server_error_messages_fail_the_stream() {
    let mut stream = opened(json!({}));
    stream.handle(Input::Text("Hello.".into()));
    let actions = server(&mut stream, &messages("socket_error_voice.json")[0]);
    assert_eq!(
        actions,
        [Action::Fail(ProviderError::InvalidRequest(
            "cartesia error 400: Voice with id 'nope' was not found. (voice_not_found)".into()
        ))]
    );
    assert!(stream.handle(Input::WsClosed(WsClose { code: 1000, reason: String::new() })).is_empty());

    let mut stream = opened(json!({}));
    stream.handle(Input::Text("Hello.".into()));
    let actions = server(&mut stream, &messages("socket_error_credits.json")[0]);
    assert!(
        matches!(actions.as_slice(), [Action::Fail(ProviderError::Unauthorized(m))] if m.contains("insufficient_credits")),
        "{actions:?}"
    );
}

#[test]
fn an_early_close_or_garbage_fails_the_stream() {
    // A key refused at the handshake never reaches the plugin: the host reports the HTTP 401.
    let mut stream = opened(json!({}));
    stream.handle(Input::Text("Hello.".into()));
    assert_eq!(
        stream.handle(Input::WsClosed(WsClose { code: 1000, reason: String::new() })),
        [Action::Fail(ProviderError::Unavailable("cartesia closed the stream before it was done".into()))]
    );
    let mut stream = opened(json!({}));
    assert_eq!(
        stream.handle(Input::WsClosed(WsClose { code: 4429, reason: String::new() })),
        [Action::Fail(ProviderError::RateLimited(RateLimit {
            message: "cartesia closed the stream with code 4429".into(),
            retry_after_ms: None
        }))]
    );
    let mut stream = opened(json!({}));
    assert!(matches!(server(&mut stream, "{not json").as_slice(), [Action::Fail(ProviderError::Protocol(_))]));
}

#[test]
fn a_server_that_never_finishes_times_out() {
    let mut stream = opened(json!({}));
    stream.handle(Input::Text("Hello.".into()));
    assert!(stream.handle(Input::Timer(CLOSE_TIMER)).is_empty(), "no grace period before the end");
    stream.handle(Input::End);
    assert!(stream.handle(Input::Timer(99)).is_empty(), "unknown timers are ignored");
    assert_eq!(
        stream.handle(Input::Timer(CLOSE_TIMER)),
        [
            close(),
            Action::Fail(ProviderError::Timeout(
                "cartesia did not finish speaking within 15 s of the end of input".into()
            ))
        ]
    );
}
