//! Splitting text for providers with a per-request character limit.

/// Splits `text` into trimmed, non-empty pieces of at most `max_chars` characters, cutting after
/// a sentence end when one fits, else at a space, else mid-word. Speech cut between sentences
/// sounds natural; a hard cut is only for text with no breaks at all.
pub fn split_text(text: &str, max_chars: usize) -> Vec<String> {
    let max_chars = max_chars.max(1);
    let mut pieces = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let Some((limit, _)) = rest.char_indices().nth(max_chars) else {
            pieces.push(rest.to_string());
            break;
        };
        let window = &rest[..limit];
        let cut =
            last_sentence_end(window).or_else(|| window.rfind(char::is_whitespace).filter(|&i| i > 0)).unwrap_or(limit);
        let (piece, tail) = rest.split_at(cut);
        let piece = piece.trim();
        if !piece.is_empty() {
            pieces.push(piece.to_string());
        }
        rest = tail.trim_start();
    }
    pieces
}

/// Byte index just after the last sentence-ending punctuation that is followed by whitespace.
fn last_sentence_end(window: &str) -> Option<usize> {
    let mut best = None;
    let mut chars = window.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let after = i + c.len_utf8();
        let ends_sentence = matches!(c, '.' | '!' | '?' | '。' | '！' | '？' | '\n');
        let followed_by_space = chars.peek().is_some_and(|&(_, next)| next.is_whitespace());
        if ends_sentence && (followed_by_space || c == '\n' || c == '。') {
            best = Some(after);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_one_piece() {
        assert_eq!(split_text("  Hello there.  ", 100), ["Hello there."]);
        assert!(split_text("   ", 100).is_empty());
    }

    #[test]
    fn prefers_sentence_ends() {
        let text = "One two. Three four five. Six seven eight nine.";
        assert_eq!(split_text(text, 30), ["One two. Three four five.", "Six seven eight nine."]);
    }

    #[test]
    fn falls_back_to_spaces_then_hard_cuts() {
        assert_eq!(split_text("aaa bbb ccc ddd", 9), ["aaa bbb", "ccc ddd"]);
        assert_eq!(split_text("abcdefghij", 4), ["abcd", "efgh", "ij"]);
    }

    #[test]
    fn counts_characters_not_bytes() {
        let pieces = split_text("ééééé ééééé", 6);
        assert_eq!(pieces, ["ééééé", "ééééé"]);
        for piece in split_text(&"日本語。".repeat(10), 7) {
            assert!(piece.chars().count() <= 7, "{piece}");
        }
    }

    #[test]
    fn decimal_points_are_not_sentence_ends() {
        assert_eq!(split_text("Pi is 3.14159 roughly ok", 15), ["Pi is 3.14159", "roughly ok"]);
    }
}
