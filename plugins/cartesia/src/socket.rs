//! Text-to-speech over Cartesia's `/tts/websocket`, one context per synthesis stream.
//!
//! `start` connects at once, so the socket is open by the time the first words arrive. Each
//! `text` chunk goes out as it arrives, as a generation request on the stream's context with
//! `continue: true` (a continuation: Cartesia concatenates the transcripts verbatim and keeps
//! the prosody across them), so audio starts before the reply is complete. `flush` sends an
//! empty transcript with `flush: true`, which makes Cartesia speak what it holds; [`Flushes`]
//! answers it at the matching `flush_done`. `end` sends an empty transcript with
//! `continue: false`, which closes the context: the rest of the audio follows, then `done`,
//! after which the stream closes the socket and finishes once the server has answered the close
//! (the host would otherwise release the stream before its close frame went out).
//!
//! A context is only ours on our own socket, so its id need not be globally unique. Should
//! Cartesia end a context before the end of input (`done` while text may still come), the next
//! text opens a new one.

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
use voiceblox_plugin_contract::{SocketStream, drive_socket};

/// Timer id: the grace period for the rest of the audio after the end of input.
pub const CLOSE_TIMER: u32 = 1;

/// How long Cartesia may take to speak the rest after the end of input. It generates many times
/// faster than real time, so this is only reached when something is wrong.
pub const CLOSE_GRACE_MS: u32 = 15_000;

/// How long the server may take to answer our close frame once everything was spoken.
pub const CLOSE_REPLY_MS: u32 = 2_000;

/// One synthesis stream.
#[derive(Debug)]
pub struct SocketSpeech {
    settings: Settings,
    /// Closing once everything was spoken and our close frame sent: waiting for the server's.
    socket: Socket<WsConnect, String>,
    /// The number of the current context (its id is `voiceblox-<n>`).
    context: u32,
    /// Text was sent on the current context, so it must be closed and waited for.
    context_open: bool,
    flushes: Flushes,
    carry: PcmCarry,
    end_requested: bool,
}

impl SocketSpeech {
    pub fn open(settings: &Settings) -> Self {
        SocketSpeech {
            settings: settings.clone(),
            socket: Socket::new(WsConnect { url: settings.websocket_url(), headers: settings.headers() }),
            context: 1,
            context_open: false,
            flushes: Flushes::new(),
            carry: PcmCarry::new(),
            end_requested: false,
        }
    }

    /// The id of the current context.
    pub fn context_id(&self) -> String {
        format!("voiceblox-{}", self.context)
    }

    /// Advances the stream by one host input.
    pub fn handle(&mut self, input: Input) -> Vec<Action> {
        if self.socket.phase() == Phase::Closing {
            // Only the close handshake is left; the audio is complete either way.
            if !matches!(input, Input::WsClosed(_) | Input::Timer(CLOSE_TIMER)) {
                return Vec::new();
            }
            self.socket.done();
            return vec![Action::Finish];
        }
        drive_socket(self, input)
    }

    /// The context is complete: every flush is answered; after the end of input the stream is.
    fn on_context_done(&mut self, out: &mut Vec<Action>) {
        if !self.context_open {
            return;
        }
        // An odd trailing byte cannot be a sample; dropping it keeps the next audio aligned.
        self.carry.reset();
        emit_flushed(self.flushes.done(), out);
        self.context_open = false;
        if self.end_requested {
            out.push(Action::WsClose(WsClose { code: 1000, reason: String::new() }));
            out.push(Action::SetTimer((CLOSE_TIMER, CLOSE_REPLY_MS)));
            self.socket.closing();
        } else {
            self.context += 1;
        }
    }

    fn on_close_timeout(&mut self, out: &mut Vec<Action>) -> Result<(), ProviderError> {
        if !self.end_requested {
            return Ok(());
        }
        out.push(Action::WsClose(WsClose { code: 1000, reason: String::new() }));
        Err(ProviderError::Timeout(format!(
            "cartesia did not finish speaking within {} s of the end of input",
            CLOSE_GRACE_MS / 1000
        )))
    }

    /// A generation request on the current context.
    fn send_generation(&mut self, transcript: &str, continues: bool, flush: bool, out: &mut Vec<Action>) {
        let mut context = Map::new();
        context.insert("context_id".into(), json!(self.context_id()));
        context.insert("continue".into(), json!(continues));
        if flush {
            context.insert("flush".into(), json!(true));
        }
        if let Some(delay) = self.settings.max_buffer_delay_ms {
            context.insert("max_buffer_delay_ms".into(), json!(delay));
        }
        let frame = Value::Object(self.settings.generation(transcript, context)).to_string();
        out.extend(self.socket.send(frame).map(|frame| Action::WsSend(WsMessage::Text(frame))));
    }
}

impl SocketStream for SocketSpeech {
    type Frame = String;

    fn socket(&mut self) -> &mut Socket<WsConnect, String> {
        &mut self.socket
    }

    fn on_text(&mut self, text: &str, out: &mut Vec<Action>) -> Result<(), ProviderError> {
        if self.end_requested || text.is_empty() {
            return Ok(());
        }
        self.flushes.give();
        self.context_open = true;
        self.send_generation(text, true, false, out);
        Ok(())
    }

    fn on_flush(&mut self, out: &mut Vec<Action>) -> Result<(), ProviderError> {
        if self.end_requested {
            return Ok(());
        }
        if self.flushes.flush().is_some() {
            self.send_generation("", true, true, out);
        }
        emit_flushed(self.flushes.answer_ready(), out);
        Ok(())
    }

    fn on_end(&mut self, out: &mut Vec<Action>) {
        if self.end_requested {
            return;
        }
        self.end_requested = true;
        if !self.context_open {
            // Nothing is being spoken: no need to wait for the server.
            if matches!(self.socket.phase(), Phase::Connecting | Phase::Open) {
                out.push(Action::WsClose(WsClose { code: 1000, reason: String::new() }));
            }
            emit_flushed(self.flushes.done(), out);
            self.socket.done();
            out.push(Action::Finish);
            return;
        }
        // Closing the context speaks anything unflushed; its flush is answered at `done`.
        self.flushes.end();
        self.send_generation("", false, false, out);
        out.push(Action::SetTimer((CLOSE_TIMER, CLOSE_GRACE_MS)));
    }

    fn on_open(&mut self, out: &mut Vec<Action>) {
        if let Some(pending) = self.socket.open() {
            out.extend(pending.into_iter().map(|frame| Action::WsSend(WsMessage::Text(frame))));
        }
    }

    fn on_message(&mut self, text: &str, out: &mut Vec<Action>) -> Result<(), ProviderError> {
        let current = self.context_id();
        // Messages of an earlier context (already done) have nothing left to say.
        let ours = |context_id: &Option<String>| context_id.as_deref().is_none_or(|id| id == current);
        match message::parse(text)? {
            Message::Error { error, .. } => return Err(error),
            Message::Chunk { context_id, pcm, flush_id, done } if ours(&context_id) => {
                let pcm = self.carry.push(&pcm);
                if !pcm.is_empty() {
                    let audio = TtsAudio { pcm, sample_rate: self.settings.sample_rate };
                    out.push(Action::Emit(Event::Tts(TtsEvent::Audio(audio))));
                }
                if let Some(flush_id) = flush_id {
                    emit_flushed(self.flushes.audio(flush_id), out);
                }
                if done {
                    self.on_context_done(out);
                }
            }
            Message::FlushDone { context_id, flush_id } if ours(&context_id) => {
                emit_flushed(self.flushes.flush_done(flush_id), out);
            }
            Message::Done { context_id } if ours(&context_id) => self.on_context_done(out),
            _ => {}
        }
        Ok(())
    }

    fn on_closed(&mut self, close: &WsClose, _out: &mut Vec<Action>) -> Result<(), ProviderError> {
        if close.code == 1000 || close.code == 1005 {
            return Err(closed_early(PROVIDER, "done", close.reason.trim()).into());
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
