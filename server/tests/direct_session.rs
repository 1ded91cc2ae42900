//! Direct sessions end to end: a browser peer (str0m over real UDP) posts its offer and an
//! AgentConfig to a real server over HTTP, then talks with the in-process agent; the provider
//! clouds are the OpenAI fake.

use crate::common;

use std::time::Duration;

use crate::common::{ANSWER, Server, room_config, speak_and_hear_the_answer, talking_openai, voiced_frames};
use serde_json::{Value, json};
use voiceblox_host::record::Recording;
use voiceblox_host::record::replay::{on_virtual_time, replay};
use voiceblox_server::settings::DirectOptions;
use voiceblox_tests::direct_user::{BrowserOffer, DirectUser};

const KEY: &str = "sk-direct-test";

async fn server(openai: &voiceblox_tests::fakes::openai::OpenAiFake, direct: DirectOptions) -> Server {
    Server::start_direct(&[("OPENAI_BASE_URL", openai.base_url()), ("OPENAI_API_KEY", KEY.to_string())], direct).await
}

fn session() -> Value {
    json!({"config": room_config()})
}

async fn post(server: &Server, body: &Value, method: reqwest::Method) -> (u16, Value) {
    let response = voiceblox_tests::http_client()
        .request(method, format!("{}/api/direct-session", server.base()))
        .json(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn a_browser_talks_with_the_agent_and_ends_the_session() {
    let openai = talking_openai(KEY);
    let server = server(&openai, DirectOptions::default()).await;
    let mut user = DirectUser::start(server.base(), session()).await.unwrap();
    assert!(user.session_id.starts_with("direct-"), "{}", user.session_id);

    // The same events as on the LiveKit topic, on the data channel, in order.
    user.until_event("the greeting", |e| e["type"] == "transcript" && e["role"] == "assistant" && e["final"] == true)
        .await;
    user.until_event("the agent listening", |e| e["type"] == "agent_state" && e["state"] == "listening").await;
    let steps: Vec<Value> = user.events().iter().filter(|e| e["type"] == "step_change").cloned().collect();
    assert_eq!(steps[0], json!({"type": "step_change", "stepId": "hello", "stepType": "start"}));
    // The greeting is heard as sound.
    assert!(voiced_frames(&user.heard()) >= 15, "the greeting was not heard");

    speak_and_hear_the_answer(&mut user, &openai).await;
    assert!(user.events().iter().any(|e| e["type"] == "transcript" && e["text"] == ANSWER));

    // DELETE ends it: the server hangs up, the session is gone, a second DELETE is a 404.
    let (status, body) = post(&server, &json!({"sessionId": user.session_id}), reqwest::Method::DELETE).await;
    assert_eq!((status, &body), (200, &json!({"ok": true})));
    user.until_closed().await;
    assert_eq!(server.direct.sessions.count(), 0);
    let (status, body) = post(&server, &json!({"sessionId": user.session_id}), reqwest::Method::DELETE).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("session_not_found")));
}

/// A server started with `--record DIR`: the direct call is written down and replays offline,
/// with the provider fake gone, to the same events.
#[tokio::test]
async fn a_recorded_direct_session_replays_offline_to_the_same_events() {
    let openai = talking_openai(KEY);
    let dir = tempfile::tempdir().unwrap();
    let env = [("OPENAI_BASE_URL", openai.base_url()), ("OPENAI_API_KEY", KEY.to_string())];
    let server = Server::start_direct_recording(&env, dir.path(), false).await;
    let mut user = DirectUser::start(server.base(), session()).await.unwrap();
    user.until_event("the agent listening", |e| e["type"] == "agent_state" && e["state"] == "listening").await;
    speak_and_hear_the_answer(&mut user, &openai).await;
    // A hang-up within a few milliseconds of the agent's last word could be replayed on either
    // side of it (the replay's processing takes no time); the user lets the agent finish.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, _) = post(&server, &json!({"sessionId": user.session_id}), reqwest::Method::DELETE).await;
    assert_eq!(status, 200);
    user.until_closed().await;
    // The session's end (post-call included) is the recording's last line.
    let path = loop {
        let done = std::fs::read_dir(dir.path()).unwrap().filter_map(|e| e.ok().map(|e| e.path())).find(|p| {
            std::fs::read_to_string(p)
                .is_ok_and(|text| text.trim_end().ends_with(r#""kind":"end","reason":"UserLeft"}"#))
        });
        match done {
            Some(path) => break path,
            None => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    drop(openai);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains(KEY), "the key reached the recording");
    let recording = Recording::read(&path).unwrap();
    assert!(recording.events().iter().any(|e| e["type"] == "transcript" && e["text"] == ANSWER));
    let replayed = tokio::task::spawn_blocking(move || {
        on_virtual_time(async move {
            let runtime = common::plugin_runtime(&[]).await;
            replay(&recording, &runtime).await.unwrap()
        })
        .unwrap()
    })
    .await
    .unwrap();
    assert!(replayed.plugin_changes.is_empty(), "{:?}", replayed.plugin_changes);
    assert_eq!(replayed.divergence(), None, "{}", replayed.divergence().map(|d| d.to_string()).unwrap_or_default());
    assert_eq!(replayed.replayed.len(), replayed.recorded.len());
}

/// With `--record-on-request` only a session whose request says `"record": true` is recorded;
/// a server that does not record refuses such a request with a clear 400.
#[tokio::test]
async fn recording_on_request_records_only_the_sessions_that_ask() {
    let openai = talking_openai(KEY);
    let dir = tempfile::tempdir().unwrap();
    let env = [("OPENAI_BASE_URL", openai.base_url()), ("OPENAI_API_KEY", KEY.to_string())];
    let recording = Server::start_direct_recording(&env, dir.path(), true).await;
    for record in [false, true] {
        let mut body = session();
        body["record"] = json!(record);
        let mut user = DirectUser::start(recording.base(), body).await.unwrap();
        user.until_event("the agent listening", |e| e["type"] == "agent_state" && e["state"] == "listening").await;
        let (status, _) = post(&recording, &json!({"sessionId": user.session_id}), reqwest::Method::DELETE).await;
        assert_eq!(status, 200);
        user.until_closed().await;
    }
    while recording.direct.sessions.count() > 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().filter_map(|e| e.ok()).collect();
    assert_eq!(files.len(), 1, "only the session that asked is recorded");

    let plain = server(&openai, DirectOptions::default()).await;
    let mut body = session();
    body["record"] = json!(true);
    body["offer"] = json!("v=0");
    let (status, answer) = post(&plain, &body, reqwest::Method::POST).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (400, Some("recording_unavailable")), "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap().contains("--record DIR"), "{answer}");
}

#[tokio::test]
async fn bad_configs_offers_and_bodies_get_a_clear_4xx_and_start_nothing() {
    let openai = talking_openai(KEY);
    let server = server(&openai, DirectOptions::default()).await;
    let offer = BrowserOffer::new().await;

    let mut config = room_config();
    config["steps"][0]["nextStepIds"] = json!({"next": "nowhere"});
    let (status, body) = post(&server, &json!({"offer": offer.sdp, "config": config}), reqwest::Method::POST).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_config")), "{body}");
    assert!(body["error"]["problems"].as_array().unwrap().iter().any(|p| p["path"] == "steps[0].nextStepIds.next"));

    let no_audio = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";
    let (status, body) =
        post(&server, &json!({"offer": no_audio, "config": room_config()}), reqwest::Method::POST).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_offer")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("no audio track"));

    let (status, body) = post(&server, &json!({"config": room_config()}), reqwest::Method::POST).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("missing_offer")));

    let huge = json!({"offer": offer.sdp, "config": room_config(), "padding": "x".repeat(300 * 1024)});
    let (status, body) = post(&server, &huge, reqwest::Method::POST).await;
    assert_eq!((status, body["error"]["code"].as_str()), (413, Some("body_too_large")), "{body}");

    assert_eq!(server.direct.sessions.count(), 0);
}

#[tokio::test]
async fn sessions_beyond_the_limit_are_refused_and_a_session_ends_at_its_length_limit() {
    let openai = talking_openai(KEY);
    let server = server(&openai, DirectOptions { max_sessions: 1, max_seconds: 3 }).await;
    let mut first = DirectUser::start(server.base(), session()).await.unwrap();
    let refused = DirectUser::start(server.base(), session()).await.err().expect("a second session refused");
    assert_eq!((refused.0, refused.1["error"]["code"].as_str()), (503, Some("too_many_sessions")));

    // At 3 s the agent hangs up on its own; the slot is free again.
    first.until_event("the greeting", |e| e["type"] == "transcript" && e["role"] == "assistant").await;
    first.until_closed().await;
    for _ in 0..100 {
        if server.direct.sessions.count() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(server.direct.sessions.count(), 0);
    let second = DirectUser::start(server.base(), session()).await;
    assert!(second.is_ok(), "{:?}", second.err());
}
