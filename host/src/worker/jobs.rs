//! Running assigned jobs: the [`JobRunner`] seam and the tasks that run it.
//!
//! Each job runs as its own tokio task, inside a second task so that a panic or an error in one
//! job becomes that job's `JS_FAILED` and never reaches other jobs or the connection.

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use livekit_protocol as proto;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::metrics::WorkerMetrics;

/// One job as the runner gets it: the job (room, its metadata = the AgentConfig JSON, the
/// dispatch metadata), the room token LiveKit minted for it, and where to join.
#[derive(Debug, Clone, PartialEq)]
pub struct JobAssignment {
    pub job: proto::Job,
    /// A room token for `job.room`, with the identity this worker asked for (`agent-<job id>`).
    pub token: String,
    /// The assignment's URL, or the worker's own LiveKit URL when LiveKit sent none.
    pub url: String,
}

/// Why a job failed; reported as `JS_FAILED { error }` with its causes on one line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobFailure {
    /// The runner said why.
    #[error("{0}")]
    Failed(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the job panicked: {0}")]
    Panicked(String),
    #[error("the job was cancelled: it did not stop in time")]
    Cancelled,
}

impl JobFailure {
    /// The runner's error as a failure.
    pub fn new(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Failed(Box::new(error))
    }

    /// The metrics label: `failed`, `panicked` or `cancelled`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Failed(_) => "failed",
            Self::Panicked(_) => "panicked",
            Self::Cancelled => "cancelled",
        }
    }
}

/// How a job ended.
pub type JobOutcome = Result<(), JobFailure>;

/// What runs a job: joins the room and runs the voice agent until the session ends.
pub trait JobRunner: Send + Sync + 'static {
    /// Runs one job to its end; `stop` fires on termination or when the drain timeout expires.
    /// `Ok` reports `JS_SUCCESS`; a failure reports `JS_FAILED`.
    fn run(&self, assignment: JobAssignment, stop: CancellationToken) -> BoxFuture<'static, JobOutcome>;
}

/// What a job task tells the worker.
#[derive(Debug)]
pub(crate) enum JobEvent {
    Started { job_id: String },
    Ended { job_id: String, outcome: JobOutcome },
}

struct RunningJob {
    stop: CancellationToken,
    abort: tokio::task::AbortHandle,
}

/// The jobs this worker runs now.
pub(crate) struct Jobs {
    runner: Arc<dyn JobRunner>,
    default_url: String,
    events: mpsc::Sender<JobEvent>,
    metrics: WorkerMetrics,
    running: HashMap<String, RunningJob>,
}

impl Jobs {
    pub(crate) fn new(
        runner: Arc<dyn JobRunner>,
        default_url: String,
        events: mpsc::Sender<JobEvent>,
        metrics: WorkerMetrics,
    ) -> Self {
        Self { runner, default_url, events, metrics, running: HashMap::new() }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.running.is_empty()
    }

    pub(crate) fn start(&mut self, job: proto::Job, token: String, url: Option<String>) {
        let job_id = job.id.clone();
        if self.running.contains_key(&job_id) {
            return;
        }
        let url = url.unwrap_or_else(|| self.default_url.clone());
        let stop = CancellationToken::new();
        let assignment = JobAssignment { job, token, url };
        // A runner that panics before returning its future fails only this job.
        let session =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.runner.run(assignment, stop.clone())))
                .unwrap_or_else(|payload| {
                    let message = panic_text(payload.as_ref());
                    Box::pin(async move { Err(JobFailure::Panicked(message)) })
                });
        // The session runs in a task of its own, so its panic is a JoinError here, not ours.
        let inner = tokio::spawn(session);
        let abort = inner.abort_handle();
        let events = self.events.clone();
        let id = job_id.clone();
        self.metrics.job_started();
        tokio::spawn(async move {
            // The worker holds the receiver until every job is accounted for; a send fails only
            // when the worker is gone, and then nobody is left to tell.
            let _ = events.send(JobEvent::Started { job_id: id.clone() }).await;
            let outcome = match inner.await {
                Ok(outcome) => outcome,
                Err(error) if error.is_panic() => Err(JobFailure::Panicked(panic_message(error))),
                Err(_) => Err(JobFailure::Cancelled),
            };
            let _ = events.send(JobEvent::Ended { job_id: id, outcome }).await;
        });
        tracing::info!(job_id, "job started");
        self.running.insert(job_id, RunningJob { stop, abort });
    }

    /// Asks a job to stop (its `stop` token fires).
    pub(crate) fn stop(&self, job_id: &str) {
        if let Some(job) = self.running.get(job_id) {
            job.stop.cancel();
        }
    }

    pub(crate) fn stop_all(&self) {
        for job in self.running.values() {
            job.stop.cancel();
        }
    }

    /// Kills every job that ignored its stop token.
    pub(crate) fn abort_all(&self) {
        for job in self.running.values() {
            job.abort.abort();
        }
    }

    /// A job's task reported its end.
    pub(crate) fn ended(&mut self, job_id: &str, outcome: &JobOutcome) {
        if self.running.remove(job_id).is_some() {
            self.metrics.job_ended(outcome);
            match outcome {
                Ok(()) => tracing::info!(job_id, "job succeeded"),
                Err(error) => tracing::warn!(job_id, error = %crate::error_text::chain(error), "job failed"),
            }
        }
    }
}

fn panic_message(error: tokio::task::JoinError) -> String {
    panic_text(error.into_panic().as_ref())
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "(no message)".to_string()
    }
}
