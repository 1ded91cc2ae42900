//! Backchannels: the "mm-hm"s and "yeah"s a listener says to show they are following. While
//! the agent is busy they neither interrupt it nor make a turn of their own.

/// The built-in list: English acknowledgements that do not answer anything.
pub const ENGLISH: &[&str] = &[
    "mm-hmm",
    "mm-hm",
    "mhm",
    "mm",
    "hmm",
    "uh-huh",
    "uh huh",
    "yeah",
    "yep",
    "yup",
    "right",
    "okay",
    "ok",
    "sure",
    "i see",
    "got it",
    "aha",
    "ah",
    "oh",
    "alright",
    "all right",
    "cool",
    "nice",
];

/// A set of phrases; empty means the filter is off.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Backchannels {
    phrases: Vec<Vec<String>>,
}

impl Backchannels {
    pub fn new<S: AsRef<str>>(phrases: impl IntoIterator<Item = S>) -> Self {
        let mut phrases: Vec<Vec<String>> =
            phrases.into_iter().map(|p| words(p.as_ref())).filter(|w| !w.is_empty()).collect();
        // Longest first, so "uh huh" is taken whole before "uh" could be.
        phrases.sort_by_key(|p| std::cmp::Reverse(p.len()));
        Self { phrases }
    }

    pub fn english() -> Self {
        Self::new(ENGLISH)
    }

    pub fn is_off(&self) -> bool {
        self.phrases.is_empty()
    }

    /// The words of `text` that are not backchannels; all of them when the filter is off.
    pub fn meaningful_words(&self, text: &str) -> usize {
        let words = words(text);
        if self.is_off() || !self.covers(&words) { words.len() } else { 0 }
    }

    /// `text` has words and every one of them is part of a backchannel.
    pub fn only(&self, text: &str) -> bool {
        let words = words(text);
        !self.is_off() && !words.is_empty() && self.covers(&words)
    }

    fn covers(&self, mut words: &[String]) -> bool {
        while !words.is_empty() {
            match self.phrases.iter().find(|p| words.starts_with(p)) {
                Some(phrase) => words = &words[phrase.len()..],
                None => return false,
            }
        }
        true
    }
}

/// Lower-case words without the punctuation an STT adds ("Mm-hmm." → "mm-hmm").
fn words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase())
        .filter(|w| !w.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acknowledgements_are_backchannels_and_anything_more_is_not() {
        let b = Backchannels::english();
        for text in ["Mm-hmm.", "yeah", "Yeah, yeah.", "Uh huh, okay!", "I see.", "Right right"] {
            assert!(b.only(text), "{text}");
            assert_eq!(b.meaningful_words(text), 0, "{text}");
        }
        for text in ["", "yeah but what about the price", "no", "wait", "okay stop"] {
            assert!(!b.only(text), "{text}");
        }
        assert_eq!(b.meaningful_words("okay stop"), 2);
    }

    #[test]
    fn own_phrases_replace_the_list_and_an_empty_list_is_off() {
        let b = Backchannels::new(["d'accord", "ouais"]);
        assert!(b.only("Ouais, d'accord."));
        assert!(!b.only("yeah"));
        let off = Backchannels::default();
        assert!(off.is_off() && !off.only("yeah"));
        assert_eq!(off.meaningful_words("mm-hmm yeah"), 2);
    }
}
