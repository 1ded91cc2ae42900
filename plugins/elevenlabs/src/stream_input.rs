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

use crate::config::Settings;
use crate::error::from_close;
use crate::flushes::Flushes;
use crate::message::{self, Message};
use voiceblox_plugin_contract::types::{
    Action, Event, Input, ProviderError, TtsAudio, TtsEvent, WsClose, WsConnect, WsMessage,
};

/// Timer id: the server's grace period after the end of input.
const CLOSE_TIMER: u32 = 1;

/// How long the server may take to speak the rest and close after the end of input.
const CLOSE_GRACE_MS: u32 = 15_000;

/// The end-of-input message.
const END_OF_INPUT: &str = r#"{"text":""}"#;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    Connecting,
    Open,
    /// The end of input was sent; waiting for the last audio and the close.
    Closing,
    Done,
}

/// One synthesis stream.
#[derive(Debug)]
pub struct StreamInput {
    connect: Option<WsConnect>,
    init: Option<String>,
    sample_rate: u32,
    state: State,
    /// Frames waiting for the socket to open, in order.
    pending: Vec<String>,
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
            connect: Some(connect),
            init: Some(Value::Object(init).to_string()),
            sample_rate: settings.sample_rate,
            state: State::Idle,
            pending: Vec::new(),
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
        if self.state == State::Done {
            return Vec::new();
        }
        let mut out = Vec::new();
        let result = match input {
            Input::Start => {
                self.on_start(&mut out);
                Ok(())
            }
            Input::Text(text) => {
                self.on_text(&text, &mut out);
                Ok(())
            }
            Input::Flush => {
                self.on_flush(&mut out);
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
            Input::WsMessage(WsMessage::Text(text)) => self.on_message(&text, &mut out),
            Input::WsClosed(close) => self.on_closed(&close, &mut out),
            Input::Timer(CLOSE_TIMER) => self.on_close_timeout(&mut out),
            // The socket sends no binary frames; audio and HTTP inputs are not ours.
            _ => Ok(()),
        };
        if let Err(error) = result {
            out.push(Action::Fail(error));
            self.state = State::Done;
        }
        out
    }

    fn on_start(&mut self, out: &mut Vec<Action>) {
        if let (State::Idle, Some(connect)) = (self.state, self.connect.take()) {
            out.push(Action::WsConnect(connect));
            // The initialisation message goes first, before anything given ahead of `start`.
            if let Some(init) = self.init.take() {
                self.pending.insert(0, init);
            }
            self.state = State::Connecting;
        }
    }

    fn on_text(&mut self, text: &str, out: &mut Vec<Action>) {
        if self.end_requested || text.is_empty() {
            return;
        }
        self.flushes.give(text);
        self.held.push_str(text);
        // Everything up to the last whitespace is whole words: send it now, so ElevenLabs can
        // start speaking before the sentence is complete.
        let Some(cut) = self.held.rfind(char::is_whitespace) else {
            return;
        };
        let rest = self.held.split_off(cut);
        let words = std::mem::replace(&mut self.held, rest.trim_start().to_string());
        if !words.trim().is_empty() {
            self.send_text(&words, false, out);
        }
    }

    fn on_flush(&mut self, out: &mut Vec<Action>) {
        if self.end_requested {
            return;
        }
        self.flush(out);
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
            if matches!(self.state, State::Connecting | State::Open) {
                out.push(Action::WsClose(WsClose { code: 1000, reason: String::new() }));
            }
            emit_flushed(self.flushes.finish(), out);
            self.state = State::Done;
            out.push(Action::Finish);
            return;
        }
        match self.state {
            State::Connecting => self.pending.push(END_OF_INPUT.into()),
            State::Open => self.begin_closing(out),
            State::Idle | State::Closing | State::Done => {}
        }
    }

    fn on_open(&mut self, out: &mut Vec<Action>) {
        if self.state != State::Connecting {
            return;
        }
        self.state = State::Open;
        let pending = std::mem::take(&mut self.pending);
        let end_queued = pending.last().is_some_and(|frame| frame == END_OF_INPUT);
        out.extend(pending.into_iter().map(|frame| Action::WsSend(WsMessage::Text(frame))));
        if end_queued {
            self.state = State::Closing;
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
        if self.state == State::Closing && matches!(close.code, 1000 | 1005) {
            emit_flushed(self.flushes.finish(), out);
            self.state = State::Done;
            out.push(Action::Finish);
            return Ok(());
        }
        if close.code == 1000 {
            let reason = close.reason.trim();
            return Err(ProviderError::Unavailable(format!(
                "elevenlabs closed the stream before it was ended{}",
                if reason.is_empty() { String::new() } else { format!(": {reason}") }
            )));
        }
        Err(from_close(close.code, &close.reason))
    }

    fn on_close_timeout(&mut self, out: &mut Vec<Action>) -> Result<(), ProviderError> {
        if self.state != State::Closing {
            return Ok(());
        }
        out.push(Action::WsClose(WsClose { code: 1000, reason: String::new() }));
        // With `isFinal` everything was spoken; only the close was slow.
        if self.saw_final {
            self.state = State::Done;
            out.push(Action::Finish);
            return Ok(());
        }
        Err(ProviderError::Timeout(format!(
            "elevenlabs did not finish speaking within {} s of the end of input",
            CLOSE_GRACE_MS / 1000
        )))
    }

    fn begin_closing(&mut self, out: &mut Vec<Action>) {
        out.push(Action::WsSend(WsMessage::Text(END_OF_INPUT.into())));
        out.push(Action::SetTimer((CLOSE_TIMER, CLOSE_GRACE_MS)));
        self.state = State::Closing;
    }

    /// Sends a text frame; ElevenLabs wants each to end with exactly one space.
    fn send_text(&mut self, text: &str, flush: bool, out: &mut Vec<Action>) {
        let text = format!("{} ", text.trim_end());
        let frame = if flush { json!({"text": text, "flush": true}) } else { json!({"text": text}) };
        self.text_sent = true;
        self.send(frame.to_string(), out);
    }

    fn send(&mut self, frame: String, out: &mut Vec<Action>) {
        match self.state {
            State::Idle | State::Connecting => self.pending.push(frame),
            State::Open => out.push(Action::WsSend(WsMessage::Text(frame))),
            State::Closing | State::Done => {}
        }
    }
}

fn emit_flushed(count: usize, out: &mut Vec<Action>) {
    out.extend((0..count).map(|_| Action::Emit(Event::Tts(TtsEvent::Flushed))));
}

#[cfg(test)]
mod tests;
