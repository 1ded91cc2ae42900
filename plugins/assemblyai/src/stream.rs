//! Live transcription over one `/v3/ws` WebSocket.
//!
//! `start` connects; audio frames go out as binary little-endian PCM in 50–1000 ms messages
//! (buffered until the socket opens); `flush` sends the audio held back and `ForceEndpoint`
//! (end the current turn now),
//! `end` sends `Terminate` and waits for `Termination` and the server's close. Universal-
//! Streaming applies no inactivity timeout unless asked (`inactivityTimeout`), so, unlike
//! Deepgram, the socket needs no keep-alive.

use voiceblox_plugin_kit::connect_backlog::ConnectBacklog;
use voiceblox_plugin_kit::socket::{Phase, Socket};
use voiceblox_plugin_kit::ws_close::closed_early;

use crate::PROVIDER;
use crate::chunker::Chunker;
use crate::config::Settings;
use crate::error::from_close;
use crate::message::{self, Message};
use crate::turns::Turns;
use voiceblox_plugin_contract::types::{
    Action, Event, Input, ProviderConfig, ProviderError, SttEvent, WsClose, WsConnect, WsMessage,
};
use voiceblox_plugin_contract::{SocketStream, close_overdue, drive_socket};
use voiceblox_plugin_sdk::stt::Request;

/// Timer id.
const CLOSE_TIMER: u32 = 1;

/// How long `Terminate` may take to deliver the last turns before we close ourselves (the
/// Python SDK waits 5 s; the last turn's formatting can take a moment longer).
const CLOSE_GRACE_MS: u32 = 10_000;

/// Audio held while the socket opens. A handshake that takes longer than this has failed, and
/// AssemblyAI refuses audio sent much faster than real time, so a longer backlog would be too.
const MAX_PENDING_AUDIO_MS: u64 = 10_000;

const FORCE_ENDPOINT: &str = r#"{"type":"ForceEndpoint"}"#;
const TERMINATE: &str = r#"{"type":"Terminate"}"#;

/// One live transcription stream.
#[derive(Debug)]
pub struct Transcription {
    /// Closing once `Terminate` is sent: waiting for `Termination` and the close.
    socket: Socket<WsConnect, WsMessage>,
    chunker: Chunker,
    turns: Turns,
    backlog: ConnectBacklog,
    end_requested: bool,
    terminated: bool,
    /// From `Begin`, quoted in errors so a session can be looked up with AssemblyAI.
    session_id: Option<String>,
}

impl Transcription {
    /// Validates the request and prepares the connection; nothing is sent before `start`.
    pub fn open(config: &ProviderConfig, request: &Request) -> Result<Self, ProviderError> {
        let settings = Settings::new(config, request)?;
        Ok(Transcription {
            socket: Socket::new(settings.connect),
            chunker: Chunker::new(settings.sample_rate),
            turns: Turns::new(settings.format_turns, settings.interim_results, settings.fallback_language),
            backlog: ConnectBacklog::new(settings.sample_rate, MAX_PENDING_AUDIO_MS),
            end_requested: false,
            terminated: false,
            session_id: None,
        })
    }

    /// Advances the stream by one host input.
    pub fn handle(&mut self, input: Input) -> Vec<Action> {
        drive_socket(self, input)
    }

    fn send_audio(&mut self, bytes: Vec<u8>, out: &mut Vec<Action>) -> Result<(), ProviderError> {
        if self.socket.is_waiting() {
            self.backlog.hold(bytes.len())?;
        }
        self.send(WsMessage::Binary(bytes), out);
        Ok(())
    }

    fn on_close_timeout(&mut self, out: &mut Vec<Action>) -> Result<(), ProviderError> {
        // `Termination` comes after the last turn: with it, nothing was lost.
        let late = || format!("assemblyai did not finish the stream within {} s of Terminate", CLOSE_GRACE_MS / 1000);
        close_overdue(&mut self.socket, self.terminated, late, out)
    }

    fn begin_closing(&mut self, out: &mut Vec<Action>) {
        out.push(Action::SetTimer((CLOSE_TIMER, CLOSE_GRACE_MS)));
        self.socket.closing();
    }

    fn send(&mut self, message: WsMessage, out: &mut Vec<Action>) {
        out.extend(self.socket.send(message).map(Action::WsSend));
    }
}

impl SocketStream for Transcription {
    type Frame = WsMessage;

    fn socket(&mut self) -> &mut Socket<WsConnect, WsMessage> {
        &mut self.socket
    }

    fn on_audio(&mut self, frame: &[i16], out: &mut Vec<Action>) -> Result<(), ProviderError> {
        if frame.is_empty() || self.end_requested {
            return Ok(());
        }
        for bytes in self.chunker.push(frame) {
            self.send_audio(bytes, out)?;
        }
        Ok(())
    }

    /// The audio held back goes out (padded to the 50 ms minimum) before `ForceEndpoint`, so
    /// the turn ends after everything given so far.
    fn on_flush(&mut self, out: &mut Vec<Action>) -> Result<(), ProviderError> {
        if self.end_requested {
            return Ok(());
        }
        if let Some(rest) = self.chunker.flush() {
            self.send_audio(rest, out)?;
        }
        self.send(WsMessage::Text(FORCE_ENDPOINT.into()), out);
        Ok(())
    }

    fn on_end(&mut self, out: &mut Vec<Action>) {
        if self.end_requested {
            return;
        }
        self.end_requested = true;
        if self.socket.phase() == Phase::Idle {
            // Never started: nothing to close.
            self.socket.done();
            out.push(Action::Finish);
            return;
        }
        if let Some(rest) = self.chunker.flush() {
            self.send(WsMessage::Binary(rest), out);
        }
        self.send(WsMessage::Text(TERMINATE.into()), out);
        if self.socket.phase() == Phase::Open {
            self.begin_closing(out);
        }
    }

    fn on_open(&mut self, out: &mut Vec<Action>) {
        let Some(pending) = self.socket.open() else {
            return;
        };
        self.backlog.release();
        out.extend(pending.into_iter().map(Action::WsSend));
        if self.end_requested {
            self.begin_closing(out);
        }
    }

    fn on_message(&mut self, text: &str, out: &mut Vec<Action>) -> Result<(), ProviderError> {
        match message::parse(text)? {
            Message::Begin { id } => self.session_id = Some(id).filter(|id| !id.is_empty()),
            Message::Turn(mut turn) => {
                for word in &mut turn.words {
                    word.start = self.chunker.host_ms(word.start);
                    word.end = self.chunker.host_ms(word.end);
                }
                emit(out, self.turns.on_turn(turn));
            }
            Message::SpeechStarted(at_ms) => {
                let at_ms = message::ms(self.chunker.host_ms(f64::from(at_ms)));
                emit(out, [SttEvent::SpeechStarted(at_ms)]);
            }
            Message::Termination => {
                self.terminated = true;
                emit(out, self.turns.release());
            }
            Message::Error(error) => return Err(error),
            Message::Nothing => {}
        }
        Ok(())
    }

    fn on_closed(&mut self, close: &WsClose, out: &mut Vec<Action>) -> Result<(), ProviderError> {
        // 1005: the server closed without a status, which after Terminate is still normal.
        if self.socket.closed_normally(close.code) {
            emit(out, self.turns.release());
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
            CLOSE_TIMER => self.on_close_timeout(out),
            _ => Ok(()),
        }
    }

    /// The error with the session id, when the server named one.
    fn failed(&mut self, error: ProviderError) -> ProviderError {
        let Some(id) = &self.session_id else { return error };
        let tag = |message: String| format!("{message} (session {id})");
        match error {
            ProviderError::Unauthorized(m) => ProviderError::Unauthorized(tag(m)),
            ProviderError::RateLimited(mut limit) => {
                limit.message = tag(limit.message);
                ProviderError::RateLimited(limit)
            }
            ProviderError::InvalidRequest(m) => ProviderError::InvalidRequest(tag(m)),
            ProviderError::Unavailable(m) => ProviderError::Unavailable(tag(m)),
            ProviderError::Timeout(m) => ProviderError::Timeout(tag(m)),
            ProviderError::Protocol(m) => ProviderError::Protocol(tag(m)),
            ProviderError::Internal(m) => ProviderError::Internal(tag(m)),
        }
    }
}

fn emit(out: &mut Vec<Action>, events: impl IntoIterator<Item = SttEvent>) {
    out.extend(events.into_iter().map(|event| Action::Emit(Event::Stt(event))));
}

#[cfg(test)]
mod tests;
