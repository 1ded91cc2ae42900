//! Live transcription over one `/v1/listen` WebSocket.
//!
//! `start` connects; audio frames go out as binary little-endian PCM (buffered until the socket
//! opens); `flush` sends `Finalize`, `end` sends `CloseStream` and waits for the server to
//! deliver the last results and close. Deepgram drops a socket that hears nothing for 10 s, so
//! a repeating timer sends `KeepAlive` whenever a whole tick passed without audio.

use voiceblox_plugin_kit::pcm::samples_to_le_bytes;

use crate::error::from_close;
use crate::listen_message::{self, Message};
use crate::listen_query;
use voiceblox_plugin_contract::types::{
    Action, Event, Input, ProviderConfig, ProviderError, WsClose, WsConnect, WsMessage,
};
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    Connecting,
    Open,
    /// `CloseStream` sent; waiting for the server to close.
    Closing,
    Done,
}

/// One live transcription stream.
#[derive(Debug)]
pub struct Listen {
    connect: Option<WsConnect>,
    fallback_language: Option<String>,
    state: State,
    /// Messages queued before the socket opened, in order.
    pending: Vec<WsMessage>,
    pending_audio_bytes: u64,
    max_pending_audio_bytes: u64,
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
            connect: Some(connect),
            fallback_language,
            state: State::Idle,
            pending: Vec::new(),
            pending_audio_bytes: 0,
            max_pending_audio_bytes: u64::from(request.sample_rate) * 2 * MAX_PENDING_AUDIO_MS / 1000,
            end_requested: false,
            audio_since_tick: false,
            saw_metadata: false,
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
            Input::Flush => {
                self.send(WsMessage::Text(FINALIZE.into()), &mut out);
                Ok(())
            }
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
            Input::Timer(KEEPALIVE_TIMER) => {
                self.on_tick(&mut out);
                Ok(())
            }
            Input::Timer(CLOSE_TIMER) => self.on_close_timeout(&mut out),
            // Deepgram sends no binary frames on this socket; HTTP inputs are not ours.
            _ => Ok(()),
        };
        if let Err(error) = result {
            out.push(Action::Fail(error));
            self.state = State::Done;
        }
        out
    }

    fn on_audio(&mut self, frame: &[i16], out: &mut Vec<Action>) -> Result<(), ProviderError> {
        // An empty binary message is read by Deepgram as the end of the stream.
        if frame.is_empty() || self.end_requested {
            return Ok(());
        }
        let bytes = samples_to_le_bytes(frame);
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
        match self.state {
            State::Idle => {
                // Never started: nothing to close.
                self.state = State::Done;
                out.push(Action::Finish);
            }
            State::Connecting => self.pending.push(WsMessage::Text(CLOSE_STREAM.into())),
            State::Open => self.begin_closing(out),
            State::Closing | State::Done => {}
        }
    }

    fn on_open(&mut self, out: &mut Vec<Action>) {
        if self.state != State::Connecting {
            return;
        }
        self.state = State::Open;
        self.audio_since_tick = self.pending_audio_bytes > 0;
        self.pending_audio_bytes = 0;
        let pending = std::mem::take(&mut self.pending);
        let close_queued = pending.last() == Some(&WsMessage::Text(CLOSE_STREAM.into()));
        out.extend(pending.into_iter().map(Action::WsSend));
        if close_queued {
            self.state = State::Closing;
            out.push(Action::SetTimer((CLOSE_TIMER, CLOSE_GRACE_MS)));
        } else {
            out.push(Action::SetTimer((KEEPALIVE_TIMER, KEEPALIVE_TICK_MS)));
        }
    }

    fn on_text(&mut self, text: &str, out: &mut Vec<Action>) -> Result<(), ProviderError> {
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
        if self.state == State::Closing && matches!(close.code, 1000 | 1005) {
            self.state = State::Done;
            out.push(Action::Finish);
            return Ok(());
        }
        if close.code == 1000 {
            return Err(ProviderError::Unavailable(format!(
                "deepgram closed the stream before it was ended{}",
                if close.reason.is_empty() { String::new() } else { format!(": {}", close.reason) }
            )));
        }
        Err(from_close(close.code, &close.reason))
    }

    fn on_tick(&mut self, out: &mut Vec<Action>) {
        if self.state != State::Open {
            return;
        }
        if !self.audio_since_tick {
            out.push(Action::WsSend(WsMessage::Text(KEEP_ALIVE.into())));
        }
        self.audio_since_tick = false;
        out.push(Action::SetTimer((KEEPALIVE_TIMER, KEEPALIVE_TICK_MS)));
    }

    fn on_close_timeout(&mut self, out: &mut Vec<Action>) -> Result<(), ProviderError> {
        if self.state != State::Closing {
            return Ok(());
        }
        out.push(Action::WsClose(WsClose { code: 1000, reason: String::new() }));
        // The summary Metadata comes after the last results: with it, nothing was lost.
        if self.saw_metadata {
            self.state = State::Done;
            out.push(Action::Finish);
            return Ok(());
        }
        Err(ProviderError::Timeout(format!(
            "deepgram did not finish the stream within {} s of CloseStream",
            CLOSE_GRACE_MS / 1000
        )))
    }

    fn begin_closing(&mut self, out: &mut Vec<Action>) {
        out.push(Action::WsSend(WsMessage::Text(CLOSE_STREAM.into())));
        out.push(Action::SetTimer((CLOSE_TIMER, CLOSE_GRACE_MS)));
        self.state = State::Closing;
    }

    fn send(&mut self, message: WsMessage, out: &mut Vec<Action>) {
        match self.state {
            State::Idle | State::Connecting => self.pending.push(message),
            State::Open => {
                if matches!(message, WsMessage::Binary(_)) {
                    self.audio_since_tick = true;
                }
                out.push(Action::WsSend(message));
            }
            State::Closing | State::Done => {}
        }
    }
}

#[cfg(test)]
mod tests;
