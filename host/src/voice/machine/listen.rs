//! Listening: microphone → 16 kHz → VAD → STT, and what the STT hears.

use std::time::{Duration, Instant};

use super::{Ending, MAX_STT_FAILURES, Output, STT_RETRY_STEP, SttAction, SttState, VoiceMachine};
use crate::audio::{AudioFrame, VAD_SAMPLE_RATE, VadEvent, resample_stream};
use crate::events::{AgentEvent, AgentState, ErrorCode, Role};
use crate::providers::SttChunk;
use crate::voice::endpointing::TurnDetection;

impl VoiceMachine {
    pub(super) fn on_mic(&mut self, frame: AudioFrame, now: Instant) {
        // allowInterruption=false: while the agent talks, the user's audio is not listened to.
        let ignore = !self.params.allow_interruption && self.state == AgentState::Speaking;
        if ignore != self.ignoring {
            self.ignoring = ignore;
            self.vad.reset();
            self.detector.reset();
        }
        if ignore {
            return;
        }
        let frame = frame.into_mono();
        let Some(frame) = resample_stream(&mut self.to_16k, &frame, VAD_SAMPLE_RATE, "input audio") else { return };
        let start = self.stream_time;
        self.stream_time += frame.duration();
        self.prefix.push(frame.samples(), start);
        if let Some(history) = &mut self.history {
            history.push(frame.samples());
        }
        let events = match self.vad.push(&frame, start) {
            Ok(events) => events,
            Err(error) => {
                tracing::warn!(%error, "VAD refused a frame");
                Vec::new()
            }
        };
        // Stream time → session time, taking this frame's end as now.
        let stream_end = self.stream_time;
        let instant = |at: Duration| now.checked_sub(stream_end.saturating_sub(at)).unwrap_or(now);
        let mut batch_started = false;
        let mut voiced_counted = false;
        for event in events {
            match event {
                VadEvent::SpeechStarted { at, audio_from } => {
                    self.detector.speech_started(instant(at));
                    // The onset's confirmation window was voiced too.
                    self.detector.add_voiced(stream_end.saturating_sub(at));
                    voiced_counted = true;
                    if !self.params.streaming_stt {
                        self.batch_open = true;
                        batch_started = true;
                        let audio = self.prefix.since(audio_from);
                        self.send_audio(audio);
                    }
                }
                VadEvent::SpeechEnded { at } => {
                    self.detector.speech_ended(instant(at));
                    // The detector holds the detection in effect (a batch STT keeps VAD's, or
                    // manual); a batch STT transcribes each utterance as it ends, whatever ends turns.
                    let detection = self.detector.detection();
                    let vad_ends_turns = matches!(detection, TurnDetection::Vad | TurnDetection::Model);
                    if vad_ends_turns || !self.params.streaming_stt {
                        self.finalise_stt();
                    }
                    if let (TurnDetection::Model, Some(history)) = (detection, &self.history) {
                        let id = self.detector.ask_model();
                        self.out.push_back(Output::PredictTurn { id, audio: history.to_vec() });
                    }
                }
            }
        }
        if !voiced_counted
            && self.vad.is_speaking()
            && self.vad.probability() >= self.vad.config().deactivation_threshold
        {
            self.detector.add_voiced(frame.duration());
        }
        if self.params.streaming_stt || (self.batch_open && !batch_started) {
            self.send_audio(frame.into_samples());
        }
        self.check_interruption(now);
    }

    /// Asks the STT to finalise the utterance now rather than wait for the provider's own
    /// endpointing (a batch STT: to transcribe the utterance just sent).
    pub(super) fn finalise_stt(&mut self) {
        if self.stt == SttState::Open {
            self.out.push_back(Output::Stt(SttAction::Flush));
            if !self.params.streaming_stt && self.batch_open {
                self.detector.await_final();
            }
        }
        self.batch_open = false;
    }

    /// 16 kHz audio to the STT stream, at the rate it was opened with.
    fn send_audio(&mut self, samples: Vec<i16>) {
        if self.stt != SttState::Open || samples.is_empty() {
            return;
        }
        let rate = self.params.stt_rate;
        if rate == VAD_SAMPLE_RATE {
            self.out.push_back(Output::Stt(SttAction::Audio(samples)));
            return;
        }
        let Ok(frame) = AudioFrame::new(samples, VAD_SAMPLE_RATE, 1) else { return };
        if let Some(frame) = resample_stream(&mut self.to_stt, &frame, rate, "STT audio") {
            self.out.push_back(Output::Stt(SttAction::Audio(frame.into_samples())));
        }
    }

    pub(super) fn open_stt(&mut self) {
        self.stt = SttState::Opening;
        self.to_stt = None;
        self.out.push_back(Output::Stt(SttAction::Open));
    }

    pub(super) fn on_stt(&mut self, chunk: SttChunk, now: Instant) {
        match chunk {
            SttChunk::Interim(t) => {
                if !t.text.trim().is_empty() {
                    self.detector.interim(&t.text);
                    self.emit(AgentEvent::Transcript { role: Role::User, text: t.text.trim().into(), r#final: false });
                    self.words_heard();
                }
            }
            SttChunk::Final(t) => {
                self.stt_failures = 0;
                let had_words = !t.text.trim().is_empty();
                self.detector.final_transcript(&t.text, now);
                if t.speech_final {
                    self.detector.stt_endpoint();
                }
                if had_words {
                    self.words_heard();
                }
            }
            SttChunk::SpeechEnded => self.detector.stt_endpoint(),
            SttChunk::SpeechStarted => {}
        }
    }

    /// The STT stream failed to open, failed, or ended: reopen it after a growing pause, or
    /// give up after [`MAX_STT_FAILURES`] in a row.
    pub(super) fn stt_failed(&mut self, error: Option<String>, now: Instant) {
        if let Some(error) = error {
            tracing::warn!(%error, "STT failed");
            self.emit(AgentEvent::error(ErrorCode::SttFailed, error));
        }
        self.stt_failures += 1;
        self.batch_open = false;
        if self.stt_failures > MAX_STT_FAILURES {
            self.stt = SttState::Closed;
            self.finish(Ending::SttFailed);
            return;
        }
        self.stt = SttState::RetryAt(now + STT_RETRY_STEP * self.stt_failures);
    }
}
