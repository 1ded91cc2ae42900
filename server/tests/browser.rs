//! The test page in real headless Chromium (Debian's, driven by Playwright) against a real
//! server: a fake microphone plays the LibriVox sentence and the page talks with the agent,
//! over a direct WebRTC session (no LiveKit configured) and through a LiveKit room (the fake
//! SFU, with livekit-client from npm in the page). What the page received is checked. The
//! provider clouds are the OpenAI fake. A screenshot of each run is kept in `target/browser/`.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{ANSWER, Server, room_config, talking_openai};
use serde_json::{Value, json};
use voiceblox_server::settings::{DirectOptions, RuntimeMode};
use voiceblox_tests::audio::{LIBRIVOX_TEXT, librivox_48k, write_wav};
use voiceblox_tests::browser::{self, PageRun};
use voiceblox_tests::fakes::livekit::FakeLiveKit;

const KEY: &str = "sk-browser-test";

static BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Opens the page at `base`, pastes the test config, clicks Test, says the LibriVox sentence
/// after the greeting, waits for the answer, takes a screenshot `name`, clicks Stop.
async fn talk_through_the_page(base: &str, name: &str) -> PageRun {
    talk_with(base, name, room_config(), &[]).await
}

/// [`talk_through_the_page`] with `config` and more harness arguments.
async fn talk_with(base: &str, name: &str, agent: Value, more: &[&str]) -> PageRun {
    // One browser at a time: two Chromiums with fake capture on two cores stall each other.
    let _one_browser = BROWSER.lock().await;
    let dir = tempfile::tempdir().unwrap();
    // Quiet while the agent greets, the sentence, then quiet long enough that Chromium's
    // looping of the file never says it twice.
    let mut microphone = vec![0i16; 48_000 * 4];
    microphone.extend(librivox_48k());
    microphone.extend(vec![0; 48_000 * 40]);
    let wav = dir.path().join("microphone.wav");
    write_wav(&wav, &microphone, 48_000).unwrap();
    let config = dir.path().join("agent.json");
    std::fs::write(&config, serde_json::to_string_pretty(&agent).unwrap()).unwrap();
    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/browser");
    std::fs::create_dir_all(&shots).unwrap();
    let picture = shots.join(name);

    let url = format!("{base}/");
    let user_said = json!({"type": "transcript", "role": "user", "final": true}).to_string();
    let answered = json!({"type": "transcript", "role": "assistant", "text": ANSWER, "final": true}).to_string();
    let mut args = vec![
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
    args.extend_from_slice(more);
    let run = browser::talk(&args, Duration::from_secs(180)).await.unwrap();
    assert_eq!(run.code, 0, "{}\n{}", run.summary, run.log);
    assert!(std::fs::metadata(&picture).is_ok_and(|m| m.len() > 10_000), "no screenshot");
    run
}

/// What the page must have shown of the conversation; `expected_errors` are console errors
/// that are part of the path taken (matched by substring).
fn assert_conversation(run: &PageRun, expected_errors: &[&str]) {
    let events = run.events();
    let said = events.iter().find(|e| e["type"] == "transcript" && e["role"] == "user" && e["final"] == true);
    // On a loaded machine Chromium's fake capture can stall mid-sentence and the VAD hear two
    // segments, each of which the STT fake transcribes as the whole sentence.
    let said =
        said.unwrap_or_else(|| panic!("no final user transcript in {events:?}\n{}", run.log))["text"].as_str().unwrap();
    assert!(said.starts_with(LIBRIVOX_TEXT), "{said:?}");
    assert_eq!(events.iter().find(|e| e["type"] == "step_change").unwrap()["stepId"], "hello");
    assert!(events.iter().any(|e| e["type"] == "metrics"), "no per-turn metrics: {events:?}");
    // The page heard the microphone, and Chromium played the agent's voice.
    assert!(run.summary["micLevelMax"].as_f64().unwrap_or(0.0) > 0.01, "{}", run.summary);
    assert!(run.summary["audioEnergy"].as_f64().unwrap_or(0.0) > 0.0, "{}", run.summary);
    let states: Vec<&str> = run.summary["sessionStates"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    for state in ["connecting", "connected", "ended"] {
        assert!(states.contains(&state), "{states:?}");
    }
    // And what a person sees: the steps with the active one, the whole conversation, a row of
    // metrics per agent turn.
    let view = &run.summary["view"];
    assert_eq!(view["steps"], json!(["hello", "talk"]), "{view}");
    assert_eq!(view["activeStep"], "talk", "{view}");
    let lines: Vec<(&str, &str, bool)> = view["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["role"].as_str().unwrap(), u["text"].as_str().unwrap(), u["interim"] == true))
        .collect();
    // The greeting, then the sentence and its answer. Chromium's fake capture loops its file, and
    // on a slow run (seen once in CI, through the LiveKit room) the sentence came round again and
    // was answered again before Stop: every further turn must be that same exchange.
    assert!(lines.len() >= 3 && lines.len() % 2 == 1, "{lines:?}");
    assert!(lines[0].0 == "assistant" && lines[0].1.contains("Welcome to the Grand!"), "{lines:?}");
    for exchange in lines[1..].chunks(2) {
        assert!(exchange[0].0 == "user" && exchange[0].1.contains(LIBRIVOX_TEXT), "{lines:?}");
        assert!(exchange[1].0 == "assistant" && exchange[1].1.contains(ANSWER), "{lines:?}");
    }
    assert!(lines.iter().all(|l| !l.2), "an interim line left: {lines:?}");
    assert!(view["metricsRows"].as_u64().unwrap() >= 2, "{view}");
    let errors: Vec<&str> = run.summary["consoleErrors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .filter(|e| !expected_errors.iter().any(|expected| e.contains(expected)))
        .collect();
    assert!(errors.is_empty(), "console errors: {errors:?}\n{}", run.log);
}

async fn until_no_sessions(count: impl Fn() -> usize) {
    for _ in 0..200 {
        if count() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(count(), 0, "a session is still running");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_talks_with_the_agent_in_chromium_over_a_direct_session() {
    let openai = talking_openai(KEY);
    let env = [("OPENAI_BASE_URL", openai.base_url()), ("OPENAI_API_KEY", KEY.to_string())];
    let server = Server::start_direct(&env, DirectOptions::default()).await;
    let run = talk_through_the_page(server.base(), "direct-session.png").await;
    assert_conversation(&run, &[]);
    // Stop ended the session on the server, post-call included.
    until_no_sessions(|| server.direct.sessions.count()).await;
}

/// Manual turns from the page: the talk button (shown because the config asks for manual turn
/// detection) is held while the user speaks; the turn is taken only once it is released.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_talk_button_ends_the_turn_with_manual_turn_detection() {
    let openai = talking_openai(KEY);
    let env = [("OPENAI_BASE_URL", openai.base_url()), ("OPENAI_API_KEY", KEY.to_string())];
    let server = Server::start_direct(&env, DirectOptions::default()).await;
    let mut config = room_config();
    config["turnTaking"] = json!({"turnDetection": "manual"});
    let run = talk_with(server.base(), "talk-button.png", config, &["--hold-to-talk", "7"]).await;
    let events = run.events();
    let released = run.summary["talk"]["releasedAtEvent"].as_u64().expect("the button was released") as usize;
    let taken = |e: &Value| e["type"] == "transcript" && e["role"] == "user" && e["final"] == true;
    assert!(!events[..released].iter().any(taken), "a turn before the button was released: {events:?}");
    let said = events[released..].iter().find(|e| taken(e)).expect("the turn after the release");
    assert!(said["text"].as_str().unwrap().starts_with(LIBRIVOX_TEXT), "{said}");
    assert!(events.iter().any(|e| e["type"] == "transcript" && e["role"] == "assistant" && e["text"] == ANSWER));
    until_no_sessions(|| server.direct.sessions.count()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_talks_with_the_agent_in_chromium_through_a_livekit_room() {
    let livekit = FakeLiveKit::start("APIbrowser", "browser-secret-0123456789abcdefghij");
    let openai = talking_openai(KEY);
    let env = [("OPENAI_BASE_URL", openai.base_url()), ("OPENAI_API_KEY", KEY.to_string())];
    let project = (livekit.url(), "APIbrowser", "browser-secret-0123456789abcdefghij");
    let (server, _) = Server::start_with(RuntimeMode::InProcess, Some((&project.0, project.1, project.2)), &env).await;
    let run = talk_through_the_page(server.base(), "livekit-session.png").await;
    // livekit-client's default: `/rtc/v1` and one peer connection, taken without a fallback.
    assert_conversation(&run, &[]);
    let page = livekit.rtc_participants().into_iter().find(|p| !p.info.identity.starts_with("agent-")).unwrap();
    assert!(page.single_pc, "{page:?}");
    // Stop deleted the room; the in-process agent is gone.
    until_no_sessions(|| server.local.count()).await;
    assert!(livekit.rooms().is_empty(), "{:?}", livekit.rooms());
}

/// Runs the page with `--validate-only` and `source` (`--example NAME` or `--config FILE`).
async fn validate_in_the_page(base: &str, source: [&str; 2]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("quiet.wav");
    write_wav(&wav, &vec![0i16; 4800], 48_000).unwrap();
    let url = format!("{base}/");
    let args = ["--url", &url, "--wav", wav.to_str().unwrap(), source[0], source[1], "--validate-only"];
    let _one_browser = BROWSER.lock().await;
    let run = browser::talk(&args, Duration::from_secs(120)).await.unwrap();
    assert_eq!(run.code, 0, "{}\n{}", run.summary, run.log);
    run.summary["view"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_loads_examples_and_shows_every_problem_by_its_path() {
    // OpenAI's key is set, Deepgram's is not: the support example cannot run here.
    let server = Server::start_direct(&[("OPENAI_API_KEY", KEY.to_string())], DirectOptions::default()).await;
    let view = validate_in_the_page(server.base(), ["--example", "support_triage"]).await;
    let paths: Vec<&str> = view["problems"].as_array().unwrap().iter().filter_map(|p| p["path"].as_str()).collect();
    assert_eq!(paths, ["stt.apiKey"], "{view}");
    assert!(view["problems"][0]["text"].as_str().unwrap().contains("DEEPGRAM_API_KEY"), "{view}");
    // The example's steps are listed from the config as loaded.
    let steps: Vec<&str> = view["steps"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(steps.first(), Some(&"greet"), "{view}");
    assert!(steps.contains(&"route") && steps.len() >= 5, "{view}");

    // A pasted config with a broken branch: the problem names the field.
    let mut config = room_config();
    config["steps"][0]["nextStepIds"] = json!({"next": "nowhere"});
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.json");
    std::fs::write(&file, config.to_string()).unwrap();
    let view = validate_in_the_page(server.base(), ["--config", file.to_str().unwrap()]).await;
    let paths: Vec<&str> = view["problems"].as_array().unwrap().iter().filter_map(|p| p["path"].as_str()).collect();
    assert!(paths.contains(&"steps[0].nextStepIds.next"), "{view}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_page_ends_its_direct_session() {
    let openai = talking_openai(KEY);
    let env = [("OPENAI_BASE_URL", openai.base_url()), ("OPENAI_API_KEY", KEY.to_string())];
    let server = Server::start_direct(&env, DirectOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("quiet.wav");
    write_wav(&wav, &vec![0i16; 48_000], 48_000).unwrap();
    let config = dir.path().join("agent.json");
    std::fs::write(&config, room_config().to_string()).unwrap();
    let url = format!("{}/", server.base());
    let greeted = json!({"type": "agent_state", "state": "listening"}).to_string();
    let args = [
        "--url",
        &url,
        "--wav",
        wav.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--until-json",
        &greeted,
        "--close",
    ];
    let run = {
        let _one_browser = BROWSER.lock().await;
        browser::talk(&args, Duration::from_secs(120)).await.unwrap()
    };
    assert_eq!(run.code, 0, "{}\n{}", run.summary, run.log);
    // The tab is gone, nobody pressed Stop: the session ends anyway (post-call included).
    until_no_sessions(|| server.direct.sessions.count()).await;
}
