use serde_json::json;

use super::*;
use crate::test_support::{config, messages, request};
use voiceblox_plugin_contract::types::{Header, RateLimit, Transcript, Word};

fn transcription(language: Option<&str>) -> Transcription {
    let mut config = config("", None, json!({}));
    config.language = language.map(str::to_string);
    Transcription::open(&config, &request(&["Bistro Verde"], false, false, Some(300), json!({}))).unwrap()
}

fn opened(language: Option<&str>) -> Transcription {
    let mut stream = transcription(language);
    stream.handle(Input::Start);
    stream.handle(Input::WsOpen);
    stream
}

fn text(message: &str) -> Action {
    Action::WsSend(WsMessage::Text(message.into()))
}

fn binary(samples: &[i16]) -> Action {
    Action::WsSend(WsMessage::Binary(samples.iter().flat_map(|s| s.to_le_bytes()).collect()))
}

fn stt(event: SttEvent) -> Action {
    Action::Emit(Event::Stt(event))
}

fn closed(code: u16, reason: &str) -> Input {
    Input::WsClosed(WsClose { code, reason: reason.into() })
}

fn word(text: &str, start_ms: u32, end_ms: u32, confidence: f32) -> Word {
    Word { text: text.into(), start_ms, end_ms, confidence, speaker: None }
}

fn replay(stream: &mut Transcription, name: &str) -> Vec<Action> {
    messages(name).into_iter().flat_map(|m| stream.handle(Input::WsMessage(WsMessage::Text(m)))).collect()
}

fn finals(actions: &[Action]) -> Vec<&Transcript> {
    actions
        .iter()
        .filter_map(|a| if let Action::Emit(Event::Stt(SttEvent::Final(t))) = a { Some(t) } else { None })
        .collect()
}

fn interims(actions: &[Action]) -> Vec<&str> {
    actions
        .iter()
        .filter_map(
            |a| if let Action::Emit(Event::Stt(SttEvent::Interim(t))) = a { Some(t.text.as_str()) } else { None },
        )
        .collect()
}

#[test]
fn start_connects_with_the_key_in_the_authorization_header() {
    let mut stream = transcription(Some("en"));
    let actions = stream.handle(Input::Start);
    let [Action::WsConnect(connect)] = actions.as_slice() else { panic!("{actions:?}") };
    assert_eq!(
        connect.url,
        "wss://streaming.assemblyai.com/v3/ws?speech_model=universal-streaming-english&sample_rate=16000\
         &encoding=pcm_s16le&format_turns=true&min_turn_silence=300&keyterms_prompt=%5B%22Bistro%20Verde%22%5D"
    );
    assert_eq!(connect.headers, [Header { name: "Authorization".into(), value: "{{api-key}}".into() }]);
    assert!(stream.handle(Input::Start).is_empty(), "one connection per stream");
}

#[test]
fn audio_before_open_is_buffered_in_fifty_ms_messages_then_sent_in_order() {
    let mut stream = transcription(None);
    stream.handle(Input::Start);
    assert!(stream.handle(Input::Audio(vec![1; 320])).is_empty());
    assert!(stream.handle(Input::Audio(vec![2; 320])).is_empty());
    assert!(stream.handle(Input::Audio(Vec::new())).is_empty(), "empty frames are never sent");
    assert!(stream.handle(Input::Audio(vec![3; 320])).is_empty());
    assert!(stream.handle(Input::Flush).is_empty());
    assert!(stream.handle(Input::Audio(vec![4; 320])).is_empty());
    let first: Vec<i16> = [vec![1; 320], vec![2; 320], vec![3; 320]].concat();
    assert_eq!(stream.handle(Input::WsOpen), [binary(&first), text(r#"{"type":"ForceEndpoint"}"#)]);
    // The 20 ms left behind goes out with the next 40 ms.
    assert!(stream.handle(Input::Audio(vec![5; 320])).is_empty());
    assert_eq!(
        stream.handle(Input::Audio(vec![6; 320])),
        [binary(&[vec![4; 320], vec![5; 320], vec![6; 320]].concat())]
    );
}

#[test]
fn an_unformatted_end_of_turn_waits_for_the_formatted_copy() {
    let mut stream = opened(Some("en-US"));
    let actions = replay(&mut stream, "session_formatted_copy.jsonl");
    let en = Some("en-US".to_string());
    let words = vec![
        word("Book", 1200, 1520, 0.912455),
        word("a", 1520, 1600, 0.954771),
        word("table", 1600, 1980, 0.998103),
        word("for", 1980, 2160, 0.987662),
        word("two.", 2160, 2600, 0.965801),
    ];
    let confidence = words.iter().map(|w| w.confidence).sum::<f32>() / 5.0;
    assert_eq!(actions[0], stt(SttEvent::SpeechStarted(1180)));
    assert_eq!(interims(&actions), ["book", "book a", "book a table for two", "book a table for two"]);
    assert_eq!(
        finals(&actions),
        [&Transcript {
            text: "Book a table for two.".into(),
            words,
            confidence,
            language: en,
            start_ms: 1200,
            end_ms: 2600,
            speech_final: true,
        }]
    );
    assert_eq!(actions.last(), Some(&stt(SttEvent::SpeechEnded(2600))));
}

#[test]
fn in_model_formatting_gives_one_final_per_turn() {
    let mut stream = opened(None);
    let actions = replay(&mut stream, "session_in_model_formatting.jsonl");
    assert_eq!(interims(&actions), ["Hi", "Hi, I'm", "Bye"]);
    let finals = finals(&actions);
    assert_eq!(finals.len(), 1, "{actions:?}");
    assert_eq!(finals[0].text, "Hi, I'm Sonny.");
    assert_eq!((finals[0].start_ms, finals[0].end_ms), (2160, 3600));
    assert_eq!(finals[0].language, None);
}

#[test]
fn a_held_end_of_turn_is_released_by_termination() {
    let mut stream = opened(None);
    let mut session = messages("session_formatted_copy.jsonl");
    // The formatted copy never comes: Termination follows the unformatted end of turn.
    session.remove(session.len() - 2);
    let actions: Vec<Action> =
        session.into_iter().flat_map(|m| stream.handle(Input::WsMessage(WsMessage::Text(m)))).collect();
    let finals = finals(&actions);
    assert_eq!(finals.len(), 1);
    assert_eq!(finals[0].text, "book a table for two");
}

#[test]
fn flush_forces_the_endpoint_and_end_terminates_after_the_server_does() {
    let mut stream = opened(None);
    assert_eq!(stream.handle(Input::Flush), [text(r#"{"type":"ForceEndpoint"}"#)]);
    stream.handle(Input::Audio(vec![9; 320]));
    assert_eq!(
        stream.handle(Input::End),
        [
            binary(&[vec![9; 320], vec![0; 480]].concat()),
            text(r#"{"type":"Terminate"}"#),
            Action::SetTimer((1, 10_000))
        ],
        "the last 20 ms are padded to the 50 ms minimum"
    );
    assert!(stream.handle(Input::Audio(vec![1; 800])).is_empty(), "no audio after end");
    assert!(stream.handle(Input::Flush).is_empty());
    let last = r#"{"turn_order":4,"turn_is_formatted":true,"end_of_turn":true,"transcript":"Bye.","words":[{"start":100,"end":400,"text":"Bye.","confidence":0.9,"word_is_final":true}],"type":"Turn"}"#;
    assert_eq!(finals(&stream.handle(Input::WsMessage(WsMessage::Text(last.into())))).len(), 1, "turns still arrive");
    let termination = r#"{"type":"Termination","audio_duration_seconds":1,"session_duration_seconds":2}"#;
    assert!(stream.handle(Input::WsMessage(WsMessage::Text(termination.into()))).is_empty());
    assert_eq!(stream.handle(closed(1000, "")), [Action::Finish]);
    assert!(stream.handle(Input::Timer(1)).is_empty(), "a stale timer after the end is ignored");
}

#[test]
fn end_before_open_terminates_right_after_the_buffered_audio() {
    let mut stream = transcription(None);
    stream.handle(Input::Start);
    stream.handle(Input::Audio(vec![5; 900]));
    assert!(stream.handle(Input::End).is_empty());
    assert_eq!(
        stream.handle(Input::WsOpen),
        [binary(&[5; 900]), text(r#"{"type":"Terminate"}"#), Action::SetTimer((1, 10_000)),]
    );
    assert_eq!(stream.handle(closed(1005, "")), [Action::Finish]);
}

#[test]
fn end_without_start_finishes() {
    let mut stream = transcription(None);
    assert_eq!(stream.handle(Input::End), [Action::Finish]);
}

#[test]
fn close_timeout_after_termination_finishes() {
    let mut stream = opened(None);
    stream.handle(Input::End);
    let termination = messages("session_formatted_copy.jsonl").pop().unwrap();
    assert!(stream.handle(Input::WsMessage(WsMessage::Text(termination))).is_empty());
    assert_eq!(
        stream.handle(Input::Timer(1)),
        [Action::WsClose(WsClose { code: 1000, reason: String::new() }), Action::Finish]
    );
}

#[test]
fn close_timeout_without_termination_fails() {
    let mut stream = opened(None);
    stream.handle(Input::End);
    assert_eq!(
        stream.handle(Input::Timer(1)),
        [
            Action::WsClose(WsClose { code: 1000, reason: String::new() }),
            Action::Fail(ProviderError::Timeout(
                "assemblyai did not finish the stream within 10 s of Terminate".into()
            )),
        ]
    );
}

#[test]
fn server_close_before_end_fails_classified_without_retrying_auth() {
    let rate_limited =
        |message: &str| ProviderError::RateLimited(RateLimit { message: message.into(), retry_after_ms: None });
    for (code, reason, expected) in [
        (
            1008,
            "Unauthorized Connection: Invalid API key",
            ProviderError::Unauthorized(
                "assemblyai closed the stream with code 1008: Unauthorized Connection: Invalid API key".into(),
            ),
        ),
        (
            3009,
            "Unauthorized Connection: Too many concurrent sessions",
            rate_limited(
                "assemblyai closed the stream with code 3009: Unauthorized Connection: Too many concurrent sessions",
            ),
        ),
        (
            1011,
            "",
            ProviderError::Unavailable("assemblyai closed the stream with code 1011 (internal server error)".into()),
        ),
        (1000, "", ProviderError::Unavailable("assemblyai closed the stream before it was ended".into())),
    ] {
        let mut stream = opened(None);
        assert_eq!(stream.handle(closed(code, reason)), [Action::Fail(expected)], "{code} {reason}");
        assert!(stream.handle(Input::Audio(vec![1; 800])).is_empty(), "a failed stream is over");
    }
}

#[test]
fn a_close_with_an_error_while_closing_still_fails() {
    let mut stream = opened(None);
    stream.handle(Input::End);
    assert!(matches!(
        stream.handle(closed(3005, "Session Cancelled: An error occurred")).as_slice(),
        [Action::Fail(ProviderError::Unavailable(_))]
    ));
}

#[test]
fn an_error_message_fails_the_stream_naming_the_session() {
    let mut stream = opened(None);
    let begin = messages("session_formatted_copy.jsonl").remove(0);
    assert!(stream.handle(Input::WsMessage(WsMessage::Text(begin))).is_empty());
    let error = messages("error_message.json").remove(0);
    assert_eq!(
        stream.handle(Input::WsMessage(WsMessage::Text(error))),
        [Action::Fail(ProviderError::InvalidRequest(
            "assemblyai error 3006: Invalid Message Type: Finalize (session 5a1b3c9e-2f4d-4e7a-9b0c-6d8e1f2a3b4c)"
                .into()
        ))]
    );
}

#[test]
fn a_malformed_message_is_a_protocol_error() {
    let mut stream = opened(None);
    let actions = replay(&mut stream, "malformed.jsonl");
    let [Action::Fail(ProviderError::Protocol(message))] = actions.as_slice() else { panic!("{actions:?}") };
    assert!(message.starts_with("malformed message (EOF while parsing"), "{message}");
}

#[test]
fn binary_and_http_inputs_are_ignored() {
    let mut stream = opened(None);
    assert!(stream.handle(Input::WsMessage(WsMessage::Binary(vec![1, 2]))).is_empty());
    assert!(stream.handle(Input::HttpEnd(1)).is_empty());
    assert!(stream.handle(Input::Text("x".into())).is_empty());
    assert!(stream.handle(Input::Timer(99)).is_empty());
}

#[test]
fn a_socket_that_never_opens_is_given_up() {
    let mut stream = transcription(None);
    stream.handle(Input::Start);
    // 10 s of 20 ms frames at 16 kHz fill the buffer (sent on as 60 ms messages); more fails.
    let mut failed = None;
    for frame in 0..600 {
        let actions = stream.handle(Input::Audio(vec![0; 320]));
        if !actions.is_empty() {
            failed = Some((frame, actions));
            break;
        }
    }
    let (frame, actions) = failed.expect("the buffer is bounded");
    assert!(frame >= 500, "not before 10 s: {frame}");
    assert_eq!(
        actions,
        [Action::Fail(ProviderError::Unavailable("the transcription socket did not open within 10 s of audio".into()))]
    );
}

#[test]
fn flush_sends_the_held_audio_padded_then_maps_server_times_back() {
    let mut stream = opened(None);
    for frame in 1..=4 {
        stream.handle(Input::Audio(vec![frame; 320]));
    }
    assert_eq!(
        stream.handle(Input::Flush),
        [binary(&[vec![4; 320], vec![0; 480]].concat()), text(r#"{"type":"ForceEndpoint"}"#)],
        "the last 20 ms are padded to 50 ms so the turn ends after all of them"
    );
    // The server counts the 30 ms of padding (80–110 ms): its 120 ms is the host's 90 ms.
    let turn = r#"{"turn_order":0,"turn_is_formatted":true,"end_of_turn":true,"transcript":"Yes.","words":[{"start":40,"end":120,"text":"Yes.","confidence":0.9,"word_is_final":true}],"type":"Turn"}"#;
    let actions = stream.handle(Input::WsMessage(WsMessage::Text(turn.into())));
    let [final_] = finals(&actions)[..] else { panic!("{actions:?}") };
    assert_eq!((final_.words[0].start_ms, final_.words[0].end_ms), (40, 90));
    let started = r#"{"type":"SpeechStarted","timestamp":200}"#;
    assert_eq!(stream.handle(Input::WsMessage(WsMessage::Text(started.into()))), [stt(SttEvent::SpeechStarted(170))]);
}
