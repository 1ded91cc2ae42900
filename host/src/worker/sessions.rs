//! The worker's job runner: each assignment joins its room and runs the voice agent there.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use tokio_util::sync::CancellationToken;

use super::jobs::{JobAssignment, JobFailure, JobOutcome, JobRunner};
use super::metrics::WorkerMetrics;
use crate::agent::{self, AgentJob};
use crate::plugin::PluginRuntime;
use crate::voice::VoiceOptions;

/// Runs dispatched sessions with this process's plugins; their events feed the metrics.
pub struct SessionRunner {
    runtime: PluginRuntime,
    metrics: WorkerMetrics,
    options: VoiceOptions,
}

impl SessionRunner {
    pub fn new(runtime: PluginRuntime, metrics: WorkerMetrics) -> Self {
        Self { runtime, metrics, options: VoiceOptions::default() }
    }
}

impl JobRunner for SessionRunner {
    fn run(&self, assignment: JobAssignment, stop: CancellationToken) -> BoxFuture<'static, JobOutcome> {
        let mut job = AgentJob::new(self.runtime.clone());
        job.options = self.options.clone();
        job.observer = Some(Arc::new(self.metrics.clone()));
        Box::pin(async move {
            let room = assignment.job.room.as_ref().map(|r| r.name.clone()).unwrap_or_default();
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
