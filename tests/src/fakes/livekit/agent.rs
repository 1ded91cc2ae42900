//! The fake `/agent` endpoint: LiveKit's side of the agent-worker protocol, following the
//! server's `pkg/service/agentservice.go` and `pkg/agent/worker.go`.
//!
//! - The handshake must be a WebSocket upgrade (else 404) carrying a valid token (else the auth
//!   middleware's plain-text 401) with `video.agent` (else 401 "no permissions to access the room").
//! - The first message must be `register` within [`AgentTimeouts::register`] (LiveKit: 10 s); a
//!   non-protobuf frame, any other message first, or a second `register` closes the socket.
//!   `ping` is answered with `pong` at any time.
//! - A dispatch (`CreateDispatch`) becomes a job offered with `availability` to a registered
//!   worker of that agent name whose last `update_worker` said `WS_AVAILABLE`; no answer within
//!   [`AgentTimeouts::availability`] (LiveKit: 10 s) fails the job; a refusal offers it to the
//!   next worker. An acceptance gets `assignment { job, token, url: "" }`, the token minted by the
//!   server for the room and the identity the worker asked for. Jobs nobody could take wait
//!   for the next worker to register, as LiveKit retries dispatches when a worker registers.
//! - `update_job` changes a job's status only from the worker that owns it (LiveKit ignores the
//!   others: after a reconnect the worker has a new id); every message is recorded anyway.
//! - `DeleteRoom` (or [`FakeLiveKit::terminate_job`]) sends `termination` and ends the job with
//!   `JS_SUCCESS`, as LiveKit's `TerminateJob` does.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use livekit_protocol as proto;
use prost::Message as _;
use proto::server_message::Message as ToWorker;
use proto::worker_message::Message as FromWorker;
use tokio::sync::{Notify, mpsc, oneshot, watch};

use super::{FakeLiveKit, Project, auth};
use crate::fakes::ids::alnum_id;
use crate::fakes::server::{Shutdown, lock};

/// How long the fake waits for a worker; LiveKit's `RegisterTimeout` and `AssignJobTimeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentTimeouts {
    pub register: Duration,
    pub availability: Duration,
}

impl Default for AgentTimeouts {
    fn default() -> Self {
        Self { register: Duration::from_secs(10), availability: Duration::from_secs(10) }
    }
}

/// One job as the fake sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentJob {
    pub job: proto::Job,
    /// The worker it was assigned to, once assigned.
    pub worker_id: Option<String>,
    /// The assignment's token (and the identity the worker asked for).
    pub token: Option<String>,
    pub participant_identity: String,
    /// `JS_PENDING` until the owning worker reports otherwise (or the job is terminated).
    pub status: proto::JobStatus,
    pub error: String,
    /// Workers that were offered the job and declined it.
    pub declined_by: Vec<String>,
    /// Set when no worker answered the offer in time.
    pub availability_timed_out: bool,
    /// When the fake sent the `assignment` (the start of a join-latency measurement).
    pub assigned_at: Option<Instant>,
}

/// A message a worker sent, with the connection (1, 2, ... in accept order) it came on.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentMessage {
    pub connection: u64,
    /// The id the fake gave that connection's worker (none before registration).
    pub worker_id: Option<String>,
    pub message: FromWorker,
}

/// A registered worker, as its last `update_worker` described it.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentWorker {
    pub id: String,
    pub connection: u64,
    pub agent_name: String,
    pub status: proto::WorkerStatus,
    pub load: f32,
    pub job_count: u32,
    pub draining: bool,
}

/// The `/agent` state of one project.
pub(crate) struct Agents {
    state: Mutex<AgentState>,
    timeouts: Mutex<AgentTimeouts>,
    /// Bumped on every change, for tests that wait on the fake.
    changed: watch::Sender<u64>,
    /// Wakes the dispatcher: a job was created, a worker registered or became available.
    kick: Notify,
    shutdown: Shutdown,
}

#[derive(Default)]
struct AgentState {
    connections: u64,
    workers: Vec<LiveWorker>,
    jobs: Vec<AgentJob>,
    /// Jobs with an offer out.
    offering: HashSet<String>,
    messages: Vec<AgentMessage>,
}

struct LiveWorker {
    info: AgentWorker,
    permissions: Option<proto::ParticipantPermission>,
    tx: mpsc::UnboundedSender<Outgoing>,
    waiting: HashMap<String, oneshot::Sender<proto::AvailabilityResponse>>,
}

enum Outgoing {
    Message(Box<ToWorker>),
    /// Cut the socket without a close frame, as a network failure would.
    Drop,
}

impl Agents {
    pub(crate) fn new(shutdown: Shutdown) -> Self {
        Self {
            state: Mutex::default(),
            timeouts: Mutex::new(AgentTimeouts::default()),
            changed: watch::Sender::new(0),
            kick: Notify::new(),
            shutdown,
        }
    }

    fn touch(&self) {
        self.changed.send_modify(|n| *n += 1);
    }

    /// A dispatch was created: its job waits for a worker.
    pub(crate) fn dispatched(&self, project: &Project, dispatch: &proto::AgentDispatch, room: proto::Room) {
        let id = format!("AJ_{}", alnum_id(0xA7, project.serial.next(), 12));
        let job = proto::Job {
            id,
            dispatch_id: dispatch.id.clone(),
            r#type: proto::JobType::JtRoom as i32,
            room: Some(room),
            agent_name: dispatch.agent_name.clone(),
            metadata: dispatch.metadata.clone(),
            ..Default::default()
        };
        lock(&self.state).jobs.push(AgentJob {
            job,
            worker_id: None,
            token: None,
            participant_identity: String::new(),
            status: proto::JobStatus::JsPending,
            error: String::new(),
            declined_by: Vec::new(),
            availability_timed_out: false,
            assigned_at: None,
        });
        self.touch();
        self.kick.notify_one();
    }

    /// The room is gone: its jobs are terminated.
    pub(crate) fn room_deleted(&self, room: &str) {
        let ids: Vec<String> = lock(&self.state)
            .jobs
            .iter()
            .filter(|j| j.job.room.as_ref().is_some_and(|r| r.name == room))
            .map(|j| j.job.id.clone())
            .collect();
        for id in ids {
            self.terminate(&id);
        }
    }

    fn terminate(&self, job_id: &str) -> bool {
        let mut state = lock(&self.state);
        let Some(index) = state.jobs.iter().position(|j| j.job.id == job_id) else { return false };
        let owner = state.jobs[index].worker_id.clone();
        let running = !matches!(state.jobs[index].status, proto::JobStatus::JsSuccess | proto::JobStatus::JsFailed);
        let Some(owner) = owner.filter(|_| running) else { return false };
        if let Some(worker) = state.workers.iter().find(|w| w.info.id == owner) {
            let termination = proto::JobTermination { job_id: job_id.to_string() };
            let _ = worker.tx.send(Outgoing::Message(Box::new(ToWorker::Termination(termination))));
        }
        state.jobs[index].status = proto::JobStatus::JsSuccess;
        drop(state);
        self.touch();
        true
    }
}

/// `GET /agent`.
pub(crate) async fn handle(
    State(project): State<Arc<Project>>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Ok(upgrade) = upgrade else { return StatusCode::NOT_FOUND.into_response() };
    let claims = match auth::authenticate(&headers, &project.api_key, &project.api_secret) {
        Ok(claims) => claims,
        Err(refusal) => return refusal.into_response(),
    };
    if !claims.is_some_and(|c| c.video.agent) {
        return (StatusCode::UNAUTHORIZED, "no permissions to access the room").into_response();
    }
    upgrade.on_upgrade(move |socket| serve_worker(project, socket))
}

async fn serve_worker(project: Arc<Project>, socket: WebSocket) {
    let agents = &project.agents;
    let connection = {
        let mut state = lock(&agents.state);
        state.connections += 1;
        state.connections
    };
    let (mut sink, mut stream) = socket.split();
    let register_timeout = lock(&agents.timeouts).register;
    let deadline = tokio::time::Instant::now() + register_timeout;
    // Registration: pings are answered, anything else closes the socket.
    let register = loop {
        let next = tokio::time::timeout_at(deadline, read(&mut stream)).await;
        let Ok(Some(message)) = next else {
            tracing::debug!(connection, "worker did not register in time or sent garbage");
            return;
        };
        record(agents, connection, None, &message);
        match message {
            FromWorker::Register(register) => break register,
            FromWorker::Ping(ping) => {
                if send(&mut sink, pong(&ping)).await.is_err() {
                    return;
                }
            }
            _ => return,
        }
    };
    if proto::JobType::try_from(register.r#type).is_err() {
        return;
    }
    let worker_id = format!("AW_{}", alnum_id(0xAE, project.serial.next(), 12));
    let answer = ToWorker::Register(proto::RegisterWorkerResponse {
        worker_id: worker_id.clone(),
        server_info: Some(proto::ServerInfo {
            edition: proto::server_info::Edition::Standard as i32,
            version: "1.9.0".into(),
            protocol: 16,
            agent_protocol: 1,
            node_id: "ND_fake".into(),
            ..Default::default()
        }),
        ..Default::default()
    });
    if send(&mut sink, answer).await.is_err() {
        return;
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    lock(&agents.state).workers.push(LiveWorker {
        info: AgentWorker {
            id: worker_id.clone(),
            connection,
            agent_name: register.agent_name.clone(),
            status: proto::WorkerStatus::WsAvailable,
            load: 0.0,
            job_count: 0,
            draining: false,
        },
        permissions: register.allowed_permissions.clone(),
        tx,
        waiting: HashMap::new(),
    });
    agents.touch();
    agents.kick.notify_one();
    let mut shutdown = agents.shutdown.clone();
    loop {
        tokio::select! {
            message = read(&mut stream) => {
                let Some(message) = message else { break };
                record(agents, connection, Some(&worker_id), &message);
                if !on_message(agents, &worker_id, message, &mut sink).await {
                    break;
                }
            }
            outgoing = rx.recv() => match outgoing {
                Some(Outgoing::Message(message)) => {
                    if send(&mut sink, *message).await.is_err() {
                        break;
                    }
                }
                Some(Outgoing::Drop) | None => break,
            },
            () = shutdown.signalled() => break,
        }
    }
    lock(&agents.state).workers.retain(|w| w.info.id != worker_id);
    agents.touch();
}

/// Handles one message from a registered worker; `false` closes the socket.
async fn on_message(
    agents: &Agents,
    worker_id: &str,
    message: FromWorker,
    sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
) -> bool {
    match message {
        FromWorker::Ping(ping) => return send(sink, pong(&ping)).await.is_ok(),
        FromWorker::Availability(answer) => {
            let mut state = lock(&agents.state);
            let waiting = state
                .workers
                .iter_mut()
                .find(|w| w.info.id == worker_id)
                .and_then(|w| w.waiting.remove(&answer.job_id));
            match waiting {
                Some(waiting) => {
                    let _ = waiting.send(answer);
                }
                None => tracing::warn!(job_id = answer.job_id, "availability answer for an unknown job"),
            }
        }
        FromWorker::UpdateJob(update) => {
            let mut state = lock(&agents.state);
            let owned =
                state.jobs.iter_mut().find(|j| j.job.id == update.job_id && j.worker_id.as_deref() == Some(worker_id));
            if let Some(job) = owned {
                job.status = proto::JobStatus::try_from(update.status).unwrap_or(proto::JobStatus::JsPending);
                job.error = update.error;
            }
        }
        FromWorker::UpdateWorker(update) => {
            let mut state = lock(&agents.state);
            if let Some(worker) = state.workers.iter_mut().find(|w| w.info.id == worker_id) {
                if let Some(status) = update.status.and_then(|s| proto::WorkerStatus::try_from(s).ok()) {
                    worker.info.status = status;
                }
                worker.info.load = update.load;
                worker.info.job_count = update.job_count;
                worker.info.draining = update.draining;
            }
            drop(state);
            agents.kick.notify_one();
        }
        FromWorker::Register(_) => return false,
        FromWorker::SimulateJob(_) | FromWorker::MigrateJob(_) => {}
    }
    agents.touch();
    true
}

/// The dispatcher: offers every waiting job to an available worker, one offer per job at a time.
pub(crate) async fn dispatcher(project: Arc<Project>) {
    let agents = &project.agents;
    let mut shutdown = agents.shutdown.clone();
    loop {
        for (job_id, worker_id) in next_offers(agents) {
            tokio::spawn(offer(project.clone(), job_id, worker_id));
        }
        tokio::select! {
            () = agents.kick.notified() => {}
            () = shutdown.signalled() => return,
        }
    }
}

fn next_offers(agents: &Agents) -> Vec<(String, String)> {
    let mut state = lock(&agents.state);
    let mut offers = Vec::new();
    let waiting: Vec<(String, String, Vec<String>)> = state
        .jobs
        .iter()
        .filter(|j| j.worker_id.is_none() && !j.availability_timed_out && j.status == proto::JobStatus::JsPending)
        .filter(|j| !state.offering.contains(&j.job.id))
        .map(|j| (j.job.id.clone(), j.job.agent_name.clone(), j.declined_by.clone()))
        .collect();
    for (job_id, agent_name, declined_by) in waiting {
        let worker = state.workers.iter().find(|w| {
            w.info.agent_name == agent_name
                && w.info.status == proto::WorkerStatus::WsAvailable
                && !declined_by.contains(&w.info.id)
        });
        if let Some(worker) = worker {
            let worker_id = worker.info.id.clone();
            state.offering.insert(job_id.clone());
            offers.push((job_id, worker_id));
        }
    }
    offers
}

async fn offer(project: Arc<Project>, job_id: String, worker_id: String) {
    let agents = &project.agents;
    let (answer_tx, answer_rx) = oneshot::channel();
    {
        let mut state = lock(&agents.state);
        let job = state.jobs.iter().find(|j| j.job.id == job_id).map(|j| j.job.clone());
        let worker = state.workers.iter_mut().find(|w| w.info.id == worker_id);
        let (Some(job), Some(worker)) = (job, worker) else {
            state.offering.remove(&job_id);
            return;
        };
        worker.waiting.insert(job_id.clone(), answer_tx);
        let request = proto::AvailabilityRequest { job: Some(job), resuming: false };
        let _ = worker.tx.send(Outgoing::Message(Box::new(ToWorker::Availability(request))));
    }
    let timeout = lock(&agents.timeouts).availability;
    let answer = tokio::time::timeout(timeout, answer_rx).await;
    let mut state = lock(&agents.state);
    state.offering.remove(&job_id);
    if let Some(worker) = state.workers.iter_mut().find(|w| w.info.id == worker_id) {
        worker.waiting.remove(&job_id);
    }
    let permissions = state.workers.iter().find(|w| w.info.id == worker_id).and_then(|w| w.permissions.clone());
    let tx = state.workers.iter().find(|w| w.info.id == worker_id).map(|w| w.tx.clone());
    let Some(job) = state.jobs.iter_mut().find(|j| j.job.id == job_id) else { return };
    match answer {
        Err(_) => {
            job.availability_timed_out = true;
            job.error = "agent worker availability timeout".into();
        }
        // The worker went away before answering: try another.
        Ok(Err(_)) => job.declined_by.push(worker_id),
        Ok(Ok(answer)) if !answer.available => job.declined_by.push(worker_id),
        Ok(Ok(answer)) => {
            let room = job.job.room.as_ref().map(|r| r.name.clone()).unwrap_or_default();
            let token = agent_token(&project, &room, &answer, permissions.as_ref(), &job.job.agent_name);
            job.worker_id = Some(worker_id);
            job.token = Some(token.clone());
            job.participant_identity = answer.participant_identity;
            let assignment = proto::JobAssignment { job: Some(job.job.clone()), token, url: Some(String::new()) };
            if let Some(tx) = tx {
                job.assigned_at = Some(Instant::now());
                let _ = tx.send(Outgoing::Message(Box::new(ToWorker::Assignment(assignment))));
            }
        }
    }
    drop(state);
    agents.touch();
    agents.kick.notify_one();
}

/// The room token LiveKit mints for an agent (`BuildAgentToken`): join this room as the
/// identity the worker asked for, with the permissions it registered.
fn agent_token(
    project: &Project,
    room: &str,
    answer: &proto::AvailabilityResponse,
    permissions: Option<&proto::ParticipantPermission>,
    agent_name: &str,
) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let allowed = |get: fn(&proto::ParticipantPermission) -> bool| permissions.is_none_or(get);
    let mut attributes = answer.participant_attributes.clone();
    attributes.insert("lk.agent_name".into(), agent_name.to_string());
    let claims = serde_json::json!({
        "iss": project.api_key,
        "sub": answer.participant_identity,
        "name": answer.participant_name,
        "metadata": answer.participant_metadata,
        "attributes": attributes,
        "kind": "agent",
        "nbf": now,
        "exp": now + 6 * 3600,
        "video": {
            "roomJoin": true,
            "room": room,
            "canPublish": allowed(|p| p.can_publish),
            "canSubscribe": allowed(|p| p.can_subscribe),
            "canPublishData": allowed(|p| p.can_publish_data),
            "canUpdateOwnMetadata": allowed(|p| p.can_update_metadata),
            "agent": true,
        },
    });
    auth::sign(&claims, &project.api_secret)
}

fn pong(ping: &proto::WorkerPing) -> ToWorker {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(0));
    ToWorker::Pong(proto::WorkerPong { last_timestamp: ping.timestamp, timestamp: now })
}

/// The next worker message; `None` on close, a read error, a non-binary frame or bytes that do
/// not decode (LiveKit closes the socket on all of these).
async fn read(stream: &mut futures_util::stream::SplitStream<WebSocket>) -> Option<FromWorker> {
    loop {
        match stream.next().await? {
            Ok(Message::Binary(bytes)) => return proto::WorkerMessage::decode(bytes).ok()?.message,
            Ok(Message::Ping(_) | Message::Pong(_)) => continue,
            Ok(Message::Text(_) | Message::Close(_)) | Err(_) => return None,
        }
    }
}

async fn send(
    sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
    message: ToWorker,
) -> Result<(), axum::Error> {
    let bytes = proto::ServerMessage { message: Some(message) }.encode_to_vec();
    sink.send(Message::Binary(bytes.into())).await
}

fn record(agents: &Agents, connection: u64, worker_id: Option<&str>, message: &FromWorker) {
    lock(&agents.state).messages.push(AgentMessage {
        connection,
        worker_id: worker_id.map(str::to_string),
        message: message.clone(),
    });
    agents.touch();
}

/// What tests see and do on `/agent`.
impl FakeLiveKit {
    /// Changes the register and availability timeouts for connections and offers from now on.
    pub fn set_agent_timeouts(&self, timeouts: AgentTimeouts) {
        *lock(&self.project.agents.timeouts) = timeouts;
    }

    /// Every job, in dispatch order.
    pub fn agent_jobs(&self) -> Vec<AgentJob> {
        lock(&self.project.agents.state).jobs.clone()
    }

    /// Every message workers sent, in arrival order.
    pub fn agent_messages(&self) -> Vec<AgentMessage> {
        lock(&self.project.agents.state).messages.clone()
    }

    /// The workers registered now.
    pub fn agent_workers(&self) -> Vec<AgentWorker> {
        lock(&self.project.agents.state).workers.iter().map(|w| w.info.clone()).collect()
    }

    /// How many `/agent` sockets were accepted so far.
    pub fn agent_connections(&self) -> u64 {
        lock(&self.project.agents.state).connections
    }

    /// Cuts every worker's socket (no close frame), as a network failure would.
    pub fn drop_agent_connections(&self) {
        for worker in &lock(&self.project.agents.state).workers {
            let _ = worker.tx.send(Outgoing::Drop);
        }
    }

    /// Terminates a running job as `DeleteRoom` would; `false` if it is not running.
    pub fn terminate_job(&self, job_id: &str) -> bool {
        self.project.agents.terminate(job_id)
    }

    /// Waits (up to 5 s) until `check` returns a value; panics naming `what` otherwise.
    pub async fn wait_for<T>(&self, what: &str, mut check: impl FnMut(&FakeLiveKit) -> Option<T>) -> T {
        let mut changed = self.project.agents.changed.subscribe();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            changed.mark_unchanged();
            if let Some(value) = check(self) {
                return value;
            }
            if tokio::time::timeout_at(deadline, changed.changed()).await.is_err() {
                panic!("timed out waiting for {what}");
            }
        }
    }
}
