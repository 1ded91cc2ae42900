//! The LiveKit agent worker (`/agent`), spec in `reference/livekit.md`.
//!
//! 1. Build a [`WorkerConfig`] from the project's [`LiveKitCredentials`] (defaults follow
//!    LiveKit's workers: register within 10 s, load every 2.5 s).
//! 2. Implement [`JobRunner`]: it gets each [`JobAssignment`] (job, room token, URL) and a stop
//!    token, and runs the session to its end.
//! 3. Optionally serve `/healthz` and `/metrics` with [`HealthServer::bind`] on the config's
//!    [`WorkerMetrics`]; feed session events into it with [`WorkerMetrics::observe_event`].
//! 4. [`Worker::run`] until the shutdown future completes; it then drains (no new jobs, running
//!    ones finish within the drain timeout, then are stopped) and returns.
//!
//! Inside: [`protocol::WorkerProtocol`] is the protocol as a sans-I/O state machine;
//! `connection` owns the WebSocket (reconnects with backoff, re-registers, keeps jobs);
//! `jobs` runs each job in a task of its own; `supervisor` ties them together.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use voiceblox_host::worker::*;
//! # use voiceblox_host::transport::livekit::LiveKitCredentials;
//! struct Echo;
//! impl JobRunner for Echo {
//!     fn run(&self, job: JobAssignment, stop: tokio_util::sync::CancellationToken)
//!         -> futures_util::future::BoxFuture<'static, JobOutcome> {
//!         Box::pin(async move { stop.cancelled().await; Ok(()) })
//!     }
//! }
//! # async fn example() -> Result<(), WorkerError> {
//! let config = WorkerConfig::new(LiveKitCredentials::from_env().map_err(|e| WorkerError::Config(e.to_string()))?);
//! Worker::run(config, Arc::new(Echo), async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```

mod connection;
pub mod health;
mod jobs;
pub mod metrics;
pub mod protocol;
mod sessions;
mod supervisor;

use std::time::Duration;

use crate::transport::livekit::LiveKitCredentials;

pub use self::connection::Backoff;
pub use self::health::{DEFAULT_HEALTH_ADDR, HealthServer};
pub use self::jobs::{JobAssignment, JobFailure, JobOutcome, JobRunner};
pub use self::metrics::{ConnectionState, WorkerMetrics};
pub use self::protocol::{Command, ProtocolError, WorkerOptions, WorkerProtocol};
pub use self::sessions::SessionRunner;
pub use self::supervisor::Worker;

/// Everything a worker needs besides its runner.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub credentials: LiveKitCredentials,
    /// Agent name, version, `max_jobs`, load-report interval.
    pub options: WorkerOptions,
    /// How long running jobs may take to finish once draining starts; then they are stopped.
    pub drain_timeout: Duration,
    /// How long a stopped job may take to wind down before it is aborted (and reported failed).
    pub stop_grace: Duration,
    /// LiveKit must confirm registration within this, or the worker reconnects (LiveKit: 10 s).
    pub register_timeout: Duration,
    pub connect_timeout: Duration,
    /// The protocol's ping; no answer within `ping_interval + ping_timeout` means the link is dead.
    pub ping_interval: Duration,
    pub ping_timeout: Duration,
    pub backoff: Backoff,
    pub metrics: WorkerMetrics,
}

impl WorkerConfig {
    pub fn new(credentials: LiveKitCredentials) -> Self {
        Self {
            credentials,
            options: WorkerOptions::default(),
            // LiveKit's Python workers default to 30 minutes: a call is allowed to finish.
            drain_timeout: Duration::from_secs(30 * 60),
            stop_grace: Duration::from_secs(5),
            register_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(15),
            ping_timeout: Duration::from_secs(10),
            backoff: Backoff::default(),
            metrics: WorkerMetrics::new(),
        }
    }
}

/// Why a worker stopped for good.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkerError {
    /// LiveKit refused the handshake: retrying with the same credentials cannot help.
    #[error(
        "LiveKit refused the worker at {url} (HTTP {status}: {message}); check LIVEKIT_API_KEY and LIVEKIT_API_SECRET"
    )]
    Unauthorized { url: String, status: u16, message: String },
    #[error("cannot sign the worker token: {0}")]
    Token(String),
    #[error("{url:?} is not a usable LiveKit URL: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("worker configuration: {0}")]
    Config(String),
    #[error("the worker's connection task stopped unexpectedly")]
    ConnectionGone,
}
