//! Live transcription over one `/v3/ws` WebSocket.
//!
//! `start` connects; audio frames go out as binary little-endian PCM in 50–1000 ms messages
//! (buffered until the socket opens); `flush` sends the audio held back and `ForceEndpoint`
//! (end the current turn now),
//! `end` sends `Terminate` and waits for `Termination` and the server's close. Universal-
//! Streaming applies no inactivity timeout unless asked (`inactivityTimeout`), so, unlike
//! Deepgram, the socket needs no keep-alive.

use crate::chunker::Chunker;
use crate::config::Settings;
use crate::error::from_close;
use crate::message::{self, Message};
use crate::turns::Turns;
use voiceblox_plugin_contract::types::{
    Action, Event, Input, ProviderConfig, ProviderError, SttEvent, WsClose, WsConnect, WsMessage,
};
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    Connecting,
    Open,
    /// `Terminate` sent; waiting for `Termination` and the close.
    Closing,
    Done,
}

/// One live transcription stream.
#[derive(Debug)]
pub struct Transcription {
    connect: Option<WsConnect>,
    state: State,
    chunker: Chunker,
    turns: Turns,
    /// Messages queued before the socket opened, in order.
    pending: Vec<WsMessage>,
    pending_audio_bytes: u64,
    max_pending_audio_bytes: u64,
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
            connect: Some(settings.connect),
            state: State::Idle,
            chunker: Chunker::new(settings.sample_rate),
            turns: Turns::new(settings.format_turns, settings.interim_results, settings.fallback_language),
            pending: Vec::new(),
            pending_audio_bytes: 0,
            max_pending_audio_bytes: u64::from(settings.sample_rate) * 2 * MAX_PENDING_AUDIO_MS / 1000,
            end_requested: false,
            terminated: false,
            session_id: None,
        })
    }

    /// Advances the stream by one host input.
    pub fn handle(&mut self, input: Input) -> Vec<Action> {
        if self.state == State::Done {
            return Vec::new();
        }
        let mut out = Vec::new();
        let result = match input {
            Input::Start => {
                if let (State::Idle, Some(connect)) = (self.state, self.connect.take()) {
                    out.push(Action::WsConnect(connect));
                    self.state = State::Connecting;
                }
                Ok(())
            }
            Input::Audio(frame) => self.on_audio(&frame, &mut out),
            Input::Flush => self.on_flush(&mut out),
            Input::End => {
                self.on_end(&mut out);
                Ok(())
            }
            Input::WsOpen => {
                self.on_open(&mut out);
                Ok(())
            }
            Input::WsMessage(WsMessage::Text(text)) => self.on_text(&text, &mut out),
            Input::WsClosed(close) => self.on_closed(&close, &mut out),
            Input::Timer(CLOSE_TIMER) => self.on_close_timeout(&mut out),
            // AssemblyAI sends no binary messages; HTTP inputs are not ours.
            _ => Ok(()),
        };
        if let Err(error) = result {
            out.push(Action::Fail(self.with_session(error)));
            self.state = State::Done;
        }
        out
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

    fn send_audio(&mut self, bytes: Vec<u8>, out: &mut Vec<Action>) -> Result<(), ProviderError> {
        if matches!(self.state, State::Idle | State::Connecting) {
            self.pending_audio_bytes += bytes.len() as u64;
            if self.pending_audio_bytes > self.max_pending_audio_bytes {
                return Err(ProviderError::Unavailable(format!(
                    "the transcription socket did not open within {} s of audio",
                    MAX_PENDING_AUDIO_MS / 1000
                )));
            }
        }
        self.send(WsMessage::Binary(bytes), out);
        Ok(())
    }

    fn on_end(&mut self, out: &mut Vec<Action>) {
        if self.end_requested {
            return;
        }
        self.end_requested = true;
        if self.state == State::Idle {
            // Never started: nothing to close.
            self.state = State::Done;
            out.push(Action::Finish);
            return;
        }
        if let Some(rest) = self.chunker.flush() {
            self.send(WsMessage::Binary(rest), out);
        }
        self.send(WsMessage::Text(TERMINATE.into()), out);
        if self.state == State::Open {
            self.begin_closing(out);
        }
    }

    fn on_open(&mut self, out: &mut Vec<Action>) {
        if self.state != State::Connecting {
            return;
        }
        self.state = State::Open;
        self.pending_audio_bytes = 0;
        out.extend(std::mem::take(&mut self.pending).into_iter().map(Action::WsSend));
        if self.end_requested {
            self.begin_closing(out);
        }
    }

    fn on_text(&mut self, text: &str, out: &mut Vec<Action>) -> Result<(), ProviderError> {
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
        if self.state == State::Closing && matches!(close.code, 1000 | 1005) {
            emit(out, self.turns.release());
            self.state = State::Done;
            out.push(Action::Finish);
            return Ok(());
        }
        if close.code == 1000 {
            return Err(ProviderError::Unavailable(format!(
                "assemblyai closed the stream before it was ended{}",
                if close.reason.is_empty() { String::new() } else { format!(": {}", close.reason) }
            )));
        }
        Err(from_close(close.code, &close.reason))
    }

    fn on_close_timeout(&mut self, out: &mut Vec<Action>) -> Result<(), ProviderError> {
        if self.state != State::Closing {
            return Ok(());
        }
        out.push(Action::WsClose(WsClose { code: 1000, reason: String::new() }));
        // `Termination` comes after the last turn: with it, nothing was lost.
        if self.terminated {
            self.state = State::Done;
            out.push(Action::Finish);
            return Ok(());
        }
        Err(ProviderError::Timeout(format!(
            "assemblyai did not finish the stream within {} s of Terminate",
            CLOSE_GRACE_MS / 1000
        )))
    }

    fn begin_closing(&mut self, out: &mut Vec<Action>) {
        out.push(Action::SetTimer((CLOSE_TIMER, CLOSE_GRACE_MS)));
        self.state = State::Closing;
    }

    fn send(&mut self, message: WsMessage, out: &mut Vec<Action>) {
        match self.state {
            State::Idle | State::Connecting => self.pending.push(message),
            State::Open => out.push(Action::WsSend(message)),
            State::Closing | State::Done => {}
        }
    }

    /// The error with the session id, when the server named one.
    fn with_session(&self, error: ProviderError) -> ProviderError {
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
