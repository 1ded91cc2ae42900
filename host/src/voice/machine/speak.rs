//! Speaking: the step engine's words → sentences → TTS → playout, one frame per tick.

use std::time::Instant;

use super::metrics::add_figures;
use super::{Output, Reply, TtsAction, VoiceMachine};
use crate::audio::resample_stream;
use crate::events::{AgentEvent, AgentState, ErrorCode};
use crate::flow::Output as Words;
use crate::providers::TtsChunk;
use crate::voice::sentences::SentenceChunker;
use crate::voice::speakable::speakable;

impl VoiceMachine {
    pub(super) fn on_reply(&mut self, reply: Reply, now: Instant) {
        self.conversation_ended = reply.ended;
        self.timer_deadline = reply.timer_deadline;
        add_figures(&mut self.llm, &reply.llm);
        match reply.words {
            Words::Text(text) => {
                for sentence in self.chunker.push(&text) {
                    self.speak(sentence, now);
                }
            }
            Words::Done { .. } => {
                if let Some(rest) = self.chunker.flush() {
                    self.speak(rest, now);
                }
                if self.tts_open {
                    self.out.push_back(Output::Tts(TtsAction::End));
                }
                self.turn_done = true;
            }
        }
    }

    fn speak(&mut self, sentence: String, now: Instant) {
        let text = speakable(&sentence).trim().to_string();
        if text.is_empty() {
            return;
        }
        if !self.tts_open {
            self.tts_open = true;
            self.tts_resampler = None;
            self.out.push_back(Output::Tts(TtsAction::Open));
        }
        self.turn.tts_sent.get_or_insert(now);
        self.turn.tts_characters += text.chars().count() as u32;
        self.playout.begin_sentence(&text);
        self.out.push_back(Output::Tts(TtsAction::Say(text)));
    }

    pub(super) fn on_tts(&mut self, chunk: TtsChunk, now: Instant) {
        if !self.tts_open {
            // Audio of a stream already closed (it was in flight when the reply was cancelled).
            return;
        }
        match chunk {
            TtsChunk::Audio(frame) => {
                self.turn.tts_first_audio.get_or_insert(now);
                let rate = self.params.options.output_rate;
                if let Some(frame) = resample_stream(&mut self.tts_resampler, &frame, rate, "TTS audio") {
                    self.playout.push_audio(frame.samples());
                }
            }
            TtsChunk::Flushed => self.playout.sentence_done(),
        }
    }

    pub(super) fn tts_failed(&mut self, error: String) {
        tracing::warn!(%error, "TTS failed");
        self.emit(AgentEvent::error(ErrorCode::TtsFailed, error));
        self.tts_finished();
    }

    /// The synthesis stream is over: sentences it did not finish get no more audio.
    pub(super) fn tts_finished(&mut self) {
        if !self.tts_open {
            return;
        }
        self.tts_open = false;
        if let Some(Ok(tail)) = self.tts_resampler.as_mut().map(|r| r.flush()) {
            self.playout.push_audio(tail.samples());
        }
        self.tts_resampler = None;
        self.playout.finish_sentences();
    }

    /// Drops the reply in progress: its stream, its text not yet spoken.
    pub(super) fn drop_reply_audio(&mut self) {
        if self.tts_open {
            self.out.push_back(Output::Tts(TtsAction::Close));
        }
        self.tts_open = false;
        self.tts_resampler = None;
        self.chunker = SentenceChunker::default();
    }

    /// One frame of agent audio, if any is due.
    pub(super) fn play(&mut self, now: Instant) -> bool {
        // The transport drops each frame once sent, and its buffer comes back for the next.
        let mut played = false;
        let frame = self.speaker_frames.make(self.params.options.output_rate, 1, |buffer| {
            played = self.playout.next_frame_into(buffer);
        });
        if !played {
            return false;
        }
        self.turn.first_played.get_or_insert(now);
        self.set_state(AgentState::Speaking);
        match frame {
            Some(frame) => self.out.push_back(Output::Play(frame)),
            None => tracing::warn!(rate = self.params.options.output_rate, "bad output frame"),
        }
        true
    }
}
