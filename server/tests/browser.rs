//! The test page in real headless Chromium (Debian's, driven by Playwright) against a real
//! server: a fake microphone plays the LibriVox sentence, the page talks to the agent over a
//! direct WebRTC session, and what the page shows is checked. The provider clouds are the
//! OpenAI fake. A screenshot of each run is kept in `target/browser/`.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{ANSWER, Server, room_config, talking_openai};
use serde_json::{Value, json};
use voiceblox_server::settings::DirectOptions;
use voiceblox_tests::audio::{LIBRIVOX_TEXT, librivox_48k, write_wav};
use voiceblox_tests::browser;

const KEY: &str = "sk-browser-test";

fn screenshot(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/browser");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_talks_with_the_agent_in_chromium_over_a_direct_session() {
    let openai = talking_openai(KEY);
    let env = [("OPENAI_BASE_URL", openai.base_url()), ("OPENAI_API_KEY", KEY.to_string())];
    let server = Server::start_direct(&env, DirectOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    // Quiet while the agent greets, the sentence, then quiet long enough that Chromium's
    // looping of the file never says it twice.
    let mut microphone = vec![0i16; 48_000 * 4];
    microphone.extend(librivox_48k());
    microphone.extend(vec![0; 48_000 * 40]);
    let wav = dir.path().join("microphone.wav");
    write_wav(&wav, &microphone, 48_000).unwrap();
    let config = dir.path().join("agent.json");
    std::fs::write(&config, serde_json::to_string_pretty(&room_config()).unwrap()).unwrap();
    let picture = screenshot("direct-session.png");

    let url = format!("{}/", server.base());
    let user_said = json!({"type": "transcript", "role": "user", "final": true}).to_string();
    let answered = json!({"type": "transcript", "role": "assistant", "text": ANSWER, "final": true}).to_string();
    let args = [
        "--url",
        &url,
        "--wav",
        wav.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--until-json",
        &user_said,
        "--until-json",
        &answered,
        "--screenshot",
        picture.to_str().unwrap(),
        "--stop",
        "--timeout",
        "90",
    ];
    let run = browser::talk(&args, Duration::from_secs(180)).await.unwrap();
    assert_eq!(run.code, 0, "{}\n{}", run.summary, run.log);

    let events = run.events();
    let said = events.iter().find(|e| e["type"] == "transcript" && e["role"] == "user" && e["final"] == true);
    assert_eq!(said.unwrap()["text"], LIBRIVOX_TEXT);
    assert_eq!(events.iter().find(|e| e["type"] == "step_change").unwrap()["stepId"], "hello");
    assert!(events.iter().any(|e| e["type"] == "metrics"), "no per-turn metrics: {events:?}");
    // The page heard the microphone, and Chromium played the agent's voice.
    assert!(run.summary["micLevelMax"].as_f64().unwrap_or(0.0) > 0.01, "{}", run.summary);
    assert!(run.summary["audioEnergy"].as_f64().unwrap_or(0.0) > 0.0, "{}", run.summary);
    let states: Vec<&str> = run.summary["sessionStates"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    for state in ["connecting", "connected", "ended"] {
        assert!(states.contains(&state), "{states:?}");
    }
    assert_eq!(run.summary["consoleErrors"], json!([]), "{}", run.log);
    assert!(std::fs::metadata(&picture).is_ok_and(|m| m.len() > 10_000), "no screenshot");
    // Stop ended the session on the server, post-call included.
    for _ in 0..100 {
        if server.direct.sessions.count() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(server.direct.sessions.count(), 0);
}
