//! Text that comes from a plugin (names, ids, hosts, errors, stderr lines) is untrusted: before
//! it reaches a terminal or a log it is made inert. Control characters and terminal escapes
//! could rewrite the operator's screen, a newline could forge a line of host output, and
//! invisible or direction-changing characters could make one name look like another.

use std::borrow::Cow;
use std::fmt::Write;

/// Longest untrusted text kept in one message, in characters.
pub const MAX_CHARS: usize = 1_000;

/// Characters that change how text reads without being visible.
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

fn needs_escape(c: char) -> bool {
    c.is_control() || invisible(c)
}

/// `text` with control and invisible characters escaped (`\n`, `\x1b`, `\u{202e}`), cut to
/// [`MAX_CHARS`].
pub fn clean(text: &str) -> Cow<'_, str> {
    if text.len() <= MAX_CHARS && !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len().min(MAX_CHARS + 16));
    for (i, c) in text.chars().enumerate() {
        if i == MAX_CHARS {
            out.push('…');
            break;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x100 && needs_escape(c) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Whether `id` is a plain provider id: lower-case ASCII letters, digits, `-` and `_`, starting
/// with a letter, at most 64 characters.
pub fn is_plain_id(id: &str) -> bool {
    let mut chars = id.chars();
    id.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Whether `name` is a plain display name: printable ASCII, no leading or trailing space, at
/// most 64 characters. Non-ASCII is refused so no name can imitate another with look-alikes.
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.trim() == name && name.bytes().all(|b| (0x20..0x7f).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_could_forge_or_hide() {
        assert_eq!(clean("plain text"), "plain text");
        assert_eq!(clean("a\nINFO forged line"), "a\\nINFO forged line");
        assert_eq!(clean("\x1b[2J\x1b]0;title\x07"), "\\x1b[2J\\x1b]0;title\\x07");
        assert_eq!(clean("open\u{202e}txt.exe"), "open\\u{202e}txt.exe");
        assert_eq!(clean("zero\u{200b}width"), "zero\\u{200b}width");
        assert_eq!(clean("\u{85}"), "\\x85");
        assert_eq!(clean(&"x".repeat(2000)).chars().count(), MAX_CHARS + 1);
    }

    #[test]
    fn plain_ids_and_names() {
        for ok in ["openai", "openai-compat-py", "my_llm2"] {
            assert!(is_plain_id(ok), "{ok}");
        }
        for bad in ["", "OpenAI", "1abc", "open ai", "оpenai", "open\u{200b}ai", "a/b", &"a".repeat(65)] {
            assert!(!is_plain_id(bad), "{bad}");
        }
        assert!(is_plain_name("voiceblox OpenAI (LLM, TTS)"));
        for bad in ["", " x", "x\n", "\x1b[31mred", "Оpenai", "a\u{202e}b"] {
            assert!(!is_plain_name(bad), "{bad:?}");
        }
    }
}
