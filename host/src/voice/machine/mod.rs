//! The voice loop as a sans-I/O state machine: no tasks, no sockets, no clock.
//!
//! 1. Build a [`VoiceMachine`] with [`VoiceMachine::new`]: the session starts at that time.
//! 2. Drain [`VoiceMachine::poll_output`] until it yields [`Output::Timeout`]: each output is
//!    something to do (play a frame, send audio to the STT stream, start a reply, emit an
//!    event) in the order given.
//! 3. Feed what happens with [`VoiceMachine::handle_input`] and the current time: a microphone
//!    frame, an STT result, the step engine's words, TTS audio, or [`Input::Timeout`] once the
//!    time the machine asked for has come. Then drain again.
//!
//! The machine never reads the clock, so a test can run minutes of conversation in
//! milliseconds with exact timings; `super::driver` is the one async task that owns the
//! provider streams, the conversation and the real clock.
//!
//! The agent's audio is taken out on a 20 ms grid (the output clock); turn ends, false
//! interruptions and timer steps are judged on that grid too.
//!
//! ```
//! # use std::time::Instant;
//! # use voiceblox_host::audio::{EarshotVad, VadConfig};
//! # use voiceblox_host::voice::machine::{Output, VoiceMachine, VoiceParams};
//! let vad = EarshotVad::new(VadConfig::default()).unwrap();
//! let t0 = Instant::now();
//! let mut machine = VoiceMachine::new(VoiceParams::default(), Box::new(vad), t0);
//! let mut actions = Vec::new();
//! let next = loop {
//!     match machine.poll_output() {
//!         Output::Timeout(at) => break at,
//!         other => actions.push(other),
//!     }
//! };
//! assert!(matches!(actions[0], Output::Event(_)), "initializing");
//! assert_eq!(next, t0, "the output clock ticks at once");
//! ```

mod history;
mod listen;
mod metrics;
mod speak;
mod turns;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use self::history::AudioHistory;
use self::metrics::TurnClock;
use super::control::TurnControl;
use super::endpointing::{Endpointing, TurnDetection, TurnDetector};
use super::options::VoiceOptions;
use super::playout::Playout;
use super::sentences::SentenceChunker;
use crate::audio::{AudioFrame, FramePool, PrefixBuffer, StreamResampler, VAD_SAMPLE_RATE, Vad};
use crate::events::{AgentEvent, AgentState, TurnMetrics};
use crate::flow::{LlmFigures, Output as Words};
use crate::providers::{SttChunk, TtsChunk};

/// The output clock: one frame of agent audio per tick.
pub const TICK: Duration = Duration::from_millis(20);
/// Consecutive STT failures before the session gives up (it cannot hear the user any more).
pub const MAX_STT_FAILURES: u32 = 3;
/// Wait before reopening STT after its n-th consecutive failure: n × this.
pub const STT_RETRY_STEP: Duration = Duration::from_millis(250);

/// What a session is made of, besides its VAD.
#[derive(Debug, Clone)]
pub struct VoiceParams {
    pub options: VoiceOptions,
    /// allowInterruption of the agent: when false the user's audio is ignored while it speaks.
    pub allow_interruption: bool,
    /// The STT provider takes every frame (true) or one upload per utterance (false).
    pub streaming_stt: bool,
    /// The rate the STT stream was opened with; its audio is resampled to it.
    pub stt_rate: u32,
}

impl Default for VoiceParams {
    fn default() -> Self {
        Self {
            options: VoiceOptions::default(),
            allow_interruption: true,
            streaming_stt: true,
            stt_rate: VAD_SAMPLE_RATE,
        }
    }
}

/// Something that happened, fed to [`VoiceMachine::handle_input`].
#[derive(Debug, Clone)]
pub enum Input {
    /// The time asked for by the last [`Output::Timeout`] has come (or passed).
    Timeout,
    /// A frame of the user's microphone, any rate and channel count.
    Mic(AudioFrame),
    /// The user's audio ended: they left.
    MicClosed,
    /// The STT stream asked for by [`SttAction::Open`] is open.
    SttOpened,
    Stt(SttChunk),
    /// The STT stream could not be opened or failed; the message is safe to show.
    SttFailed(String),
    /// The STT stream ended on its own.
    SttEnded,
    /// The step engine's next words, with the conversation's state after them.
    Reply(Reply),
    Tts(TtsChunk),
    /// The TTS stream could not be opened or failed; the message is safe to show.
    TtsFailed(String),
    /// The TTS stream ended (all its audio has been delivered).
    TtsEnded,
    /// The user's app about the turn (a talk button).
    Control(TurnControl),
    /// The end-of-turn model's answer to [`Output::PredictTurn`] `id`: the user is done, is
    /// not, or it could not tell (`None`: no model, or it failed).
    TurnPredicted {
        id: u64,
        complete: Option<bool>,
    },
}

/// The step engine's output and what the conversation looks like after it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub words: Words,
    /// The conversation has reached its end.
    pub ended: bool,
    /// When the current timer step runs out, if one is current.
    pub timer_deadline: Option<Instant>,
    /// LLM figures gathered since the previous reply.
    pub llm: LlmFigures,
}

/// What the machine asks its driver to do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Nothing more to do until this time (or the next input).
    Timeout(Instant),
    /// Play this 20 ms frame of agent audio now.
    Play(AudioFrame),
    /// Publish this event.
    Event(AgentEvent),
    Stt(SttAction),
    Conversation(ConversationAction),
    Tts(TtsAction),
    /// Ask the end-of-turn model whether the user is done, from their last 8 s of 16 kHz
    /// audio (ending now, just after their speech ended); answer with [`Input::TurnPredicted`].
    PredictTurn {
        id: u64,
        audio: Vec<i16>,
    },
    /// The session is over; nothing else will be asked.
    Finished(Ending),
}

#[derive(Debug, Clone, PartialEq)]
pub enum SttAction {
    /// Open the STT stream; answer with [`Input::SttOpened`] or [`Input::SttFailed`].
    Open,
    /// Send audio at the rate the stream was opened with.
    Audio(Vec<i16>),
    /// Finalise the utterance now.
    Flush,
}

/// The step engine's side of a turn (`crate::flow::Conversation`).
#[derive(Debug, Clone, PartialEq)]
pub enum ConversationAction {
    /// Open the conversation at its start step.
    Start,
    /// The user finished a turn with these words.
    UserTurn(String),
    /// The current timer step ran out.
    TimerExpired,
    /// The user has probably finished with these words: start the reply ahead of the end of
    /// the turn (preemptive generation); a `UserTurn` with the same words takes it.
    Preempt(String),
    /// The user went on after a `Preempt`: drop that reply.
    DropPreempt,
    /// Stop the running reply at once.
    Cancel,
    /// Record what the agent said this turn: the words the user heard.
    Commit(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum TtsAction {
    /// Open a synthesis stream; a failure is answered with [`Input::TtsFailed`].
    Open,
    /// Synthesise this sentence now.
    Say(String),
    /// No more text in this utterance.
    End,
    /// Drop the stream, cancelling what it has not synthesised.
    Close,
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

/// A batch STT has no endpointing of its own: it keeps VAD detection (or manual).
fn endpointing(params: &VoiceParams) -> Endpointing {
    let mut endpointing = params.options.endpointing.clone();
    if !params.streaming_stt && endpointing.detection == TurnDetection::Stt {
        endpointing.detection = TurnDetection::Vad;
    }
    endpointing
}

/// Where the STT stream stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SttState {
    Closed,
    Opening,
    Open,
    /// Reopened at this time after a failure.
    RetryAt(Instant),
}

/// One voice session's real-time state. `&mut self` only; see the module docs for the contract.
pub struct VoiceMachine {
    params: VoiceParams,
    vad: Box<dyn Vad>,
    out: VecDeque<Output>,
    finished: bool,
    next_tick: Instant,
    // ---- listening
    to_16k: Option<StreamResampler>,
    to_stt: Option<StreamResampler>,
    /// Stream time of the 16 kHz audio given to the VAD.
    stream_time: Duration,
    prefix: PrefixBuffer,
    /// The user's last 8 s of 16 kHz audio, for the end-of-turn model (its mode only).
    history: Option<AudioHistory>,
    stt: SttState,
    stt_failures: u32,
    /// Batch STT: the current utterance is being sent.
    batch_open: bool,
    detector: TurnDetector,
    /// allowInterruption=false: the user's audio is being ignored while the agent speaks.
    ignoring: bool,
    // ---- the step engine's reply
    /// The step engine has produced every word of the current turn (or was cancelled).
    turn_done: bool,
    conversation_ended: bool,
    timer_deadline: Option<Instant>,
    // ---- speaking
    chunker: SentenceChunker,
    tts_open: bool,
    tts_resampler: Option<StreamResampler>,
    playout: Playout,
    /// The buffers of the frames played, back from the transport once it has sent them.
    speaker_frames: FramePool,
    state: AgentState,
    /// An interruption paused the agent at this time; without words from the user it resumes.
    interrupted_at: Option<Instant>,
    /// The words a reply was started ahead for (preemptive generation).
    preempted: Option<String>,
    // ---- metrics
    turn: TurnClock,
    llm: LlmFigures,
    turns: u32,
}

impl VoiceMachine {
    /// A session starting at `now`: STT opens, the conversation opens at its start step.
    pub fn new(params: VoiceParams, vad: Box<dyn Vad>, now: Instant) -> Self {
        let options = &params.options;
        let mut machine = Self {
            playout: Playout::new((options.output_rate / 50) as usize),
            speaker_frames: FramePool::new(),
            detector: TurnDetector::new(endpointing(&params)),
            prefix: PrefixBuffer::new(VAD_SAMPLE_RATE, options.vad.prefix_padding + Duration::from_millis(100)),
            history: (endpointing(&params).detection == TurnDetection::Model).then(AudioHistory::default),
            params,
            vad,
            out: VecDeque::new(),
            finished: false,
            next_tick: now,
            to_16k: None,
            to_stt: None,
            stream_time: Duration::ZERO,
            stt: SttState::Closed,
            stt_failures: 0,
            batch_open: false,
            ignoring: false,
            turn_done: true,
            conversation_ended: false,
            timer_deadline: None,
            chunker: SentenceChunker::default(),
            tts_open: false,
            tts_resampler: None,
            state: AgentState::Initializing,
            interrupted_at: None,
            preempted: None,
            turn: TurnClock::default(),
            llm: LlmFigures::default(),
            turns: 0,
        };
        machine.set_state(AgentState::Initializing);
        machine.open_stt();
        machine.out.push_back(Output::Conversation(ConversationAction::Start));
        machine.reply_started(now);
        machine
    }

    /// Feeds one input that happened at `now`.
    pub fn handle_input(&mut self, input: Input, now: Instant) {
        if self.finished {
            return;
        }
        match input {
            Input::Timeout => self.on_timeout(now),
            Input::Mic(frame) => self.on_mic(frame, now),
            Input::MicClosed => self.finish(Ending::UserLeft),
            Input::SttOpened => self.stt = SttState::Open,
            Input::Stt(chunk) => self.on_stt(chunk, now),
            Input::SttFailed(error) => self.stt_failed(Some(error), now),
            Input::SttEnded => self.stt_failed(None, now),
            Input::Reply(reply) => self.on_reply(reply, now),
            Input::Tts(chunk) => self.on_tts(chunk, now),
            Input::TtsFailed(error) => self.tts_failed(error),
            Input::TtsEnded => self.tts_finished(),
            Input::Control(control) => self.on_control(control, now),
            Input::TurnPredicted { id, complete } => self.detector.model_answered(id, complete),
        }
    }

    /// The next thing to do; [`Output::Timeout`] when there is nothing until then.
    pub fn poll_output(&mut self) -> Output {
        if let Some(output) = self.out.pop_front() {
            return output;
        }
        match self.stt {
            SttState::RetryAt(at) => Output::Timeout(self.next_tick.min(at)),
            _ => Output::Timeout(self.next_tick),
        }
    }

    /// The session has ended ([`Output::Finished`] was given).
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The agent's current state, as last announced.
    pub fn state(&self) -> AgentState {
        self.state
    }

    fn on_timeout(&mut self, now: Instant) {
        if let SttState::RetryAt(at) = self.stt
            && now >= at
        {
            self.open_stt();
        }
        if now >= self.next_tick {
            // Late ticks are not caught up: the grid moves on from now.
            let next = self.next_tick + TICK;
            self.next_tick = if next <= now { now + TICK } else { next };
            self.on_tick(now);
        }
    }

    fn finish(&mut self, ending: Ending) {
        self.finished = true;
        self.out.push_back(Output::Finished(ending));
    }

    fn emit(&mut self, event: AgentEvent) {
        self.out.push_back(Output::Event(event));
    }

    fn set_state(&mut self, state: AgentState) {
        if self.state != state || state == AgentState::Initializing {
            self.state = state;
            self.emit(AgentEvent::AgentState { state });
        }
    }

    /// The agent has something in progress: a reply being generated or audio to play.
    fn busy(&self) -> bool {
        !self.turn_done || self.playout.is_active() || self.tts_open
    }

    /// A reply was asked of the conversation, which announces `thinking` itself (before its
    /// task can emit anything, so the order is the same on every run).
    fn reply_started(&mut self, now: Instant) {
        // An ended conversation starts no reply: nothing will come to wait for.
        self.turn_done = self.conversation_ended;
        self.state = AgentState::Thinking;
        self.turn = TurnClock { committed: Some(now), ..Default::default() };
    }

    fn emit_metrics(&mut self) {
        let turn = std::mem::take(&mut self.turn);
        let llm = std::mem::take(&mut self.llm);
        self.turns += 1;
        let metrics: TurnMetrics = turn.metrics(self.turns, &llm);
        self.emit(AgentEvent::Metrics(metrics));
    }
}
