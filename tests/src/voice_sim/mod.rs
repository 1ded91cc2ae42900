//! The voice machine and scripted providers on virtual time.
//!
//! [`World`] runs a [`VoiceMachine`] the way its driver does — drain `poll_output`, carry each
//! action out, feed back what happens — but every party is sans-I/O: the microphone plays a
//! recording in 20 ms frames, and the STT, the step engine's replies and the TTS are scripted
//! fakes answering the machine's actions at times they compute. [`World::progress`] moves
//! the clock straight to the earliest thing due (str0m's `progress`), so a minute of
//! conversation takes milliseconds and every timing is exact: tests assert frame counts and
//! milliseconds without slack.
//!
//! The provider plugins and the real step engine are tested against their own fakes on real
//! sockets (tests/voice.rs keeps the whole chain end to end); this world is for the rules of
//! the voice loop: turns, interruptions, pacing, metrics, failures.

mod pending;
mod replies;
mod stt;
mod tts;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use voiceblox_host::audio::{AudioFrame, EarshotVad, Vad};
use voiceblox_host::events::{AgentEvent, AgentState, TurnMetrics};
use voiceblox_host::voice::control::TurnControl;
use voiceblox_host::voice::machine::{ConversationAction, Input, Output, TtsAction, VoiceParams};
use voiceblox_host::voice::{Ending, VoiceMachine};

pub use self::replies::{ReplyScript, SimConversation};
pub use self::stt::{SimStt, SttScript};
pub use self::tts::{SimTts, TtsScript};

/// Something that happened in the world, with its time since the start.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A frame of agent audio the machine played.
    Played(AudioFrame),
    /// An event the machine emitted.
    Event(AgentEvent),
    /// What the machine asked of the step engine.
    Conversation(ConversationAction),
    /// What the machine asked of the TTS.
    Tts(TtsAction),
}

/// The scripted parties of a session.
pub struct Script {
    pub params: VoiceParams,
    /// The user's microphone, 16 kHz mono, played in 20 ms frames from the start; it closes
    /// at its end (the user leaves).
    pub mic: Vec<i16>,
    pub stt: SttScript,
    pub replies: Vec<ReplyScript>,
    pub tts: TtsScript,
}

pub struct World {
    pub machine: VoiceMachine,
    pub t0: Instant,
    pub now: Instant,
    mic: VecDeque<AudioFrame>,
    /// When the next frame (or the end of the microphone) is due; `None` once it closed.
    mic_next: Option<Instant>,
    pub stt: SimStt,
    pub conversation: SimConversation,
    pub tts: SimTts,
    pub log: Vec<(Duration, Record)>,
    pub ending: Option<Ending>,
    /// The user's app's turn controls still to come, in time order.
    controls: VecDeque<(Instant, TurnControl)>,
    /// Answers `turnDetection: "model"` questions (none: silence decides, as without a model).
    pub turn_model: Option<voiceblox_turn::SmartTurn>,
}

impl World {
    pub fn new(script: Script) -> Self {
        let vad = Box::new(EarshotVad::new(script.params.options.vad.clone()).expect("VAD"));
        Self::with_vad(script, vad)
    }

    /// A session hearing with `vad` instead of earshot.
    pub fn with_vad(script: Script, vad: Box<dyn Vad>) -> Self {
        let t0 = Instant::now();
        let mic = script
            .mic
            .chunks(320)
            .map(|chunk| {
                let mut samples = chunk.to_vec();
                samples.resize(320, 0);
                AudioFrame::new(samples, 16_000, 1).expect("frame")
            })
            .collect();
        Self {
            machine: VoiceMachine::new(script.params, vad, t0),
            t0,
            now: t0,
            mic,
            mic_next: Some(t0),
            stt: SimStt::new(script.stt),
            conversation: SimConversation::new(script.replies),
            tts: SimTts::new(script.tts),
            log: Vec::new(),
            ending: None,
            controls: VecDeque::new(),
            turn_model: None,
        }
    }

    /// The user's app sends `control` at `at_ms` of the session (in time order).
    pub fn control_at(mut self, at_ms: u64, control: TurnControl) -> Self {
        self.controls.push_back((self.t0 + Duration::from_millis(at_ms), control));
        self
    }

    /// Runs until the session ends or `limit` of virtual time has passed.
    pub fn run(&mut self, limit: Duration) -> Option<Ending> {
        while self.ending.is_none() && self.now < self.t0 + limit {
            self.progress();
        }
        self.ending
    }

    /// One step: carry out everything the machine asks, then move the clock to the earliest
    /// thing due and feed it.
    pub fn progress(&mut self) {
        let timeout = loop {
            match self.machine.poll_output() {
                Output::Timeout(at) => break at,
                Output::Finished(ending) => {
                    self.ending = Some(ending);
                    return;
                }
                action => self.carry_out(action),
            }
        };
        let mic = self.mic_next;
        let control = self.controls.front().map(|(at, _)| *at);
        let candidates =
            [self.conversation.next_at(), self.stt.next_at(), self.tts.next_at(), control, mic, Some(timeout)];
        let at = candidates.into_iter().flatten().min().expect("the timeout is always there");
        self.now = self.now.max(at);
        let now = self.now;
        // Ties go in a fixed order: providers, the user's app, the microphone, then the clock.
        let input = if let Some(input) = self.conversation.pop_due(now) {
            input
        } else if let Some(input) = self.stt.pop_due(now) {
            input
        } else if let Some(input) = self.tts.pop_due(now) {
            input
        } else if let Some(control) = control.filter(|at| *at <= now).and_then(|_| self.controls.pop_front()) {
            Input::Control(control.1)
        } else if mic.is_some_and(|at| at <= now) {
            match self.mic.pop_front() {
                Some(frame) => {
                    self.mic_next = Some(now + Duration::from_millis(20));
                    Input::Mic(frame)
                }
                None => {
                    self.mic_next = None;
                    Input::MicClosed
                }
            }
        } else {
            Input::Timeout
        };
        self.machine.handle_input(input, now);
    }

    fn carry_out(&mut self, action: Output) {
        let now = self.now;
        let record = match action {
            Output::Play(frame) => Record::Played(frame),
            Output::Event(event) => Record::Event(event),
            Output::Stt(action) => return self.stt.handle(action, now),
            Output::Conversation(action) => {
                self.conversation.handle(&action, now);
                Record::Conversation(action)
            }
            Output::Tts(action) => {
                self.tts.handle(&action, now);
                Record::Tts(action)
            }
            // Decided at once: the model's CPU time is not the session's time here.
            Output::PredictTurn { id, audio } => {
                let complete = self
                    .turn_model
                    .as_ref()
                    .and_then(|model| model.probability(&audio).ok().map(|p| p > voiceblox_turn::THRESHOLD));
                return self.machine.handle_input(Input::TurnPredicted { id, complete }, now);
            }
            Output::Timeout(_) | Output::Finished(_) => return,
        };
        self.log.push((now - self.t0, record));
    }

    // ---- reading the log ---------------------------------------------------------------

    /// Agent audio frames with their time.
    pub fn played(&self) -> Vec<(Duration, &AudioFrame)> {
        self.log
            .iter()
            .filter_map(|(at, r)| match r {
                Record::Played(frame) => Some((*at, frame)),
                _ => None,
            })
            .collect()
    }

    /// Milliseconds of agent audio that carried sound (silence padding aside).
    pub fn audible_ms(&self) -> usize {
        self.played().iter().filter(|(_, f)| audible(f)).count() * 20
    }

    /// The agent's states: those the machine announced, and `thinking` whenever it asked for a
    /// reply (the conversation announces that one itself, as `flow::Conversation` does).
    pub fn states(&self) -> Vec<(Duration, AgentState)> {
        let mut states: Vec<(Duration, AgentState)> = Vec::new();
        for (at, record) in &self.log {
            let state = match record {
                Record::Event(AgentEvent::AgentState { state }) => *state,
                Record::Conversation(
                    ConversationAction::Start | ConversationAction::UserTurn(_) | ConversationAction::TimerExpired,
                ) => AgentState::Thinking,
                _ => continue,
            };
            if states.last().is_none_or(|(_, last)| *last != state || state == AgentState::Initializing) {
                states.push((*at, state));
            }
        }
        states
    }

    pub fn state_names(&self) -> Vec<AgentState> {
        self.states().into_iter().map(|(_, s)| s).collect()
    }

    pub fn events(&self) -> Vec<&AgentEvent> {
        self.log
            .iter()
            .filter_map(|(_, r)| match r {
                Record::Event(event) => Some(event),
                _ => None,
            })
            .collect()
    }

    pub fn metrics(&self) -> Vec<&TurnMetrics> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                AgentEvent::Metrics(m) => Some(m),
                _ => None,
            })
            .collect()
    }

    /// What the machine asked of the step engine, with times.
    pub fn conversation_actions(&self) -> Vec<(Duration, &ConversationAction)> {
        self.log
            .iter()
            .filter_map(|(at, r)| match r {
                Record::Conversation(action) => Some((*at, action)),
                _ => None,
            })
            .collect()
    }

    /// The sentences sent to TTS.
    pub fn said(&self) -> Vec<&str> {
        self.log
            .iter()
            .filter_map(|(_, r)| match r {
                Record::Tts(TtsAction::Say(text)) => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Time of the first record matching `what`.
    pub fn first(&self, what: impl Fn(&Record) -> bool) -> Option<Duration> {
        self.log.iter().find(|(_, r)| what(r)).map(|(at, _)| *at)
    }
}

/// A frame with sound in it (not silence padding).
pub fn audible(frame: &AudioFrame) -> bool {
    frame.samples().iter().any(|s| s.unsigned_abs() > 100)
}

/// Whole milliseconds of a duration.
pub fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}
