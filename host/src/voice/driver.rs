//! The one task that runs a voice session: it owns the provider streams, the conversation, the
//! audio channels and the clock, and moves them in and out of the [`VoiceMachine`]. No
//! decision is taken here; every rule lives in the machine.

use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio_util::sync::CancellationToken;

use super::control::TurnControl;
use super::endpointing::TurnDetection;
use super::machine::{
    ConversationAction, Ending, Input, Output, Reply, SttAction, TtsAction, VoiceMachine, VoiceParams,
};
use super::options::VoiceOptions;
use crate::audio::{AudioFrame, AudioIo, losses};
use crate::clock::now;
use crate::events::{AgentEvent, ErrorCode};
use crate::flow::{Conversation, FlowContext};
use crate::plugin::StreamError;
use crate::providers::chain::cool_down;
use crate::providers::stt::Transcription;
use crate::providers::{Speaker, SttChunk, Synthesis, Transcriber, TtsChunk, settings};
use crate::record::format::Entry;
use voiceblox_turn::SmartTurn;

/// Runs the session to its end, then the post-call steps. `hangup` ends it as the user
/// leaving does (the job was stopped, the last user left the room).
/// `controls` are the user's app's turn controls (a transport without any keeps it open and
/// silent, or drops its sender).
pub async fn run(
    ctx: Arc<FlowContext>,
    options: VoiceOptions,
    io: AudioIo,
    controls: mpsc::Receiver<TurnControl>,
    hangup: CancellationToken,
) -> Ending {
    let config = ctx.config.clone();
    let spare_voices = config.tts.fallbacks.iter().map(|f| (settings::tts(f, &config.language), f.voice_id.clone()));
    let speaker =
        Speaker::new(ctx.runtime.clone(), settings::tts(&config.tts, &config.language), config.tts.voice_id.clone())
            .with_fallbacks(spare_voices)
            .with_cool_down(cool_down(config.tts.fallback_cool_down_secs))
            .reporting_to(ctx.sink.clone());
    let transcriber = Transcriber::new(
        ctx.runtime.clone(),
        settings::stt(&config.stt, &config.language),
        config.stt.keyterm_list(),
        config.stt.enable_diarization.unwrap_or(false),
        config.stt.language_detection.unwrap_or(false),
    )
    .with_fallbacks(config.stt.fallbacks.iter().map(|f| settings::stt(f, &config.language)))
    .with_cool_down(cool_down(config.stt.fallback_cool_down_secs))
    .reporting_to(ctx.sink.clone());
    let vad_model = config.turn_taking.as_ref().and_then(|t| t.vad).unwrap_or_default();
    let replaying = ctx.runtime.egress().is_replaying();
    let vad = match super::vad::for_session(vad_model, options.vad.clone(), replaying).await {
        Ok(vad) => vad,
        Err(error) => {
            ctx.emit(AgentEvent::error(ErrorCode::InvalidConfig, format!("VAD: {error}")));
            return Ending::SttFailed;
        }
    };
    let options = match &config.turn_taking {
        Some(turn_taking) => options.with_turn_taking(turn_taking),
        None => options,
    };
    let params = VoiceParams {
        options,
        allow_interruption: config.allow_interruption,
        streaming_stt: transcriber.is_streaming(),
        stt_rate: transcriber.sample_rate(),
    };
    if let Some(recorder) = &ctx.recording {
        recorder.mark_start();
    }
    let detection = params.options.endpointing.detection;
    let turn_model = if detection != TurnDetection::Model {
        None
    } else if replaying {
        // On virtual time the model must answer as it did live: loaded before the session.
        crate::models::TURN.shared().await
    } else {
        crate::models::TURN.warm_up();
        None
    };
    let (predictions_tx, predictions) = mpsc::channel(4);
    let mut driver = Driver {
        machine: VoiceMachine::new(params, vad, now()),
        turn_model,
        predictions_tx,
        predictions,
        conversation: Conversation::new(ctx.clone()),
        ctx,
        speaker,
        transcriber,
        stt: None,
        synthesis: None,
        output: io.output,
        answers: Vec::new(),
        dropped: Dropped::default(),
    };
    let ending = driver.run(io.input, controls, hangup).await;
    driver.dropped.report();
    driver.conversation.post_call().await;
    ending
}

struct Driver {
    machine: VoiceMachine,
    ctx: Arc<FlowContext>,
    conversation: Conversation,
    speaker: Speaker,
    transcriber: Transcriber,
    stt: Option<Transcription>,
    synthesis: Option<Synthesis>,
    output: mpsc::Sender<AudioFrame>,
    /// Answers to the actions just carried out (a stream opened or not), fed back in order.
    answers: Vec<Input>,
    /// The end-of-turn model, once loaded (`turnDetection: "model"`).
    turn_model: Option<SmartTurn>,
    /// Its answers, computed off the session's task.
    predictions_tx: mpsc::Sender<Input>,
    predictions: mpsc::Receiver<Input>,
    dropped: Dropped,
}

/// Frames dropped on a full queue, so the decision is visible.
#[derive(Debug, Default)]
struct Dropped {
    output: u64,
    stt: u64,
}

impl Dropped {
    fn count(counter: &mut u64, what: &str) {
        if losses::count(counter) {
            tracing::warn!(dropped = *counter, "{what} is behind; frame dropped");
        }
    }

    fn report(&self) {
        if self.output + self.stt > 0 {
            tracing::info!(output = self.output, stt = self.stt, "frames dropped on full queues this session");
        }
    }
}

impl Driver {
    async fn run(
        &mut self,
        mut input: mpsc::Receiver<AudioFrame>,
        mut controls: mpsc::Receiver<TurnControl>,
        hangup: CancellationToken,
    ) -> Ending {
        let mut controls_open = true;
        loop {
            let deadline = loop {
                match self.machine.poll_output() {
                    Output::Timeout(at) => break at,
                    Output::Finished(ending) => return ending,
                    action => self.carry_out(action).await,
                }
            };
            if !self.answers.is_empty() {
                let at = now();
                for answer in std::mem::take(&mut self.answers) {
                    self.machine.handle_input(answer, at);
                }
                continue;
            }
            let happened = tokio::select! {
                frame = input.recv() => frame.map_or(Input::MicClosed, Input::Mic),
                () = hangup.cancelled() => Input::MicClosed,
                control = controls.recv(), if controls_open => match control {
                    Some(control) => Input::Control(control),
                    None => {
                        controls_open = false;
                        continue;
                    }
                },
                result = next_stt(&mut self.stt) => match result {
                    Some(Ok(chunk)) => Input::Stt(chunk),
                    Some(Err(error)) => {
                        self.stt = None;
                        Input::SttFailed(error.to_string())
                    }
                    None => {
                        self.stt = None;
                        Input::SttEnded
                    }
                },
                words = self.conversation.next() => Input::Reply(Reply {
                    words,
                    ended: self.conversation.has_ended(),
                    timer_deadline: self.conversation.timer_deadline(),
                    llm: self.conversation.take_llm_figures(),
                }),
                chunk = next_tts(&mut self.synthesis) => match chunk {
                    Some(Ok(chunk)) => Input::Tts(chunk),
                    Some(Err(error)) => {
                        self.synthesis = None;
                        Input::TtsFailed(error.to_string())
                    }
                    None => {
                        self.synthesis = None;
                        Input::TtsEnded
                    }
                },
                Some(prediction) = self.predictions.recv() => prediction,
                _ = tokio::time::sleep_until(deadline.into()) => Input::Timeout,
            };
            if let Some(recorder) = &self.ctx.recording {
                match &happened {
                    Input::Mic(frame) => recorder.mic(frame),
                    Input::MicClosed => recorder.write(Entry::MicEnd),
                    _ => {}
                }
            }
            self.machine.handle_input(happened, now());
        }
    }

    /// Asks the end-of-turn model about the speech that just ended. Live, it runs on a
    /// blocking thread (a decision is about 0.15 s of CPU in a release build); on virtual time
    /// it runs here, so no virtual time passes and a replay decides as the call did.
    fn predict_turn(&mut self, id: u64, audio: Vec<i16>) {
        if self.turn_model.is_none() {
            self.turn_model = crate::models::TURN.ready();
        }
        let Some(model) = self.turn_model.clone() else {
            self.answers.push(Input::TurnPredicted { id, complete: None });
            return;
        };
        let decide = move || match model.probability(&audio) {
            Ok(probability) => {
                tracing::debug!(probability, "end-of-turn model");
                Some(probability > voiceblox_turn::THRESHOLD)
            }
            Err(error) => {
                tracing::warn!(%error, "the end-of-turn model failed; silence decides this turn");
                None
            }
        };
        if self.ctx.runtime.egress().is_replaying() {
            self.answers.push(Input::TurnPredicted { id, complete: decide() });
            return;
        }
        let answers = self.predictions_tx.clone();
        tokio::task::spawn_blocking(move || {
            let complete = decide();
            // The session may have ended meanwhile.
            let _ = answers.blocking_send(Input::TurnPredicted { id, complete });
        });
    }

    async fn carry_out(&mut self, action: Output) {
        match action {
            Output::Play(frame) => match self.output.try_send(frame) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => Dropped::count(&mut self.dropped.output, "audio output"),
                // The user's side is gone; its input closing ends the session.
                Err(TrySendError::Closed(_)) => {}
            },
            Output::Event(event) => self.ctx.emit(event),
            Output::PredictTurn { id, audio } => self.predict_turn(id, audio),
            Output::Stt(action) => self.stt(action).await,
            Output::Conversation(action) => self.conversation(action),
            Output::Tts(action) => self.tts(action).await,
            Output::Timeout(_) | Output::Finished(_) => {}
        }
    }

    async fn stt(&mut self, action: SttAction) {
        match action {
            SttAction::Open => match self.transcriber.open().await {
                Ok(stt) => {
                    self.stt = Some(stt);
                    self.answers.push(Input::SttOpened);
                }
                Err(error) => self.answers.push(Input::SttFailed(error.to_string())),
            },
            SttAction::Audio(samples) => {
                if let Some(stt) = &mut self.stt
                    && !stt.push(samples)
                {
                    Dropped::count(&mut self.dropped.stt, "STT");
                }
            }
            SttAction::Flush => {
                if let Some(stt) = &mut self.stt
                    && !stt.flush_now()
                {
                    tracing::debug!("STT flush not queued");
                }
            }
        }
    }

    fn conversation(&mut self, action: ConversationAction) {
        match action {
            ConversationAction::Start => self.conversation.start(),
            ConversationAction::UserTurn(text) => self.conversation.user_turn(&text),
            ConversationAction::TimerExpired => self.conversation.timer_expired(),
            ConversationAction::Preempt(text) => self.conversation.preempt(&text),
            ConversationAction::DropPreempt => self.conversation.drop_preempt(),
            ConversationAction::Cancel => self.conversation.cancel(),
            ConversationAction::Commit(heard) => self.conversation.commit_spoken(Some(&heard)),
        }
    }

    async fn tts(&mut self, action: TtsAction) {
        match action {
            TtsAction::Open => match self.speaker.open().await {
                Ok(synthesis) => self.synthesis = Some(synthesis),
                Err(error) => {
                    self.synthesis = None;
                    self.answers.push(Input::TtsFailed(error.to_string()));
                }
            },
            TtsAction::Say(text) => {
                if let Some(synthesis) = &mut self.synthesis
                    && let Err(error) = synthesis.say(text).await
                {
                    tracing::debug!(%error, "TTS stream ended before the sentence was sent");
                }
            }
            TtsAction::End => {
                if let Some(synthesis) = &mut self.synthesis
                    && synthesis.end().await.is_err()
                {
                    // The stream is gone: whatever audio it gave is all there will be.
                    self.synthesis = None;
                    self.answers.push(Input::TtsEnded);
                }
            }
            TtsAction::Close => self.synthesis = None,
        }
    }
}

async fn next_stt(stt: &mut Option<Transcription>) -> Option<Result<SttChunk, StreamError>> {
    match stt {
        Some(stt) => stt.next().await,
        None => std::future::pending().await,
    }
}

async fn next_tts(synthesis: &mut Option<Synthesis>) -> Option<Result<TtsChunk, StreamError>> {
    match synthesis {
        Some(synthesis) => synthesis.next().await,
        None => std::future::pending().await,
    }
}
