//! Turns: where the user's turn ends, interruptions (true and false), timer steps, and the
//! output clock's tick that judges them.

use std::time::Instant;

use super::metrics::TurnClock;
use super::{ConversationAction, Ending, Output, VoiceMachine};
use crate::events::AgentState;
use crate::voice::control::TurnControl;
use crate::voice::endpointing::EndOfTurn;

impl VoiceMachine {
    pub(super) fn check_interruption(&mut self, now: Instant) {
        if !self.params.allow_interruption || self.interrupted_at.is_some() || !self.busy() {
            return;
        }
        let options = &self.params.options;
        let long_enough = self.detector.voiced() >= options.min_interruption;
        let enough_words =
            options.min_interruption_words > 0 && self.meaningful_words() >= options.min_interruption_words;
        if long_enough || enough_words {
            self.interrupt(now);
        }
    }

    /// The user talks over the agent (or over its thinking): stop its audio within this
    /// frame. Until the user's words confirm it, the reply goes on being generated and
    /// synthesised behind the pause, so a cough or a door costs nothing: neither the answer
    /// to the question just asked nor the rest of the reply.
    fn interrupt(&mut self, now: Instant) {
        tracing::debug!("interrupted");
        self.turn.interrupted = true;
        self.playout.pause();
        self.interrupted_at = Some(now);
        self.set_state(AgentState::Listening);
        if self.meaningful_words() > 0 {
            self.confirm_interruption();
        }
    }

    /// The user's app about the turn (see `voice::control`).
    pub(super) fn on_control(&mut self, control: TurnControl, now: Instant) {
        tracing::debug!(?control, "turn control");
        match control {
            TurnControl::StartTurn => {
                // The user said so: the agent stops now, with no false-interruption wait.
                if self.busy() && self.interrupted_at.is_none() {
                    self.interrupt(now);
                }
                if self.interrupted_at.is_some() {
                    self.confirm_interruption();
                }
                self.drop_preempt();
                self.detector.discard();
            }
            TurnControl::EndTurn => {
                self.finalise_stt();
                self.detector.commit(now);
            }
            TurnControl::CancelTurn => {
                self.drop_preempt();
                self.detector.discard();
                // The agent paused for the user's voice and nothing stands: it goes on.
                if self.interrupted_at.is_some() {
                    self.resume_after_false_interruption();
                }
            }
        }
    }

    fn drop_preempt(&mut self) {
        if self.preempted.take().is_some() {
            self.out.push_back(Output::Conversation(ConversationAction::DropPreempt));
        }
    }

    /// Words heard this turn that are not backchannels.
    fn meaningful_words(&self) -> usize {
        self.params.options.backchannels.meaningful_words(&self.detector.text())
    }

    fn cancel_reply(&mut self) {
        self.out.push_back(Output::Conversation(ConversationAction::Cancel));
        self.turn_done = true;
        self.drop_reply_audio();
    }

    /// The user said words: the interruption stands. The reply is cancelled and only what
    /// was heard of it is kept.
    fn confirm_interruption(&mut self) {
        self.interrupted_at = None;
        self.cancel_reply();
        self.commit_heard();
        self.emit_metrics();
    }

    /// Nothing was said: a cough, a door. Carry on where the agent stopped, or go back to
    /// thinking if none of the reply has been synthesised yet.
    fn resume_after_false_interruption(&mut self) {
        self.interrupted_at = None;
        self.turn.interrupted = false;
        self.playout.resume();
        self.detector.reset();
        if !self.playout.has_audio() && self.busy() {
            self.set_state(AgentState::Thinking);
        }
    }

    /// Records what the user heard of the reply, and forgets its audio.
    fn commit_heard(&mut self) {
        let heard = self.playout.clear();
        self.out.push_back(Output::Conversation(ConversationAction::Commit(heard)));
    }

    pub(super) fn words_heard(&mut self) {
        if self.interrupted_at.is_some() && self.meaningful_words() > 0 {
            self.confirm_interruption();
        }
    }

    /// Preemptive generation: while the agent is idle, a settled transcript starts its reply
    /// ahead of the end of turn; words that change (the user went on) drop it.
    /// Runs on every tick, so it allocates only when it asks for something.
    fn preempt(&mut self) {
        let idle = self.state == AgentState::Listening && !self.busy() && !self.conversation_ended;
        let settled = self.detector.settled_text();
        if self.preempted.is_some() && settled != self.preempted.as_deref() {
            self.preempted = None;
            self.out.push_back(Output::Conversation(ConversationAction::DropPreempt));
        }
        if let Some(text) = settled
            && self.preempted.is_none()
            && idle
        {
            self.preempted = Some(text.to_string());
            self.out.push_back(Output::Conversation(ConversationAction::Preempt(text.to_string())));
        }
    }

    fn on_end_of_turn(&mut self, eot: EndOfTurn, now: Instant) {
        // The conversation matches the turn's words against its speculation itself.
        self.preempted = None;
        if (self.busy() || self.interrupted_at.is_some()) && self.params.options.backchannels.only(&eot.text) {
            // "Mm-hm" while the agent talks or thinks: the user is listening, not taking a turn.
            tracing::debug!(text = %eot.text, "backchannel ignored");
            if self.interrupted_at.is_some() {
                self.resume_after_false_interruption();
            }
            return;
        }
        if self.busy() {
            // The agent was still on the previous turn (a short remark did not interrupt):
            // the new turn supersedes it.
            self.cancel_reply();
            self.commit_heard();
        }
        self.interrupted_at = None;
        self.out.push_back(Output::Conversation(ConversationAction::UserTurn(eot.text)));
        self.reply_started(now);
        self.turn = TurnClock {
            speech_ended: Some(eot.speech_ended_at),
            transcript: eot.transcript_at,
            committed: Some(now),
            ..Default::default()
        };
    }

    /// One output period: the end of a false interruption's pause, a frame of audio or the
    /// end of the agent's turn, then the turn detector and timer steps.
    pub(super) fn on_tick(&mut self, now: Instant) {
        if let Some(at) = self.interrupted_at
            && now >= at + self.params.options.false_interruption_timeout
            && !self.detector.is_speaking()
        {
            self.resume_after_false_interruption();
        }
        if !self.play(now) && self.turn_done && !self.tts_open && !self.playout.is_active() {
            // A reply that ended without a sound while paused has nothing left to resume.
            let silent_reply = self.interrupted_at.take().is_some();
            if silent_reply || matches!(self.state, AgentState::Speaking | AgentState::Thinking) {
                self.commit_heard();
                self.emit_metrics();
                if self.conversation_ended {
                    return self.finish(Ending::Completed);
                }
                self.set_state(AgentState::Listening);
            }
            if self.conversation_ended {
                return self.finish(Ending::Completed);
            }
        }
        if let Some(eot) = self.detector.poll(now) {
            self.on_end_of_turn(eot, now);
        } else if self.params.options.preemptive_generation {
            self.preempt();
        }
        if self.state == AgentState::Listening
            && !self.busy()
            && !self.detector.is_speaking()
            && self.timer_deadline.is_some_and(|deadline| now >= deadline)
            && !self.conversation_ended
        {
            self.out.push_back(Output::Conversation(ConversationAction::TimerExpired));
            self.reply_started(now);
        }
    }
}
