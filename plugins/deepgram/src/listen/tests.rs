use serde_json::json;

use super::*;
use crate::config::header;
use crate::test_support::{config, messages, recording, stt_request};
use voiceblox_plugin_contract::types::{RateLimit, SttEvent, Transcript, Word};

fn listen(language: Option<&str>, detect: bool, diarize: bool) -> Listen {
    let mut config = config("nova-3", None, json!({}));
    config.language = language.map(str::to_string);
    Listen::open(&config, &stt_request(&[], detect, diarize, Some(300), json!({}))).unwrap()
}

fn opened(language: Option<&str>) -> Listen {
    let mut listen = listen(language, false, false);
    listen.handle(Input::Start);
    listen.handle(Input::WsOpen);
    listen
}

fn text(message: &str) -> Action {
    Action::WsSend(WsMessage::Text(message.into()))
}

fn stt(event: SttEvent) -> Action {
    Action::Emit(Event::Stt(event))
}

fn word(text: &str, start_ms: u32, end_ms: u32, confidence: f32) -> Word {
    Word { text: text.into(), start_ms, end_ms, confidence, speaker: None }
}

fn replay(listen: &mut Listen, name: &str) -> Vec<Action> {
    messages(name).into_iter().flat_map(|m| listen.handle(Input::WsMessage(WsMessage::Text(m)))).collect()
}

#[test]
fn start_connects_with_token_auth() {
    let mut listen = listen(Some("en-US"), false, false);
    let actions = listen.handle(Input::Start);
    let [Action::WsConnect(connect)] = actions.as_slice() else { panic!("{actions:?}") };
    assert_eq!(
        connect.url,
        "wss://api.deepgram.com/v1/listen?model=nova-3&encoding=linear16&sample_rate=16000&channels=1\
         &interim_results=true&endpointing=300&vad_events=true&utterance_end_ms=1000&smart_format=true\
         &punctuate=true&language=en-US"
    );
    assert_eq!(connect.headers, [header("Authorization", "Token {{api-key}}")]);
    assert!(listen.handle(Input::Start).is_empty(), "one connection per stream");
}

#[test]
fn audio_before_open_is_buffered_then_sent_in_order() {
    let mut listen = listen(None, false, false);
    listen.handle(Input::Start);
    assert!(listen.handle(Input::Audio(vec![1, -2])).is_empty());
    assert!(listen.handle(Input::Audio(Vec::new())).is_empty(), "empty frames are never sent");
    assert!(listen.handle(Input::Flush).is_empty());
    assert!(listen.handle(Input::Audio(vec![0x0102])).is_empty());
    assert_eq!(
        listen.handle(Input::WsOpen),
        [
            Action::WsSend(WsMessage::Binary(vec![1, 0, 0xFE, 0xFF])),
            text(r#"{"type":"Finalize"}"#),
            Action::WsSend(WsMessage::Binary(vec![2, 1])),
            Action::SetTimer((1, 2500)),
        ]
    );
    assert_eq!(listen.handle(Input::Audio(vec![3])), [Action::WsSend(WsMessage::Binary(vec![3, 0]))]);
}

#[test]
fn recorded_session_becomes_canonical_events() {
    let mut listen = opened(Some("en-US"));
    let actions = replay(&mut listen, "listen_session.jsonl");
    let en = Some("en-US".to_string());
    assert_eq!(
        actions,
        [
            stt(SttEvent::SpeechStarted(1160)),
            stt(SttEvent::Interim(Transcript {
                text: "book a".into(),
                words: vec![word("Book", 1200, 1520, 0.93), word("a", 1520, 1600, 0.88)],
                confidence: 0.91,
                language: en.clone(),
                start_ms: 0,
                end_ms: 2020,
                speech_final: false,
            })),
            stt(SttEvent::Interim(Transcript {
                text: "book a table for two".into(),
                words: vec![
                    word("Book", 1200, 1520, 0.97),
                    word("a", 1520, 1600, 0.96),
                    word("table", 1600, 1980, 0.99),
                    word("for", 1980, 2160, 0.98),
                    word("two", 2160, 2560, 0.95),
                ],
                confidence: 0.968,
                language: en.clone(),
                start_ms: 0,
                end_ms: 3040,
                speech_final: false,
            })),
            stt(SttEvent::Final(Transcript {
                text: "Book a table for two".into(),
                words: vec![
                    word("Book", 1200, 1520, 0.9980469),
                    word("a", 1520, 1600, 0.99560547),
                    word("table", 1600, 1980, 0.99902344),
                    word("for", 1980, 2160, 0.9975586),
                    word("two", 2160, 2600, 0.9892578),
                ],
                confidence: 0.9975586,
                language: en.clone(),
                start_ms: 0,
                end_ms: 2700,
                speech_final: false,
            })),
            stt(SttEvent::Final(Transcript {
                text: "at 8 PM.".into(),
                words: vec![
                    word("at", 2720, 2880, 0.99316406),
                    word("8", 2880, 3100, 0.98046875),
                    word("PM.", 3100, 3500, 0.9584961),
                ],
                confidence: 0.98046875,
                language: en.clone(),
                start_ms: 2700,
                end_ms: 3800,
                speech_final: true,
            })),
            stt(SttEvent::SpeechEnded(3500)),
            // The empty answer to our Finalize still closes the utterance.
            stt(SttEvent::Final(Transcript {
                text: String::new(),
                words: Vec::new(),
                confidence: 0.0,
                language: en,
                start_ms: 3800,
                end_ms: 4420,
                speech_final: false,
            })),
        ]
    );
}

#[test]
fn multilingual_and_diarized_results() {
    let mut listen = listen(Some("en"), true, true);
    listen.handle(Input::Start);
    listen.handle(Input::WsOpen);
    let actions = replay(&mut listen, "listen_multilingual_diarized.jsonl");
    assert_eq!(actions.len(), 3);
    let Action::Emit(Event::Stt(SttEvent::Final(first))) = &actions[1] else { panic!("{actions:?}") };
    assert_eq!(first.text, "No recuerdo mi bank password.");
    assert_eq!(first.language.as_deref(), Some("es"), "the dominant detected language");
    assert_eq!(first.words[4].text, "password.");
    assert!(first.words.iter().all(|w| w.speaker == Some(0)));
    assert!(first.speech_final);
    let Action::Emit(Event::Stt(SttEvent::Final(second))) = &actions[2] else { panic!("{actions:?}") };
    assert_eq!(second.language.as_deref(), Some("en"));
    assert_eq!(
        second.words[0],
        Word { text: "Sure,".into(), start_ms: 2200, end_ms: 2500, confidence: 0.99, speaker: Some(1) }
    );
}

#[test]
fn detected_language_is_not_replaced_by_the_configured_one() {
    let mut listen = listen(Some("fr"), true, false);
    listen.handle(Input::Start);
    listen.handle(Input::WsOpen);
    let result = r#"{"type":"Results","channel":{"alternatives":[{"transcript":"hi","confidence":0.9,"words":[]}]},"is_final":true,"speech_final":true,"start":0.0,"duration":0.5}"#;
    let actions = listen.handle(Input::WsMessage(WsMessage::Text(result.into())));
    let [Action::Emit(Event::Stt(SttEvent::Final(transcript)))] = actions.as_slice() else { panic!("{actions:?}") };
    assert_eq!(transcript.language, None);
}

#[test]
fn flush_finalizes_and_end_closes_after_the_server_does() {
    let mut listen = opened(None);
    assert_eq!(listen.handle(Input::Flush), [text(r#"{"type":"Finalize"}"#)]);
    assert_eq!(listen.handle(Input::End), [text(r#"{"type":"CloseStream"}"#), Action::SetTimer((2, 10_000))]);
    assert!(listen.handle(Input::Audio(vec![1])).is_empty(), "no audio after end");
    assert!(listen.handle(Input::Flush).is_empty());
    assert!(listen.handle(Input::Timer(1)).is_empty(), "no keep-alive while closing");
    let last = r#"{"type":"Results","channel":{"alternatives":[{"transcript":"bye","confidence":0.9,"words":[]}]},"is_final":true,"speech_final":true,"from_finalize":true,"start":1.0,"duration":0.5}"#;
    assert_eq!(listen.handle(Input::WsMessage(WsMessage::Text(last.into()))).len(), 1, "results still arrive");
    assert_eq!(listen.handle(Input::WsClosed(WsClose { code: 1000, reason: String::new() })), [Action::Finish]);
    assert!(listen.handle(Input::Timer(2)).is_empty(), "a stale timer after the end is ignored");
}

#[test]
fn end_before_open_closes_right_after_the_buffered_audio() {
    let mut listen = listen(None, false, false);
    listen.handle(Input::Start);
    listen.handle(Input::Audio(vec![5]));
    assert!(listen.handle(Input::End).is_empty());
    assert_eq!(
        listen.handle(Input::WsOpen),
        [
            Action::WsSend(WsMessage::Binary(vec![5, 0])),
            text(r#"{"type":"CloseStream"}"#),
            Action::SetTimer((2, 10_000)),
        ]
    );
    assert_eq!(listen.handle(Input::WsClosed(WsClose { code: 1005, reason: String::new() })), [Action::Finish]);
}

#[test]
fn end_without_start_finishes() {
    let mut listen = listen(None, false, false);
    assert_eq!(listen.handle(Input::End), [Action::Finish]);
}

#[test]
fn keep_alive_only_after_a_silent_tick() {
    let mut listen = opened(None);
    listen.handle(Input::Audio(vec![1]));
    assert_eq!(listen.handle(Input::Timer(1)), [Action::SetTimer((1, 2500))], "audio was sent this tick");
    assert_eq!(listen.handle(Input::Timer(1)), [text(r#"{"type":"KeepAlive"}"#), Action::SetTimer((1, 2500))]);
    assert_eq!(listen.handle(Input::Timer(1)), [text(r#"{"type":"KeepAlive"}"#), Action::SetTimer((1, 2500))]);
    listen.handle(Input::Audio(vec![1]));
    assert_eq!(listen.handle(Input::Timer(1)), [Action::SetTimer((1, 2500))]);
}

#[test]
fn close_timeout_after_metadata_finishes() {
    let mut listen = opened(None);
    listen.handle(Input::End);
    let metadata = messages("listen_session.jsonl").pop().unwrap();
    assert!(listen.handle(Input::WsMessage(WsMessage::Text(metadata))).is_empty());
    assert_eq!(
        listen.handle(Input::Timer(2)),
        [Action::WsClose(WsClose { code: 1000, reason: String::new() }), Action::Finish]
    );
}

#[test]
fn close_timeout_without_metadata_fails() {
    let mut listen = opened(None);
    listen.handle(Input::End);
    assert_eq!(
        listen.handle(Input::Timer(2)),
        [
            Action::WsClose(WsClose { code: 1000, reason: String::new() }),
            Action::Fail(ProviderError::Timeout(
                "deepgram did not finish the stream within 10 s of CloseStream".into()
            )),
        ]
    );
}

#[test]
fn server_close_before_end_fails_classified() {
    for (code, reason, expected) in [
        (
            1008,
            "DATA-0000",
            ProviderError::InvalidRequest("deepgram closed the stream with code 1008: DATA-0000".into()),
        ),
        (1011, "NET-0001", ProviderError::Timeout("deepgram closed the stream with code 1011: NET-0001".into())),
        (1011, "NET-0000", ProviderError::Unavailable("deepgram closed the stream with code 1011: NET-0000".into())),
        (1000, "", ProviderError::Unavailable("deepgram closed the stream before it was ended".into())),
    ] {
        let mut listen = opened(None);
        assert_eq!(
            listen.handle(Input::WsClosed(WsClose { code, reason: reason.into() })),
            [Action::Fail(expected)],
            "{code} {reason}"
        );
        assert!(listen.handle(Input::Audio(vec![1])).is_empty(), "a failed stream is over");
    }
}

#[test]
fn close_with_error_while_closing_still_fails() {
    let mut listen = opened(None);
    listen.handle(Input::End);
    assert!(matches!(
        listen.handle(Input::WsClosed(WsClose { code: 1011, reason: "NET-0000".into() })).as_slice(),
        [Action::Fail(ProviderError::Unavailable(_))]
    ));
}

#[test]
fn error_message_fails_the_stream() {
    let mut listen = opened(None);
    let message = String::from_utf8(recording("listen_error_message.json")).unwrap();
    assert_eq!(
        listen.handle(Input::WsMessage(WsMessage::Text(message))),
        [Action::Fail(ProviderError::RateLimited(RateLimit {
            message: "deepgram error: Too many concurrent requests. Please reduce the number of open connections."
                .into(),
            retry_after_ms: None,
        }))]
    );
}

#[test]
fn malformed_message_is_a_protocol_error() {
    let mut listen = opened(None);
    let actions = replay(&mut listen, "listen_malformed.jsonl");
    let [Action::Fail(ProviderError::Protocol(message))] = actions.as_slice() else { panic!("{actions:?}") };
    assert!(message.starts_with("malformed message (EOF while parsing"), "{message}");
}

#[test]
fn binary_and_http_inputs_are_ignored() {
    let mut listen = opened(None);
    assert!(listen.handle(Input::WsMessage(WsMessage::Binary(vec![1, 2]))).is_empty());
    assert!(listen.handle(Input::HttpEnd(1)).is_empty());
    assert!(listen.handle(Input::Text("x".into())).is_empty());
    assert!(listen.handle(Input::Timer(99)).is_empty());
}

#[test]
fn a_socket_that_never_opens_is_given_up() {
    let mut listen = listen(None, false, false);
    listen.handle(Input::Start);
    // 30 s of 20 ms frames at 16 kHz fill the buffer; one more frame fails.
    for _ in 0..1500 {
        assert!(listen.handle(Input::Audio(vec![0; 320])).is_empty());
    }
    assert_eq!(
        listen.handle(Input::Audio(vec![0; 320])),
        [Action::Fail(ProviderError::Unavailable("the transcription socket did not open within 30 s of audio".into()))]
    );
}
