//! Text-to-speech over one `stream-input` WebSocket.
//!
//! `start` connects at once, so the socket is open by the time the first words arrive. The
//! first frame is the initialisation message (`{"text": " ", "voice_settings": ...}`); text then
//! goes out as it arrives, whole words at a time (ElevenLabs wants every chunk to end with a
//! space, so a word cut between two chunks waits for its end); `flush` sends what is held with
//! `"flush": true`, which makes ElevenLabs speak its buffer now; `end` sends the empty text that
//! ends the input, and the server answers with the rest of the audio, `{"isFinal": true}` and a
//! normal close. Audio arrives base64-encoded in JSON; [`Flushes`] answers each `flush` once its
//! text has been spoken.

use serde_json::{Map, Value, json};
use voiceblox_plugin_kit::pcm::PcmCarry;
use voiceblox_plugin_kit::socket::{Phase, Socket};
use voiceblox_plugin_kit::ws_close::closed_early;

use crate::PROVIDER;
use crate::config::Settings;
use crate::error::from_close;
use crate::flushes::Flushes;
use crate::message::{self, Message};
use voiceblox_plugin_contract::types::{
    Action, Event, Input, ProviderError, TtsAudio, TtsEvent, WsClose, WsConnect, WsMessage,
};
use voiceblox_plugin_contract::{SocketStream, close_overdue, drive_socket};

/// Timer id: the server's grace period after the end of input.
const CLOSE_TIMER: u32 = 1;

/// How long the server may take to speak the rest and close after the end of input.
const CLOSE_GRACE_MS: u32 = 15_000;

/// The end-of-input message.
const END_OF_INPUT: &str = r#"{"text":""}"#;

/// One synthesis stream.
#[derive(Debug)]
pub struct StreamInput {
    /// Closing once the end of input was sent: waiting for the last audio and the close.
    socket: Socket<WsConnect, String>,
    init: Option<String>,
    sample_rate: u32,
    /// Text after the last whitespace given: the start of a word whose end has not come yet.
    held: String,
    flushes: Flushes,
    carry: PcmCarry,
    /// Text frames sent (or queued) after the initialisation message.
    text_sent: bool,
    end_requested: bool,
    saw_final: bool,
}

impl StreamInput {
    pub fn open(settings: &Settings) -> Self {
        let connect = WsConnect { url: settings.stream_input_url(), headers: settings.auth_headers() };
        let mut init = Map::new();
        // The first message must be a single space.
        init.insert("text".into(), json!(" "));
        // Voice settings are only accepted in the first message: the socket refuses any change
        // later on (close 1008).
        if let Some(voice_settings) = &settings.voice_settings {
            init.insert("voice_settings".into(), voice_settings.clone());
        }
        StreamInput {
            socket: Socket::new(connect),
            init: Some(Value::Object(init).to_string()),
            sample_rate: settings.sample_rate,
            held: String::new(),
            flushes: Flushes::new(),
            carry: PcmCarry::new(),
            text_sent: false,
            end_requested: false,
            saw_final: false,
        }
    }

    /// The rate of the audio this stream produces.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Advances the stream by one host input.
    pub fn handle(&mut self, input: Input) -> Vec<Action> {
        drive_socket(self, input)
    }

    /// Sends what is held with `flush: true` when there is anything new, and answers the flushes
    /// that are now complete.
    fn flush(&mut self, out: &mut Vec<Action>) {
        if self.flushes.has_unflushed() {
            let held = std::mem::take(&mut self.held);
            self.send_text(&held, true, out);
        }
        let answered = self.flushes.flush();
        emit_flushed(answered, out);
    }

    fn on_close_timeout(&mut self, out: &mut Vec<Action>) -> Result<(), ProviderError> {
        // With `isFinal` everything was spoken; only the close was slow.
        let late =
            || format!("elevenlabs did not finish speaking within {} s of the end of input", CLOSE_GRACE_MS / 1000);
        close_overdue(&mut self.socket, self.saw_final, late, out)
    }

    fn begin_closing(&mut self, out: &mut Vec<Action>) {
        out.push(Action::WsSend(WsMessage::Text(END_OF_INPUT.into())));
        out.push(Action::SetTimer((CLOSE_TIMER, CLOSE_GRACE_MS)));
        self.socket.closing();
    }

    /// Sends a text frame; ElevenLabs wants each to end with exactly one space.
    fn send_text(&mut self, text: &str, flush: bool, out: &mut Vec<Action>) {
        let text = format!("{} ", text.trim_end());
        let frame = if flush { json!({"text": text, "flush": true}) } else { json!({"text": text}) };
        self.text_sent = true;
        self.send(frame.to_string(), out);
    }

    fn send(&mut self, frame: String, out: &mut Vec<Action>) {
        out.extend(self.socket.send(frame).map(|frame| Action::WsSend(WsMessage::Text(frame))));
    }
}

impl SocketStream for StreamInput {
    type Frame = String;

    fn socket(&mut self) -> &mut Socket<WsConnect, String> {
        &mut self.socket
    }

    fn on_start(&mut self, out: &mut Vec<Action>) {
        if let Some(connect) = self.socket.connect() {
            out.push(Action::WsConnect(connect));
            // The initialisation message goes first, before anything given ahead of `start`.
            if let Some(init) = self.init.take() {
                self.socket.send_first(init);
            }
        }
    }

    fn on_text(&mut self, text: &str, out: &mut Vec<Action>) -> Result<(), ProviderError> {
        if self.end_requested || text.is_empty() {
            return Ok(());
        }
        self.flushes.give(text);
        self.held.push_str(text);
        // Everything up to the last whitespace is whole words: send it now, so ElevenLabs can
        // start speaking before the sentence is complete.
        let Some(cut) = self.held.rfind(char::is_whitespace) else {
            return Ok(());
        };
        let rest = self.held.split_off(cut);
        let words = std::mem::replace(&mut self.held, rest.trim_start().to_string());
        if !words.trim().is_empty() {
            self.send_text(&words, false, out);
        }
        Ok(())
    }

    fn on_flush(&mut self, out: &mut Vec<Action>) -> Result<(), ProviderError> {
        if self.end_requested {
            return Ok(());
        }
        self.flush(out);
        Ok(())
    }

    fn on_end(&mut self, out: &mut Vec<Action>) {
        if self.end_requested {
            return;
        }
        self.end_requested = true;
        // Text not yet flushed is still to be spoken, and answered like any flush.
        if self.flushes.has_unflushed() {
            self.flush(out);
        }
        if !self.text_sent {
            // Nothing to say: no need to wait for the server.
            if matches!(self.socket.phase(), Phase::Connecting | Phase::Open) {
                out.push(Action::WsClose(WsClose { code: 1000, reason: String::new() }));
            }
            emit_flushed(self.flushes.finish(), out);
            self.socket.done();
            out.push(Action::Finish);
            return;
        }
        match self.socket.phase() {
            Phase::Connecting => self.send(END_OF_INPUT.into(), out),
            Phase::Open => self.begin_closing(out),
            Phase::Idle | Phase::Closing | Phase::Done => {}
        }
    }

    fn on_open(&mut self, out: &mut Vec<Action>) {
        let Some(pending) = self.socket.open() else {
            return;
        };
        let end_queued = pending.last().is_some_and(|frame| frame == END_OF_INPUT);
        out.extend(pending.into_iter().map(|frame| Action::WsSend(WsMessage::Text(frame))));
        if end_queued {
            self.socket.closing();
            out.push(Action::SetTimer((CLOSE_TIMER, CLOSE_GRACE_MS)));
        }
    }

    fn on_message(&mut self, text: &str, out: &mut Vec<Action>) -> Result<(), ProviderError> {
        match message::parse(text)? {
            Message::Error(error) => Err(error),
            Message::Audio { pcm, spoken_chars, is_final } => {
                let pcm = self.carry.push(&pcm);
                if !pcm.is_empty() {
                    let audio = TtsAudio { pcm, sample_rate: self.sample_rate };
                    out.push(Action::Emit(Event::Tts(TtsEvent::Audio(audio))));
                }
                emit_flushed(self.flushes.spoke(spoken_chars), out);
                if is_final {
                    // The whole input has been spoken: every flush is answered.
                    self.saw_final = true;
                    self.carry.reset();
                    emit_flushed(self.flushes.finish(), out);
                }
                Ok(())
            }
        }
    }

    fn on_closed(&mut self, close: &WsClose, out: &mut Vec<Action>) -> Result<(), ProviderError> {
        // 1005: closed without a status, which after the end of input is still normal.
        if self.socket.closed_normally(close.code) {
            emit_flushed(self.flushes.finish(), out);
            self.socket.done();
            out.push(Action::Finish);
            return Ok(());
        }
        if close.code == 1000 {
            return Err(closed_early(PROVIDER, "ended", close.reason.trim()).into());
        }
        Err(from_close(close.code, &close.reason))
    }

    fn on_timer(&mut self, id: u32, out: &mut Vec<Action>) -> Result<(), ProviderError> {
        match id {
            CLOSE_TIMER => self.on_close_timeout(out),
            _ => Ok(()),
        }
    }
}

fn emit_flushed(count: usize, out: &mut Vec<Action>) {
    out.extend((0..count).map(|_| Action::Emit(Event::Tts(TtsEvent::Flushed))));
}

#[cfg(test)]
mod tests;
