//! The two layouts Google's JSON comes in, applied to compact JSON text (as [`Obj`] writes it,
//! key order kept):
//! - in a stream, each `data:` document is one line with a space after every colon and none
//!   after commas: `{"candidates": [{"content": {"parts": [{"text": "Hi"}],"role": "model"}`;
//! - error bodies and whole responses are indented by two spaces, one member per line.
//!
//! [`Obj`]: crate::fakes::wire::Obj

/// `{"a":[1,2]}` → `{"a": [1,2]}`.
pub(super) fn stream_line(compact: &str) -> String {
    let mut out = String::with_capacity(compact.len() + compact.len() / 8);
    walk(compact, |token| match token {
        Token::Char(':') => out.push_str(": "),
        Token::Char(c) => out.push(c),
        Token::String(s) => out.push_str(s),
    });
    out
}

/// `{"a":[1,2]}` → `{\n  "a": [\n    1,\n    2\n  ]\n}`.
pub(super) fn pretty(compact: &str) -> String {
    let mut out = String::with_capacity(compact.len() * 2);
    let mut depth = 0usize;
    let chars: Vec<char> = compact.chars().collect();
    let mut index = 0;
    walk(compact, |token| {
        match token {
            Token::Char(open @ ('{' | '[')) => {
                out.push(open);
                // An empty container stays on one line: `[]`, `{}`.
                let close = if open == '{' { '}' } else { ']' };
                if chars.get(index + 1) != Some(&close) {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            Token::Char(close @ ('}' | ']')) => {
                let open = if close == '}' { '{' } else { '[' };
                if index == 0 || chars.get(index - 1) != Some(&open) {
                    depth = depth.saturating_sub(1);
                    newline(&mut out, depth);
                }
                out.push(close);
            }
            Token::Char(',') => {
                out.push(',');
                newline(&mut out, depth);
            }
            Token::Char(':') => out.push_str(": "),
            Token::Char(c) => out.push(c),
            Token::String(s) => {
                out.push_str(s);
                index += s.chars().count() - 1;
            }
        }
        index += 1;
    });
    out
}

fn newline(out: &mut String, depth: usize) {
    out.push('\n');
    out.push_str(&"  ".repeat(depth));
}

enum Token<'a> {
    Char(char),
    /// A whole string literal, quotes included.
    String(&'a str),
}

/// Calls `each` for every structural character and every string literal of compact JSON.
fn walk<'a>(json: &'a str, mut each: impl FnMut(Token<'a>)) {
    let mut rest = json;
    while let Some(c) = rest.chars().next() {
        if c == '"' {
            let mut escaped = false;
            let end = rest[1..]
                .char_indices()
                .find(|&(_, ch)| {
                    let closes = ch == '"' && !escaped;
                    escaped = ch == '\\' && !escaped;
                    closes
                })
                .map_or(rest.len(), |(at, _)| at + 2);
            each(Token::String(&rest[..end]));
            rest = &rest[end..];
        } else {
            each(Token::Char(c));
            rest = &rest[c.len_utf8()..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        let compact = r#"{"a":[{"t":"x: \"y\", z"}],"b":{},"c":[],"d":1}"#;
        assert_eq!(stream_line(compact), r#"{"a": [{"t": "x: \"y\", z"}],"b": {},"c": [],"d": 1}"#);
        assert_eq!(
            pretty(compact),
            "{\n  \"a\": [\n    {\n      \"t\": \"x: \\\"y\\\", z\"\n    }\n  ],\n  \"b\": {},\n  \"c\": [],\n  \"d\": 1\n}"
        );
        let parsed: serde_json::Value = serde_json::from_str(&pretty(compact)).unwrap();
        assert_eq!(parsed, serde_json::from_str::<serde_json::Value>(compact).unwrap());
    }
}
