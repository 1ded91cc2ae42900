//! Text as a voice should say it: LLMs write markdown and emoji even when told not to, and
//! TTS engines read `**` and `#` aloud or stumble on pictographs.

/// Removes markdown markup and emoji, keeping the words (and link texts).
pub fn speakable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        out.push_str(&strip_line(line));
    }
    // Collapse runs of spaces left where markup was.
    let mut collapsed = String::with_capacity(out.len());
    let mut last_space = false;
    for c in out.chars() {
        if c == ' ' {
            if !last_space {
                collapsed.push(c);
            }
            last_space = true;
        } else {
            collapsed.push(c);
            last_space = false;
        }
    }
    collapsed
}

fn strip_line(line: &str) -> String {
    let trimmed = line.trim_start();
    // Block markers at the start of a line: headings, quotes, bullets, rules, fences.
    let body = if trimmed.starts_with("```") || is_rule(trimmed) {
        return if line.ends_with('\n') { "\n".into() } else { String::new() };
    } else if let Some(rest) = trimmed.strip_prefix('#') {
        rest.trim_start_matches('#').trim_start()
    } else if let Some(rest) = trimmed.strip_prefix("> ") {
        rest
    } else if let Some(rest) =
        trimmed.strip_prefix("- ").or_else(|| trimmed.strip_prefix("* ")).or_else(|| trimmed.strip_prefix("+ "))
    {
        rest
    } else {
        trimmed
    };
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' | '_' if chars.peek() == Some(&c) || is_emphasis(c, &out, chars.peek()) => {
                // `**`/`__` and emphasis markers; underscores inside words (snake_case) stay.
                if chars.peek() == Some(&c) {
                    chars.next();
                }
            }
            '`' | '~' if c == '`' || chars.peek() == Some(&'~') => {
                if c == '~' {
                    chars.next();
                }
            }
            '[' => {
                // [text](url) → text
                let mut label = String::new();
                let mut closed = false;
                for d in chars.by_ref() {
                    if d == ']' {
                        closed = true;
                        break;
                    }
                    label.push(d);
                }
                out.push_str(&label);
                if closed && chars.peek() == Some(&'(') {
                    for d in chars.by_ref() {
                        if d == ')' {
                            break;
                        }
                    }
                }
            }
            c if is_emoji(c) => {}
            c => out.push(c),
        }
    }
    out
}

fn is_rule(line: &str) -> bool {
    let line = line.trim();
    line.len() >= 3
        && (line.chars().all(|c| c == '-') || line.chars().all(|c| c == '*') || line.chars().all(|c| c == '_'))
}

/// A lone `*`/`_` is emphasis when it touches a word on one side only.
fn is_emphasis(c: char, before: &str, after: Option<&char>) -> bool {
    let prev_word = before.chars().last().is_some_and(|p| p.is_alphanumeric());
    let next_word = after.is_some_and(|n| n.is_alphanumeric());
    match c {
        '_' => prev_word != next_word,
        _ => prev_word || next_word,
    }
}

/// Pictographs, dingbats, flags, and the joiners and selectors that build emoji sequences.
fn is_emoji(c: char) -> bool {
    matches!(c as u32,
        0x1F000..=0x1FAFF   // pictographs, emoticons, transport, symbols, flags
        | 0x2600..=0x27BF   // misc symbols and dingbats
        | 0x2B00..=0x2BFF   // arrows and stars (⭐)
        | 0xFE0E..=0xFE0F   // variation selectors
        | 0x200D            // zero-width joiner
        | 0x20E3            // keycap
        | 0xE0020..=0xE007F // tag sequences
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_is_stripped_to_its_words() {
        assert_eq!(speakable("**Great** news, _really_!"), "Great news, really!");
        assert_eq!(speakable("## Options\n- fibre\n- `cable`\n"), "Options\nfibre\ncable\n");
        assert_eq!(speakable("See [our site](https://acme.example) today."), "See our site today.");
        assert_eq!(speakable("~~old~~ new"), "old new");
        assert_eq!(speakable("```\n---\n"), "\n\n");
    }

    #[test]
    fn emoji_go_and_ordinary_text_stays() {
        assert_eq!(speakable("Thanks! 😊👍🏽 See you ✨"), "Thanks! See you ");
        assert_eq!(
            speakable("2 * 3 = 6, snake_case, 5°C, café, naïve — ok?"),
            "2 * 3 = 6, snake_case, 5°C, café, naïve — ok?"
        );
    }
}
