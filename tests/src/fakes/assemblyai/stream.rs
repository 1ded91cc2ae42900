//! One `/v3/ws` WebSocket session: audio and control messages in, scripted messages out.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use serde_json::Value;
use tokio::time::Instant;

use super::AssemblyAi;
use super::handshake::Params;
use super::messages;
use super::script::StreamScript;
use super::session::StreamSession;
use super::timeline::{Out, Timeline};
use crate::fakes::ids::unix_seconds;
use crate::fakes::server::lock;

/// How long the fake waits for the client's reply to its close frame.
const CLOSE_HANDSHAKE_WAIT: Duration = Duration::from_secs(1);

/// The audio each binary message may carry (else 3007).
const MIN_CHUNK_MS: f64 = 50.0;
const MAX_CHUNK_MS: f64 = 1000.0;

/// Sessions end after 3 hours; `Begin` says when.
const MAX_SESSION_SECONDS: u64 = 3 * 3600;

/// A close sent right after the upgrade instead of `Begin`.
pub(super) struct Refusal {
    pub(super) code: u16,
    pub(super) reason: String,
}

pub(super) struct Session {
    api: Arc<AssemblyAi>,
    index: usize,
    id: String,
    timeline: Option<Timeline>,
    sample_rate: u32,
    inactivity_timeout: Option<Duration>,
    audio_bytes: usize,
    started: Instant,
}

impl Session {
    pub(super) fn new(
        api: Arc<AssemblyAi>,
        index: usize,
        script: StreamScript,
        params: Option<Params>,
        id: String,
    ) -> Self {
        let (sample_rate, inactivity_timeout) =
            params.as_ref().map_or((16_000, None), |p| (p.sample_rate, p.options.inactivity_timeout));
        Session {
            api,
            index,
            id,
            timeline: params.map(|p| Timeline::new(script, p.options)),
            sample_rate,
            inactivity_timeout,
            audio_bytes: 0,
            started: Instant::now(),
        }
    }

    fn record(&self, update: impl FnOnce(&mut StreamSession)) {
        if let Some(session) = lock(&self.api.sessions).get_mut(self.index) {
            update(session);
        }
    }

    fn ms_of(&self, bytes: usize) -> f64 {
        bytes as f64 / 2.0 * 1000.0 / f64::from(self.sample_rate)
    }

    pub(super) async fn run(mut self, mut socket: WebSocket, refusal: Option<Refusal>) {
        let (Some(mut timeline), None) = (self.timeline.take(), refusal.as_ref()) else {
            let Refusal { code, reason } =
                refusal.unwrap_or(Refusal { code: 3005, reason: "Session Cancelled".into() });
            self.emit(&mut socket, vec![Out::Close { code, reason }]).await;
            return;
        };
        let begin = messages::begin(&self.id, unix_seconds() + MAX_SESSION_SECONDS);
        // Faults scripted at 0 ms fire right after `Begin`, before any audio.
        let mut first = vec![Out::Text(begin)];
        first.extend(timeline.advance(0.0));
        if !self.emit(&mut socket, first).await {
            return;
        }
        let mut shutdown = self.api.shutdown.clone();
        let mut deadline = self.inactivity_timeout.map(|timeout| Instant::now() + timeout);
        loop {
            let idle = async {
                match deadline {
                    Some(deadline) => tokio::time::sleep_until(deadline).await,
                    None => std::future::pending().await,
                }
            };
            let message = tokio::select! {
                () = shutdown.signalled() => {
                    self.record(|s| s.ended = true);
                    return;
                }
                () = idle => {
                    // The v2 code the SDKs still map for an idle session.
                    let close = Out::Close { code: 4031, reason: "Session idle for too long".into() };
                    self.emit(&mut socket, vec![close]).await;
                    return;
                }
                message = socket.recv() => message,
            };
            let Some(Ok(message)) = message else {
                self.record(|s| s.ended = true);
                return; // the client went away without a close frame
            };
            deadline = self.inactivity_timeout.map(|timeout| Instant::now() + timeout);
            let outputs = match message {
                Message::Binary(bytes) => {
                    let ms = self.ms_of(bytes.len());
                    if !(MIN_CHUNK_MS..=MAX_CHUNK_MS).contains(&ms) {
                        let reason = format!("Input duration violation: {ms:.0} ms. Expected between 50 and 1000 ms");
                        vec![Out::Close { code: 3007, reason }]
                    } else {
                        self.audio_bytes += bytes.len();
                        self.record(|s| {
                            s.audio.extend_from_slice(&bytes);
                            s.chunk_ms.push(ms);
                        });
                        timeline.advance(self.ms_of(self.audio_bytes))
                    }
                }
                Message::Text(text) => self.control(&mut timeline, text.as_str()),
                Message::Close(frame) => {
                    let frame = frame.map(|f| (f.code, f.reason.as_str().to_owned()));
                    self.record(|s| {
                        s.client_close = frame;
                        s.ended = true;
                    });
                    // axum answers the close frame itself; draining lets that reply go out.
                    drain(&mut socket).await;
                    return;
                }
                Message::Ping(_) | Message::Pong(_) => Vec::new(),
            };
            if !self.emit(&mut socket, outputs).await {
                return;
            }
        }
    }

    fn control(&mut self, timeline: &mut Timeline, text: &str) -> Vec<Out> {
        self.record(|s| s.text_messages.push(text.to_owned()));
        let now = self.ms_of(self.audio_bytes);
        let Ok(json) = serde_json::from_str::<Value>(text) else {
            return vec![Out::Close { code: 3006, reason: format!("Invalid JSON: {text}") }];
        };
        match json.get("type").and_then(Value::as_str) {
            Some("ForceEndpoint") => {
                self.record(|s| s.force_endpoints += 1);
                timeline.force_endpoint(now)
            }
            Some("Terminate") => {
                self.record(|s| s.terminates += 1);
                let mut out = timeline.terminate(now);
                let session_ms = self.started.elapsed().as_secs_f64() * 1000.0;
                out.push(Out::Text(messages::termination(now, session_ms)));
                out.push(Out::Close { code: 1000, reason: String::new() });
                out
            }
            Some("KeepAlive") => {
                self.record(|s| s.keep_alives += 1);
                Vec::new()
            }
            Some("UpdateConfiguration") => Vec::new(),
            Some(other) => vec![Out::Close { code: 3006, reason: format!("Invalid Message Type: {other}") }],
            None => vec![Out::Close { code: 3006, reason: format!("Invalid Message: {text}") }],
        }
    }

    /// Sends `outputs` in order; false once the session is over.
    async fn emit(&mut self, socket: &mut WebSocket, outputs: Vec<Out>) -> bool {
        for output in outputs {
            match output {
                Out::Text(text) => {
                    self.record(|s| s.sent.push(text.clone()));
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        self.record(|s| s.ended = true);
                        return false;
                    }
                }
                Out::Close { code, reason } => {
                    // Recorded before sending, so a client that saw the close sees the record.
                    self.record(|s| {
                        s.server_close = Some((code, reason.clone()));
                        s.ended = true;
                    });
                    let frame = CloseFrame { code, reason: reason.into() };
                    let _ = socket.send(Message::Close(Some(frame))).await;
                    drain(socket).await;
                    return false;
                }
                Out::Drop => {
                    self.record(|s| {
                        s.dropped = true;
                        s.ended = true;
                    });
                    return false; // dropping the socket closes the TCP stream, no close frame
                }
            }
        }
        true
    }
}

/// Reads until the peer finishes the close handshake (or a short wait runs out).
async fn drain(socket: &mut WebSocket) {
    let _ = tokio::time::timeout(CLOSE_HANDSHAKE_WAIT, async { while let Some(Ok(_)) = socket.recv().await {} }).await;
}
