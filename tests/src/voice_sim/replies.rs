//! The step engine's side on virtual time: each turn the machine asks for takes the next
//! scripted reply, streamed in pieces; a cancel drops what has not arrived.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use voiceblox_host::flow::{LlmFigures, Output as Words};
use voiceblox_host::voice::machine::{ConversationAction, Input, Reply};

use super::pending::Pending;

#[derive(Debug, Clone)]
pub struct ReplyScript {
    pub pieces: Vec<String>,
    /// Before the first piece (the LLM's time to first token).
    pub first: Duration,
    /// Between pieces.
    pub gap: Duration,
    /// The conversation is over after this reply.
    pub ends: bool,
    /// A timer step becomes current this long after the reply is done.
    pub timer: Option<Duration>,
}

impl ReplyScript {
    pub fn text(pieces: &[&str]) -> Self {
        Self {
            pieces: pieces.iter().map(|p| p.to_string()).collect(),
            first: Duration::from_millis(300),
            gap: Duration::from_millis(20),
            ends: false,
            timer: None,
        }
    }

    /// A literal line: no LLM, at once.
    pub fn literal(line: &str) -> Self {
        Self { first: Duration::ZERO, ..Self::text(&[line]) }
    }

    pub fn first(mut self, first: Duration) -> Self {
        self.first = first;
        self
    }

    pub fn gap(mut self, gap: Duration) -> Self {
        self.gap = gap;
        self
    }

    pub fn ending(mut self) -> Self {
        self.ends = true;
        self
    }

    pub fn then_timer(mut self, after: Duration) -> Self {
        self.timer = Some(after);
        self
    }
}

pub struct SimConversation {
    scripts: VecDeque<ReplyScript>,
    pending: Pending,
    /// What the agent was recorded as saying, turn by turn.
    pub committed: Vec<String>,
    /// The user turns, in order.
    pub user_turns: Vec<String>,
    /// Replies cancelled before they were done.
    pub cancelled: u32,
    /// Pieces delivered to the machine.
    pub delivered: usize,
    /// A reply started ahead of the turn (preemptive generation): its words and when.
    speculation: Option<(String, Instant)>,
    /// Replies started ahead, and how many of them a turn took.
    pub preempts: u32,
    pub preempts_used: u32,
}

impl SimConversation {
    pub fn new(scripts: Vec<ReplyScript>) -> Self {
        Self {
            scripts: scripts.into(),
            pending: Pending::default(),
            committed: Vec::new(),
            user_turns: Vec::new(),
            cancelled: 0,
            delivered: 0,
            speculation: None,
            preempts: 0,
            preempts_used: 0,
        }
    }

    pub fn next_at(&self) -> Option<Instant> {
        self.pending.next_at()
    }

    pub fn pop_due(&mut self, now: Instant) -> Option<Input> {
        let input = self.pending.pop_due(now)?;
        if matches!(&input, Input::Reply(Reply { words: Words::Text(_), .. })) {
            self.delivered += 1;
        }
        Some(input)
    }

    pub fn handle(&mut self, action: &ConversationAction, now: Instant) {
        match action {
            ConversationAction::Start | ConversationAction::TimerExpired => {
                self.speculation = None;
                self.reply(now, now);
            }
            ConversationAction::UserTurn(text) => {
                self.user_turns.push(text.clone());
                // A reply started ahead for these words is as far along as its head start
                // allows; its pieces still come no earlier than now.
                match self.speculation.take() {
                    Some((words, started)) if words == *text => {
                        self.preempts_used += 1;
                        self.reply(started, now);
                    }
                    _ => self.reply(now, now),
                }
            }
            ConversationAction::Preempt(text) => {
                self.preempts += 1;
                self.speculation = Some((text.clone(), now));
            }
            ConversationAction::DropPreempt => self.speculation = None,
            ConversationAction::Cancel => {
                if self.pending.next_at().is_some() {
                    self.cancelled += 1;
                }
                self.pending.clear();
            }
            ConversationAction::Commit(heard) => {
                if !heard.trim().is_empty() {
                    self.committed.push(heard.clone());
                }
            }
        }
    }

    /// The next scripted reply, generated from `started` and delivered no earlier than `now`.
    fn reply(&mut self, started: Instant, now: Instant) {
        self.pending.clear();
        let Some(script) = self.scripts.pop_front() else {
            // Nothing scripted: the turn produces no words.
            self.pending.push(now, done(false, None));
            return;
        };
        let mut at = started + script.first;
        for piece in &script.pieces {
            let reply = Reply {
                words: Words::Text(piece.clone()),
                ended: false,
                timer_deadline: None,
                llm: LlmFigures::default(),
            };
            self.pending.push(at.max(now), Input::Reply(reply));
            at += script.gap;
        }
        at -= script.gap;
        let at = at.max(now);
        self.pending.push(at, done(script.ends, script.timer.map(|after| at + after)));
    }
}

fn done(ended: bool, timer_deadline: Option<Instant>) -> Input {
    Input::Reply(Reply { words: Words::Done { ended }, ended, timer_deadline, llm: LlmFigures::default() })
}
