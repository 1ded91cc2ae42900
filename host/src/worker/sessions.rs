//! The worker's job runner: each assignment joins its room and runs the voice agent there.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use tokio_util::sync::CancellationToken;

use super::jobs::{JobAssignment, JobFailure, JobOutcome, JobRunner};
use super::metrics::WorkerMetrics;
use crate::agent::{self, AgentJob};
use crate::plugin::PluginRuntime;
use crate::providers::request_keys::runtime_with_keys;
use crate::record::RecordSettings;
use crate::transport::livekit::LiveKitCredentials;
use crate::transport::livekit::control::sealed;
use crate::voice::VoiceOptions;

/// Runs dispatched sessions with this process's plugins; their events feed the metrics.
pub struct SessionRunner {
    runtime: PluginRuntime,
    metrics: WorkerMetrics,
    options: VoiceOptions,
    /// Opens the secrets a voiceblox server sealed into the dispatch metadata.
    credentials: LiveKitCredentials,
    /// Where sessions are recorded (`--record DIR`), if they are.
    record: Option<RecordSettings>,
}

impl SessionRunner {
    pub fn new(runtime: PluginRuntime, metrics: WorkerMetrics, credentials: LiveKitCredentials) -> Self {
        Self { runtime, metrics, options: VoiceOptions::default(), credentials, record: None }
    }

    /// Records every session into `settings.dir`.
    pub fn recording(mut self, settings: Option<RecordSettings>) -> Self {
        self.record = settings;
        self
    }

    /// The job's session: with the sealed config and keys when the dispatch carries them
    /// (a voiceblox server), else reading the room metadata (any other dispatcher).
    fn job(&self, room: &str, dispatch_metadata: &str) -> AgentJob {
        let mut job = AgentJob::new(self.runtime.clone());
        match sealed::open(&self.credentials, room, dispatch_metadata) {
            Ok(None) => {}
            Ok(Some(secrets)) => {
                job.runtime = runtime_with_keys(&self.runtime, &secrets.api_keys);
                job.sealed_config = Some(Ok(secrets.config));
            }
            Err(error) => {
                tracing::warn!(room, %error, "sealed dispatch secrets refused");
                job.sealed_config = Some(Err(error));
            }
        }
        job.options = self.options.clone();
        job.observer = Some(Arc::new(self.metrics.clone()));
        job.control = Some(self.credentials.clone());
        job.record = self.record.clone();
        job
    }
}

impl JobRunner for SessionRunner {
    fn run(&self, assignment: JobAssignment, stop: CancellationToken) -> BoxFuture<'static, JobOutcome> {
        let room = assignment.job.room.as_ref().map(|r| r.name.clone()).unwrap_or_default();
        let job = self.job(&room, &assignment.job.metadata);
        Box::pin(async move {
            match agent::join_and_run(&assignment.url, &assignment.token, job, stop).await {
                Ok(ending) => {
                    tracing::info!(%room, ?ending, "session ended");
                    Ok(())
                }
                Err(error) => Err(JobFailure::new(error)),
            }
        })
    }
}
