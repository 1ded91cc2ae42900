//! Live transcription over one `/v1/listen` WebSocket.
//!
//! `start` connects; audio frames go out as binary little-endian PCM (buffered until the socket
//! opens); `flush` sends `Finalize`, `end` sends `CloseStream` and waits for the server to
//! deliver the last results and close. Deepgram drops a socket that hears nothing for 10 s, so
//! a repeating timer sends `KeepAlive` whenever a whole tick passed without audio.

use voiceblox_plugin_kit::connect_backlog::ConnectBacklog;
use voiceblox_plugin_kit::pcm::samples_to_le_bytes;
use voiceblox_plugin_kit::socket::{Phase, Socket};
use voiceblox_plugin_kit::ws_close::closed_early;

use crate::PROVIDER;
use crate::error::from_close;
use crate::listen_message::{self, Message};
use crate::listen_query;
use voiceblox_plugin_contract::types::{
    Action, Event, Input, ProviderConfig, ProviderError, WsClose, WsConnect, WsMessage,
};
use voiceblox_plugin_contract::{SocketStream, close_overdue, drive_socket};
use voiceblox_plugin_sdk::stt::Request;

/// Timer ids.
const KEEPALIVE_TIMER: u32 = 1;
const CLOSE_TIMER: u32 = 2;

/// A tick without audio sends `KeepAlive`, so the longest silence the server sees is under two
/// ticks: well inside its 10 s timeout.
const KEEPALIVE_TICK_MS: u32 = 2_500;

/// How long `CloseStream` may take to flush the last results before we close ourselves.
const CLOSE_GRACE_MS: u32 = 10_000;

/// Audio held while the socket opens. A handshake that takes longer than this has failed.
const MAX_PENDING_AUDIO_MS: u64 = 30_000;

const FINALIZE: &str = r#"{"type":"Finalize"}"#;
const CLOSE_STREAM: &str = r#"{"type":"CloseStream"}"#;
const KEEP_ALIVE: &str = r#"{"type":"KeepAlive"}"#;

/// One live transcription stream.
#[derive(Debug)]
pub struct Listen {
    /// Closing once `CloseStream` is sent.
    socket: Socket<WsConnect, WsMessage>,
    fallback_language: Option<String>,
    backlog: ConnectBacklog,
    end_requested: bool,
    audio_since_tick: bool,
    saw_metadata: bool,
}

impl Listen {
    /// Validates the request and prepares the connection; nothing is sent before `start`.
    pub fn open(config: &ProviderConfig, request: &Request) -> Result<Self, ProviderError> {
        let connect = listen_query::connect(config, request)?;
        let fallback_language = if request.detect_language {
            None
        } else {
            config.language.as_deref().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string)
        };
        Ok(Listen {
            socket: Socket::new(connect),
            fallback_language,
            backlog: ConnectBacklog::new(request.sample_rate, MAX_PENDING_AUDIO_MS),
            end_requested: false,
            audio_since_tick: false,
            saw_metadata: false,
        })
    }

    /// Advances the stream by one host input.
    pub fn handle(&mut self, input: Input) -> Vec<Action> {
        drive_socket(self, input)
    }

    fn on_tick(&mut self, out: &mut Vec<Action>) {
        if self.socket.phase() != Phase::Open {
            return;
        }
        if !self.audio_since_tick {
            out.push(Action::WsSend(WsMessage::Text(KEEP_ALIVE.into())));
        }
        self.audio_since_tick = false;
        out.push(Action::SetTimer((KEEPALIVE_TIMER, KEEPALIVE_TICK_MS)));
    }

    fn on_close_timeout(&mut self, out: &mut Vec<Action>) -> Result<(), ProviderError> {
        // The summary Metadata comes after the last results: with it, nothing was lost.
        let late = || format!("deepgram did not finish the stream within {} s of CloseStream", CLOSE_GRACE_MS / 1000);
        close_overdue(&mut self.socket, self.saw_metadata, late, out)
    }

    fn begin_closing(&mut self, out: &mut Vec<Action>) {
        out.push(Action::WsSend(WsMessage::Text(CLOSE_STREAM.into())));
        out.push(Action::SetTimer((CLOSE_TIMER, CLOSE_GRACE_MS)));
        self.socket.closing();
    }

    fn send(&mut self, message: WsMessage, out: &mut Vec<Action>) {
        if let Some(message) = self.socket.send(message) {
            if matches!(message, WsMessage::Binary(_)) {
                self.audio_since_tick = true;
            }
            out.push(Action::WsSend(message));
        }
    }
}

impl SocketStream for Listen {
    type Frame = WsMessage;

    fn socket(&mut self) -> &mut Socket<WsConnect, WsMessage> {
        &mut self.socket
    }

    fn on_audio(&mut self, frame: &[i16], out: &mut Vec<Action>) -> Result<(), ProviderError> {
        // An empty binary message is read by Deepgram as the end of the stream.
        if frame.is_empty() || self.end_requested {
            return Ok(());
        }
        let bytes = samples_to_le_bytes(frame);
        if self.socket.is_waiting() {
            self.backlog.hold(bytes.len())?;
        }
        self.send(WsMessage::Binary(bytes), out);
        Ok(())
    }

    fn on_flush(&mut self, out: &mut Vec<Action>) -> Result<(), ProviderError> {
        self.send(WsMessage::Text(FINALIZE.into()), out);
        Ok(())
    }

    fn on_end(&mut self, out: &mut Vec<Action>) {
        if self.end_requested {
            return;
        }
        self.end_requested = true;
        match self.socket.phase() {
            Phase::Idle => {
                // Never started: nothing to close.
                self.socket.done();
                out.push(Action::Finish);
            }
            Phase::Connecting => self.send(WsMessage::Text(CLOSE_STREAM.into()), out),
            Phase::Open => self.begin_closing(out),
            Phase::Closing | Phase::Done => {}
        }
    }

    fn on_open(&mut self, out: &mut Vec<Action>) {
        let Some(pending) = self.socket.open() else {
            return;
        };
        self.audio_since_tick = self.backlog.release();
        let close_queued = pending.last() == Some(&WsMessage::Text(CLOSE_STREAM.into()));
        out.extend(pending.into_iter().map(Action::WsSend));
        if close_queued {
            self.socket.closing();
            out.push(Action::SetTimer((CLOSE_TIMER, CLOSE_GRACE_MS)));
        } else {
            out.push(Action::SetTimer((KEEPALIVE_TIMER, KEEPALIVE_TICK_MS)));
        }
    }

    fn on_message(&mut self, text: &str, out: &mut Vec<Action>) -> Result<(), ProviderError> {
        match listen_message::parse(text, self.fallback_language.as_deref())? {
            Message::Event(event) => out.push(Action::Emit(Event::Stt(event))),
            Message::Metadata => self.saw_metadata = true,
            Message::Error(error) => return Err(error),
            Message::Nothing => {}
        }
        Ok(())
    }

    fn on_closed(&mut self, close: &WsClose, out: &mut Vec<Action>) -> Result<(), ProviderError> {
        // 1005: the server closed without a status, which after CloseStream is still normal.
        if self.socket.closed_normally(close.code) {
            self.socket.done();
            out.push(Action::Finish);
            return Ok(());
        }
        if close.code == 1000 {
            return Err(closed_early(PROVIDER, "ended", &close.reason).into());
        }
        Err(from_close(close.code, &close.reason))
    }

    fn on_timer(&mut self, id: u32, out: &mut Vec<Action>) -> Result<(), ProviderError> {
        match id {
            KEEPALIVE_TIMER => {
                self.on_tick(out);
                Ok(())
            }
            CLOSE_TIMER => self.on_close_timeout(out),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
