//! `POST`/`DELETE /api/agent-session` through a real listener, against the fake LiveKit (Twirp
//! over HTTP, HS256 JWTs checked with the fake's own secret) and the plugins built from this repo.

use crate::common;

use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::common::{
    ANSWER, Server, greeting_openai, inprocess_server, room_config, spawn_recording_worker, spawn_worker,
    speak_and_hear_the_answer, start_inprocess_session, talking_openai, voiced_frames,
};
use livekit_protocol::JobStatus;
use reqwest::StatusCode;
use serde_json::{Value, json};
use voiceblox_host::egress::secret::Secret;
use voiceblox_host::record::RecordSettings;
use voiceblox_host::transport::livekit::{ControlPlane, LiveKitCredentials};
use voiceblox_host::voice::control::CONTROL_TOPIC;
use voiceblox_server::settings::RuntimeMode;
use voiceblox_tests::audio::{LIBRIVOX_TEXT, librivox_48k};
use voiceblox_tests::fakes::livekit::FakeLiveKit;
use voiceblox_tests::fakes::openai::{ChatScript, OpenAiScript, TranscriptionScript};
use voiceblox_tests::room_user::RoomUser;

const KEY: &str = "APIfakekey";
const SECRET: &str = "fake-livekit-secret-0123456789";
/// A key the author put in the config: the worker needs it, but not in the room metadata.
const CONFIG_KEY: &str = "sk-in-config-1111";
/// Keys sent beside the config: they validate the config but never reach the room.
const REQUEST_OPENAI_KEY: &str = "sk-request-2222";
const REQUEST_DEEPGRAM_KEY: &str = "dg-request-3333";

fn config() -> Value {
    json!({
        "frameworkId": "f1", "frameworkProvider": "livekit", "agentName": "Tester", "instructions": "Be brief.",
        "llm": {"model": "gpt-4.1-mini", "provider": "openai", "apiKey": CONFIG_KEY},
        "tts": {"model": "gpt-4o-mini-tts", "provider": "openai", "voiceId": "coral"},
        "stt": {"model": "nova-3", "provider": "deepgram"},
        "steps": [
            {"id": "s", "type": "start", "command": "Say hello.", "nextStepIds": {"next": "e"}},
            {"id": "e", "type": "end", "command": "Say goodbye."}
        ],
        "someFutureField": {"kept": true}
    })
}

/// What every participant may read of `config()`.
fn public_config() -> Value {
    let mut public = config();
    public["llm"].as_object_mut().unwrap().remove("apiKey");
    public
}

fn api_keys() -> Value {
    json!({"openai": REQUEST_OPENAI_KEY, "deepgram": REQUEST_DEEPGRAM_KEY})
}

async fn worker_server(livekit: &FakeLiveKit) -> Server {
    Server::start(RuntimeMode::Worker, Some((&livekit.url(), KEY, SECRET))).await
}

fn keys(value: &Value) -> BTreeSet<&str> {
    value.as_object().unwrap().keys().map(String::as_str).collect()
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

#[tokio::test]
async fn worker_mode_creates_the_room_dispatches_the_agent_and_returns_a_room_token() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    let server = worker_server(&livekit).await;
    let (status, body) = server.post_json(&json!({"config": config(), "apiKeys": api_keys()})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(keys(&body), BTreeSet::from(["token", "roomName", "serverUrl"]));
    assert_eq!(body["serverUrl"], livekit.url());

    let room_name = body["roomName"].as_str().unwrap();
    let (millis, random) = room_name.strip_prefix("voiceblox-").unwrap().split_once('-').unwrap();
    assert!(millis.parse::<u128>().is_ok() && !random.is_empty(), "{room_name}");

    // The room holds the caller's config as sent, unknown fields included, minus its key:
    // every participant can read room metadata.
    let room = livekit.room(room_name).expect("room created");
    let metadata: Value = serde_json::from_str(&room.metadata).unwrap();
    assert_eq!(metadata, public_config());
    for absent in [CONFIG_KEY, REQUEST_OPENAI_KEY, REQUEST_DEEPGRAM_KEY, "apiKeys", "[redacted]", SECRET] {
        assert!(!room.metadata.contains(absent), "{absent} leaked into {}", room.metadata);
    }

    // The keys travel sealed in the dispatch metadata, which only the job's worker gets.
    let dispatches = livekit.dispatches();
    assert_eq!(dispatches.len(), 1);
    assert_eq!((dispatches[0].agent_name.as_str(), dispatches[0].room.as_str()), ("voiceblox", room_name));
    let sealed: Value = serde_json::from_str(&dispatches[0].metadata).unwrap();
    assert_eq!(keys(&sealed), BTreeSet::from(["voiceblox.sealed"]));
    for absent in [CONFIG_KEY, REQUEST_OPENAI_KEY, REQUEST_DEEPGRAM_KEY, "openai", SECRET] {
        assert!(!dispatches[0].metadata.contains(absent), "{absent} readable in {}", dispatches[0].metadata);
    }

    // The browser's token: that room only, join/publish/subscribe/data, no admin, short-lived.
    let claims = livekit.verify(body["token"].as_str().unwrap()).expect("signed with the project's secret");
    let video = &claims.video;
    assert!(video.room_join && video.room == room_name);
    assert_eq!((video.can_publish, video.can_subscribe, video.can_publish_data), (Some(true), Some(true), Some(true)));
    assert_eq!(video.can_publish_sources, ["microphone"]);
    assert!(!video.room_admin && !video.room_create && !video.room_list);
    assert!(claims.sub.starts_with("user-"), "{}", claims.sub);
    let ttl = claims.exp.saturating_sub(now());
    assert!((14 * 60..=15 * 60 + 5).contains(&ttl), "ttl {ttl}s");

    // Both calls went out as Twirp protobuf.
    let twirp: Vec<_> = livekit
        .requests()
        .into_iter()
        .map(|r| (r.path().to_string(), r.header("content-type").map(String::from)))
        .collect();
    let protobuf = Some("application/protobuf".to_string());
    assert_eq!(
        twirp,
        [
            ("/twirp/livekit.RoomService/CreateRoom".to_string(), protobuf.clone()),
            ("/twirp/livekit.AgentDispatchService/CreateDispatch".to_string(), protobuf)
        ]
    );
}

#[tokio::test]
async fn a_bare_agent_config_is_accepted_and_its_request_fields_stay_out_of_the_room() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    let server = worker_server(&livekit).await;
    let mut bare = config();
    bare["apiKeys"] = api_keys();
    let (status, body) = server.post_json(&bare).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let room = livekit.room(body["roomName"].as_str().unwrap()).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&room.metadata).unwrap(), public_config());
}

#[tokio::test]
async fn the_request_can_bring_its_own_livekit_project() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    let server = Server::start(RuntimeMode::Worker, None).await;
    let project = json!({"url": livekit.url(), "apiKey": KEY, "apiSecret": SECRET});
    let (status, body) =
        server.post_json(&json!({"config": config(), "apiKeys": api_keys(), "livekit": project})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let room = livekit.room(body["roomName"].as_str().unwrap()).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&room.metadata).unwrap(), public_config());
    assert!(!room.metadata.contains(SECRET));
    assert_eq!(livekit.dispatches().len(), 1);
}

#[tokio::test]
async fn graphs_malformed_json_and_non_objects_are_refused_before_livekit() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    let server = worker_server(&livekit).await;
    let (status, body) = server.post_json(&json!({"nodes": [], "edges": [], "apiKeys": api_keys()})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "graph_not_supported");
    assert!(body["error"]["message"].as_str().unwrap().contains("config"));

    let (status, body) = server.post("{\"config\": {").await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_json")));
    let (status, body) = server.post_json(&json!(["not", "an", "object"])).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
    assert!(livekit.requests().is_empty());
}

#[tokio::test]
async fn an_invalid_config_is_refused_with_every_problem_and_its_path() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    let server = worker_server(&livekit).await;
    let mut broken = config();
    broken["stt"]["provider"] = json!("nope");
    broken["steps"] = json!([{"id": "e", "type": "end"}]);
    // No apiKeys and an empty environment: no matter in worker mode, where the worker has its own.
    let (status, body) = server.post_json(&json!({"config": broken})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "invalid_config");
    let problems = body["error"]["problems"].as_array().unwrap();
    let at = |path: &str| problems.iter().find(|p| p["path"] == path).unwrap_or_else(|| panic!("{path}: {body}"));
    assert!(at("stt.provider")["message"].as_str().unwrap().contains("unknown STT provider 'nope'"));
    assert!(at("steps")["message"].as_str().unwrap().contains("no start step"));
    assert!(problems.iter().all(|p| !p["path"].as_str().unwrap().ends_with("apiKey")), "{body}");
    assert!(livekit.requests().is_empty());
}

#[tokio::test]
async fn a_wrong_livekit_secret_is_a_bad_gateway_that_names_the_setting_not_the_secret() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    let wrong = "not-the-secret-9876543210";
    let server = Server::start(RuntimeMode::Worker, Some((&livekit.url(), KEY, wrong))).await;
    let (status, body) = server.post_json(&json!({"config": config(), "apiKeys": api_keys()})).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert_eq!(body["error"]["code"], "livekit_unauthorized");
    let text = body.to_string();
    assert!(text.contains("LIVEKIT_API_SECRET") && text.contains("CreateRoom"), "{text}");
    assert!(!text.contains(wrong) && !text.contains(SECRET), "{text}");
    assert!(livekit.rooms().is_empty() && livekit.dispatches().is_empty());
}

#[tokio::test]
async fn a_wrong_secret_sent_in_the_request_is_the_callers_error() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    let wrong = "not-the-secret-from-the-request-42";
    let server = Server::start(RuntimeMode::Worker, None).await;
    let request = json!({
        "config": config(), "apiKeys": api_keys(),
        "livekit": {"url": livekit.url(), "apiKey": KEY, "apiSecret": wrong}
    });
    let (status, body) = server.post_json(&request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "livekit_unauthorized");
    assert!(body["error"]["message"].as_str().unwrap().contains("sent in the request"), "{body}");
    assert!(!body.to_string().contains(wrong), "{body}");
    assert!(livekit.rooms().is_empty() && livekit.dispatches().is_empty());
}

#[tokio::test]
async fn missing_livekit_settings_name_the_variables() {
    let server = Server::start(RuntimeMode::Worker, None).await;
    let (status, body) = server.post_json(&json!({"config": config(), "apiKeys": api_keys()})).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "livekit_not_configured");
    let message = body["error"]["message"].as_str().unwrap();
    for var in ["LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"] {
        assert!(message.contains(var), "{message}");
    }
}

#[tokio::test]
async fn an_unreachable_livekit_is_a_bad_gateway() {
    // Bind then drop: a loopback port with nothing listening refuses at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("ws://127.0.0.1:{port}");
    let server = Server::start(RuntimeMode::Worker, Some((&url, KEY, SECRET))).await;
    let (status, body) = server.post_json(&json!({"config": config(), "apiKeys": api_keys()})).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert_eq!(body["error"]["code"], "livekit_unreachable");
    assert!(!body.to_string().contains(SECRET));
}

#[tokio::test]
async fn delete_ends_the_session_by_deleting_its_room() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    let server = worker_server(&livekit).await;
    let (_, started) = server.post_json(&json!({"config": config(), "apiKeys": api_keys()})).await;
    let room_name = started["roomName"].as_str().unwrap();

    let (status, body) = server.delete(&json!({"roomName": room_name})).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"ok": true})));
    assert_eq!(livekit.deleted_rooms(), [room_name]);
    assert!(livekit.rooms().is_empty() && livekit.dispatches().is_empty());

    // Again: LiveKit no longer knows the room.
    let (status, body) = server.delete(&json!({"roomName": room_name})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["code"], "room_not_found");
}

#[tokio::test]
async fn delete_needs_a_voiceblox_room_name() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    let server = worker_server(&livekit).await;
    let (status, body) = server.delete(&json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("missing_room_name")));
    let (status, body) = server.delete(&json!({"roomName": "board-meeting"})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_room_name")));
    assert!(livekit.requests().is_empty());
}

// ---- the agent in the room, end to end ---------------------------------------------------

/// [`common::assert_agent_greets`], and the attribute went through the same states, in order,
/// as the fake server recorded them.
async fn assert_agent_greets(livekit: &FakeLiveKit, user: &mut RoomUser, agent: &str) {
    common::assert_agent_greets(user, agent).await;
    // The attribute went through the same states, in order, as the server recorded them.
    let history: Vec<String> = livekit
        .attribute_history(agent)
        .into_iter()
        .filter_map(|attributes| attributes.get("lk.agent.state").cloned())
        .collect();
    let mut changes = history.clone();
    changes.dedup();
    assert_eq!(changes, ["initializing", "thinking", "speaking", "listening"], "{history:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inprocess_mode_runs_the_agent_in_the_room_and_delete_ends_it() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    let openai = greeting_openai(REQUEST_OPENAI_KEY);
    // The provider key comes only with the request: the server's environment has none.
    let (server, started) = start_inprocess_session((&livekit.url(), KEY, SECRET), &openai, REQUEST_OPENAI_KEY).await;
    let room_name = started["roomName"].as_str().unwrap();
    assert!(livekit.dispatches().is_empty(), "in-process mode dispatches nothing");
    assert!(!livekit.room(room_name).unwrap().metadata.contains(REQUEST_OPENAI_KEY));

    let mut user = RoomUser::join(started["serverUrl"].as_str().unwrap(), started["token"].as_str().unwrap())
        .await
        .expect("the browser token joins the room");
    let agent = format!("agent-{room_name}");
    assert_agent_greets(&livekit, &mut user, &agent).await;
    let chat = &openai.chat_requests()[0];
    assert_eq!(chat.header("authorization"), Some(format!("Bearer {REQUEST_OPENAI_KEY}").as_str()));
    // The agent joined as an agent, with the rights LiveKit gives agents.
    let joined = livekit.rtc_participant(&agent).expect("the agent is in the fake's room");
    assert_eq!(joined.info.kind, livekit_protocol::participant_info::Kind::Agent as i32);
    assert!(server.local.is_running(room_name));

    let (status, body) = server.delete(&json!({"roomName": room_name})).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"ok": true})));
    assert!(!server.local.is_running(room_name), "DELETE waited for the agent to stop");
    assert_eq!(livekit.deleted_rooms(), [room_name]);
    user.until_gone(&agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_mode_dispatches_to_a_worker_that_runs_the_agent_with_the_requests_sealed_keys() {
    // Neither process has an OpenAI key: the one sent beside the config reaches the worker
    // sealed in the dispatch, and the fake OpenAI answers only to it.
    let livekit = FakeLiveKit::start(KEY, SECRET);
    let openai = greeting_openai(REQUEST_OPENAI_KEY);
    let env = [("OPENAI_BASE_URL", openai.base_url())];
    let (server, runtime) = Server::start_with(RuntimeMode::Worker, Some((&livekit.url(), KEY, SECRET)), &env).await;
    let _worker = spawn_worker(&livekit.url(), KEY, SECRET, runtime);
    livekit.wait_for("the worker's registration", |lk| lk.agent_workers().into_iter().next()).await;

    let (status, started) =
        server.post_json(&json!({"config": room_config(), "apiKeys": {"openai": REQUEST_OPENAI_KEY}})).await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let room_name = started["roomName"].as_str().unwrap().to_string();
    let mut user = RoomUser::join(started["serverUrl"].as_str().unwrap(), started["token"].as_str().unwrap())
        .await
        .expect("the browser token joins the room");
    let job =
        livekit.wait_for("the job's assignment", |lk| lk.agent_jobs().into_iter().find(|j| j.token.is_some())).await;
    assert_eq!(job.job.room.as_ref().unwrap().name, room_name);
    assert!(job.job.metadata.contains("voiceblox.sealed") && !job.job.metadata.contains(REQUEST_OPENAI_KEY));
    assert_agent_greets(&livekit, &mut user, &job.participant_identity).await;
    assert_eq!(job.participant_identity, format!("agent-{}", job.job.id));
    let bearer = format!("Bearer {REQUEST_OPENAI_KEY}");
    assert_eq!(openai.chat_requests()[0].header("authorization"), Some(bearer.as_str()), "the request's key");

    // DELETE: the room goes, the server terminates the job, the worker reports it done.
    let (status, _) = server.delete(&json!({"roomName": room_name})).await;
    assert_eq!(status, StatusCode::OK);
    user.until_gone(&job.participant_identity).await;
    let ended = livekit
        .wait_for("the job's end", |lk| {
            lk.agent_jobs().into_iter().find(|j| {
                j.job.id == job.job.id && j.status != JobStatus::JsRunning && j.status != JobStatus::JsPending
            })
        })
        .await;
    assert_eq!(ended.status, JobStatus::JsSuccess, "{}", ended.error);
}

/// In worker mode the request's `"record": true` travels to the worker in the config; a worker
/// started with `--record DIR --record-on-request` records that session and no other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_mode_hands_a_requests_record_ask_to_the_worker_which_records_only_that_session() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    let openai = greeting_openai(REQUEST_OPENAI_KEY);
    let env = [("OPENAI_BASE_URL", openai.base_url())];
    let (server, runtime) = Server::start_with(RuntimeMode::Worker, Some((&livekit.url(), KEY, SECRET)), &env).await;
    let dir = tempfile::tempdir().unwrap();
    let settings = RecordSettings { on_request: true, ..RecordSettings::new(dir.path()) };
    let _worker = spawn_recording_worker(&livekit.url(), KEY, SECRET, runtime, Some(settings));
    livekit.wait_for("the worker's registration", |lk| lk.agent_workers().into_iter().next()).await;

    let mut jobs = Vec::new();
    for record in [false, true] {
        let body = json!({"config": room_config(), "apiKeys": {"openai": REQUEST_OPENAI_KEY}, "record": record});
        let (status, started) = server.post_json(&body).await;
        assert_eq!(status, StatusCode::OK, "{started}");
        let room_name = started["roomName"].as_str().unwrap().to_string();
        let mut user = RoomUser::join(started["serverUrl"].as_str().unwrap(), started["token"].as_str().unwrap())
            .await
            .expect("the browser token joins the room");
        let job = livekit
            .wait_for("the job's assignment", |lk| {
                lk.agent_jobs()
                    .into_iter()
                    .find(|j| j.token.is_some() && j.job.room.as_ref().unwrap().name == room_name)
            })
            .await;
        assert_agent_greets(&livekit, &mut user, &job.participant_identity).await;
        let (status, _) = server.delete(&json!({"roomName": room_name})).await;
        assert_eq!(status, StatusCode::OK);
        user.until_gone(&job.participant_identity).await;
        jobs.push(job.job.id);
    }
    // A job reports its end after its session (and its recording) finished.
    for job in &jobs {
        livekit
            .wait_for("the job's end", |lk| {
                lk.agent_jobs().into_iter().find(|j| j.job.id == *job && j.status == JobStatus::JsSuccess)
            })
            .await;
    }
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().filter_map(|e| e.ok()).collect();
    assert_eq!(files.len(), 1, "only the session that asked is recorded");
    let recording = std::fs::read_to_string(files[0].path()).unwrap();
    let header: Value = serde_json::from_str(recording.lines().next().unwrap()).unwrap();
    assert_eq!(header["config"]["record"], true, "{header}");
    assert!(!recording.contains(REQUEST_OPENAI_KEY), "the request's key never reaches the recording");
    assert!(recording.lines().last().unwrap().contains(r#""kind":"end""#), "the recording is complete");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_config_in_the_room_fails_the_job_and_tells_the_room_why() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    let openai = greeting_openai(REQUEST_OPENAI_KEY);
    let env = [("OPENAI_BASE_URL", openai.base_url()), ("OPENAI_API_KEY", REQUEST_OPENAI_KEY.to_string())];
    let (_server, runtime) = Server::start_with(RuntimeMode::Worker, Some((&livekit.url(), KEY, SECRET)), &env).await;
    let _worker = spawn_worker(&livekit.url(), KEY, SECRET, runtime);

    // Another app made this room: its metadata is not a config this host can run.
    let mut broken = room_config();
    broken["steps"][0]["nextStepIds"] = json!({"next": "nowhere"});
    let room = "voiceblox-broken-1";
    let credentials = LiveKitCredentials::new(&livekit.url(), KEY, Secret::new(SECRET)).unwrap();
    let control = ControlPlane::new(credentials);
    control.create_room(room, &broken.to_string()).await.unwrap();
    let mut user = RoomUser::join(&livekit.url(), &livekit.participant_token(room, "user-1")).await.unwrap();
    control.create_dispatch(room, "voiceblox", "").await.unwrap();

    let error = user.until_event("the agent's error", |e| e["type"] == "error").await;
    assert_eq!(error["code"], "invalid_config");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("steps[0].nextStepIds") && message.contains("nowhere"), "{message}");
    let failed = livekit
        .wait_for("the job's failure", |lk| lk.agent_jobs().into_iter().find(|j| j.status == JobStatus::JsFailed))
        .await;
    assert!(failed.error.contains("AgentConfig in the room metadata was refused"), "{}", failed.error);
    assert!(openai.chat_requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_room_link_fails_the_job_with_the_reason() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    let openai = greeting_openai(REQUEST_OPENAI_KEY);
    let env = [("OPENAI_BASE_URL", openai.base_url()), ("OPENAI_API_KEY", REQUEST_OPENAI_KEY.to_string())];
    let (_server, runtime) = Server::start_with(RuntimeMode::Worker, Some((&livekit.url(), KEY, SECRET)), &env).await;
    let _worker = spawn_worker(&livekit.url(), KEY, SECRET, runtime);
    let room = "voiceblox-dead-link-1";
    let control = ControlPlane::new(LiveKitCredentials::new(&livekit.url(), KEY, Secret::new(SECRET)).unwrap());
    control.create_room(room, &room_config().to_string()).await.unwrap();
    // The user keeps LiveKit's slow keepalive; the agent, joining after, gets a fast one.
    let mut user = RoomUser::join(&livekit.url(), &livekit.participant_token(room, "user-1")).await.unwrap();
    livekit.set_ping(1, 2);
    control.create_dispatch(room, "voiceblox", "").await.unwrap();
    user.until_event("the agent listening", |e| e["type"] == "agent_state" && e["state"] == "listening").await;

    // The server goes silent: the agent's keepalive notices and the job fails, saying why.
    livekit.answer_pings(false);
    // Ping interval + timeout + the session's wrap-up: longer than `wait_for`'s 5 s allows.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    let failed = loop {
        if let Some(job) = livekit.agent_jobs().into_iter().find(|j| j.status == JobStatus::JsFailed) {
            break job;
        }
        assert!(tokio::time::Instant::now() < deadline, "the job never failed: {:?}", livekit.agent_jobs());
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(failed.error.contains("lost the room") && failed.error.contains("ping timeout"), "{}", failed.error);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_user_hears_the_agent_and_is_heard_through_the_room() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    let openai = talking_openai(REQUEST_OPENAI_KEY);
    let (server, started) = start_inprocess_session((&livekit.url(), KEY, SECRET), &openai, REQUEST_OPENAI_KEY).await;
    let room_name = started["roomName"].as_str().unwrap();
    let agent = format!("agent-{room_name}");
    let mut user = RoomUser::join(started["serverUrl"].as_str().unwrap(), started["token"].as_str().unwrap())
        .await
        .expect("the browser token joins the room");
    user.start_audio(&agent).await.expect("the user's microphone is published");

    // The agent published one audio track; its greeting is heard as sound, not just text.
    user.until_event("the greeting said", |e| e["type"] == "agent_state" && e["state"] == "listening").await;
    let tracks = livekit.published_tracks(&agent);
    assert_eq!(tracks.len(), 1, "{tracks:?}");
    assert_eq!(tracks[0].r#type, livekit_protocol::TrackType::Audio as i32);
    let greeting = voiced_frames(&user.heard());
    assert!(greeting >= 25, "only {greeting} voiced frames of the greeting arrived");

    speak_and_hear_the_answer(&mut user, &openai).await;
    server.delete(&json!({"roomName": room_name})).await;
}

/// A talk button through the room: with `turnDetection: "manual"` the user's silence ends
/// nothing; the page's `end_turn` on the control topic does, and the agent answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_manual_turn_detection_the_pages_end_turn_ends_the_turn() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    let openai = talking_openai(REQUEST_OPENAI_KEY);
    let server = inprocess_server((&livekit.url(), KEY, SECRET), &openai).await;
    let mut config = room_config();
    config["turnTaking"] = json!({"turnDetection": "manual"});
    let started = server.start_session(config, REQUEST_OPENAI_KEY).await;
    let agent = format!("agent-{}", started["roomName"].as_str().unwrap());
    let mut user = RoomUser::join(started["serverUrl"].as_str().unwrap(), started["token"].as_str().unwrap())
        .await
        .expect("the browser token joins the room");
    user.start_audio(&agent).await.expect("the user's microphone is published");
    user.until_event("the greeting said", |e| e["type"] == "agent_state" && e["state"] == "listening").await;

    let control = |kind: &str| json!({ "type": kind }).to_string().into_bytes();
    user.room.publish_data(control("start_turn"), CONTROL_TOPIC, true).await.expect("start_turn sent");
    let mut speech = librivox_48k();
    speech.extend(vec![0; 48_000 * 2]);
    user.speak(speech);
    // The utterance is transcribed when the VAD hears it end, and then a second of silence
    // goes by: in VAD mode the turn would have been taken half a second in.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while openai.transcriptions().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "the utterance was never transcribed");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let turn_taken = |e: &Value| e["type"] == "transcript" && e["role"] == "user" && e["final"] == true;
    assert!(
        !user.agent_events().iter().any(|(_, e)| turn_taken(e)),
        "a turn without end_turn: {:?}",
        user.agent_events()
    );

    user.room.publish_data(control("end_turn"), CONTROL_TOPIC, true).await.expect("end_turn sent");
    let said = user.until_event("the user's turn", turn_taken).await;
    assert_eq!(said["text"], LIBRIVOX_TEXT);
    user.until_event("the answer", |e| e["type"] == "transcript" && e["role"] == "assistant" && e["text"] == ANSWER)
        .await;
    server.delete(&json!({"roomName": started["roomName"]})).await;
}

/// A phone caller (a SIP participant, as LiveKit's SIP bridge joins one) asks for a person:
/// the LLM calls `transfer_to_human`, the agent asks LiveKit to transfer the call to the
/// configured number (`SIP/TransferSIPParticipant` with the project's key), the caller leaves
/// and the session ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_caller_is_transferred_to_a_person_through_livekit_sip() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    let openai = OpenAiScript::new()
        .api_key(REQUEST_OPENAI_KEY)
        .chat(ChatScript::text(["Welcome to the Grand!"]))
        .chat(ChatScript::new().tool_call("call_t", "transfer_to_human", r#"{"reason": "wants a person"}"#))
        .chat(ChatScript::text(["Goodbye."]))
        .transcription(TranscriptionScript::text("Let me talk to a person, please."))
        .start();
    let server = inprocess_server((&livekit.url(), KEY, SECRET), &openai).await;
    let mut config = room_config();
    config["transfer"] = json!({"to": "tel:+15550100", "playDialtone": true});
    let started = server.start_session(config, REQUEST_OPENAI_KEY).await;
    let room = started["roomName"].as_str().unwrap().to_string();
    let agent = format!("agent-{room}");

    let token = livekit.sip_caller_token(&room, "sip_+15550123", "SCL_call1");
    let mut caller = RoomUser::join(&livekit.url(), &token).await.expect("the caller joins");
    caller.start_audio(&agent).await.expect("the caller's audio is published");
    caller.until_event("the greeting said", |e| e["type"] == "agent_state" && e["state"] == "listening").await;
    let mut speech = librivox_48k();
    speech.extend(vec![0; 48_000]);
    caller.speak(speech);
    caller.until_gone(&agent).await;

    let transfers = livekit.sip_transfers();
    assert_eq!(transfers.len(), 1, "{transfers:?}");
    let transfer = &transfers[0];
    assert_eq!(
        (transfer.room.as_str(), transfer.identity.as_str(), transfer.call_id.as_str()),
        (room.as_str(), "sip_+15550123", "SCL_call1")
    );
    assert_eq!((transfer.transfer_to.as_str(), transfer.play_dialtone), ("tel:+15550100", true));
    // The agent reported the call and its result on the events topic.
    let events: Vec<Value> = livekit
        .data_packets()
        .into_iter()
        .filter(|d| d.sender == agent)
        .filter_map(|d| serde_json::from_slice(&d.payload).ok())
        .collect();
    let call = events.iter().find(|e| e["type"] == "tool_call").expect("a tool_call event");
    assert_eq!((&call["toolName"], &call["source"]), (&json!("transfer_to_human"), &json!("sip")), "{call}");
    let result = events.iter().find(|e| e["type"] == "tool_result").expect("a tool_result event");
    assert_eq!(result["ok"], true, "{result}");
    // With the caller gone the session is over.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    while server.local.count() > 0 {
        assert!(tokio::time::Instant::now() < deadline, "the session outlived the transferred call");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Two calls at once in one server process: each agent publishes its own track, hears its
/// own user and answers them; neither hears the other's room.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_rooms_in_one_process_each_have_their_own_conversation() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    let openai = OpenAiScript::new()
        .api_key(REQUEST_OPENAI_KEY)
        .chat(ChatScript::text(["Welcome to the Grand!"]))
        .chat(ChatScript::text(["Welcome to the Grand!"]))
        .chat(ChatScript::text([ANSWER]))
        .chat(ChatScript::text([ANSWER]))
        .transcription(TranscriptionScript::text(LIBRIVOX_TEXT))
        .transcription(TranscriptionScript::text(LIBRIVOX_TEXT))
        .start();
    let server = inprocess_server((&livekit.url(), KEY, SECRET), &openai).await;
    let mut calls = Vec::new();
    for _ in 0..2 {
        let started = server.start_session(room_config(), REQUEST_OPENAI_KEY).await;
        let agent = format!("agent-{}", started["roomName"].as_str().unwrap());
        let mut user = RoomUser::join(started["serverUrl"].as_str().unwrap(), started["token"].as_str().unwrap())
            .await
            .expect("the browser token joins the room");
        user.start_audio(&agent).await.expect("the user's microphone is published");
        calls.push((agent, user));
    }
    let talks = calls.iter_mut().map(|(_, user)| async {
        user.until_event("the greeting said", |e| e["type"] == "agent_state" && e["state"] == "listening").await;
        speak_and_hear_the_answer(user, &openai).await;
    });
    futures_util::future::join_all(talks).await;
    for (agent, user) in &calls {
        assert_eq!(livekit.published_tracks(agent).len(), 1, "{agent}");
        assert!(user.agent_events().iter().all(|(from, _)| from == agent), "events from another room reached {agent}");
    }
    assert_eq!(openai.transcriptions().len(), 2);
}
