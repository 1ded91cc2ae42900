//! The agent's outgoing audio: synthesised speech queued sentence by sentence, taken out one
//! frame per tick by the transport's clock. It knows which words have actually been played,
//! so an interrupted reply is remembered as far as the user heard it.

use std::collections::VecDeque;

/// One sentence: its text and the audio received for it so far.
#[derive(Debug)]
struct Segment {
    text: String,
    /// Samples received for this sentence.
    received: usize,
    /// Samples of it already played.
    played: usize,
    /// The TTS said the sentence is fully synthesised.
    complete: bool,
}

#[derive(Debug)]
pub struct Playout {
    frame_samples: usize,
    audio: VecDeque<i16>,
    segments: VecDeque<Segment>,
    /// Text of the sentences played to the end.
    played_text: String,
    paused: bool,
}

impl Playout {
    /// `frame_samples`: samples per tick (20 ms at the output rate).
    pub fn new(frame_samples: usize) -> Self {
        Self {
            frame_samples,
            audio: VecDeque::new(),
            segments: VecDeque::new(),
            played_text: String::new(),
            paused: false,
        }
    }

    /// A sentence was sent to TTS; its audio follows.
    pub fn begin_sentence(&mut self, text: &str) {
        self.segments.push_back(Segment { text: text.to_string(), received: 0, played: 0, complete: false });
    }

    /// Audio for the oldest sentence not yet complete.
    pub fn push_audio(&mut self, samples: &[i16]) {
        if let Some(segment) = self.segments.iter_mut().find(|s| !s.complete) {
            segment.received += samples.len();
        }
        self.audio.extend(samples);
    }

    /// The TTS finished the oldest incomplete sentence.
    pub fn sentence_done(&mut self) {
        if let Some(segment) = self.segments.iter_mut().find(|s| !s.complete) {
            segment.complete = true;
        }
    }

    /// The TTS stream ended: whatever audio its sentences got is all they will get.
    pub fn finish_sentences(&mut self) {
        for segment in &mut self.segments {
            segment.complete = true;
        }
        // Sentences with no audio at all were never heard.
        self.segments.retain(|s| s.received > 0);
    }

    /// The next frame to play, `None` when paused or nothing is queued. A last partial frame
    /// is padded with silence.
    pub fn next_frame(&mut self) -> Option<Vec<i16>> {
        let mut frame = Vec::new();
        self.next_frame_into(&mut frame).then_some(frame)
    }

    /// [`Self::next_frame`] appended to `frame` (a buffer the caller reuses); false when
    /// there is none.
    pub fn next_frame_into(&mut self, frame: &mut Vec<i16>) -> bool {
        if self.paused || self.audio.is_empty() {
            return false;
        }
        let n = self.frame_samples.min(self.audio.len());
        let start = frame.len();
        frame.extend(self.audio.drain(..n));
        self.account(n);
        frame.resize(start + self.frame_samples, 0);
        true
    }

    fn account(&mut self, mut samples: usize) {
        while samples > 0 {
            let Some(segment) = self.segments.front_mut() else { return };
            let take = samples.min(segment.received - segment.played);
            segment.played += take;
            samples -= take;
            if segment.complete && segment.played == segment.received {
                let done = self.segments.pop_front().map(|s| s.text).unwrap_or_default();
                push_words(&mut self.played_text, &done);
            } else if take == 0 {
                return;
            }
        }
    }

    /// Audio is queued (or a sentence is still being synthesised).
    pub fn is_active(&self) -> bool {
        !self.audio.is_empty() || !self.segments.is_empty()
    }

    pub fn has_audio(&self) -> bool {
        !self.audio.is_empty()
    }

    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Stops output at once, keeping the rest for a possible resume.
    pub fn pause(&mut self) {
        self.paused = true;
    }

    pub fn resume(&mut self) {
        self.paused = false;
    }

    /// What the user heard: the sentences played to the end, and of the sentence being played
    /// the share of its words matching the share of its audio played.
    pub fn heard(&self) -> String {
        let mut heard = self.played_text.clone();
        if let Some(segment) = self.segments.front().filter(|s| s.played > 0 && s.received > 0) {
            let words: Vec<&str> = segment.text.split_whitespace().collect();
            let share = segment.played as f64 / segment.received as f64;
            let count = (words.len() as f64 * share).round() as usize;
            push_words(&mut heard, &words[..count.min(words.len())].join(" "));
        }
        heard
    }

    /// Drops everything queued and forgets the utterance; returns what was heard of it.
    pub fn clear(&mut self) -> String {
        let heard = self.heard();
        self.audio.clear();
        self.segments.clear();
        self.played_text.clear();
        self.paused = false;
        heard
    }
}

fn push_words(text: &mut String, words: &str) {
    if words.is_empty() {
        return;
    }
    if !text.is_empty() {
        text.push(' ');
    }
    text.push_str(words);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_come_out_in_order_and_played_text_follows_them() {
        let mut playout = Playout::new(4);
        playout.begin_sentence("One two.");
        playout.push_audio(&[1, 2, 3, 4, 5, 6]);
        playout.sentence_done();
        playout.begin_sentence("Three four five six.");
        playout.push_audio(&[7, 8, 9, 10, 11, 12, 13, 14]);
        assert_eq!(playout.next_frame(), Some(vec![1, 2, 3, 4]));
        assert_eq!(playout.heard(), "One");
        assert_eq!(playout.next_frame(), Some(vec![5, 6, 7, 8]));
        // The first sentence is complete; the second is 2/8 played: 1 of its 4 words.
        assert_eq!(playout.heard(), "One two. Three");
        playout.pause();
        assert_eq!(playout.next_frame(), None);
        playout.resume();
        assert_eq!(playout.next_frame(), Some(vec![9, 10, 11, 12]));
        // 6 of the second sentence's 8 samples played: 3 of its 4 words.
        assert_eq!(playout.clear(), "One two. Three four five");
        assert!(!playout.is_active());
        assert_eq!(playout.next_frame(), None);
    }

    #[test]
    fn the_last_frame_is_padded_and_the_utterance_completes() {
        let mut playout = Playout::new(4);
        playout.begin_sentence("Hi.");
        playout.push_audio(&[1, 2]);
        playout.sentence_done();
        assert_eq!(playout.next_frame(), Some(vec![1, 2, 0, 0]));
        assert!(!playout.is_active());
        assert_eq!(playout.heard(), "Hi.");
    }
}
