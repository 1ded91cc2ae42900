//! An agent session inside a room (`voiceblox_host::agent`), through the real OpenAI plugin
//! against its fake, with the room reduced to what the session uses of it: publishing events,
//! the `lk.agent.state` attribute and who is present. The LiveKit room client and the fake SFU
//! are exercised end to end in `livekit_session.rs`.

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use voiceblox_host::agent::{self, AgentError, AgentJob};
use voiceblox_host::audio::{AudioEnds, AudioIo};
use voiceblox_host::events::AgentState;
use voiceblox_host::transport::{LinkError, Presence, UserLink, UserSide};
use voiceblox_host::voice::Ending;
use voiceblox_tests::fakes::openai::{ChatScript, OpenAiFake, OpenAiScript};

const OPENAI_KEY: &str = "sk-room-test-31";

#[derive(Debug, Clone, PartialEq)]
enum Published {
    Event(Value),
    State(AgentState),
}

/// A room that keeps what the session published, and can refuse every event.
#[derive(Default)]
struct MemoryRoom {
    published: Mutex<Vec<Published>>,
    refuse_events: bool,
    changed: tokio::sync::Notify,
}

impl MemoryRoom {
    fn published(&self) -> Vec<Published> {
        self.published.lock().unwrap().clone()
    }

    fn events(&self) -> Vec<Value> {
        self.published()
            .into_iter()
            .filter_map(|p| match p {
                Published::Event(event) => Some(event),
                Published::State(_) => None,
            })
            .collect()
    }

    fn states(&self) -> Vec<AgentState> {
        self.published()
            .into_iter()
            .filter_map(|p| match p {
                Published::State(state) => Some(state),
                Published::Event(_) => None,
            })
            .collect()
    }

    /// Waits until an event matching `wanted` was published.
    async fn until(&self, wanted: impl Fn(&Value) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let changed = self.changed.notified();
            if self.events().iter().any(&wanted) {
                return;
            }
            assert!(
                tokio::time::timeout_at(deadline, changed).await.is_ok(),
                "event never published; got {:?}",
                self.events()
            );
        }
    }

    fn push(&self, published: Published) {
        self.published.lock().unwrap().push(published);
        self.changed.notify_waiters();
    }
}

impl UserLink for MemoryRoom {
    fn publish_event(&self, json: Vec<u8>) -> BoxFuture<'_, Result<(), LinkError>> {
        Box::pin(async move {
            if self.refuse_events {
                return Err("data channel closed".into());
            }
            self.push(Published::Event(serde_json::from_slice(&json)?));
            Ok(())
        })
    }

    fn set_agent_state(&self, state: AgentState) -> BoxFuture<'_, Result<(), LinkError>> {
        Box::pin(async move {
            self.push(Published::State(state));
            Ok(())
        })
    }
}

fn config(openai: &OpenAiFake) -> Value {
    json!({
        "agentName": "Room test",
        "instructions": "You are a concierge.",
        "llm": {"model": "gpt-4.1-mini", "provider": "openai", "baseURL": openai.base_url()},
        "tts": {"model": "gpt-4o-mini-tts", "provider": "openai", "voiceId": "alloy"},
        "stt": {"model": "gpt-4o-mini-transcribe", "provider": "openai"},
        "steps": [
            {"id": "s", "type": "start", "command": "Greet the guest.", "nextStepIds": {"next": "o"}},
            {"id": "o", "type": "opentalk", "command": "Help with the stay."}
        ],
    })
}

async fn job(openai: &OpenAiFake) -> (AgentJob, tempfile::TempDir) {
    let env = [("OPENAI_API_KEY", OPENAI_KEY), ("OPENAI_BASE_URL", &openai.base_url())];
    let (runtime, dir) = common::runtime(&["127.0.0.1"], &env).await;
    (AgentJob::new(runtime), dir)
}

struct Running {
    room: Arc<MemoryRoom>,
    presence: mpsc::Sender<Presence>,
    /// The user's microphone, kept open (closing it hangs up) but silent.
    _audio: AudioEnds,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<Result<Ending, AgentError>>,
}

fn start(job: AgentJob, metadata: String, room: MemoryRoom) -> Running {
    let room = Arc::new(room);
    let (presence, presence_rx) = mpsc::channel(8);
    let stop = CancellationToken::new();
    let (link, stop_job) = (room.clone(), stop.clone());
    let (audio, ends) = AudioIo::pair();
    let side = UserSide { link, presence: presence_rx, audio, controls: mpsc::channel(1).1 };
    let task = tokio::spawn(async move { agent::run(job, &metadata, side, stop_job).await });
    Running { room, presence, _audio: ends, stop, task }
}

async fn ended(running: Running) -> (Arc<MemoryRoom>, Result<Ending, AgentError>) {
    let result = tokio::time::timeout(Duration::from_secs(20), running.task).await.expect("session never ended");
    (running.room, result.expect("session task panicked"))
}

fn greeting_fake() -> OpenAiFake {
    OpenAiScript::new()
        .api_key(OPENAI_KEY)
        .chat(ChatScript::text(["Welcome to the hotel! ", "How can I help?"]))
        .start()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_waits_for_its_user_then_publishes_steps_and_states_in_order() {
    let openai = greeting_fake();
    let (job, _dir) = job(&openai).await;
    let running = start(job, config(&openai).to_string(), MemoryRoom::default());

    // Alone in the room: the attribute says it is starting, nothing is said or asked.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(running.room.published(), [Published::State(AgentState::Initializing)]);
    assert!(openai.chat_requests().is_empty());

    running.presence.send(Presence::UserJoined("user-1".into())).await.unwrap();
    running.room.until(|e| e["type"] == "agent_state" && e["state"] == "listening").await;
    running.presence.send(Presence::UserLeft("user-1".into())).await.unwrap();
    let (room, result) = ended(running).await;
    assert_eq!(result.unwrap(), Ending::UserLeft);

    let events = room.events();
    let steps: Vec<&Value> = events.iter().filter(|e| e["type"] == "step_change").collect();
    assert_eq!(steps[0], &json!({"type": "step_change", "stepId": "s", "stepType": "start"}));
    assert_eq!(steps[1], &json!({"type": "step_change", "stepId": "o", "stepType": "opentalk"}));
    let event_states: Vec<&str> =
        events.iter().filter(|e| e["type"] == "agent_state").map(|e| e["state"].as_str().unwrap()).collect();
    assert_eq!(event_states, ["initializing", "thinking", "speaking", "listening"]);
    // The attribute follows the events: once before anyone came, then with every state event.
    use AgentState::*;
    assert_eq!(room.states(), [Initializing, Initializing, Thinking, Speaking, Listening]);
    let spoken: Vec<&Value> =
        events.iter().filter(|e| e["type"] == "transcript" && e["role"] == "assistant" && e["final"] == true).collect();
    assert_eq!(spoken[0]["text"], "Welcome to the hotel! How can I help?");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_config_is_reported_in_the_room_and_fails_the_job() {
    let openai = greeting_fake();
    let mut broken = config(&openai);
    broken["steps"][0]["nextStepIds"] = json!({"next": "nowhere"});
    broken["llm"]["provider"] = json!("no-such-llm");
    let (job, _dir) = job(&openai).await;
    let running = start(job, broken.to_string(), MemoryRoom::default());
    running.presence.send(Presence::UserJoined("user-1".into())).await.unwrap();
    let (room, result) = ended(running).await;

    let Err(AgentError::InvalidConfig(error)) = result else { panic!("expected a refused config, got {result:?}") };
    let paths: Vec<&str> = error.errors().map(|p| p.path.as_str()).collect();
    assert!(
        paths.contains(&"llm.provider") && paths.iter().any(|p| p.starts_with("steps[0].nextStepIds")),
        "{paths:?}"
    );
    let events = room.events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["type"], "error");
    assert_eq!(events[0]["code"], "invalid_config");
    let message = events[0]["message"].as_str().unwrap();
    assert!(message.contains("llm.provider") && message.contains("no-such-llm"), "{message}");
    assert!(openai.chat_requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_config_fails_at_once_even_when_nobody_comes_to_hear_why() {
    let openai = greeting_fake();
    let (mut job, _dir) = job(&openai).await;
    job.user_wait = Duration::from_millis(100);
    let observer = voiceblox_host::events::CollectSink::default();
    job.observer = Some(Arc::new(observer.clone()));
    let running = start(job, "{\"steps\": 3}".into(), MemoryRoom::default());
    let (room, result) = ended(running).await;
    assert!(matches!(result, Err(AgentError::InvalidConfig(_))), "{result:?}");
    assert_eq!(room.published(), [Published::State(AgentState::Initializing)]);
    // The worker's metrics still count the failure.
    assert_eq!(observer.errors().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_without_metadata_fails_with_a_clear_error() {
    let openai = greeting_fake();
    let (job, _dir) = job(&openai).await;
    let running = start(job, "  ".into(), MemoryRoom::default());
    running.presence.send(Presence::UserJoined("user-1".into())).await.unwrap();
    let (room, result) = ended(running).await;
    assert!(matches!(result, Err(AgentError::NoMetadata)), "{result:?}");
    let events = room.events();
    assert_eq!(events[0]["code"], "invalid_config");
    assert!(events[0]["message"].as_str().unwrap().contains("no metadata"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_coming_ends_the_job_without_calling_any_provider() {
    let openai = greeting_fake();
    let (mut job, _dir) = job(&openai).await;
    job.user_wait = Duration::from_millis(200);
    let running = start(job, config(&openai).to_string(), MemoryRoom::default());
    let (room, result) = ended(running).await;
    assert_eq!(result.unwrap(), Ending::UserLeft);
    assert_eq!(room.published(), [Published::State(AgentState::Initializing)]);
    assert!(openai.chat_requests().is_empty() && openai.speech_requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_job_ends_the_session_and_the_room_closing_does_too() {
    for how in ["stop", "closed"] {
        let openai = greeting_fake();
        let (job, _dir) = job(&openai).await;
        let running = start(job, config(&openai).to_string(), MemoryRoom::default());
        running.presence.send(Presence::UserJoined("user-1".into())).await.unwrap();
        running.room.until(|e| e["type"] == "step_change" && e["stepId"] == "o").await;
        match how {
            "stop" => running.stop.cancel(),
            _ => running.presence.send(Presence::Closed("room deleted".into())).await.unwrap(),
        }
        let (_, result) = ended(running).await;
        assert_eq!(result.unwrap(), Ending::UserLeft, "{how}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_refusing_events_does_not_stop_the_conversation() {
    let openai = greeting_fake();
    let (job, _dir) = job(&openai).await;
    let running = start(job, config(&openai).to_string(), MemoryRoom { refuse_events: true, ..MemoryRoom::default() });
    running.presence.send(Presence::UserJoined("user-1".into())).await.unwrap();
    // The greeting is still generated and spoken (two sentences) although no event gets out.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !running.room.states().contains(&AgentState::Listening) {
        assert!(tokio::time::Instant::now() < deadline, "{:?}", running.room.states());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(openai.chat_requests().len(), 1);
    assert_eq!(openai.speech_requests().len(), 2);
    running.presence.send(Presence::UserLeft("user-1".into())).await.unwrap();
    let (room, result) = ended(running).await;
    assert_eq!(result.unwrap(), Ending::UserLeft);
    assert!(room.events().is_empty());
}
