//! Answering the contract's `flush` with Cartesia's own flushes.
//!
//! Within one context, a generation request with `flush: true` (and an empty transcript) makes
//! Cartesia speak everything it holds and start a new flush group: the audio of the text before
//! the n-th flush carries `flush_id: n` and is followed by `flush_done` with `flush_id: n`, the
//! audio after it carries `n + 1`. A contract flush is therefore answered at the `flush_done` of
//! the Cartesia flush it sent, and, should that message be missed, as soon as audio of a later
//! group arrives (a context's audio comes in order) or the context is `done`: late, never early.
//!
//! A contract flush with no new text sends nothing and is answered once the ones before it are.

use std::collections::VecDeque;

/// An unanswered contract flush.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    /// Nothing new was said before it.
    Empty,
    /// Answered when Cartesia's flush with this id is done.
    Sent(u32),
    /// Text left unflushed at the end of input: answered when the context is done.
    AtDone,
}

#[derive(Debug, Default)]
pub struct Flushes {
    /// Cartesia flushes sent in the current context (the last `flush_id` asked for).
    sent: u32,
    /// The highest `flush_id` known to be complete.
    complete: u32,
    /// Text was sent since the last flush.
    unflushed: bool,
    pending: VecDeque<Pending>,
}

impl Flushes {
    pub fn new() -> Self {
        Self::default()
    }

    /// Text went out on the context.
    pub fn give(&mut self) {
        self.unflushed = true;
    }

    #[cfg(test)]
    pub fn has_unflushed(&self) -> bool {
        self.unflushed
    }

    /// A contract flush: returns the `flush_id` Cartesia will give the flush to send, or `None`
    /// when there is nothing to flush.
    pub fn flush(&mut self) -> Option<u32> {
        if !self.unflushed {
            self.pending.push_back(Pending::Empty);
            return None;
        }
        self.unflushed = false;
        self.sent += 1;
        self.pending.push_back(Pending::Sent(self.sent));
        Some(self.sent)
    }

    /// The end of input with text not yet flushed: closing the context speaks it.
    pub fn end(&mut self) {
        if std::mem::take(&mut self.unflushed) {
            self.pending.push_back(Pending::AtDone);
        }
    }

    /// `flush_done` for `flush_id`: returns how many contract flushes are now answered.
    pub fn flush_done(&mut self, flush_id: u32) -> usize {
        self.complete = self.complete.max(flush_id);
        self.answered()
    }

    /// Audio of flush group `flush_id` arrived, so every group before it is complete.
    pub fn audio(&mut self, flush_id: u32) -> usize {
        self.flush_done(flush_id.saturating_sub(1))
    }

    /// The context is done: every flush is answered, and a new context numbers from 1 again.
    pub fn done(&mut self) -> usize {
        let count = self.pending.len();
        *self = Flushes::new();
        count
    }

    /// Contract flushes waiting.
    #[cfg(test)]
    pub fn waiting(&self) -> usize {
        self.pending.len()
    }

    fn answered(&mut self) -> usize {
        let mut count = 0;
        while let Some(&front) = self.pending.front() {
            let complete = match front {
                Pending::Empty => true,
                Pending::Sent(id) => id <= self.complete,
                Pending::AtDone => false,
            };
            if !complete {
                break;
            }
            self.pending.pop_front();
            count += 1;
        }
        count
    }

    /// Answers the empty flushes at the front (those with nothing before them).
    pub fn answer_ready(&mut self) -> usize {
        self.answered()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_flush_waits_for_its_own_flush_done() {
        let mut flushes = Flushes::new();
        assert_eq!(flushes.flush(), None, "nothing said: nothing to send");
        assert_eq!(flushes.answer_ready(), 1);
        flushes.give();
        assert_eq!(flushes.flush(), Some(1));
        flushes.give();
        assert_eq!(flushes.flush(), Some(2));
        assert_eq!(flushes.flush(), None);
        assert_eq!(flushes.answer_ready(), 0, "an empty flush waits for the ones before it");
        assert_eq!(flushes.audio(1), 0, "audio of group 1 says nothing about group 1's end");
        assert_eq!(flushes.flush_done(1), 1);
        assert_eq!(flushes.flush_done(1), 0, "a repeated flush_done answers nothing twice");
        assert_eq!(flushes.flush_done(2), 2, "flush 2 and the empty one after it");
        assert_eq!(flushes.waiting(), 0);
    }

    #[test]
    fn later_audio_or_done_answers_a_missed_flush_done() {
        let mut flushes = Flushes::new();
        flushes.give();
        flushes.flush();
        flushes.give();
        flushes.flush();
        assert_eq!(flushes.audio(2), 1, "group 2 audio: group 1 is complete");
        flushes.give();
        flushes.end();
        assert!(!flushes.has_unflushed());
        assert_eq!(flushes.flush_done(2), 1);
        assert_eq!(flushes.waiting(), 1, "the text at the end waits for done");
        assert_eq!(flushes.done(), 1);
        assert_eq!(flushes.done(), 0);
        flushes.give();
        assert_eq!(flushes.flush(), Some(1), "a new context numbers from 1");
    }
}
