//! The LiveKit agent worker (host) against the fake `/agent`, and the fake's own strictness.
//!
//! A test job runner does what each dispatch's metadata says: `ok`, `fail`, `panic` (in the
//! session), `panic-at-once` (before returning the session), or `hold` (run until the test
//! releases it or the job is stopped).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::{SinkExt, StreamExt};
use livekit_api::access_token::{AccessToken, VideoGrants};
use livekit_protocol as proto;
use prost::Message as _;
use proto::worker_message::Message as FromWorker;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::{self, Message, client::IntoClientRequest};
use tokio_util::sync::CancellationToken;
use voiceblox_host::egress::secret::Secret;
use voiceblox_host::transport::livekit::{AGENT_NAME, ControlPlane, LiveKitCredentials};
use voiceblox_host::worker::{
    Backoff, ConnectionState, HealthServer, JobAssignment, JobFailure, JobOutcome, JobRunner, Worker, WorkerConfig,
    WorkerError, WorkerMetrics,
};
use voiceblox_tests::fakes::livekit::{AgentJob, AgentTimeouts, FakeLiveKit};

const KEY: &str = "APIworker";
const SECRET: &str = "worker-secret-abcdefghijklmnop";

/// What the test runner saw.
#[derive(Default)]
struct Seen {
    assignments: Vec<JobAssignment>,
    stopped: Vec<String>,
}

#[derive(Clone)]
struct TestRunner {
    seen: Arc<Mutex<Seen>>,
    release: watch::Sender<bool>,
}

impl TestRunner {
    fn new() -> Self {
        Self { seen: Arc::default(), release: watch::Sender::new(false) }
    }

    /// Lets every `hold` job end successfully.
    fn release(&self) {
        self.release.send_replace(true);
    }

    fn stopped(&self) -> Vec<String> {
        self.seen.lock().unwrap().stopped.clone()
    }

    fn assignments(&self) -> Vec<JobAssignment> {
        self.seen.lock().unwrap().assignments.clone()
    }
}

impl JobRunner for TestRunner {
    fn run(&self, assignment: JobAssignment, stop: CancellationToken) -> BoxFuture<'static, JobOutcome> {
        let seen = self.seen.clone();
        let mut release = self.release.subscribe();
        let behaviour = assignment.job.metadata.clone();
        let job_id = assignment.job.id.clone();
        seen.lock().unwrap().assignments.push(assignment);
        if behaviour == "panic-at-once" {
            panic!("runner exploded before its session started");
        }
        Box::pin(async move {
            match behaviour.as_str() {
                "ok" => Ok(()),
                "fail" => Err(JobFailure::Failed("config refused: steps[0]".into())),
                "panic" => panic!("runner exploded"),
                "hold" => {
                    tokio::select! {
                        _ = release.wait_for(|released| *released) => Ok(()),
                        () = stop.cancelled() => {
                            seen.lock().unwrap().stopped.push(job_id);
                            Ok(())
                        }
                    }
                }
                other => Err(JobFailure::Failed(format!("unknown behaviour {other:?}").into())),
            }
        })
    }
}

fn credentials(livekit: &FakeLiveKit, secret: &str) -> LiveKitCredentials {
    LiveKitCredentials::new(&livekit.url(), KEY, Secret::new(secret)).unwrap()
}

/// Fast timings, so each test takes well under a second of waiting.
fn config(livekit: &FakeLiveKit, max_jobs: u32) -> WorkerConfig {
    let mut config = WorkerConfig::new(credentials(livekit, SECRET));
    config.options.max_jobs = max_jobs;
    config.options.update_interval = Duration::from_millis(100);
    config.drain_timeout = Duration::from_secs(5);
    config.stop_grace = Duration::from_millis(500);
    config.backoff = Backoff { initial: Duration::from_millis(20), max: Duration::from_millis(100) };
    config.ping_interval = Duration::from_millis(300);
    config
}

/// A worker running against the fake, stoppable through `shutdown`.
struct Running {
    runner: TestRunner,
    metrics: WorkerMetrics,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), WorkerError>>,
}

impl Running {
    fn start(config: WorkerConfig) -> Self {
        let runner = TestRunner::new();
        let metrics = config.metrics.clone();
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(Worker::run(config, Arc::new(runner.clone()), async move {
            let _ = stopped.await;
        }));
        Self { runner, metrics, shutdown: Some(shutdown), task }
    }

    fn shut_down(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }

    async fn finished(self) -> Result<(), WorkerError> {
        tokio::time::timeout(Duration::from_secs(5), self.task).await.expect("the worker did not stop").unwrap()
    }
}

fn plane(livekit: &FakeLiveKit) -> ControlPlane {
    ControlPlane::new(credentials(livekit, SECRET))
}

async fn dispatch(livekit: &FakeLiveKit, room: &str, behaviour: &str) -> AgentJob {
    let dispatch = plane(livekit).create_dispatch(room, AGENT_NAME, behaviour).await.unwrap();
    livekit.agent_jobs().into_iter().find(|j| j.job.dispatch_id == dispatch.id).unwrap()
}

async fn registered(livekit: &FakeLiveKit, connection: u64) -> String {
    livekit
        .wait_for("a registered worker", |lk| {
            lk.agent_workers().into_iter().find(|w| w.connection == connection).map(|w| w.id)
        })
        .await
}

async fn job_status(livekit: &FakeLiveKit, job_id: &str, status: proto::JobStatus) -> AgentJob {
    livekit
        .wait_for(&format!("job {job_id} to be {status:?}"), |lk| {
            lk.agent_jobs().into_iter().find(|j| j.job.id == job_id && j.status == status)
        })
        .await
}

/// The `update_job` statuses the worker sent for a job, with their connection.
fn job_updates(livekit: &FakeLiveKit, job_id: &str) -> Vec<(u64, proto::JobStatus, String)> {
    livekit
        .agent_messages()
        .into_iter()
        .filter_map(|m| match m.message {
            FromWorker::UpdateJob(u) if u.job_id == job_id => {
                Some((m.connection, proto::JobStatus::try_from(u.status).unwrap(), u.error))
            }
            _ => None,
        })
        .collect()
}

fn worker_updates(livekit: &FakeLiveKit) -> Vec<(u64, proto::UpdateWorkerStatus)> {
    livekit
        .agent_messages()
        .into_iter()
        .filter_map(|m| match m.message {
            FromWorker::UpdateWorker(u) => Some((m.connection, u)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_dispatched_job_is_offered_assigned_run_and_reported() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    let worker = Running::start(config(&livekit, 4));
    let health = HealthServer::bind("127.0.0.1:0".parse().unwrap(), worker.metrics.clone()).await.unwrap();
    let worker_id = registered(&livekit, 1).await;

    let register = livekit.agent_messages().into_iter().find_map(|m| match m.message {
        FromWorker::Register(r) => Some(r),
        _ => None,
    });
    let register = register.unwrap();
    assert_eq!((register.agent_name.as_str(), register.r#type), (AGENT_NAME, proto::JobType::JtRoom as i32));
    #[allow(deprecated)]
    let agent = register.allowed_permissions.as_ref().is_some_and(|p| p.agent && p.can_publish && p.can_subscribe);
    assert!(agent, "{register:?}");

    let job = dispatch(&livekit, "voiceblox-room-1", "ok").await;
    let done = job_status(&livekit, &job.job.id, proto::JobStatus::JsSuccess).await;
    assert_eq!(done.worker_id.as_deref(), Some(worker_id.as_str()));
    let identity = format!("agent-{}", job.job.id);
    assert_eq!(done.participant_identity, identity);
    let answer = livekit.agent_messages().into_iter().find_map(|m| match m.message {
        FromWorker::Availability(a) if a.job_id == job.job.id => Some(a),
        _ => None,
    });
    assert!(answer.is_some_and(|a| a.available && a.participant_identity == identity));

    // The token the runner got is the server's: this room, this identity, join rights.
    let assignment = worker.runner.assignments().into_iter().find(|a| a.job.id == job.job.id).unwrap();
    assert_eq!(Some(&assignment.token), done.token.as_ref());
    assert_eq!(assignment.url, livekit.url(), "an empty assignment URL means the worker's own LiveKit URL");
    assert_eq!(assignment.job.room.as_ref().map(|r| r.name.as_str()), Some("voiceblox-room-1"));
    let claims = livekit.verify(&assignment.token).unwrap();
    assert_eq!((claims.sub.as_str(), claims.kind.as_str()), (identity.as_str(), "agent"));
    assert!(claims.video.room_join && claims.video.room == "voiceblox-room-1", "{claims:?}");
    assert_eq!(claims.video.can_publish, Some(true));

    let updates = job_updates(&livekit, &job.job.id);
    let statuses: Vec<_> = updates.iter().map(|(_, s, _)| *s).collect();
    assert_eq!(statuses, [proto::JobStatus::JsRunning, proto::JobStatus::JsSuccess]);

    // Health and metrics while registered.
    let base = format!("http://{}", health.local_addr());
    let healthz = voiceblox_tests::http_client().get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(healthz.status(), 200);
    let body: serde_json::Value = healthz.json().await.unwrap();
    assert_eq!((body["state"].as_str(), body["workerId"].as_str()), (Some("registered"), Some(worker_id.as_str())));
    let metrics = voiceblox_tests::http_client().get(format!("{base}/metrics")).send().await.unwrap();
    assert!(metrics.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = metrics.text().await.unwrap();
    for line in ["voiceblox_worker_jobs_started_total 1", "voiceblox_worker_jobs_succeeded_total 1"] {
        assert!(text.lines().any(|l| l == line), "missing {line:?}:\n{text}");
    }

    let mut worker = worker;
    worker.shut_down();
    let metrics = worker.metrics.clone();
    worker.finished().await.unwrap();
    assert!(matches!(metrics.state(), ConnectionState::Stopped { .. }));
    let healthz = voiceblox_tests::http_client().get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(healthz.status(), 503);
}

#[tokio::test]
async fn failures_and_panics_fail_only_their_own_job() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    let worker = Running::start(config(&livekit, 4));
    registered(&livekit, 1).await;
    let failing = dispatch(&livekit, "voiceblox-fail", "fail").await;
    let panicking = dispatch(&livekit, "voiceblox-panic", "panic").await;
    let at_once = dispatch(&livekit, "voiceblox-panic-at-once", "panic-at-once").await;
    let failed = job_status(&livekit, &failing.job.id, proto::JobStatus::JsFailed).await;
    assert_eq!(failed.error, "config refused: steps[0]");
    let panicked = job_status(&livekit, &panicking.job.id, proto::JobStatus::JsFailed).await;
    assert!(panicked.error.contains("panicked") && panicked.error.contains("runner exploded"), "{}", panicked.error);
    let at_once = job_status(&livekit, &at_once.job.id, proto::JobStatus::JsFailed).await;
    assert!(at_once.error.contains("before its session started"), "{}", at_once.error);
    // The worker and its connection carry on.
    let fine = dispatch(&livekit, "voiceblox-fine", "ok").await;
    job_status(&livekit, &fine.job.id, proto::JobStatus::JsSuccess).await;
    assert_eq!(livekit.agent_connections(), 1);
    let text = worker.metrics.render();
    assert!(text.lines().any(|l| l == "voiceblox_worker_jobs_failed_total 3"), "{text}");
}

#[tokio::test]
async fn a_full_worker_says_so_and_gets_no_more_offers_until_a_job_ends() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    let worker = Running::start(config(&livekit, 1));
    registered(&livekit, 1).await;
    let first = dispatch(&livekit, "voiceblox-a", "hold").await;
    job_status(&livekit, &first.job.id, proto::JobStatus::JsRunning).await;
    livekit
        .wait_for("a full worker", |lk| {
            lk.agent_workers().into_iter().find(|w| w.status == proto::WorkerStatus::WsFull && w.job_count == 1)
        })
        .await;
    let second = dispatch(&livekit, "voiceblox-b", "hold").await;
    // Periodic reports keep coming, with the load; the second job is never offered meanwhile.
    let before = worker_updates(&livekit).len();
    livekit.wait_for("three more load reports", |lk| (worker_updates(lk).len() >= before + 3).then_some(())).await;
    for (_, update) in &worker_updates(&livekit)[before..] {
        assert_eq!((update.status, update.job_count, update.load), (Some(proto::WorkerStatus::WsFull as i32), 1, 1.0));
    }
    let waiting = livekit.agent_jobs().into_iter().find(|j| j.job.id == second.job.id).unwrap();
    assert_eq!((waiting.worker_id, waiting.status), (None, proto::JobStatus::JsPending));
    assert_eq!(worker.runner.assignments().len(), 1);
    // Once the first job ends the worker is available again and takes the second.
    worker.runner.release();
    job_status(&livekit, &first.job.id, proto::JobStatus::JsSuccess).await;
    job_status(&livekit, &second.job.id, proto::JobStatus::JsSuccess).await;
}

#[tokio::test]
async fn a_dropped_connection_is_re_established_and_the_running_job_survives() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    let worker = Running::start(config(&livekit, 4));
    let first_id = registered(&livekit, 1).await;
    let job = dispatch(&livekit, "voiceblox-reconnect", "hold").await;
    job_status(&livekit, &job.job.id, proto::JobStatus::JsRunning).await;

    livekit.drop_agent_connections();
    let second_id = registered(&livekit, 2).await;
    assert_ne!(first_id, second_id);
    // The new connection hears about the kept job: load and its running status.
    livekit
        .wait_for("the kept job reported on the new connection", |lk| {
            job_updates(lk, &job.job.id)
                .iter()
                .any(|(c, s, _)| *c == 2 && *s == proto::JobStatus::JsRunning)
                .then_some(())
        })
        .await;
    assert!(worker_updates(&livekit).iter().any(|(c, u)| *c == 2 && u.job_count == 1));
    assert!(worker.runner.stopped().is_empty(), "the job must not be stopped by a reconnect");

    worker.runner.release();
    livekit
        .wait_for("the final status on the new connection", |lk| {
            job_updates(lk, &job.job.id)
                .iter()
                .any(|(c, s, _)| *c == 2 && *s == proto::JobStatus::JsSuccess)
                .then_some(())
        })
        .await;
    let text = worker.metrics.render();
    assert!(text.lines().any(|l| l == "voiceblox_worker_reconnects_total 1"), "{text}");
}

#[tokio::test]
async fn deleting_the_room_terminates_the_job() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    let worker = Running::start(config(&livekit, 4));
    registered(&livekit, 1).await;
    let job = dispatch(&livekit, "voiceblox-terminate", "hold").await;
    job_status(&livekit, &job.job.id, proto::JobStatus::JsRunning).await;
    plane(&livekit).delete_room("voiceblox-terminate").await.unwrap();
    livekit
        .wait_for("the job's end reported", |lk| {
            job_updates(lk, &job.job.id).iter().any(|(_, s, _)| *s == proto::JobStatus::JsSuccess).then_some(())
        })
        .await;
    assert_eq!(worker.runner.stopped(), std::slice::from_ref(&job.job.id));
}

#[tokio::test]
async fn shutdown_drains_lets_the_job_finish_and_refuses_new_ones() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    let mut worker = Running::start(config(&livekit, 4));
    registered(&livekit, 1).await;
    let job = dispatch(&livekit, "voiceblox-drain", "hold").await;
    job_status(&livekit, &job.job.id, proto::JobStatus::JsRunning).await;

    worker.shut_down();
    livekit
        .wait_for("a draining report", |lk| {
            lk.agent_workers().into_iter().find(|w| w.draining && w.status == proto::WorkerStatus::WsFull)
        })
        .await;
    let refused = dispatch(&livekit, "voiceblox-late", "ok").await;
    let before = worker_updates(&livekit).len();
    livekit.wait_for("two more load reports", |lk| (worker_updates(lk).len() >= before + 2).then_some(())).await;
    assert!(!worker.task.is_finished(), "the worker waits for its running job");
    let late = livekit.agent_jobs().into_iter().find(|j| j.job.id == refused.job.id).unwrap();
    assert_eq!(late.worker_id, None, "a draining worker takes no new job");

    worker.runner.release();
    let runner = worker.runner.clone();
    worker.finished().await.unwrap();
    assert!(runner.stopped().is_empty());
    final_success(&livekit, &job.job.id).await;
}

/// The last status the worker sent for the job (written before the socket closed) is success.
async fn final_success(livekit: &FakeLiveKit, job_id: &str) {
    livekit
        .wait_for("the job's final status", |lk| {
            (job_updates(lk, job_id).last().map(|(_, s, _)| *s) == Some(proto::JobStatus::JsSuccess)).then_some(())
        })
        .await;
}

#[tokio::test]
async fn the_drain_timeout_stops_jobs_still_running() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    let mut config = config(&livekit, 4);
    config.drain_timeout = Duration::from_millis(300);
    let mut worker = Running::start(config);
    registered(&livekit, 1).await;
    let job = dispatch(&livekit, "voiceblox-slow", "hold").await;
    job_status(&livekit, &job.job.id, proto::JobStatus::JsRunning).await;
    worker.shut_down();
    let runner = worker.runner.clone();
    worker.finished().await.unwrap();
    assert_eq!(runner.stopped(), std::slice::from_ref(&job.job.id));
    final_success(&livekit, &job.job.id).await;
}

#[tokio::test]
async fn refused_credentials_end_the_worker_with_a_clear_error() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    let mut config = config(&livekit, 4);
    config.credentials = credentials(&livekit, "not-the-secret");
    let worker = Running::start(config);
    let error = worker.finished().await.unwrap_err();
    let WorkerError::Unauthorized { status, ref message, .. } = error else { panic!("{error:?}") };
    assert_eq!(status, 401);
    assert!(message.starts_with("invalid authorization token"), "{message}");
    assert!(error.to_string().contains("LIVEKIT_API_SECRET"), "{error}");
}

// --- The fake's own strictness -------------------------------------------------------------

fn agent_request(livekit: &FakeLiveKit, grants: VideoGrants) -> tungstenite::handshake::client::Request {
    let token = AccessToken::with_api_key(KEY, SECRET).with_grants(grants).to_jwt().unwrap();
    let mut request = format!("{}/agent", livekit.url()).into_client_request().unwrap();
    request.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

#[tokio::test]
async fn the_fake_refuses_tokens_without_the_agent_grant_and_plain_requests() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    let request = agent_request(&livekit, VideoGrants { room_create: true, ..Default::default() });
    let Err(tungstenite::Error::Http(response)) = tokio_tungstenite::connect_async(request).await else {
        panic!("the handshake should fail")
    };
    assert_eq!(response.status(), 401);
    let body = String::from_utf8_lossy(response.body().as_deref().unwrap_or_default()).to_string();
    assert_eq!(body, "no permissions to access the room");
    let plain = voiceblox_tests::http_client().get(format!("{}/agent", livekit.http_url())).send().await.unwrap();
    assert_eq!(plain.status(), 404);
}

async fn closes(
    socket: &mut tokio_tungstenite::WebSocketStream<impl tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>,
) {
    let next =
        tokio::time::timeout(Duration::from_secs(2), socket.next()).await.expect("the fake kept the socket open");
    assert!(matches!(next, None | Some(Err(_)) | Some(Ok(Message::Close(_)))), "{next:?}");
}

#[tokio::test]
async fn the_fake_closes_on_garbage_on_a_message_before_register_and_on_silence() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    let agent = || agent_request(&livekit, VideoGrants { agent: true, ..Default::default() });

    let (mut socket, _) = tokio_tungstenite::connect_async(agent()).await.unwrap();
    socket.send(Message::Binary(vec![0xff, 0xff, 0xff].into())).await.unwrap();
    closes(&mut socket).await;

    let (mut socket, _) = tokio_tungstenite::connect_async(agent()).await.unwrap();
    let early = proto::WorkerMessage { message: Some(FromWorker::UpdateWorker(proto::UpdateWorkerStatus::default())) };
    socket.send(Message::Binary(early.encode_to_vec().into())).await.unwrap();
    closes(&mut socket).await;

    livekit.set_agent_timeouts(AgentTimeouts { register: Duration::from_millis(200), ..Default::default() });
    let (mut socket, _) = tokio_tungstenite::connect_async(agent()).await.unwrap();
    closes(&mut socket).await;
    assert!(livekit.agent_workers().is_empty());
}

#[tokio::test]
async fn the_fake_fails_a_job_whose_offer_goes_unanswered() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    livekit.set_agent_timeouts(AgentTimeouts { availability: Duration::from_millis(200), ..Default::default() });
    let (mut socket, _) =
        tokio_tungstenite::connect_async(agent_request(&livekit, VideoGrants { agent: true, ..Default::default() }))
            .await
            .unwrap();
    let register = proto::WorkerMessage {
        message: Some(FromWorker::Register(proto::RegisterWorkerRequest {
            r#type: proto::JobType::JtRoom as i32,
            agent_name: AGENT_NAME.into(),
            ..Default::default()
        })),
    };
    socket.send(Message::Binary(register.encode_to_vec().into())).await.unwrap();
    let Some(Ok(Message::Binary(bytes))) = socket.next().await else { panic!("no register answer") };
    let answer = proto::ServerMessage::decode(bytes).unwrap();
    assert!(
        matches!(answer.message, Some(proto::server_message::Message::Register(r)) if r.worker_id.starts_with("AW_"))
    );
    let job = dispatch(&livekit, "voiceblox-silent", "ok").await;
    let Some(Ok(Message::Binary(bytes))) = socket.next().await else { panic!("no availability request") };
    let offer = proto::ServerMessage::decode(bytes).unwrap();
    assert!(
        matches!(offer.message, Some(proto::server_message::Message::Availability(a)) if a.job.as_ref().is_some_and(|j| j.id == job.job.id))
    );
    let timed_out = livekit
        .wait_for("the availability timeout", |lk| {
            lk.agent_jobs().into_iter().find(|j| j.job.id == job.job.id && j.availability_timed_out)
        })
        .await;
    assert_eq!(timed_out.worker_id, None);
}
