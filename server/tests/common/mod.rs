//! What the server's end-to-end tests share: the server on a real listener, a worker in this
//! process, and a conversation the provider fakes can hold.

#![allow(dead_code)] // each test file uses its own part

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};
use voiceblox_host::egress::secret::Secret;
use voiceblox_host::egress::{HostPattern, NetworkPolicy};
use voiceblox_host::plugin::{
    CompileCache, PluginEngine, PluginRegistry, PluginRuntime, SandboxLimits, Timeouts, default_plugins_dir,
};
use voiceblox_host::record::{RecordOptions, RecordSettings};
use voiceblox_host::transport::livekit::LiveKitCredentials;
use voiceblox_host::worker::{SessionRunner, Worker, WorkerConfig};
use voiceblox_server::agent_session::LocalSessions;
use voiceblox_server::direct_session::DirectSessions;
use voiceblox_server::settings::{DirectOptions, RuntimeMode, SessionOptions, SessionSettings};
use voiceblox_server::{AppState, service};
use voiceblox_tests::audio::{LIBRIVOX_TEXT, librivox_48k, rms};
use voiceblox_tests::fakes::openai::{ChatScript, OpenAiFake, OpenAiScript, TranscriptionScript};
use voiceblox_tests::room_user::RoomUser;
use voiceblox_tests::user::TestUser;

/// The shipped plugins with exactly the environment `env` (so the machine's own provider keys
/// cannot make a config valid), loopback allowed when `env` is not empty (provider fakes).
pub async fn plugin_runtime(env: &[(&str, String)]) -> PluginRuntime {
    let engine = PluginEngine::new(SandboxLimits::default()).unwrap();
    let cache = CompileCache::new(Some(std::env::temp_dir().join("voiceblox-test-cache")));
    let registry = PluginRegistry::load_dir(&engine, &cache, &default_plugins_dir()).await;
    let policy = if env.is_empty() {
        NetworkPolicy::default()
    } else {
        NetworkPolicy::default().allow(HostPattern::parse("127.0.0.1").unwrap())
    };
    let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    PluginRuntime::new(registry, policy, Timeouts::default())
        .unwrap()
        .with_env(Arc::new(move |name| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())))
}

pub struct Server {
    base: String,
    client: reqwest::Client,
    pub local: LocalSessions,
    pub direct: DirectSessions,
}

impl Server {
    /// `POST /api/agent-session` with `config` and `openai_key` beside it; the answer, which
    /// must be a 200.
    pub async fn start_session(&self, config: Value, openai_key: &str) -> Value {
        let (status, started) = self.post_json(&json!({"config": config, "apiKeys": {"openai": openai_key}})).await;
        assert_eq!(status, StatusCode::OK, "{started}");
        started
    }

    /// Serves the app on `127.0.0.1:0` with the shipped plugins and an empty environment (so
    /// the machine's own provider keys cannot make a config valid).
    pub async fn start(mode: RuntimeMode, livekit: Option<(&str, &str, &str)>) -> Self {
        Self::start_with(mode, livekit, &[]).await.0
    }

    /// [`Server::start`] with these environment variables, loopback allowed for the plugins
    /// (provider fakes), and the runtime it serves.
    pub async fn start_with(
        mode: RuntimeMode,
        livekit: Option<(&str, &str, &str)>,
        env: &[(&str, String)],
    ) -> (Self, PluginRuntime) {
        Self::start_full(mode, livekit, env, DirectOptions::default()).await
    }

    /// A server without LiveKit (direct sessions only) with these limits, the environment
    /// `env` and loopback allowed for the plugins.
    pub async fn start_direct(env: &[(&str, String)], direct: DirectOptions) -> Self {
        Self::start_full(RuntimeMode::InProcess, None, env, direct).await.0
    }

    /// [`Server::start_direct`] recording into `dir` (`--record DIR`): every session, or only
    /// those that ask (`--record-on-request`).
    pub async fn start_direct_recording(env: &[(&str, String)], dir: &std::path::Path, on_request: bool) -> Self {
        let record = RecordOptions { dir: Some(dir.to_path_buf()), max_mb: 64, on_request };
        Self::start_recording(RuntimeMode::InProcess, None, env, DirectOptions::default(), record).await.0
    }

    async fn start_full(
        mode: RuntimeMode,
        livekit: Option<(&str, &str, &str)>,
        env: &[(&str, String)],
        direct: DirectOptions,
    ) -> (Self, PluginRuntime) {
        Self::start_recording(mode, livekit, env, direct, RecordOptions::default()).await
    }

    async fn start_recording(
        mode: RuntimeMode,
        livekit: Option<(&str, &str, &str)>,
        env: &[(&str, String)],
        direct: DirectOptions,
        record: RecordOptions,
    ) -> (Self, PluginRuntime) {
        let runtime = plugin_runtime(env).await;
        let options = SessionOptions {
            agent_runtime: mode,
            livekit_url: livekit.map(|l| l.0.to_string()),
            livekit_api_key: livekit.map(|l| l.1.to_string()),
            livekit_api_secret: livekit.map(|l| voiceblox_host::egress::secret::Secret::new(l.2)),
            record,
        };
        let state = AppState {
            runtime: Arc::new(runtime.clone()),
            sessions: SessionSettings::new(options),
            local: Default::default(),
            direct: DirectSessions::new(&direct),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let local = state.local.clone();
        let direct = state.direct.clone();
        tokio::spawn(async move { axum::serve(listener, service(state)).await });
        voiceblox_host::egress::tls::install_crypto_provider();
        (Self { base, client: reqwest::Client::new(), local, direct }, runtime)
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// `DELETE /api/direct-session` for `session_id`.
    pub async fn delete_direct(&self, session_id: &str) -> (StatusCode, Value) {
        let request =
            self.client.delete(format!("{}/api/direct-session", self.base)).json(&json!({"sessionId": session_id}));
        send(request).await
    }

    pub async fn post(&self, body: impl Into<reqwest::Body>) -> (StatusCode, Value) {
        let request = self.client.post(format!("{}/api/agent-session", self.base)).body(body);
        send(request.header("content-type", "application/json")).await
    }

    pub async fn post_json(&self, body: &Value) -> (StatusCode, Value) {
        self.post(body.to_string()).await
    }

    pub async fn delete(&self, body: &Value) -> (StatusCode, Value) {
        send(self.client.delete(format!("{}/api/agent-session", self.base)).json(body)).await
    }
}

pub async fn send(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")))
}

/// A conversation the fakes can hold: an LLM greeting, then free talk; STT by upload, so no
/// stream is open while nobody speaks.
pub fn room_config() -> Value {
    voiceblox_tests::configs::concierge()
}

pub fn greeting_openai(key: &str) -> OpenAiFake {
    OpenAiScript::new().api_key(key).chat(ChatScript::text(["Welcome to the Grand! ", "How can I help?"])).start()
}

/// An in-process server on the LiveKit project `(url, key, secret)` whose agents reach
/// `openai`, and one session started on it with `openai_key` sent beside the config (the
/// server's environment has none). Returns the server and the `POST` answer.
pub async fn start_inprocess_session(
    livekit: (&str, &str, &str),
    openai: &OpenAiFake,
    openai_key: &str,
) -> (Server, Value) {
    let server = inprocess_server(livekit, openai).await;
    let started = server.start_session(room_config(), openai_key).await;
    (server, started)
}

/// An in-process server on the LiveKit project `(url, key, secret)` whose agents reach `openai`.
pub async fn inprocess_server(livekit: (&str, &str, &str), openai: &OpenAiFake) -> Server {
    let env = [("OPENAI_BASE_URL", openai.base_url())];
    Server::start_with(RuntimeMode::InProcess, Some(livekit), &env).await.0
}

/// What the agent answers when the user says the LibriVox sentence.
pub const ANSWER: &str = "A fair judgement of him.";

/// [`greeting_openai`], then an STT that hears the LibriVox sentence and an LLM that answers it.
pub fn talking_openai(key: &str) -> OpenAiFake {
    OpenAiScript::new()
        .api_key(key)
        .chat(ChatScript::text(["Welcome to the Grand! ", "How can I help?"]))
        .chat(ChatScript::text([ANSWER]))
        .transcription(TranscriptionScript::text(LIBRIVOX_TEXT))
        .start()
}

/// 20 ms blocks of `samples` loud enough to be speech or the agent's voice, not silence or
/// codec noise.
pub fn voiced_frames(samples: &[i16]) -> usize {
    samples.chunks(960).filter(|frame| rms(frame) > 300.0).count()
}

/// With the user's audio started and the greeting over: the user says the LibriVox sentence;
/// the agent hears all of it (the STT upload is the sentence's length), answers, and the answer
/// arrives as sound.
pub async fn speak_and_hear_the_answer(user: &mut impl TestUser, openai: &OpenAiFake) {
    let before = voiced_frames(&user.heard());
    let mut speech = librivox_48k();
    speech.extend(vec![0; 48_000]);
    user.speak(speech);
    let said = user
        .until_event("the user's words", |e| e["type"] == "transcript" && e["role"] == "user" && e["final"] == true)
        .await;
    assert_eq!(said["text"], LIBRIVOX_TEXT);
    let seconds = openai.transcriptions()[0].duration_ms() / 1000.0;
    // 2.5 s of speech, plus the VAD's padding before and after it.
    assert!((2.3..=4.0).contains(&seconds), "the agent heard {seconds:.2} s of the user");
    user.until_event("the answer said", |e| {
        e["type"] == "transcript" && e["role"] == "assistant" && e["text"] == ANSWER
    })
    .await;
    // The answer's audio may still be on its way when its transcript is final.
    let mut answered = 0;
    for _ in 0..100 {
        answered = voiced_frames(&user.heard()) - before;
        if answered >= 15 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(answered >= 15, "only {answered} voiced frames of the answer arrived");
}

/// What a user in the room sees of a healthy agent: its steps and states on the events topic,
/// from the agent's identity, and its `lk.agent.state` attribute.
pub async fn assert_agent_greets(user: &mut RoomUser, agent: &str) {
    user.until_event("the agent listening", |e| e["type"] == "agent_state" && e["state"] == "listening").await;
    let events = user.agent_events();
    assert!(events.iter().all(|(from, _)| from == agent), "{events:?}");
    let events: Vec<&Value> = events.iter().map(|(_, e)| e).collect();
    let steps: Vec<&Value> = events.iter().copied().filter(|e| e["type"] == "step_change").collect();
    assert_eq!(steps[0], &json!({"type": "step_change", "stepId": "hello", "stepType": "start"}));
    assert_eq!(steps[1], &json!({"type": "step_change", "stepId": "talk", "stepType": "opentalk"}));
    let states: Vec<&str> =
        events.iter().filter(|e| e["type"] == "agent_state").map(|e| e["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["initializing", "thinking", "speaking", "listening"]);
    let said = events.iter().find(|e| e["type"] == "transcript" && e["role"] == "assistant" && e["final"] == true);
    assert_eq!(said.unwrap()["text"], "Welcome to the Grand! How can I help?");
    user.until_agent_state("listening").await;
}

/// A worker of our own, in this process, serving the LiveKit project at `url`; it stops when
/// the returned sender is dropped.
pub fn spawn_worker(url: &str, key: &str, secret: &str, runtime: PluginRuntime) -> tokio::sync::oneshot::Sender<()> {
    spawn_recording_worker(url, key, secret, runtime, None)
}

/// [`spawn_worker`], recording its sessions as `record` says (`voiceblox-host worker --record`).
pub fn spawn_recording_worker(
    url: &str,
    key: &str,
    secret: &str,
    runtime: PluginRuntime,
    record: Option<RecordSettings>,
) -> tokio::sync::oneshot::Sender<()> {
    let credentials = LiveKitCredentials::new(url, key, Secret::new(secret)).unwrap();
    let config = WorkerConfig::new(credentials);
    let runner = SessionRunner::new(runtime, config.metrics.clone(), config.credentials.clone()).recording(record);
    let runner = Arc::new(runner);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        if let Err(error) = Worker::run(config, runner, async move { drop(stopped.await) }).await {
            panic!("worker failed: {error}");
        }
    });
    stop
}
