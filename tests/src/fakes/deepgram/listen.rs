//! One `/v1/listen` WebSocket session: audio and control messages in, scripted messages out.

use std::time::{Duration, SystemTime};

use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::handshake::Params;
use super::messages::{self, MetadataMessage, ModelInfo};
use super::script::{ListenScript, NET0001_REASON};
use super::session::ListenSession;
use super::timeline::Timeline;
use crate::fakes::ids::rfc3339_millis;
use crate::fakes::ws::{Incoming, Out, Socket};

pub(super) struct Session {
    socket: Socket<ListenSession>,
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
        socket: Socket<ListenSession>,
        script: ListenScript,
        mut params: Params,
        request_id: String,
    ) -> Self {
        let model = ModelInfo::for_model(&params.model);
        if let Some(language) = &mut params.options.formatting.language {
            language.clone_from(&script.language);
        }
        Session {
            socket,
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
        self.socket.record(update);
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

    pub(super) async fn run(mut self) {
        let mut deadline = self.inactivity_timeout.map(|timeout| Instant::now() + timeout);
        // Faults scripted at 0 ms fire before any audio.
        let initial = self.timeline.advance(0.0);
        if !self.socket.emit(initial).await {
            return;
        }
        loop {
            let Some(incoming) = self.socket.next(deadline).await else {
                return;
            };
            deadline = self.inactivity_timeout.map(|timeout| Instant::now() + timeout);
            let outputs = match incoming {
                Incoming::Deadline => {
                    let metadata = self.metadata("incomplete");
                    let close = Out::Close { code: 1011, reason: NET0001_REASON.into() };
                    self.socket.emit(vec![Out::Text(metadata), close]).await;
                    return;
                }
                Incoming::Binary(bytes) if bytes.is_empty() => self.close_stream(),
                Incoming::Binary(bytes) => {
                    self.audio_bytes += bytes.len();
                    self.hasher.update(&bytes);
                    self.record(|s| {
                        s.audio.extend_from_slice(&bytes);
                        s.binary_frames += 1;
                    });
                    let now = self.audio_ms();
                    self.timeline.advance(now)
                }
                Incoming::Text(text) => self.control(text.as_str()),
                Incoming::Control => Vec::new(),
            };
            if !self.socket.emit(outputs).await {
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
}
