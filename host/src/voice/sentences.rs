//! Streamed LLM text into sentences, so TTS can start on the first one while the rest is
//! still being generated.

/// Sentences shorter than this wait for the next one (TTS prosody suffers on fragments
/// like "Sure.").
const MIN_SENTENCE_CHARS: usize = 8;

/// Abbreviations whose period does not end a sentence.
const ABBREVIATIONS: &[&str] =
    &["mr.", "mrs.", "ms.", "dr.", "prof.", "st.", "vs.", "e.g.", "i.e.", "etc.", "no.", "approx."];

#[derive(Debug, Default)]
pub struct SentenceChunker {
    pending: String,
}

impl SentenceChunker {
    /// Adds streamed text; returns the sentences it completed.
    pub fn push(&mut self, delta: &str) -> Vec<String> {
        self.pending.push_str(delta);
        let mut sentences = Vec::new();
        while let Some(end) = self.boundary() {
            let rest = self.pending.split_off(end);
            let sentence = std::mem::replace(&mut self.pending, rest);
            let sentence = sentence.trim();
            if !sentence.is_empty() {
                sentences.push(sentence.to_string());
            }
        }
        sentences
    }

    /// What is left at the end of the reply.
    pub fn flush(&mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.pending);
        let rest = rest.trim();
        (!rest.is_empty()).then(|| rest.to_string())
    }

    /// Byte offset just after the first sentence end that is followed by whitespace (so a
    /// decimal point or a URL's dot never splits), long enough, and not an abbreviation.
    fn boundary(&self) -> Option<usize> {
        let text = &self.pending;
        let mut iter = text.char_indices().peekable();
        while let Some((i, c)) = iter.next() {
            let end = i + c.len_utf8();
            let is_end = matches!(c, '.' | '!' | '?' | '。' | '！' | '？' | ';' | '\n');
            if !is_end {
                continue;
            }
            // Closing quotes/brackets belong to the sentence.
            let mut end = end;
            while let Some(&(j, q)) = iter.peek() {
                if matches!(q, '"' | '\'' | ')' | '”' | '’' | '.' | '!' | '?') {
                    end = j + q.len_utf8();
                    iter.next();
                } else {
                    break;
                }
            }
            let followed_by_space = matches!(iter.peek(), Some((_, n)) if n.is_whitespace()) || c == '\n';
            if !followed_by_space || text[..end].trim().chars().count() < MIN_SENTENCE_CHARS {
                continue;
            }
            let last_word = text[..end].split_whitespace().last().unwrap_or("").to_lowercase();
            if c == '.' && ABBREVIATIONS.contains(&last_word.as_str()) {
                continue;
            }
            return Some(end);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(deltas: &[&str]) -> Vec<String> {
        let mut chunker = SentenceChunker::default();
        let mut out: Vec<String> = deltas.iter().flat_map(|d| chunker.push(d)).collect();
        out.extend(chunker.flush());
        out
    }

    #[test]
    fn splits_on_sentence_ends_whatever_the_chunking() {
        let text = "Hello there! The price is 3.50 euros per month. Dr. Smith agrees, e.g. on fibre. Ready?";
        let expected =
            ["Hello there!", "The price is 3.50 euros per month.", "Dr. Smith agrees, e.g. on fibre.", "Ready?"];
        assert_eq!(chunk(&[text]), expected);
        let pieces: Vec<String> = text.chars().map(String::from).collect();
        assert_eq!(chunk(&pieces.iter().map(String::as_str).collect::<Vec<_>>()), expected);
    }

    #[test]
    fn short_fragments_join_the_next_sentence() {
        assert_eq!(chunk(&["Sure. ", "Let me check that for you. "]), ["Sure. Let me check that for you."]);
        assert_eq!(chunk(&["He said \"stop.\" Then left."]), ["He said \"stop.\"", "Then left."]);
    }

    #[test]
    fn the_first_sentence_is_released_before_the_reply_ends() {
        let mut chunker = SentenceChunker::default();
        assert!(chunker.push("Your order has").is_empty());
        assert_eq!(chunker.push(" shipped. It arr"), ["Your order has shipped."]);
        assert_eq!(chunker.flush().as_deref(), Some("It arr"));
    }
}
