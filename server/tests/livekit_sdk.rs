//! A peer nobody here wrote: the official LiveKit Python SDK (libwebrtc, libopus) joins as the
//! browser user with the token `POST /api/agent-session` returns, speaks the LibriVox recording
//! into its microphone, and records the agent's track, while the agent runs in the server's
//! process against the fake LiveKit and the OpenAI fake.
//!
//! The SDK is installed from PyPI into a venv under `target/` on first use (about 20 s).

mod common;

use std::time::Duration;

use common::{ANSWER, start_inprocess_session, talking_openai, voiced_frames};
use serde_json::{Value, json};
use voiceblox_tests::audio::LIBRIVOX_TEXT;
use voiceblox_tests::fakes::livekit::FakeLiveKit;
use voiceblox_tests::fakes::openai::{ChatScript, OpenAiFake, OpenAiScript, TranscriptionScript};
use voiceblox_tests::python_sdk::{UserRun, run_user};

const KEY: &str = "APIsdkuser";
const SECRET: &str = "sdk-user-secret-0123456789abcdef";
const OPENAI_KEY: &str = "sk-sdk-user";

fn librivox_wav() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../host/src/audio/testdata/librivox-sense-0880.wav").to_string()
}

fn agent_events<'a>(events: &'a [Value], agent: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["from"] == agent).filter_map(|e| e.get("event")).collect()
}

/// A greeting, then two user turns heard as `first` and the LibriVox sentence, each answered.
fn two_turns(first: &str) -> OpenAiFake {
    OpenAiScript::new()
        .api_key(OPENAI_KEY)
        .chat(ChatScript::text(["Welcome to the Grand!"]))
        .chat(ChatScript::text(["Go on."]))
        .chat(ChatScript::text([ANSWER]))
        .transcription(TranscriptionScript::text(first))
        .transcription(TranscriptionScript::text(LIBRIVOX_TEXT))
        .start()
}

/// Runs the Python user in the session `started` describes, saying the LibriVox sentence with
/// the `speaking` options (`--speak-after`, `--mute`, ...), and returns it with its SDK log.
async fn sdk_user_says_the_sentence(started: &Value, speaking: &[&str]) -> (UserRun, String) {
    let dir = tempfile::tempdir().unwrap();
    let wav = librivox_wav();
    let mut args = vec![
        "--url",
        started["serverUrl"].as_str().unwrap(),
        "--token",
        started["token"].as_str().unwrap(),
        "--speak",
        &wav,
    ];
    args.extend_from_slice(speaking);
    let user = run_user(&args, dir.path(), Duration::from_secs(120)).await.expect("the Python user runs");
    let context = format!("summary {}\nSDK log:\n{}", user.summary, user.log);
    (user, context)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_python_sdk_talks_with_the_agent_both_ways() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    let openai = talking_openai(OPENAI_KEY);
    let (_server, started) = start_inprocess_session((&livekit.url(), KEY, SECRET), &openai, OPENAI_KEY).await;
    let agent = format!("agent-{}", started["roomName"].as_str().unwrap());

    // The user waits for the greeting to end, says the sentence, and stays for the answer.
    let (user, context) = sdk_user_says_the_sentence(&started, &["--speak-after", "4", "--duration", "14"]).await;

    // Connected and published its microphone through the SDK's own add_track flow.
    assert_eq!(user.summary["connected"], true, "{context}");
    assert!(user.summary["published_track_sid"].as_str().is_some_and(|s| s.starts_with("TR_")), "{context}");
    let tracks = livekit.published_tracks(&agent);
    assert_eq!(tracks.len(), 1, "the agent published its voice: {tracks:?}");

    // The agent heard the whole sentence through libwebrtc's Opus and the jitter buffer.
    let events = agent_events(&user.events, &agent);
    let said = events.iter().find(|e| e["type"] == "transcript" && e["role"] == "user" && e["final"] == true);
    assert_eq!(said.map(|e| &e["text"]), Some(&json!(LIBRIVOX_TEXT)), "{events:?}\n{context}");
    let seconds = openai.transcriptions()[0].duration_ms() / 1000.0;
    assert!((2.3..=4.0).contains(&seconds), "the agent heard {seconds:.2} s of the user");
    let answered = events.iter().any(|e| e["type"] == "transcript" && e["role"] == "assistant" && e["text"] == ANSWER);
    assert!(answered, "{events:?}");

    // Stock LiveKit UIs see the same conversation: lk.transcription text streams, read with the
    // SDK's own handler. The user's words are sent for the user, on the user's track.
    let streams: Vec<(&str, &str, &Value)> = user
        .events
        .iter()
        .filter_map(|e| {
            Some((e["from"].as_str()?, e["transcription"]["text"].as_str()?, &e["transcription"]["attributes"]))
        })
        .collect();
    let mic = user.summary["published_track_sid"].as_str().unwrap();
    let voice = tracks[0].sid.as_str();
    let finals: Vec<(&str, &str, &str)> = streams
        .iter()
        .filter(|(.., attributes)| attributes["lk.transcription_final"] == "true")
        .map(|(from, text, attributes)| (*from, *text, attributes["lk.transcribed_track_id"].as_str().unwrap_or("")))
        .collect();
    let user_identity =
        livekit.rtc_participants().into_iter().find(|p| p.info.identity != agent).unwrap().info.identity;
    assert_eq!(
        finals,
        [
            (agent.as_str(), "Welcome to the Grand! How can I help?", voice),
            (user_identity.as_str(), LIBRIVOX_TEXT, mic),
            (agent.as_str(), ANSWER, voice),
        ],
        "{streams:?}\n{context}"
    );
    assert!(streams.iter().all(|(.., a)| a["lk.segment_id"].as_str().is_some_and(|s| s.starts_with("SG_"))));

    // The SDK decoded the agent's opus-pure stream: the greeting and the answer as sound.
    let states: Vec<&str> = user.events.iter().filter_map(|e| e["state"].as_str()).collect();
    assert!(states.contains(&"speaking") && states.contains(&"listening"), "lk.agent.state: {states:?}");
    let voiced = voiced_frames(&user.recording);
    assert!(voiced >= 40, "only {voiced} voiced frames of the agent's speech arrived\n{context}");
}

/// The SDK's own mute (the track stops sending and the server is told) in the middle of a
/// sentence: the agent hears the words before it as a turn of their own and answers them, hears
/// nothing of what is said while muted, and hears the user again once unmuted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_muted_microphone_is_not_heard_and_an_unmuted_one_is_again() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    let openai = two_turns("He did not");
    let (_server, started) = start_inprocess_session((&livekit.url(), KEY, SECRET), &openai, OPENAI_KEY).await;
    let agent = format!("agent-{}", started["roomName"].as_str().unwrap());

    // Muted 1.2 s into the sentence until the sentence is long over; then the whole sentence again.
    // This user takes the SDK's older path (`/rtc`, two peer connections), so both are tried.
    let speaking = ["--speak-after", "3", "--mute", "1.2:6", "--repeat-after", "8", "--duration", "17", "--dual-pc"];
    let (user, context) = sdk_user_says_the_sentence(&started, &speaking).await;
    let track = user.summary["published_track_sid"].as_str().expect("a published microphone").to_string();

    // The server was told, through the SDK's mute request.
    let sdk_user = livekit
        .rtc_participants()
        .into_iter()
        .find(|p| p.info.tracks.iter().any(|t| t.sid == track))
        .expect("the user's participant");
    assert!(!sdk_user.single_pc, "{sdk_user:?}");
    let identity = sdk_user.info.identity;
    assert_eq!(livekit.track_mutes(&identity), [(track.clone(), true), (track, false)], "{context}");

    // Two turns: the words before the mute, and the whole sentence after it.
    let heard: Vec<f64> = openai.transcriptions().iter().map(|t| t.duration_ms() / 1000.0).collect();
    assert_eq!(heard.len(), 2, "{heard:?}\n{context}");
    assert!((0.8..=2.2).contains(&heard[0]), "before the mute the agent heard {:.2} s", heard[0]);
    assert!((2.3..=4.0).contains(&heard[1]), "after the mute the agent heard {:.2} s", heard[1]);
    let events = agent_events(&user.events, &agent);
    let said: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "transcript" && e["role"] == "user" && e["final"] == true)
        .map(|e| &e["text"])
        .collect();
    assert_eq!(said, [&json!("He did not"), &json!(LIBRIVOX_TEXT)], "{events:?}");
    let answers = events.iter().filter(|e| e["type"] == "transcript" && e["role"] == "assistant").count();
    assert_eq!(answers, 3, "the greeting and an answer to each turn: {events:?}");
}

/// A device switch as apps do it: the SDK unpublishes the microphone (its m-line goes inactive)
/// and publishes a new one. The server unpublishes the first (the agent stops receiving it),
/// and the agent listens to the new track and hears the user again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_republished_microphone_is_followed() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    let openai = two_turns(LIBRIVOX_TEXT);
    let (_server, started) = start_inprocess_session((&livekit.url(), KEY, SECRET), &openai, OPENAI_KEY).await;
    let agent = format!("agent-{}", started["roomName"].as_str().unwrap());

    let speaking = ["--speak-after", "3", "--repeat-after", "8", "--republish", "--duration", "17"];
    let (user, context) = sdk_user_says_the_sentence(&started, &speaking).await;
    let tracks: Vec<&str> =
        user.summary["published_tracks"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(tracks.len(), 2, "{context}");
    assert_ne!(tracks[0], tracks[1]);
    let identity = livekit.rtc_participants().into_iter().find(|p| p.info.identity != agent).unwrap().info.identity;
    assert_eq!(livekit.unpublished_tracks(&identity), [tracks[0]], "{context}");

    // The sentence was heard whole on each track.
    let heard: Vec<f64> = openai.transcriptions().iter().map(|t| t.duration_ms() / 1000.0).collect();
    assert_eq!(heard.len(), 2, "{heard:?}\n{context}");
    assert!(heard.iter().all(|s| (2.3..=4.0).contains(s)), "{heard:?}");
    let events = agent_events(&user.events, &agent);
    let answers = events.iter().filter(|e| e["type"] == "transcript" && e["role"] == "assistant").count();
    assert_eq!(answers, 3, "{events:?}");
}
