//! One voice session's loop. A single task owns all real-time state (VAD, turn detector,
//! playout) and selects over: microphone frames, STT results, the step engine's words, TTS
//! audio, and the 20 ms output clock. Provider work runs in the plugin streams' own tasks;
//! cancelling a reply drops those streams, which aborts their requests.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;

use super::endpointing::{EndOfTurn, TurnDetector};
use super::options::VoiceOptions;
use super::playout::Playout;
use super::sentences::SentenceChunker;
use super::speakable::speakable;
use crate::audio::{AudioFrame, EarshotVad, PrefixBuffer, StreamResampler, VAD_SAMPLE_RATE, Vad, VadEvent};
use crate::events::{AgentEvent, AgentState, ErrorCode, Role, TurnMetrics};
use crate::flow::{Conversation, FlowContext, Output};
use crate::providers::stt::Transcription;
use crate::providers::{Speaker, SttChunk, Synthesis, Transcriber, TtsChunk, settings};

/// The output clock: one frame of agent audio per tick.
const TICK: Duration = Duration::from_millis(20);
/// Consecutive STT failures before the session gives up (it cannot hear the user any more).
const MAX_STT_FAILURES: u32 = 3;

/// A session's audio connection to its user.
pub struct VoiceIo {
    /// The user's microphone, any rate and channel count. Closing it ends the session.
    pub input: mpsc::Receiver<AudioFrame>,
    /// The agent's voice: 20 ms mono frames at `VoiceOptions::output_rate`, sent in real time.
    pub output: mpsc::Sender<AudioFrame>,
}

/// Why a session stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The conversation reached its end.
    Completed,
    /// The user's audio ended (they left).
    UserLeft,
    /// Speech recognition failed for good.
    SttFailed,
}

/// Runs the session to its end, then the post-call steps.
pub async fn run(ctx: Arc<FlowContext>, options: VoiceOptions, io: VoiceIo) -> Ending {
    let config = ctx.config.clone();
    let speaker =
        Speaker::new(ctx.runtime.clone(), settings::tts(&config.tts, &config.language), config.tts.voice_id.clone());
    let transcriber = Transcriber::new(
        ctx.runtime.clone(),
        settings::stt(&config.stt, &config.language),
        config.stt.keyterm_list(),
        config.stt.enable_diarization.unwrap_or(false),
        config.stt.language_detection.unwrap_or(false),
    );
    let vad = match EarshotVad::new(options.vad.clone()) {
        Ok(vad) => vad,
        Err(error) => {
            ctx.emit(AgentEvent::error(ErrorCode::InvalidConfig, format!("VAD: {error}")));
            return Ending::SttFailed;
        }
    };
    let mut session = Session {
        playout: Playout::new((options.output_rate / 50) as usize),
        detector: TurnDetector::new(options.endpointing.clone()),
        prefix: PrefixBuffer::new(VAD_SAMPLE_RATE, options.vad.prefix_padding + Duration::from_millis(100)),
        allow_interruption: config.allow_interruption,
        streaming_stt: transcriber.is_streaming(),
        conversation: Conversation::new(ctx.clone()),
        ctx,
        options,
        speaker,
        transcriber,
        vad,
        to_16k: None,
        stream_time: Duration::ZERO,
        stt: None,
        stt_failures: 0,
        batch_open: false,
        chunker: SentenceChunker::default(),
        synthesis: None,
        tts_resampler: None,
        state: AgentState::Initializing,
        turn_done: true,
        interrupted_at: None,
        ignoring: false,
        turn: TurnClock::default(),
        turns: 0,
        output: io.output,
    };
    let ending = session.run(io.input).await;
    session.conversation.post_call().await;
    ending
}

/// Timestamps of the turn in progress, for its metrics event.
#[derive(Debug, Default)]
struct TurnClock {
    speech_ended: Option<Instant>,
    transcript: Option<Instant>,
    committed: Option<Instant>,
    tts_sent: Option<Instant>,
    tts_first_audio: Option<Instant>,
    first_played: Option<Instant>,
    tts_characters: u32,
    interrupted: bool,
}

struct Session {
    ctx: Arc<FlowContext>,
    options: VoiceOptions,
    speaker: Speaker,
    transcriber: Transcriber,
    conversation: Conversation,
    vad: EarshotVad,
    to_16k: Option<StreamResampler>,
    /// Stream time of the 16 kHz audio given to the VAD.
    stream_time: Duration,
    prefix: PrefixBuffer,
    stt: Option<Transcription>,
    streaming_stt: bool,
    stt_failures: u32,
    /// Batch STT: the current utterance is being sent.
    batch_open: bool,
    detector: TurnDetector,
    chunker: SentenceChunker,
    synthesis: Option<Synthesis>,
    tts_resampler: Option<StreamResampler>,
    playout: Playout,
    state: AgentState,
    /// The step engine has produced every word of the current turn.
    turn_done: bool,
    /// An interruption paused the agent at this time; without words from the user it resumes.
    interrupted_at: Option<Instant>,
    /// allowInterruption=false: the user's audio is being ignored while the agent speaks.
    ignoring: bool,
    allow_interruption: bool,
    turn: TurnClock,
    turns: u32,
    output: mpsc::Sender<AudioFrame>,
}

impl Session {
    async fn run(&mut self, mut input: mpsc::Receiver<AudioFrame>) -> Ending {
        self.set_state(AgentState::Initializing);
        self.open_stt().await;
        self.conversation.start();
        self.turn_done = false;
        self.turn = TurnClock { committed: Some(Instant::now()), ..Default::default() };
        // The conversation announced `thinking` when it started the turn.
        self.state = AgentState::Thinking;
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                frame = input.recv() => match frame {
                    Some(frame) => self.on_input(frame),
                    None => return Ending::UserLeft,
                },
                result = next_stt(&mut self.stt) => {
                    if !self.on_stt(result).await {
                        return Ending::SttFailed;
                    }
                }
                output = self.conversation.next() => self.on_words(output).await,
                chunk = next_tts(&mut self.synthesis) => self.on_tts(chunk),
                _ = tick.tick() => {
                    if self.on_tick().await {
                        return Ending::Completed;
                    }
                }
            }
        }
    }

    fn set_state(&mut self, state: AgentState) {
        if self.state != state || state == AgentState::Initializing {
            self.state = state;
            self.ctx.emit(AgentEvent::AgentState { state });
        }
    }

    /// The agent has something in progress: a reply being generated or audio to play.
    fn busy(&self) -> bool {
        self.conversation.is_running() || !self.turn_done || self.playout.is_active() || self.synthesis.is_some()
    }

    // ---- microphone → VAD → STT -------------------------------------------------------

    fn on_input(&mut self, frame: AudioFrame) {
        let now = Instant::now();
        // allowInterruption=false: while the agent talks, the user's audio is not listened to.
        let ignore = !self.allow_interruption && self.state == AgentState::Speaking;
        if ignore != self.ignoring {
            self.ignoring = ignore;
            self.vad.reset();
            self.detector.reset();
        }
        if ignore {
            return;
        }
        let frame = frame.to_mono();
        if self.to_16k.as_ref().is_none_or(|r| r.input_rate() != frame.sample_rate()) {
            match StreamResampler::new(frame.sample_rate(), VAD_SAMPLE_RATE, 1) {
                Ok(resampler) => self.to_16k = Some(resampler),
                Err(error) => {
                    tracing::warn!(%error, "unusable input audio; frame dropped");
                    return;
                }
            }
        }
        let Some(Ok(frame)) = self.to_16k.as_mut().map(|r| r.process(&frame)) else { return };
        let start = self.stream_time;
        self.stream_time += frame.duration();
        self.prefix.push(frame.samples(), start);
        let events = match self.vad.push(&frame, start) {
            Ok(events) => events,
            Err(error) => {
                tracing::warn!(%error, "VAD refused a frame");
                Vec::new()
            }
        };
        // Stream time → wall clock, taking this frame's end as now.
        let stream_end = self.stream_time;
        let instant = |at: Duration| now.checked_sub(stream_end.saturating_sub(at)).unwrap_or(now);
        let mut batch_started = false;
        for event in events {
            match event {
                VadEvent::SpeechStarted { at, audio_from } => {
                    self.detector.speech_started(instant(at));
                    if !self.streaming_stt {
                        self.batch_open = true;
                        batch_started = true;
                        let audio = self.prefix.since(audio_from);
                        self.send_audio(audio);
                    }
                }
                VadEvent::SpeechEnded { at } => {
                    self.detector.speech_ended(instant(at));
                    if let Some(stt) = &self.stt {
                        // Finalize now rather than wait for the provider's own endpointing.
                        let stt_flush = stt.flush_now();
                        if !self.streaming_stt && self.batch_open {
                            self.detector.await_final();
                        }
                        if !stt_flush {
                            tracing::debug!("STT flush not queued");
                        }
                    }
                    self.batch_open = false;
                }
            }
        }
        if self.streaming_stt || (self.batch_open && !batch_started) {
            self.send_audio(frame.into_samples());
        }
        self.check_interruption(now);
    }

    fn send_audio(&mut self, samples: Vec<i16>) {
        if let Some(stt) = &self.stt
            && !stt.push(samples)
        {
            tracing::debug!("STT queue full; frame dropped");
        }
    }

    async fn open_stt(&mut self) {
        match self.transcriber.open().await {
            Ok(stt) => self.stt = Some(stt),
            Err(error) => {
                self.stt_failures += 1;
                self.ctx.emit(AgentEvent::error(ErrorCode::SttFailed, error.to_string()));
            }
        }
    }

    /// Handles an STT result; false when STT failed for good.
    async fn on_stt(&mut self, result: Option<Result<SttChunk, crate::plugin::StreamError>>) -> bool {
        let now = Instant::now();
        match result {
            Some(Ok(SttChunk::Interim(t))) => {
                if !t.text.trim().is_empty() {
                    self.detector.interim(&t.text);
                    self.ctx.emit(AgentEvent::Transcript {
                        role: Role::User,
                        text: t.text.trim().into(),
                        r#final: false,
                    });
                    self.words_heard();
                }
            }
            Some(Ok(SttChunk::Final(t))) => {
                self.stt_failures = 0;
                let had_words = !t.text.trim().is_empty();
                self.detector.final_transcript(&t.text, now);
                if had_words {
                    self.words_heard();
                }
            }
            Some(Ok(SttChunk::SpeechStarted | SttChunk::SpeechEnded)) => {}
            Some(Err(error)) => {
                tracing::warn!(%error, "STT failed");
                self.ctx.emit(AgentEvent::error(ErrorCode::SttFailed, error.to_string()));
                return self.reopen_stt().await;
            }
            None => return self.reopen_stt().await,
        }
        true
    }

    async fn reopen_stt(&mut self) -> bool {
        self.stt = None;
        self.stt_failures += 1;
        if self.stt_failures > MAX_STT_FAILURES {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(250) * self.stt_failures).await;
        self.open_stt().await;
        true
    }

    // ---- turns and interruptions -------------------------------------------------------

    fn check_interruption(&mut self, now: Instant) {
        if !self.allow_interruption || self.interrupted_at.is_some() || !self.busy() {
            return;
        }
        let long_enough = self.detector.speech_duration(now) >= self.options.min_interruption;
        let enough_words =
            self.options.min_interruption_words > 0 && self.detector.words() >= self.options.min_interruption_words;
        if long_enough || enough_words {
            self.interrupt(now);
        }
    }

    /// The user talks over the agent: stop its audio within this frame and cancel every
    /// provider stream of the reply. The rest of the audio is kept for a false interruption.
    fn interrupt(&mut self, now: Instant) {
        tracing::debug!("interrupted");
        self.conversation.cancel();
        self.synthesis = None;
        self.tts_resampler = None;
        self.chunker = SentenceChunker::default();
        self.turn_done = true;
        self.turn.interrupted = true;
        self.playout.pause();
        if self.playout.has_audio() && self.detector.words() == 0 {
            self.interrupted_at = Some(now);
        } else {
            self.confirm_interruption();
        }
        self.set_state(AgentState::Listening);
    }

    /// The user said words: the interruption stands. Keep only what was heard.
    fn confirm_interruption(&mut self) {
        self.interrupted_at = None;
        let heard = self.playout.clear();
        self.conversation.commit_spoken(Some(&heard));
        self.emit_metrics();
    }

    fn words_heard(&mut self) {
        if self.interrupted_at.is_some() {
            self.confirm_interruption();
        }
    }

    fn on_end_of_turn(&mut self, eot: EndOfTurn) {
        let now = Instant::now();
        if self.busy() {
            // The agent was still on the previous turn (a short remark did not interrupt):
            // the new turn supersedes it.
            self.conversation.cancel();
            self.synthesis = None;
            self.chunker = SentenceChunker::default();
            let heard = self.playout.clear();
            self.conversation.commit_spoken(Some(&heard));
        }
        self.interrupted_at = None;
        self.turn = TurnClock {
            speech_ended: Some(eot.speech_ended_at),
            transcript: eot.transcript_at,
            committed: Some(now),
            ..Default::default()
        };
        self.conversation.user_turn(&eot.text);
        self.turn_done = false;
        // The conversation announced `thinking` when it started the turn.
        self.state = AgentState::Thinking;
    }

    // ---- replies → TTS → playout --------------------------------------------------------

    async fn on_words(&mut self, output: Output) {
        match output {
            Output::Text(text) => {
                for sentence in self.chunker.push(&text) {
                    self.speak(sentence).await;
                }
            }
            Output::Done { .. } => {
                if let Some(rest) = self.chunker.flush() {
                    self.speak(rest).await;
                }
                if let Some(synthesis) = &self.synthesis
                    && synthesis.end().await.is_err()
                {
                    self.synthesis = None;
                }
                self.turn_done = true;
            }
        }
    }

    async fn speak(&mut self, sentence: String) {
        let text = speakable(&sentence).trim().to_string();
        if text.is_empty() {
            return;
        }
        if self.synthesis.is_none() {
            match self.speaker.open().await {
                Ok(synthesis) => {
                    self.synthesis = Some(synthesis);
                    self.tts_resampler = None;
                }
                Err(error) => {
                    self.ctx.emit(AgentEvent::error(ErrorCode::TtsFailed, error.to_string()));
                    return;
                }
            }
        }
        self.turn.tts_sent.get_or_insert_with(Instant::now);
        self.turn.tts_characters += text.chars().count() as u32;
        self.playout.begin_sentence(&text);
        if let Some(synthesis) = &self.synthesis
            && let Err(error) = synthesis.say(text).await
        {
            tracing::debug!(%error, "TTS stream ended before the sentence was sent");
        }
    }

    fn on_tts(&mut self, chunk: Option<Result<TtsChunk, crate::plugin::StreamError>>) {
        match chunk {
            Some(Ok(TtsChunk::Audio(frame))) => {
                self.turn.tts_first_audio.get_or_insert_with(Instant::now);
                let rate = self.options.output_rate;
                if self.tts_resampler.as_ref().is_none_or(|r| r.input_rate() != frame.sample_rate()) {
                    match StreamResampler::new(frame.sample_rate(), rate, 1) {
                        Ok(resampler) => self.tts_resampler = Some(resampler),
                        Err(error) => {
                            tracing::warn!(%error, "unusable TTS audio");
                            return;
                        }
                    }
                }
                if let Some(Ok(frame)) = self.tts_resampler.as_mut().map(|r| r.process(&frame)) {
                    self.playout.push_audio(frame.samples());
                }
            }
            Some(Ok(TtsChunk::Flushed)) => self.playout.sentence_done(),
            Some(Err(error)) => {
                tracing::warn!(%error, "TTS failed");
                self.ctx.emit(AgentEvent::error(ErrorCode::TtsFailed, error.to_string()));
                self.tts_finished();
            }
            None => self.tts_finished(),
        }
    }

    /// The synthesis stream is over: sentences it did not finish get no more audio.
    fn tts_finished(&mut self) {
        self.synthesis = None;
        if let Some(Ok(tail)) = self.tts_resampler.as_mut().map(|r| r.flush()) {
            self.playout.push_audio(tail.samples());
        }
        self.tts_resampler = None;
        self.playout.finish_sentences();
    }

    /// One output period. True when the session is over.
    async fn on_tick(&mut self) -> bool {
        let now = Instant::now();
        if let Some(samples) = self.playout.next_frame() {
            self.turn.first_played.get_or_insert(now);
            self.set_state(AgentState::Speaking);
            match AudioFrame::new(samples, self.options.output_rate, 1) {
                Ok(frame) => {
                    if self.output.try_send(frame).is_err() {
                        tracing::debug!("audio output is behind; frame dropped");
                    }
                }
                Err(error) => tracing::warn!(%error, "bad output frame"),
            }
        } else if self.turn_done
            && self.synthesis.is_none()
            && !self.playout.is_active()
            && !self.conversation.is_running()
        {
            if matches!(self.state, AgentState::Speaking | AgentState::Thinking) {
                let heard = self.playout.clear();
                self.conversation.commit_spoken(Some(&heard));
                self.emit_metrics();
                if self.conversation.has_ended() {
                    return true;
                }
                self.set_state(AgentState::Listening);
            }
            if self.conversation.has_ended() {
                return true;
            }
        }
        if let Some(at) = self.interrupted_at
            && now >= at + self.options.false_interruption_timeout
            && !self.detector.is_speaking()
        {
            // Nothing was said: a cough, a door. Carry on where the agent stopped.
            self.interrupted_at = None;
            self.turn.interrupted = false;
            self.playout.resume();
            self.detector.reset();
        }
        if let Some(eot) = self.detector.poll(now) {
            self.on_end_of_turn(eot);
        }
        if self.state == AgentState::Listening
            && !self.busy()
            && !self.detector.is_speaking()
            && self.conversation.timer_deadline().is_some_and(|deadline| now >= deadline)
        {
            self.conversation.timer_expired();
            self.turn_done = false;
            self.turn = TurnClock { committed: Some(now), ..Default::default() };
            // The conversation announced `thinking` when it started the turn.
            self.state = AgentState::Thinking;
        }
        false
    }

    fn emit_metrics(&mut self) {
        let turn = std::mem::take(&mut self.turn);
        let llm = self.conversation.take_llm_figures();
        self.turns += 1;
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let between = |a: Option<Instant>, b: Option<Instant>| match (a, b) {
            (Some(a), Some(b)) => Some(ms(b.saturating_duration_since(a))),
            _ => None,
        };
        self.ctx.emit(AgentEvent::Metrics(TurnMetrics {
            turn: self.turns,
            eou_delay_ms: between(turn.speech_ended, turn.committed),
            stt_delay_ms: between(turn.speech_ended, turn.transcript),
            llm_ttft_ms: llm.ttft.map(ms),
            tts_ttfb_ms: between(turn.tts_sent, turn.tts_first_audio),
            response_ms: between(turn.committed, turn.first_played),
            prompt_tokens: llm.prompt_tokens,
            completion_tokens: llm.completion_tokens,
            cached_prompt_tokens: llm.cached_prompt_tokens,
            tts_characters: turn.tts_characters,
            interrupted: turn.interrupted,
        }));
    }
}

async fn next_stt(stt: &mut Option<Transcription>) -> Option<Result<SttChunk, crate::plugin::StreamError>> {
    match stt {
        Some(stt) => stt.next().await,
        None => std::future::pending().await,
    }
}

async fn next_tts(synthesis: &mut Option<Synthesis>) -> Option<Result<TtsChunk, crate::plugin::StreamError>> {
    match synthesis {
        Some(synthesis) => synthesis.next().await,
        None => std::future::pending().await,
    }
}
