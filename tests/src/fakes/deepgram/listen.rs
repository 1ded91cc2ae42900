//! One `/v1/listen` WebSocket session: audio and control messages in, scripted messages out.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::Deepgram;
use super::handshake::Params;
use super::messages::{self, MetadataMessage, ModelInfo};
use super::script::{ListenScript, NET0001_REASON};
use super::session::ListenSession;
use super::timeline::{Out, Timeline};
use crate::fakes::ids::rfc3339_millis;
use crate::fakes::server::lock;

/// How long the fake waits for the client's reply to its close frame.
const CLOSE_HANDSHAKE_WAIT: Duration = Duration::from_secs(1);

pub(super) struct Session {
    api: Arc<Deepgram>,
    index: usize,
    timeline: Timeline,
    inactivity_timeout: Option<Duration>,
    sample_rate: u32,
    channels: u32,
    model: ModelInfo,
    request_id: String,
    created: String,
    audio_bytes: usize,
    hasher: Sha256,
}

impl Session {
    pub(super) fn new(
        api: Arc<Deepgram>,
        index: usize,
        script: ListenScript,
        mut params: Params,
        request_id: String,
    ) -> Self {
        let model = ModelInfo::for_model(&params.model);
        if let Some(language) = &mut params.options.formatting.language {
            language.clone_from(&script.language);
        }
        Session {
            api,
            index,
            inactivity_timeout: script.inactivity_timeout,
            timeline: Timeline::new(script, params.options, request_id.clone(), model.clone()),
            sample_rate: params.sample_rate,
            channels: params.channels,
            model,
            request_id,
            created: rfc3339_millis(SystemTime::now()),
            audio_bytes: 0,
            hasher: Sha256::new(),
        }
    }

    fn record(&self, update: impl FnOnce(&mut ListenSession)) {
        if let Some(session) = lock(&self.api.sessions).get_mut(self.index) {
            update(session);
        }
    }

    fn audio_ms(&self) -> f64 {
        let bytes_per_second = f64::from(self.sample_rate) * 2.0 * f64::from(self.channels);
        self.audio_bytes as f64 * 1000.0 / bytes_per_second
    }

    fn metadata(&self, sha256: &str) -> String {
        messages::metadata(&MetadataMessage {
            request_id: &self.request_id,
            sha256,
            created: &self.created,
            duration_ms: self.audio_ms(),
            channels: self.channels,
            model: (self.audio_bytes > 0).then_some(&self.model),
        })
    }

    pub(super) async fn run(mut self, mut socket: WebSocket) {
        let mut shutdown = self.api.shutdown.clone();
        let mut deadline = self.inactivity_timeout.map(|timeout| Instant::now() + timeout);
        // Faults scripted at 0 ms fire before any audio.
        let initial = self.timeline.advance(0.0);
        if !self.emit(&mut socket, initial).await {
            return;
        }
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
                    let metadata = self.metadata("incomplete");
                    let close = Out::Close { code: 1011, reason: NET0001_REASON.into() };
                    self.emit(&mut socket, vec![Out::Text(metadata), close]).await;
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
                Message::Binary(bytes) if bytes.is_empty() => self.close_stream(),
                Message::Binary(bytes) => {
                    self.audio_bytes += bytes.len();
                    self.hasher.update(&bytes);
                    self.record(|s| {
                        s.audio.extend_from_slice(&bytes);
                        s.binary_frames += 1;
                    });
                    let now = self.audio_ms();
                    self.timeline.advance(now)
                }
                Message::Text(text) => self.control(text.as_str()),
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

    fn control(&mut self, text: &str) -> Vec<Out> {
        self.record(|s| s.text_messages.push(text.to_owned()));
        let kind = serde_json::from_str::<Value>(text)
            .ok()
            .and_then(|json| json.get("type").and_then(Value::as_str).map(str::to_owned));
        match kind.as_deref() {
            Some("KeepAlive") => {
                self.record(|s| s.keep_alives += 1);
                Vec::new()
            }
            Some("Finalize") => {
                self.record(|s| s.finalizes += 1);
                let now = self.audio_ms();
                self.timeline.finalize(now)
            }
            Some("CloseStream") => {
                self.record(|s| s.close_streams += 1);
                self.close_stream()
            }
            _ => Vec::new(),
        }
    }

    fn close_stream(&mut self) -> Vec<Out> {
        let now = self.audio_ms();
        let mut outputs = self.timeline.close_stream(now);
        let sha256 = hex::encode(self.hasher.clone().finalize());
        outputs.push(Out::Text(self.metadata(&sha256)));
        outputs.push(Out::Close { code: 1000, reason: String::new() });
        outputs
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
