//! The one task that owns the worker: it feeds [`WorkerProtocol`] what the connection hears and
//! what the jobs report, and carries out its commands (send, start a job, stop a job).
//!
//! Rules kept here:
//! - A message is written only to the connection it was produced for, after registration
//!   (registration itself excepted). Job statuses produced while disconnected wait and are sent
//!   once the next connection is registered; load reports are simply produced again.
//! - Jobs outlive connections; only the drain, or a fatal error, ends them.

use std::future::Future;
use std::sync::Arc;

use livekit_protocol as proto;
use tokio::sync::mpsc;
use tokio::time::{Duration, Instant};

use super::connection::{self, ConnEvent, ConnectionSettings, Outgoing};
use super::jobs::{JobEvent, JobRunner, Jobs};
use super::metrics::{ConnectionState, WorkerMetrics};
use super::protocol::{Command, WorkerProtocol};
use super::{WorkerConfig, WorkerError};

/// How long the connection gets to write the last statuses and close after the drain.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// A LiveKit agent worker.
pub struct Worker;

impl Worker {
    /// Registers with LiveKit and runs assigned jobs with `runner` until `shutdown` completes;
    /// then drains: reports itself draining and full, lets running jobs finish for up to
    /// `drain_timeout`, stops the rest, reports every outcome and returns `Ok`. Returns an error
    /// only when LiveKit refuses the worker's credentials (or the URL is unusable); any other
    /// failure is retried with backoff.
    pub async fn run(
        config: WorkerConfig,
        runner: Arc<dyn JobRunner>,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), WorkerError> {
        let settings = ConnectionSettings {
            credentials: config.credentials.clone(),
            register_timeout: config.register_timeout,
            connect_timeout: config.connect_timeout,
            ping_interval: config.ping_interval,
            ping_timeout: config.ping_timeout,
            backoff: config.backoff,
        };
        let (conn_tx, mut conn_rx) = mpsc::channel(64);
        let (out_tx, out_rx) = mpsc::channel(256);
        let (job_tx, mut job_rx) = mpsc::channel(64);
        let connection = tokio::spawn(connection::run(settings, conn_tx, out_rx));
        let default_url = config.credentials.url().to_string();
        let mut state = State {
            protocol: WorkerProtocol::new(config.options.clone()),
            jobs: Jobs::new(runner, default_url, job_tx, config.metrics.clone()),
            out: out_tx,
            generation: 0,
            link_up: false,
            pending: Vec::new(),
            metrics: config.metrics.clone(),
        };
        let period = config.options.update_interval;
        let mut tick = tokio::time::interval_at(Instant::now() + period, period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut shutdown = std::pin::pin!(shutdown);
        let mut draining = false;
        let mut stop_at: Option<Instant> = None;
        let mut abort_at: Option<Instant> = None;
        let result = loop {
            if draining && state.jobs.is_empty() {
                break Ok(());
            }
            tokio::select! {
                event = conn_rx.recv() => match event {
                    Some(event) => if let Err(error) = state.on_connection(event).await {
                        break Err(error);
                    },
                    None => break Err(WorkerError::ConnectionGone),
                },
                Some(event) = job_rx.recv() => state.on_job(event).await,
                _ = tick.tick() => {
                    let commands = state.protocol.tick();
                    state.execute(commands).await;
                }
                () = &mut shutdown, if !draining => {
                    tracing::info!(timeout = ?config.drain_timeout, "draining: no new jobs; running ones may finish");
                    draining = true;
                    stop_at = Some(Instant::now() + config.drain_timeout);
                    let commands = state.protocol.drain();
                    state.execute(commands).await;
                    state.show_state();
                }
                () = sleep_until(stop_at) => {
                    tracing::warn!("drain timeout: stopping the running jobs");
                    stop_at = None;
                    abort_at = Some(Instant::now() + config.stop_grace);
                    state.jobs.stop_all();
                }
                () = sleep_until(abort_at) => {
                    tracing::warn!("jobs did not stop in time: aborting them");
                    abort_at = None;
                    state.jobs.abort_all();
                }
            }
        };
        if result.is_err() {
            state.jobs.stop_all();
            state.jobs.abort_all();
        }
        // Closing the channel makes the connection write what it holds, then close the socket.
        drop(state.out);
        let closing = async {
            let mut connection = connection;
            loop {
                tokio::select! {
                    _ = &mut connection => break,
                    event = conn_rx.recv() => if event.is_none() { break },
                }
            }
        };
        if tokio::time::timeout(CLOSE_TIMEOUT, closing).await.is_err() {
            tracing::warn!("the LiveKit connection did not close in time");
        }
        let reason = match &result {
            Ok(()) => "drained and stopped".to_string(),
            Err(error) => error.to_string(),
        };
        state.metrics.set_state(ConnectionState::Stopped { reason });
        result
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

struct State {
    protocol: WorkerProtocol,
    jobs: Jobs,
    out: mpsc::Sender<Outgoing>,
    /// The connection messages are written to.
    generation: u64,
    link_up: bool,
    /// Job statuses waiting for a registered connection.
    pending: Vec<proto::WorkerMessage>,
    metrics: WorkerMetrics,
}

impl State {
    fn registered(&self) -> bool {
        self.link_up && self.protocol.worker_id().is_some()
    }

    async fn on_connection(&mut self, event: ConnEvent) -> Result<(), WorkerError> {
        match event {
            ConnEvent::Connected { generation } => {
                if generation > 1 {
                    self.metrics.reconnected();
                }
                self.generation = generation;
                self.link_up = true;
                let commands = self.protocol.connected();
                self.show_state();
                self.execute(commands).await;
            }
            ConnEvent::Message(message) => {
                let was_registered = self.registered();
                match self.protocol.on_message(*message) {
                    Ok(commands) => self.execute(commands).await,
                    Err(error) => tracing::warn!(%error, "ignoring a message from LiveKit"),
                }
                if !was_registered && self.registered() {
                    self.show_state();
                    for message in std::mem::take(&mut self.pending) {
                        self.write(message).await;
                    }
                }
            }
            ConnEvent::Disconnected { reason } => {
                self.link_up = false;
                if self.protocol.is_draining() {
                    self.metrics.set_state(ConnectionState::Draining { worker_id: None });
                } else {
                    self.metrics.set_state(ConnectionState::Connecting { reason: Some(reason) });
                }
            }
            ConnEvent::Fatal(error) => return Err(error),
        }
        Ok(())
    }

    async fn on_job(&mut self, event: JobEvent) {
        let commands = match event {
            JobEvent::Started { job_id } => self.protocol.job_running(&job_id),
            JobEvent::Ended { job_id, outcome } => {
                self.jobs.ended(&job_id, &outcome);
                // On the wire a failure is its text, causes included.
                self.protocol.job_ended(&job_id, outcome.map_err(|error| crate::error_text::chain(&error)))
            }
        };
        self.execute(commands).await;
    }

    async fn execute(&mut self, commands: Vec<Command>) {
        for command in commands {
            match command {
                Command::Send(message) => self.send(*message).await,
                Command::StartJob { job, token, url } => self.jobs.start(*job, token, url),
                Command::StopJob { job_id } => {
                    tracing::info!(job_id, "LiveKit terminated the job");
                    self.jobs.stop(&job_id);
                }
            }
        }
    }

    async fn send(&mut self, message: proto::WorkerMessage) {
        use proto::worker_message::Message as ToServer;
        let registering = matches!(message.message, Some(ToServer::Register(_)));
        if (registering && self.link_up) || self.registered() {
            self.write(message).await;
        } else if matches!(message.message, Some(ToServer::UpdateJob(_))) {
            self.pending.push(message);
        }
    }

    async fn write(&mut self, message: proto::WorkerMessage) {
        // The connection task lives until this sender is dropped, so this fails only if it
        // crashed; the loop then ends on the closed event channel.
        let _ = self.out.send(Outgoing { generation: self.generation, message }).await;
    }

    fn show_state(&self) {
        let worker_id = self.protocol.worker_id().filter(|_| self.link_up).map(str::to_string);
        let state = match (self.protocol.is_draining(), worker_id) {
            (true, worker_id) => ConnectionState::Draining { worker_id },
            (false, Some(worker_id)) => ConnectionState::Registered { worker_id },
            (false, None) if self.link_up => ConnectionState::Connected,
            (false, None) => ConnectionState::Connecting { reason: None },
        };
        self.metrics.set_state(state);
    }
}
