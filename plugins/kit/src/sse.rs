//! Incremental server-sent events parser (the WHATWG `text/event-stream` format).
//!
//! Bytes arrive in whatever pieces the network produced: a line, a UTF-8 sequence or a `\r\n`
//! pair may be split across chunks, so the parser keeps the partial line between calls and only
//! decodes complete lines.

use std::fmt;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, when the server named the event type.
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
    /// The last `id:` seen on the stream.
    pub id: Option<String>,
}

/// Why a stream could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseError {
    /// One event grew beyond the parser's limit; the stream is not what we expect.
    EventTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
}

impl fmt::Display for SseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SseError::EventTooLarge { limit } => {
                write!(f, "server-sent event larger than {limit} bytes")
            }
        }
    }
}

impl std::error::Error for SseError {}

/// Default cap on one event: far above any chat chunk, far below a plugin's memory limit.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 4 * 1024 * 1024;

/// Parser state carried between chunks.
#[derive(Debug)]
pub struct SseParser {
    line: Vec<u8>,
    /// The previous chunk ended in `\r`; a `\n` opening the next one belongs to that line end.
    skip_lf: bool,
    at_stream_start: bool,
    event: Option<String>,
    data: String,
    has_data: bool,
    last_id: Option<String>,
    max_event_bytes: usize,
}

impl Default for SseParser {
    fn default() -> Self {
        Self::new()
    }
}

impl SseParser {
    /// A parser with [`DEFAULT_MAX_EVENT_BYTES`].
    pub fn new() -> Self {
        Self::with_limit(DEFAULT_MAX_EVENT_BYTES)
    }

    /// A parser that rejects events larger than `max_event_bytes`.
    pub fn with_limit(max_event_bytes: usize) -> Self {
        SseParser {
            line: Vec::new(),
            skip_lf: false,
            at_stream_start: true,
            event: None,
            data: String::new(),
            has_data: false,
            last_id: None,
            max_event_bytes,
        }
    }

    /// Feeds the next piece of the body; returns the events it completed.
    pub fn push(&mut self, mut bytes: &[u8]) -> Result<Vec<SseEvent>, SseError> {
        let mut events = Vec::new();
        if self.skip_lf && !bytes.is_empty() {
            self.skip_lf = false;
            if bytes[0] == b'\n' {
                bytes = &bytes[1..];
            }
        }
        while let Some(end) = bytes.iter().position(|&b| b == b'\n' || b == b'\r') {
            self.line.extend_from_slice(&bytes[..end]);
            self.check_size()?;
            let ended_by_cr = bytes[end] == b'\r';
            bytes = &bytes[end + 1..];
            if ended_by_cr {
                match bytes.first() {
                    Some(b'\n') => bytes = &bytes[1..],
                    Some(_) => {}
                    None => self.skip_lf = true,
                }
            }
            if let Some(event) = self.end_line() {
                events.push(event);
            }
        }
        self.line.extend_from_slice(bytes);
        self.check_size()?;
        Ok(events)
    }

    /// Ends the stream. A final line without its newline is still read, and a pending event
    /// without its blank line is still dispatched: servers that close right after their last
    /// `data:` line mean it, even though the specification would drop it.
    pub fn finish(&mut self) -> Result<Option<SseEvent>, SseError> {
        let mut out = None;
        if !self.line.is_empty() {
            out = self.end_line();
        }
        if out.is_none() {
            out = self.dispatch();
        }
        Ok(out)
    }

    fn check_size(&self) -> Result<(), SseError> {
        if self.line.len() + self.data.len() > self.max_event_bytes {
            return Err(SseError::EventTooLarge { limit: self.max_event_bytes });
        }
        Ok(())
    }

    fn end_line(&mut self) -> Option<SseEvent> {
        let raw = std::mem::take(&mut self.line);
        let mut raw = raw.as_slice();
        if self.at_stream_start {
            self.at_stream_start = false;
            if let Some(rest) = raw.strip_prefix(b"\xEF\xBB\xBF") {
                raw = rest;
            }
        }
        if raw.is_empty() {
            return self.dispatch();
        }
        if raw[0] == b':' {
            return None;
        }
        let line = String::from_utf8_lossy(raw);
        let (field, value) = match line.find(':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(' ').unwrap_or(value))
            }
            None => (line.as_ref(), ""),
        };
        match field {
            "event" => self.event = Some(value.to_string()),
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "id" if !value.contains('\0') => self.last_id = Some(value.to_string()),
            _ => {}
        }
        None
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = self.event.take();
        if !self.has_data {
            return None;
        }
        self.has_data = false;
        Some(SseEvent { event, data: std::mem::take(&mut self.data), id: self.last_id.clone() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(events: &[SseEvent]) -> Vec<&str> {
        events.iter().map(|e| e.data.as_str()).collect()
    }

    /// Feeds `input` split at every possible pair of cut points and checks the result never
    /// depends on where the network cut the body.
    fn all_splits(input: &[u8]) -> Vec<SseEvent> {
        let mut whole = SseParser::new();
        let mut expected = whole.push(input).unwrap();
        expected.extend(whole.finish().unwrap());
        for a in 0..=input.len() {
            for b in a..=input.len() {
                let mut parser = SseParser::new();
                let mut got = parser.push(&input[..a]).unwrap();
                got.extend(parser.push(&input[a..b]).unwrap());
                got.extend(parser.push(&input[b..]).unwrap());
                got.extend(parser.finish().unwrap());
                assert_eq!(got, expected, "split at {a}/{b}");
            }
        }
        expected
    }

    #[test]
    fn parses_data_lines_and_events() {
        let events = all_splits(b"event: delta\ndata: one\n\ndata: two\n\n");
        assert_eq!(data(&events), ["one", "two"]);
        assert_eq!(events[0].event.as_deref(), Some("delta"));
        assert_eq!(events[1].event, None);
    }

    #[test]
    fn crlf_and_lone_cr_line_endings() {
        let events = all_splits(b"data: a\r\n\r\ndata: b\r\rdata: c\n\n");
        assert_eq!(data(&events), ["a", "b", "c"]);
    }

    #[test]
    fn comments_and_unknown_fields_are_ignored() {
        let events = all_splits(b": keep-alive\nretry: 10\nfoo: bar\ndata: x\n\n:\n\n");
        assert_eq!(data(&events), ["x"]);
    }

    #[test]
    fn multi_line_data_joins_with_newline() {
        let events = all_splits(b"data: first\ndata:second\ndata\n\n");
        assert_eq!(data(&events), ["first\nsecond\n"]);
    }

    #[test]
    fn only_one_leading_space_is_stripped() {
        let events = all_splits(b"data:  two spaces\n\n");
        assert_eq!(data(&events), [" two spaces"]);
    }

    #[test]
    fn utf8_split_across_chunks_survives() {
        let events = all_splits("data: héllo — 日本\n\n".as_bytes());
        assert_eq!(data(&events), ["héllo — 日本"]);
    }

    #[test]
    fn blank_lines_without_data_dispatch_nothing() {
        let events = all_splits(b"\n\nevent: ping\n\n");
        assert!(events.is_empty());
    }

    #[test]
    fn leading_bom_is_skipped() {
        let events = all_splits(b"\xEF\xBB\xBFdata: x\n\n");
        assert_eq!(data(&events), ["x"]);
    }

    #[test]
    fn id_field_is_remembered() {
        let events = all_splits(b"id: 7\ndata: x\n\ndata: y\n\n");
        assert_eq!(events[1].id.as_deref(), Some("7"));
    }

    #[test]
    fn finish_flushes_unterminated_event() {
        let mut parser = SseParser::new();
        assert!(parser.push(b"data: [DONE]").unwrap().is_empty());
        assert_eq!(parser.finish().unwrap().unwrap().data, "[DONE]");
        assert_eq!(parser.finish().unwrap(), None);
    }

    #[test]
    fn oversized_event_is_an_error() {
        let mut parser = SseParser::with_limit(8);
        assert_eq!(parser.push(b"data: 0123456789"), Err(SseError::EventTooLarge { limit: 8 }));
    }
}
