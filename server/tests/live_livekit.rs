//! Opt-in: the whole session flow against a real LiveKit server, in both runtime modes. Runs
//! only when `LIVEKIT_URL`, `LIVEKIT_API_KEY` and `LIVEKIT_API_SECRET` are set, and otherwise
//! says so and passes. Providers stay on the local OpenAI fake, so only LiveKit is real:
//!
//! ```sh
//! livekit-server --dev &   # ws://127.0.0.1:7880, devkey / secret
//! LIVEKIT_URL=ws://127.0.0.1:7880 LIVEKIT_API_KEY=devkey LIVEKIT_API_SECRET=secret \
//!     cargo test -p voiceblox-server --test e2e live_livekit:: -- --nocapture --test-threads 1
//! ```

use crate::common::{
    Server, assert_agent_greets, room_config, spawn_worker, speak_and_hear_the_answer, talking_openai,
};
use reqwest::StatusCode;
use serde_json::json;
use voiceblox_server::settings::RuntimeMode;
use voiceblox_tests::fakes::openai::OpenAiFake;
use voiceblox_tests::room_user::RoomUser;

const OPENAI_KEY: &str = "sk-live-livekit-test";

fn project() -> Option<(String, String, String)> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    match (var("LIVEKIT_URL"), var("LIVEKIT_API_KEY"), var("LIVEKIT_API_SECRET")) {
        (Some(url), Some(key), Some(secret)) => Some((url, key, secret)),
        _ => {
            eprintln!("LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET are not all set: skipping the live test");
            None
        }
    }
}

/// POST a session, join as the user, see the agent greet, talk with it (heard both ways over
/// the real server's media path), DELETE, see the agent go.
async fn session_round_trip(server: &Server, openai: &OpenAiFake, agent_identity: impl Fn(&str) -> Option<String>) {
    let (status, started) = server.post_json(&json!({"config": room_config()})).await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let room = started["roomName"].as_str().unwrap().to_string();
    let mut user = RoomUser::join(started["serverUrl"].as_str().unwrap(), started["token"].as_str().unwrap())
        .await
        .expect("the browser token joins the real room");
    let first = user.until_event("the agent's first event", |_| true).await;
    eprintln!("first agent event: {first}");
    let agent = user.agent_events()[0].0.clone();
    if let Some(expected) = agent_identity(&room) {
        assert_eq!(agent, expected);
    }
    assert!(agent.starts_with("agent-"), "{agent}");
    assert_agent_greets(&mut user, &agent).await;
    user.start_audio(&agent).await.expect("the user's microphone is published");
    speak_and_hear_the_answer(&mut user, openai).await;

    let (status, body) = server.delete(&json!({"roomName": room})).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"ok": true})));
    user.until_gone(&agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inprocess_session_on_a_real_livekit() {
    let Some((url, key, secret)) = project() else { return };
    let openai = talking_openai(OPENAI_KEY);
    let env = [("OPENAI_BASE_URL", openai.base_url()), ("OPENAI_API_KEY", OPENAI_KEY.to_string())];
    let (server, _) = Server::start_with(RuntimeMode::InProcess, Some((&url, &key, &secret)), &env).await;
    session_round_trip(&server, &openai, |room| Some(format!("agent-{room}"))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_session_on_a_real_livekit() {
    let Some((url, key, secret)) = project() else { return };
    let openai = talking_openai(OPENAI_KEY);
    let env = [("OPENAI_BASE_URL", openai.base_url()), ("OPENAI_API_KEY", OPENAI_KEY.to_string())];
    let (server, runtime) = Server::start_with(RuntimeMode::Worker, Some((&url, &key, &secret)), &env).await;
    let _worker = spawn_worker(&url, &key, &secret, runtime);
    // The worker registers in well under a second; a dispatch made before is held by LiveKit
    // until a worker is available, so no wait is needed here.
    session_round_trip(&server, &openai, |_| None).await;
}
