//! The one generic driver that runs every adapter stream.
//!
//! A stream's plugin is a sans-I/O state machine: the driver feeds it an input, performs the
//! actions it returns (HTTP requests, a WebSocket, timers), feeds back what the network says,
//! and forwards the emitted events to the stream's owner. One task owns the stream's Store;
//! dropping the [`StreamHandle`] aborts that task and with it every request and connection in
//! flight.

mod http;
mod status;
mod ws;

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

pub use crate::egress::Timeouts;

use super::bindings::latest::types::{Action, Event, Input, ProviderError, RateLimit, WsClose, WsMessage};
use super::error::StreamError;
use super::instance::GuestStream;
use super::limits::StreamLimits;
use super::untrusted::clean;
use crate::egress::policy::StreamGrant;
use crate::egress::secret::Secret;
use crate::egress::{Egress, EgressError, Grant, Outgoing};

/// What the pipeline feeds a stream.
#[derive(Debug, Clone)]
pub enum StreamInput {
    /// A frame of 16-bit mono PCM at the provider's STT sample rate.
    Audio(Vec<i16>),
    /// Text to synthesize.
    Text(String),
    Flush,
    /// No more input.
    End,
}

/// What a stream yields: events, then exactly one `Finished` or `Failed`.
#[derive(Debug)]
pub enum StreamOutput {
    Event(Event),
    Finished,
    Failed(StreamError),
}

/// Bound on queued inputs/outputs per stream: backpressure instead of unbounded memory.
const CHANNEL_DEPTH: usize = 64;
/// How long a finished stream's WebSocket may take to close (the server's reply included).
const WS_CLOSE_GRACE: Duration = Duration::from_secs(2);

/// The owner's side of a running stream.
pub struct StreamHandle {
    input: mpsc::Sender<StreamInput>,
    output: mpsc::Receiver<StreamOutput>,
    task: JoinHandle<()>,
}

impl StreamHandle {
    /// Sends an input; fails only when the stream has already ended.
    pub async fn send(&self, input: StreamInput) -> Result<(), StreamInput> {
        self.input.send(input).await.map_err(|e| e.0)
    }

    /// A sender for inputs that can live in another task.
    pub fn sender(&self) -> mpsc::Sender<StreamInput> {
        self.input.clone()
    }

    /// The next output; `None` after the final `Finished`/`Failed` was taken.
    pub async fn next(&mut self) -> Option<StreamOutput> {
        self.output.recv().await
    }
}

impl Drop for StreamHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Network results, reported by the I/O tasks back to the driver.
#[derive(Debug)]
enum IoEvent {
    Input(Input),
    Failed(StreamError),
}

/// Starts the driver task of an opened stream.
pub(super) fn spawn(
    guest: GuestStream,
    provider: String,
    grant: StreamGrant,
    secret: Option<Secret>,
    io: Egress,
) -> StreamHandle {
    let (input_tx, input_rx) = mpsc::channel(CHANNEL_DEPTH);
    let (output_tx, output_rx) = mpsc::channel(CHANNEL_DEPTH);
    let (io_tx, io_rx) = mpsc::channel(CHANNEL_DEPTH);
    let limits = guest.plugin().engine().limits().stream.clone();
    let driver = Driver {
        guest,
        provider,
        grant,
        secret,
        io,
        output: output_tx,
        io_tx,
        io_rx,
        tasks: JoinSet::new(),
        ws_task: JoinSet::new(),
        ws: None,
        ws_closing: false,
        timers: HashMap::new(),
        limits,
        in_flight: 0,
        recent_starts: VecDeque::new(),
    };
    let span = tracing::info_span!("stream", provider = %driver.provider, plugin = %driver.guest.plugin().name());
    let task = tokio::spawn(tracing::Instrument::instrument(driver.run(input_rx), span));
    StreamHandle { input: input_tx, output: output_rx, task }
}

struct Driver {
    guest: GuestStream,
    provider: String,
    grant: StreamGrant,
    secret: Option<Secret>,
    io: Egress,
    output: mpsc::Sender<StreamOutput>,
    io_tx: mpsc::Sender<IoEvent>,
    io_rx: mpsc::Receiver<IoEvent>,
    /// Request tasks; dropped (and so aborted) with the driver.
    tasks: JoinSet<()>,
    /// The WebSocket's task, apart: after the stream ends it gets a moment to close politely.
    ws_task: JoinSet<()>,
    ws: Option<mpsc::Sender<ws::Command>>,
    /// A send found the socket gone: its close is on the way to the plugin, which may send
    /// more before it hears of it (a batch of actions answers one input). Those are dropped.
    ws_closing: bool,
    timers: HashMap<u32, Instant>,
    limits: StreamLimits,
    /// HTTP requests sent whose body has not ended yet.
    in_flight: usize,
    /// When requests and connections were started, over the last minute.
    recent_starts: VecDeque<Instant>,
}

/// What to do after an action.
enum Flow {
    Continue,
    Done(StreamOutput),
}

impl Driver {
    async fn run(mut self, mut inputs: mpsc::Receiver<StreamInput>) {
        let outcome = self.drive(&mut inputs).await;
        if let StreamOutput::Failed(error) = &outcome {
            tracing::warn!(%error, "stream failed");
        }
        // The owner may be gone already; nothing left to tell then.
        let _ = self.output.send(outcome).await;
        self.close_socket().await;
    }

    /// After the outcome is out: a plugin that ends with `ws-close` then `finish` in one batch
    /// (or finishes with its socket open) has its close frame sent, not cut off by the abort.
    /// The owner already has the outcome; this only bounds how long the socket may linger.
    async fn close_socket(&mut self) {
        self.tasks.abort_all();
        // Dropping the sender lets the task send what was queued, then close if nothing did.
        if self.ws.take().is_none() && self.ws_task.is_empty() {
            return;
        }
        let grace = tokio::time::sleep(WS_CLOSE_GRACE);
        tokio::pin!(grace);
        loop {
            tokio::select! {
                _ = &mut grace => {
                    tracing::debug!("WebSocket close not confirmed in time; dropped");
                    return;
                }
                done = self.ws_task.join_next() => if done.is_none() { return },
                // What the socket says while closing is of no use now, but must not block it.
                _ = self.io_rx.recv() => {}
            }
        }
    }

    async fn drive(&mut self, inputs: &mut mpsc::Receiver<StreamInput>) -> StreamOutput {
        let mut inputs_open = true;
        let mut next = Input::Start;
        loop {
            let actions = match self.guest.handle(&next).await {
                Ok(actions) => actions,
                Err(error) => return StreamOutput::Failed(error),
            };
            for action in actions {
                if let Flow::Done(outcome) = self.perform(action).await {
                    return outcome;
                }
            }
            next = match self.wait(inputs, &mut inputs_open).await {
                Ok(input) => input,
                Err(error) => return StreamOutput::Failed(error),
            };
        }
    }

    /// Waits for the next input from the network, the owner or a timer.
    async fn wait(
        &mut self,
        inputs: &mut mpsc::Receiver<StreamInput>,
        inputs_open: &mut bool,
    ) -> Result<Input, StreamError> {
        while self.tasks.try_join_next().is_some() {}
        while self.ws_task.try_join_next().is_some() {}
        let next_timer = self.timers.iter().min_by_key(|(_, at)| **at).map(|(id, at)| (*id, *at));
        if !*inputs_open && self.tasks.is_empty() && self.io_rx.is_empty() && next_timer.is_none() && self.ws.is_none()
        {
            return Err(self.contract("the plugin is waiting for nothing: all input ended and no request, connection or timer is pending, but it did not finish"));
        }
        let timer_at = next_timer.map_or_else(Instant::now, |(_, at)| at);
        // With nothing pending only the owner can wake the stream; a plugin that waits for
        // nothing must not leave its caller hanging.
        let nothing_pending =
            self.tasks.is_empty() && self.io_rx.is_empty() && next_timer.is_none() && self.ws.is_none();
        let idle_deadline = nothing_pending.then(|| Instant::now() + self.limits.idle);
        tokio::select! {
            biased;
            event = self.io_rx.recv() => match event {
                Some(IoEvent::Input(input)) => {
                    match input {
                        Input::WsClosed(_) => (self.ws, self.ws_closing) = (None, false),
                        Input::HttpEnd(_) => self.in_flight = self.in_flight.saturating_sub(1),
                        _ => {}
                    }
                    Ok(input)
                }
                Some(IoEvent::Failed(error)) => Err(error),
                None => Err(self.contract("I/O channel closed")),
            },
            _ = tokio::time::sleep_until(timer_at), if next_timer.is_some() => {
                let id = next_timer.map_or(0, |(id, _)| id);
                self.timers.remove(&id);
                Ok(Input::Timer(id))
            }
            _ = tokio::time::sleep_until(idle_deadline.unwrap_or_else(Instant::now)), if idle_deadline.is_some() => {
                Err(StreamError::Idle { plugin: self.guest.plugin().name().to_string(), seconds: self.limits.idle.as_secs() })
            }
            input = inputs.recv(), if *inputs_open => Ok(match input {
                Some(StreamInput::Audio(frame)) => Input::Audio(frame),
                Some(StreamInput::Text(text)) => Input::Text(text),
                Some(StreamInput::Flush) => Input::Flush,
                Some(StreamInput::End) | None => {
                    *inputs_open = false;
                    Input::End
                }
            }),
        }
    }

    async fn perform(&mut self, action: Action) -> Flow {
        match action {
            Action::HttpRequest((id, request)) => {
                if self.in_flight >= self.limits.max_requests_in_flight {
                    let max = self.limits.max_requests_in_flight;
                    return self.fail(self.limit(format!("more than {max} HTTP requests in flight at once")));
                }
                if let Err(error) = self.count_start() {
                    return self.fail(error);
                }
                let outgoing = Outgoing {
                    method: request.method,
                    url: request.url,
                    headers: request.headers.into_iter().map(|h| (h.name, h.value)).collect(),
                    body: request.body,
                };
                let authorized = match self.authorize(outgoing) {
                    Ok(authorized) => authorized,
                    Err(error) => return self.fail(error),
                };
                tracing::debug!(id, url = %crate::egress::policy::redact_url(authorized.url_for_logs()), "http request");
                let io = self.io.clone();
                let tx = self.io_tx.clone();
                let provider = self.provider.clone();
                self.in_flight += 1;
                self.tasks.spawn(async move { http::run(io, id, authorized, provider, tx).await });
            }
            Action::WsConnect(connect) => {
                if self.ws.is_some() {
                    return self.fail(self.contract("ws-connect while a WebSocket is already open (one per stream)"));
                }
                if let Err(error) = self.count_start() {
                    return self.fail(error);
                }
                let outgoing = Outgoing {
                    method: "GET".into(),
                    url: connect.url,
                    headers: connect.headers.into_iter().map(|h| (h.name, h.value)).collect(),
                    body: Vec::new(),
                };
                let authorized = match self.authorize(outgoing) {
                    Ok(authorized) => authorized,
                    Err(error) => return self.fail(error),
                };
                let (tx, rx) = mpsc::channel(CHANNEL_DEPTH);
                (self.ws, self.ws_closing) = (Some(tx), false);
                let io = self.io.clone();
                let events = self.io_tx.clone();
                let provider = self.provider.clone();
                self.ws_task.spawn(async move { ws::run(io, authorized, provider, events, rx).await });
            }
            Action::WsSend(message) => return self.ws_command(ws::Command::Send(message)).await,
            Action::WsClose(close) => return self.ws_command(ws::Command::Close(close)).await,
            Action::SetTimer((id, ms)) => {
                if !self.timers.contains_key(&id) && self.timers.len() >= self.limits.max_timers {
                    let max = self.limits.max_timers;
                    return self.fail(self.limit(format!("more than {max} timers pending at once")));
                }
                // A 0 ms timer re-armed forever would spin the host: timers wait at least this.
                let delay = Duration::from_millis(u64::from(ms)).max(self.limits.min_timer);
                self.timers.insert(id, Instant::now() + delay);
            }
            Action::Emit(event) => {
                if self.output.send(StreamOutput::Event(event)).await.is_err() {
                    // The owner stopped listening: nothing left to do for anyone.
                    return Flow::Done(StreamOutput::Finished);
                }
            }
            Action::Finish => return Flow::Done(StreamOutput::Finished),
            Action::Fail(error) => {
                let error = clean_provider_error(self.secret.as_ref(), error);
                return Flow::Done(StreamOutput::Failed(StreamError::Provider {
                    provider: self.provider.clone(),
                    error,
                }));
            }
        }
        Flow::Continue
    }

    async fn ws_command(&mut self, command: ws::Command) -> Flow {
        let Some(ws) = &self.ws else {
            // A close after the server already closed is harmless, and so is a send the plugin
            // made before hearing of it; a send on no socket at all is a plugin bug.
            return match command {
                ws::Command::Close(_) => Flow::Continue,
                ws::Command::Send(_) if self.ws_closing => Flow::Continue,
                ws::Command::Send(_) => self.fail(self.contract("ws-send without an open WebSocket")),
            };
        };
        if ws.send(command).await.is_err() {
            (self.ws, self.ws_closing) = (None, true);
        }
        Flow::Continue
    }

    fn fail(&self, error: StreamError) -> Flow {
        Flow::Done(StreamOutput::Failed(error))
    }

    /// Counts a request or connection against the per-minute cap.
    fn count_start(&mut self) -> Result<(), StreamError> {
        let now = Instant::now();
        while self.recent_starts.front().is_some_and(|at| now.duration_since(*at) >= Duration::from_secs(60)) {
            self.recent_starts.pop_front();
        }
        if self.recent_starts.len() >= self.limits.max_requests_per_minute {
            let max = self.limits.max_requests_per_minute;
            return Err(self.limit(format!("more than {max} requests and connections in one minute")));
        }
        self.recent_starts.push_back(now);
        Ok(())
    }

    fn limit(&self, message: String) -> StreamError {
        StreamError::Limit { plugin: self.guest.plugin().name().to_string(), message }
    }

    fn contract(&self, message: &str) -> StreamError {
        StreamError::Contract { plugin: self.guest.plugin().name().to_string(), message: message.to_string() }
    }

    /// The plugin's request through the egress: a refused destination is a denial, a
    /// malformed request (or a key where it may not stand) a contract violation.
    fn authorize(&self, request: Outgoing) -> Result<crate::egress::Authorized, StreamError> {
        let plugin = self.guest.plugin().name().to_string();
        self.io.authorize(Grant::Stream(&self.grant), request, self.secret.as_ref()).map_err(|error| match error {
            EgressError::Denied(source) => StreamError::Denied { plugin, source },
            EgressError::Invalid(message) => self.contract(&message),
        })
    }
}

/// A provider error as the plugin reported it, made safe to show: the key scrubbed (a
/// provider may echo it), control characters escaped, the length capped.
pub(super) fn clean_provider_error(secret: Option<&Secret>, error: ProviderError) -> ProviderError {
    let s = |m: String| clean(&Secret::scrub(secret, &m)).into_owned();
    match error {
        ProviderError::Unauthorized(m) => ProviderError::Unauthorized(s(m)),
        ProviderError::RateLimited(r) => {
            ProviderError::RateLimited(RateLimit { message: s(r.message), retry_after_ms: r.retry_after_ms })
        }
        ProviderError::InvalidRequest(m) => ProviderError::InvalidRequest(s(m)),
        ProviderError::Unavailable(m) => ProviderError::Unavailable(s(m)),
        ProviderError::Timeout(m) => ProviderError::Timeout(s(m)),
        ProviderError::Protocol(m) => ProviderError::Protocol(s(m)),
        ProviderError::Internal(m) => ProviderError::Internal(s(m)),
    }
}

/// Converts between the WIT message shape and tungstenite's, both directions.
fn ws_closed(code: u16, reason: String) -> Input {
    Input::WsClosed(WsClose { code, reason })
}

fn ws_message_input(message: WsMessage) -> Input {
    Input::WsMessage(message)
}
