//! One `/v3/ws` WebSocket session: audio and control messages in, scripted messages out.

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::handshake::Params;
use super::messages;
use super::script::StreamScript;
use super::session::StreamSession;
use super::timeline::Timeline;
use crate::fakes::ids::unix_seconds;
use crate::fakes::ws::{Incoming, Out, Socket};

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
    socket: Socket<StreamSession>,
    id: String,
    timeline: Option<Timeline>,
    sample_rate: u32,
    inactivity_timeout: Option<Duration>,
    audio_bytes: usize,
    started: Instant,
}

impl Session {
    pub(super) fn new(socket: Socket<StreamSession>, script: StreamScript, params: Option<Params>, id: String) -> Self {
        let (sample_rate, inactivity_timeout) =
            params.as_ref().map_or((16_000, None), |p| (p.sample_rate, p.options.inactivity_timeout));
        Session {
            socket,
            id,
            timeline: params.map(|p| Timeline::new(script, p.options)),
            sample_rate,
            inactivity_timeout,
            audio_bytes: 0,
            started: Instant::now(),
        }
    }

    fn record(&self, update: impl FnOnce(&mut StreamSession)) {
        self.socket.record(update);
    }

    fn ms_of(&self, bytes: usize) -> f64 {
        bytes as f64 / 2.0 * 1000.0 / f64::from(self.sample_rate)
    }

    pub(super) async fn run(mut self, refusal: Option<Refusal>) {
        let (Some(mut timeline), None) = (self.timeline.take(), refusal.as_ref()) else {
            let Refusal { code, reason } =
                refusal.unwrap_or(Refusal { code: 3005, reason: "Session Cancelled".into() });
            self.socket.close(code, reason).await;
            return;
        };
        let begin = messages::begin(&self.id, unix_seconds() + MAX_SESSION_SECONDS);
        // Faults scripted at 0 ms fire right after `Begin`, before any audio.
        let mut first = vec![Out::Text(begin)];
        first.extend(timeline.advance(0.0));
        if !self.socket.emit(first).await {
            return;
        }
        let mut deadline = self.inactivity_timeout.map(|timeout| Instant::now() + timeout);
        loop {
            let Some(incoming) = self.socket.next(deadline).await else {
                return;
            };
            deadline = self.inactivity_timeout.map(|timeout| Instant::now() + timeout);
            let outputs = match incoming {
                Incoming::Deadline => {
                    // The v2 code the SDKs still map for an idle session.
                    self.socket.close(4031, "Session idle for too long".into()).await;
                    return;
                }
                Incoming::Binary(bytes) => {
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
                Incoming::Text(text) => self.control(&mut timeline, text.as_str()),
                Incoming::Control => Vec::new(),
            };
            if !self.socket.emit(outputs).await {
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
}
