//! Answering `flush` over a socket that never says when a flush is done.
//!
//! ElevenLabs' single-stream socket sends `isFinal` only once, after the end of input. What it
//! does send with every audio chunk (`sync_alignment=true`) is the text that chunk speaks, so a
//! flush is done once the chunks have spoken as many characters as had been given when it was
//! asked for. Characters are counted without whitespace: the socket rearranges spaces (our
//! trailing space, its own leading one) but speaks every other character of the text it was
//! given. Should a model leave some out, the count falls short and the flush is answered at
//! `isFinal`: late, never early.

use std::collections::VecDeque;

/// Characters that count.
pub fn spoken_chars(text: &str) -> usize {
    text.chars().filter(|c| !c.is_whitespace()).count()
}

#[derive(Debug, Default)]
pub struct Flushes {
    /// Characters given so far.
    given: usize,
    /// Characters the audio has covered so far.
    spoken: usize,
    /// `given` at the last flush.
    flushed: usize,
    /// For each unanswered flush, `given` when it was asked for.
    ends: VecDeque<usize>,
}

impl Flushes {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn give(&mut self, text: &str) {
        self.given += spoken_chars(text);
    }

    /// True when text was given since the last flush.
    pub fn has_unflushed(&self) -> bool {
        self.given > self.flushed
    }

    /// A flush was asked for; returns how many flushes are now answered (a flush with nothing
    /// new to say is answered as soon as the ones before it are).
    pub fn flush(&mut self) -> usize {
        self.flushed = self.given;
        self.ends.push_back(self.given);
        self.answered()
    }

    /// The audio covered `chars` more characters; returns how many flushes are now answered.
    pub fn spoke(&mut self, chars: usize) -> usize {
        self.spoken += chars;
        self.answered()
    }

    /// Everything has been spoken (`isFinal`, or a normal close after the end of input).
    pub fn finish(&mut self) -> usize {
        self.spoken = self.spoken.max(self.given);
        let count = self.ends.len();
        self.ends.clear();
        count
    }

    fn answered(&mut self) -> usize {
        let mut count = 0;
        while self.ends.front().is_some_and(|&end| end <= self.spoken) {
            self.ends.pop_front();
            count += 1;
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flushes_are_answered_when_their_text_is_spoken() {
        let mut flushes = Flushes::new();
        flushes.give("Hello there. ");
        assert!(flushes.has_unflushed());
        assert_eq!(flushes.flush(), 0);
        assert!(!flushes.has_unflushed());
        flushes.give("How are you?");
        assert_eq!(flushes.flush(), 0);
        assert_eq!(flushes.flush(), 0, "an empty flush waits for the ones before it");
        assert_eq!(flushes.spoke(spoken_chars(" Hello")), 0);
        assert_eq!(flushes.spoke(spoken_chars(" there. How")), 1);
        assert_eq!(flushes.spoke(spoken_chars("are you?")), 2);
        assert_eq!(flushes.flush(), 1, "nothing pending: answered at once");
    }

    #[test]
    fn finish_answers_everything_left() {
        let mut flushes = Flushes::new();
        flushes.give("One. ");
        flushes.flush();
        flushes.give("Two.");
        flushes.flush();
        assert_eq!(flushes.spoke(2), 0);
        assert_eq!(flushes.finish(), 2);
        assert_eq!(flushes.finish(), 0);
    }
}
