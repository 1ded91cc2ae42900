//! REST text-to-speech: one request per flushed sentence group, answered with raw 16-bit PCM
//! streamed as it is synthesized.
//!
//! Text is buffered until `flush`, then split under the provider's per-request limit; the pieces
//! are requested one at a time in flush order ([`SerialRequests`]) so audio plays in the order the
//! text was written, and `flushed` follows the last audio of each flush. The adapter supplies
//! only the request ([`SpeechEndpoint`]).

use crate::failure::Failure;
use crate::pcm::PcmCarry;
use crate::requests::{Input, Jobs, Output, Outputs, SerialRequests};
use crate::text::split_text;

/// How a provider is asked to speak.
pub trait SpeechEndpoint {
    /// The adapter's HTTP request.
    type Request;

    /// The request that speaks `text` (at most the stream's `max_chars` characters).
    fn request(&self, text: &str) -> Self::Request;
}

/// What a speech stream emits; adapters map it onto their `tts-event`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpeechEvent {
    /// Audio in whole 16-bit little-endian samples.
    Audio {
        /// The samples' bytes.
        pcm: Vec<u8>,
        /// Their rate.
        sample_rate: u32,
    },
    /// Everything up to the matching `flush` has been spoken.
    Flushed,
}

/// One synthesis stream.
#[derive(Debug)]
pub struct SpeechStream<S: SpeechEndpoint> {
    text: String,
    max_chars: usize,
    requests: SerialRequests<Pieces<S>>,
}

impl<S: SpeechEndpoint> SpeechStream<S> {
    /// A stream that asks `endpoint` for pieces of at most `max_chars` characters, answered with
    /// PCM at `sample_rate`; `provider` names the provider in error messages.
    pub fn new(provider: &'static str, endpoint: S, sample_rate: u32, max_chars: usize) -> Self {
        let pieces = Pieces { endpoint, sample_rate, carry: PcmCarry::new() };
        SpeechStream { text: String::new(), max_chars, requests: SerialRequests::new(provider, "speech", pieces) }
    }

    /// Advances the stream by one host input.
    pub fn handle(&mut self, input: Input) -> Vec<Output<S::Request, SpeechEvent, Failure>> {
        if self.requests.is_done() {
            return Vec::new();
        }
        match input {
            Input::Text(text) => {
                self.text.push_str(&text);
                Vec::new()
            }
            Input::Flush => self.flush(),
            Input::End => {
                let mut out = if self.text.trim().is_empty() { Vec::new() } else { self.flush() };
                out.extend(self.requests.end());
                out
            }
            other => self.requests.response(other),
        }
    }

    fn flush(&mut self) -> Outputs<Pieces<S>> {
        let pieces = split_text(&std::mem::take(&mut self.text), self.max_chars);
        let count = pieces.len();
        if count == 0 {
            // Nothing to say still answers the flush, in order.
            return self.requests.submit([None]);
        }
        let jobs = pieces.into_iter().enumerate().map(|(index, text)| Some(Piece { text, last: index + 1 == count }));
        self.requests.submit(jobs)
    }
}

/// One request's text; `last` marks the end of a flush.
#[derive(Debug)]
struct Piece {
    text: String,
    last: bool,
}

#[derive(Debug)]
struct Pieces<S> {
    endpoint: S,
    sample_rate: u32,
    carry: PcmCarry,
}

impl<S: SpeechEndpoint> Jobs for Pieces<S> {
    type Job = Piece;
    type Request = S::Request;
    type Event = SpeechEvent;
    type Error = Failure;

    fn request(&mut self, piece: &mut Piece) -> S::Request {
        self.endpoint.request(&piece.text)
    }

    fn body(&mut self, bytes: &[u8]) -> Result<Option<SpeechEvent>, Failure> {
        let pcm = self.carry.push(bytes);
        Ok((!pcm.is_empty()).then_some(SpeechEvent::Audio { pcm, sample_rate: self.sample_rate }))
    }

    fn end(&mut self, _piece: &Piece) -> Result<Option<SpeechEvent>, Failure> {
        // An odd trailing byte cannot be a sample; dropping it keeps the next audio aligned.
        self.carry.reset();
        Ok(None)
    }

    fn done(&mut self, piece: Option<Piece>) -> Option<SpeechEvent> {
        piece.is_none_or(|piece| piece.last).then_some(SpeechEvent::Flushed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::ErrorClass;

    /// Requests are the text itself.
    #[derive(Debug)]
    struct Echo;

    impl SpeechEndpoint for Echo {
        type Request = String;

        fn request(&self, text: &str) -> String {
            text.to_string()
        }
    }

    type Out = Output<String, SpeechEvent, Failure>;

    fn stream(max_chars: usize) -> SpeechStream<Echo> {
        SpeechStream::new("prov", Echo, 8_000, max_chars)
    }

    fn respond(stream: &mut SpeechStream<Echo>, id: u32, status: u16, body: &[u8]) -> Vec<Out> {
        let mut out = stream.handle(Input::Head { id, status, headers: Vec::new() });
        for byte in body {
            out.extend(stream.handle(Input::Body { id, bytes: vec![*byte] }));
        }
        out.extend(stream.handle(Input::BodyEnd(id)));
        out
    }

    fn audio(pcm: &[u8]) -> Out {
        Out::Emit(SpeechEvent::Audio { pcm: pcm.to_vec(), sample_rate: 8_000 })
    }

    #[test]
    fn flushes_are_spoken_in_order_in_whole_samples() {
        let mut stream = stream(100);
        assert!(stream.handle(Input::Other).is_empty());
        assert!(stream.handle(Input::Text("One. ".into())).is_empty());
        assert_eq!(stream.handle(Input::Flush), [Out::Request(1, "One.".into())]);
        stream.handle(Input::Text("Two.".into()));
        assert!(stream.handle(Input::Flush).is_empty());
        assert!(stream.handle(Input::End).is_empty());
        assert_eq!(
            respond(&mut stream, 1, 200, &[1, 2, 3]),
            [audio(&[1, 2]), Out::Emit(SpeechEvent::Flushed), Out::Request(2, "Two.".into())]
        );
        assert_eq!(
            respond(&mut stream, 2, 200, &[4, 5]),
            [audio(&[4, 5]), Out::Emit(SpeechEvent::Flushed), Out::Finish]
        );
        assert!(stream.handle(Input::Text("late".into())).is_empty());
    }

    #[test]
    fn long_text_is_split_and_flushed_after_the_last_piece() {
        let mut stream = stream(10);
        stream.handle(Input::Text("aaaa bbbb cccc".into()));
        assert_eq!(stream.handle(Input::Flush), [Out::Request(1, "aaaa bbbb".into())]);
        assert_eq!(respond(&mut stream, 1, 200, &[]), [Out::Request(2, "cccc".into())]);
        assert_eq!(respond(&mut stream, 2, 200, &[]), [Out::Emit(SpeechEvent::Flushed)]);
    }

    #[test]
    fn empty_flush_answers_without_a_request() {
        let mut stream = stream(10);
        stream.handle(Input::Text(" ".into()));
        assert_eq!(stream.handle(Input::Flush), [Out::Emit(SpeechEvent::Flushed)]);
        assert_eq!(stream.handle(Input::End), [Out::Finish]);
    }

    #[test]
    fn error_responses_fail_the_stream() {
        let mut stream = stream(10);
        stream.handle(Input::Text("Hi.".into()));
        stream.handle(Input::Flush);
        let failure = Failure::new(ErrorClass::Unavailable, "prov returned HTTP 503: down");
        assert_eq!(respond(&mut stream, 1, 503, b"down"), [Out::Fail(failure)]);
        assert!(stream.handle(Input::End).is_empty());
    }
}
