//! Finding a key in text and bytes, whatever form it was written in: any letter case, and any
//! mix of literal and percent-encoded bytes (`%73`, `%2F`/`%2f`, `+` for a space), which covers
//! the URL-encoded, form-encoded and lower-cased forms a provider or a log might show.
//!
//! Response bodies arrive in chunks, so a key can straddle two of them: [`BodyScrubber`] holds
//! back only the tail that could still be the start of the key, and nothing else (an SSE
//! event that ends a chunk is passed on at once).

use std::borrow::Cow;
use std::ops::Range;

use super::Secret;

/// Shown in place of a key.
pub const REDACTED: &str = "[redacted]";

/// Keys shorter than this are not searched for: they would match ordinary text.
const MIN_SCRUB_LEN: usize = 4;

/// Matches `key` at `start` of `hay`: `Full(end)`, `Partial` when the haystack ends mid-key,
/// or `None`.
fn match_at(key: &str, hay: &[u8], start: usize) -> Match {
    let mut j = start;
    for &k in key.as_bytes() {
        let Some(&h) = hay.get(j) else { return Match::Partial };
        if h.eq_ignore_ascii_case(&k) || (h == b'+' && k == b' ') {
            j += 1;
        } else if h == b'%' {
            match (hay.get(j + 1), hay.get(j + 2)) {
                (Some(&a), Some(&b)) => match hex_pair(a, b) {
                    Some(byte) if byte.eq_ignore_ascii_case(&k) => j += 3,
                    _ => return Match::None,
                },
                // `%` or `%7` at the very end: may still become this byte.
                (Some(&a), None) if (a as char).is_ascii_hexdigit() => return Match::Partial,
                (None, _) => return Match::Partial,
                _ => return Match::None,
            }
        } else {
            return Match::None;
        }
    }
    Match::Full(j)
}

fn could_start(key: &str, h: u8) -> bool {
    let first = key.as_bytes()[0];
    h.eq_ignore_ascii_case(&first) || h == b'%' || (h == b'+' && first == b' ')
}

/// Every non-overlapping occurrence of `key`, in order.
fn find_all(key: &str, hay: &[u8]) -> Vec<Range<usize>> {
    let mut found = Vec::new();
    if key.len() < MIN_SCRUB_LEN {
        return found;
    }
    let mut i = 0;
    while i < hay.len() {
        if could_start(key, hay[i])
            && let Match::Full(end) = match_at(key, hay, i)
        {
            found.push(i..end);
            i = end;
            continue;
        }
        i += 1;
    }
    found
}

/// Where the longest tail of `hay` that could still grow into `key` begins.
fn partial_tail(key: &str, hay: &[u8]) -> Option<usize> {
    if key.len() < MIN_SCRUB_LEN {
        return None;
    }
    // A percent-encoded key is at most three bytes per key byte.
    let from = hay.len().saturating_sub(key.len().saturating_mul(3));
    (from..hay.len()).find(|&i| could_start(key, hay[i]) && matches!(match_at(key, hay, i), Match::Partial))
}

/// `bytes` with every occurrence of `key` replaced; `None` when there is none.
pub fn scrub_bytes(key: &str, bytes: &[u8]) -> Option<Vec<u8>> {
    let found = find_all(key, bytes);
    if found.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut last = 0;
    for range in found {
        out.extend_from_slice(&bytes[last..range.start]);
        out.extend_from_slice(REDACTED.as_bytes());
        last = range.end;
    }
    out.extend_from_slice(&bytes[last..]);
    Some(out)
}

pub fn scrub_str<'a>(key: &str, text: &'a str) -> Cow<'a, str> {
    match scrub_bytes(key, text.as_bytes()) {
        // Matches start and end on character boundaries (the key is valid UTF-8 and its
        // encoded forms are ASCII), so this is lossless.
        Some(bytes) => Cow::Owned(String::from_utf8_lossy(&bytes).into_owned()),
        None => Cow::Borrowed(text),
    }
}

enum Match {
    Full(usize),
    Partial,
    None,
}

fn hex_pair(a: u8, b: u8) -> Option<u8> {
    let digit = |c: u8| (c as char).to_digit(16);
    Some((digit(a)? * 16 + digit(b)?) as u8)
}

/// Scrubs a response body that arrives in chunks.
pub struct BodyScrubber {
    secret: Option<Secret>,
    carry: Vec<u8>,
}

impl BodyScrubber {
    pub fn new(secret: Option<Secret>) -> Self {
        Self { secret, carry: Vec::new() }
    }

    /// The part of what has arrived that can be passed on: the key replaced, minus a tail that
    /// might be the beginning of the key (kept for the next chunk).
    pub fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        let Some(secret) = &self.secret else { return chunk.to_vec() };
        let key = secret.expose();
        let mut buffer = std::mem::take(&mut self.carry);
        buffer.extend_from_slice(chunk);
        let mut out = scrub_bytes(key, &buffer).unwrap_or(buffer);
        if let Some(tail) = partial_tail(key, &out) {
            self.carry = out.split_off(tail);
        }
        out
    }

    /// What was held back, at the end of the body.
    pub fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.carry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrub(key: &str, text: &str) -> String {
        Secret::scrub(Some(&Secret::new(key)), text)
    }

    #[test]
    fn finds_the_key_in_any_case_and_encoding() {
        let key = "sk-AbC/12+3=x y";
        for form in [
            "sk-AbC/12+3=x y",
            "SK-ABC/12+3=X Y",
            "sk-abc/12+3=x y",
            "sk-AbC%2F12%2B3%3Dx%20y",
            "sk-AbC%2f12%2b3%3dx+y",
            "%73%6B%2D%41%62%43%2F%31%32%2B%33%3D%78%20%79",
            "sk-abc/12%2B3=x%20y",
        ] {
            assert_eq!(scrub(key, &format!("<{form}>")), "<[redacted]>", "{form}");
        }
        assert_eq!(scrub(key, "sk-AbC/12+3=x z"), "sk-AbC/12+3=x z");
        assert_eq!(scrub("sk-1234", "a sk-1234 b sk-1234"), "a [redacted] b [redacted]");
    }

    #[test]
    fn short_keys_are_not_searched() {
        assert_eq!(scrub("abc", "abc"), "abc");
    }

    #[test]
    fn a_key_split_across_chunks_is_caught() {
        let key = "sk-live-0123456789";
        let body = format!("data: {{\"echo\": \"Bearer {}\"}}\n\ndata: ok\n\n", "sk-live-0123%34%35%36789");
        for cut in 0..body.len() {
            let mut scrubber = BodyScrubber::new(Some(Secret::new(key)));
            let mut out = scrubber.push(&body.as_bytes()[..cut]);
            out.extend(scrubber.push(&body.as_bytes()[cut..]));
            out.extend(scrubber.finish());
            let out = String::from_utf8(out).unwrap();
            assert_eq!(out, "data: {\"echo\": \"Bearer [redacted]\"}\n\ndata: ok\n\n", "cut at {cut}");
        }
    }

    #[test]
    fn nothing_is_held_back_that_cannot_start_the_key() {
        let mut scrubber = BodyScrubber::new(Some(Secret::new("sk-live-0123456789")));
        assert_eq!(scrubber.push(b"data: {\"x\":1}\n\n"), b"data: {\"x\":1}\n\n");
        assert_eq!(scrubber.push(b"tail sk-li"), b"tail ");
        assert_eq!(scrubber.push(b"ght"), b"sk-light");
        assert_eq!(scrubber.push(b"100%"), b"100");
        assert_eq!(scrubber.finish(), b"%");
    }
}
