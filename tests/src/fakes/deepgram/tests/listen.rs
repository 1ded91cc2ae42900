use std::time::Duration;

use anyhow::Result;
use futures_util::StreamExt;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{KEY, QUERY, connect, read_until_close, send_audio, send_json, transcript, types};
use crate::fakes::deepgram::{self, DeepgramScript, ListenScript, NET0001_REASON};

#[tokio::test]
async fn an_utterance_streams_interims_a_speech_final_and_utterance_end() -> Result<()> {
    let fake =
        deepgram::start(DeepgramScript::new().api_key(KEY).listen(ListenScript::transcript("Hello there friend.")));
    let mut ws = connect(&fake, QUERY, Some(KEY)).await?;
    let audio = send_audio(&mut ws, 0, 3_000).await;
    send_json(&mut ws, r#"{"type":"CloseStream"}"#).await?;
    let (messages, close) = read_until_close(&mut ws).await?;
    assert_eq!(
        types(&messages),
        ["SpeechStarted", "Results", "Results", "Results", "Results", "UtteranceEnd", "Results", "Metadata"]
    );
    assert_eq!(close, Some((1000, String::new())));
    assert_eq!(messages[0], json!({"type": "SpeechStarted", "channel": [0, 1], "timestamp": 0.3}));

    let interims: Vec<&str> = messages[1..4].iter().map(transcript).collect();
    assert_eq!(interims, ["Hello", "Hello there", "Hello there friend."]);
    assert!(messages[1..4].iter().all(|m| m["is_final"] == false && m["speech_final"] == false));
    assert_eq!((&messages[1]["start"], &messages[1]["duration"]), (&json!(0.0), &json!(0.55)));

    let last = &messages[4];
    assert_eq!(transcript(last), "Hello there friend.");
    assert_eq!(
        (&last["is_final"], &last["speech_final"], &last["from_finalize"]),
        (&json!(true), &json!(true), &json!(false))
    );
    assert_eq!(last["duration"], 1.35, "final 300 ms after the last word");
    assert_eq!(last["channel_index"], json!([0, 1]));
    assert_eq!(
        last["channel"]["alternatives"][0]["words"][0],
        json!({"word": "hello", "start": 0.3, "end": 0.55, "confidence": 0.99, "punctuated_word": "Hello"})
    );
    let metadata = &last["metadata"];
    assert_eq!(metadata["model_info"]["arch"], "nova-3");
    assert!(metadata["model_uuid"].is_string());

    assert_eq!(messages[5], json!({"type": "UtteranceEnd", "channel": [0, 1], "last_word_end": 1.05}));
    assert_eq!(transcript(&messages[6]), "", "Deepgram keeps sending empty interims in silence");
    assert_eq!(messages[6]["start"], 1.35);

    let summary = &messages[7];
    assert_eq!(summary["transaction_key"], "deprecated");
    assert_eq!(summary["request_id"], metadata["request_id"]);
    assert_eq!(summary["sha256"], hex::encode(Sha256::digest(&audio)));
    assert_eq!((&summary["duration"], &summary["channels"]), (&json!(3.0), &json!(1)));
    assert!(summary["created"].as_str().is_some_and(|c| c.ends_with('Z')));
    assert!(summary["models"].is_array());

    let session = &fake.sessions()[0];
    assert_eq!(session.audio, audio);
    assert_eq!((session.binary_frames, session.close_streams, session.keep_alives), (150, 1, 0));
    assert!((session.audio_ms() - 3_000.0).abs() < 1e-9);
    assert_eq!(session.final_transcripts(), ["Hello there friend."]);
    assert_eq!(session.sent.len(), 8);
    assert!(session.ended);
    Ok(())
}

#[tokio::test]
async fn finalize_turns_heard_words_final_with_from_finalize() -> Result<()> {
    let fake = deepgram::start(ListenScript::transcript("Hello there friend."));
    let query = "encoding=linear16&sample_rate=16000&interim_results=true&endpointing=300&punctuate=true";
    let mut ws = connect(&fake, query, None).await?;
    send_audio(&mut ws, 0, 700).await;
    send_json(&mut ws, r#"{"type":"Finalize"}"#).await?;
    send_audio(&mut ws, 700, 700).await;
    send_json(&mut ws, r#"{"type":"Finalize"}"#).await?;
    send_json(&mut ws, r#"{"type":"CloseStream"}"#).await?;
    let (messages, _) = read_until_close(&mut ws).await?;
    let results: Vec<(&str, bool, bool, bool)> = messages
        .iter()
        .filter(|m| m["type"] == "Results")
        .map(|m| {
            let flag = |name: &str| m[name] == true;
            (transcript(m), flag("is_final"), flag("speech_final"), flag("from_finalize"))
        })
        .collect();
    assert_eq!(
        results,
        [
            ("Hello", false, false, false),
            ("Hello", true, false, true),
            ("there", false, false, false),
            ("there friend.", false, false, false),
            ("there friend.", true, true, false),
            ("", true, false, true),
        ]
    );
    let after_finalize = messages.iter().find(|m| transcript(m) == "there").map(|m| &m["start"]);
    assert_eq!(after_finalize, Some(&json!(0.7)), "a new segment starts at the Finalize");
    assert_eq!(fake.sessions()[0].finalizes, 2);
    Ok(())
}

#[tokio::test]
async fn idle_sockets_close_with_net0001_unless_kept_alive() -> Result<()> {
    let script = ListenScript::new().inactivity_timeout(Duration::from_millis(600));
    let fake = deepgram::start(script);
    let mut ws = connect(&fake, "encoding=linear16&sample_rate=16000", None).await?;
    for _ in 0..5 {
        send_json(&mut ws, r#"{"type":"KeepAlive"}"#).await?;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!fake.sessions()[0].ended, "KeepAlive resets the timer");
    assert_eq!(fake.keep_alive_count(), 5);
    let (messages, close) = read_until_close(&mut ws).await?;
    assert_eq!(types(&messages), ["Metadata"]);
    assert_eq!((&messages[0]["sha256"], &messages[0]["duration"]), (&json!("incomplete"), &json!(0.0)));
    assert!(messages[0].get("models").is_none(), "no audio, no models");
    assert_eq!(close, Some((1011, NET0001_REASON.to_owned())));
    Ok(())
}

#[tokio::test]
async fn scripted_faults_close_or_drop_mid_stream() -> Result<()> {
    let fake = deepgram::start(
        DeepgramScript::new()
            .listen(ListenScript::transcript("Hello").close_at(500, 1011, "boom"))
            .listen(ListenScript::transcript("Hello").drop_at(200))
            .listen(ListenScript::new().close_at(0, 1008, "DATA-0000")),
    );
    let query = "encoding=linear16&sample_rate=16000&interim_results=true&vad_events=true";
    let mut ws = connect(&fake, query, None).await?;
    send_audio(&mut ws, 0, 1_000).await;
    let (messages, close) = read_until_close(&mut ws).await?;
    assert_eq!(types(&messages), ["SpeechStarted"], "nothing scheduled after the fault");
    assert_eq!(close, Some((1011, "boom".to_owned())));

    let mut ws = connect(&fake, query, None).await?;
    send_audio(&mut ws, 0, 1_000).await;
    let (messages, close) = read_until_close(&mut ws).await?;
    assert!(messages.is_empty() && close.is_none(), "dropped without a close frame");
    assert!(fake.sessions()[1].dropped);

    let mut ws = connect(&fake, query, None).await?;
    let (_, close) = read_until_close(&mut ws).await?;
    assert_eq!(close, Some((1008, "DATA-0000".to_owned())));
    Ok(())
}

#[tokio::test]
async fn query_options_shape_the_results() -> Result<()> {
    let fake = deepgram::start(
        DeepgramScript::new()
            .listen(ListenScript::transcript("Hola amigo.").language("es"))
            .listen(ListenScript::transcript("Hi.")),
    );
    let multi = "encoding=linear16&sample_rate=16000&language=multi&diarize=true";
    let mut ws = connect(&fake, multi, None).await?;
    send_audio(&mut ws, 0, 1_000).await;
    send_json(&mut ws, r#"{"type":"CloseStream"}"#).await?;
    let (messages, _) = read_until_close(&mut ws).await?;
    assert_eq!(types(&messages), ["Results", "Metadata"], "no interims, no VAD events");
    let alternative = &messages[0]["channel"]["alternatives"][0];
    assert_eq!(alternative["transcript"], "hola amigo", "unpunctuated without punctuate");
    assert_eq!(alternative["languages"], json!(["es"]));
    assert_eq!(alternative["words"][1]["language"], "es");
    assert_eq!(alternative["words"][1]["speaker"], 0);
    assert!(alternative["words"][1].get("punctuated_word").is_none());

    let no_endpointing = "encoding=linear16&sample_rate=16000&endpointing=false&smart_format=true";
    let mut ws = connect(&fake, no_endpointing, None).await?;
    send_audio(&mut ws, 0, 1_100).await;
    send_json(&mut ws, r#"{"type":"CloseStream"}"#).await?;
    let (messages, _) = read_until_close(&mut ws).await?;
    assert_eq!((transcript(&messages[0]), &messages[0]["speech_final"]), ("Hi.", &json!(false)));
    assert_eq!(messages[0]["duration"], 1.05, "500 ms after the word without endpointing");
    Ok(())
}

#[tokio::test]
async fn dropping_the_fake_drops_open_sessions() -> Result<()> {
    let fake = deepgram::start(ListenScript::new());
    let mut ws = connect(&fake, "encoding=linear16&sample_rate=16000", None).await?;
    fake.wait_for(Duration::from_secs(2), |sessions| sessions.len() == 1).await?;
    drop(fake);
    let next = tokio::time::timeout(Duration::from_secs(5), ws.next()).await?;
    assert!(!matches!(next, Some(Ok(tokio_tungstenite::tungstenite::Message::Text(_)))));
    Ok(())
}
