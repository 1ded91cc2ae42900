//! One HTTP request whose response is a stream of server-sent events: the shape of every
//! streamed chat completion.
//!
//! [`SseRequest`] sends the request on `start` and reads its response. A non-2xx head makes the
//! body an error document, collected until it ends; a 2xx body goes to an [`SseParser`], wherever
//! the network cut it, and each event to the provider's [`SseReply`]. The stream finishes or
//! fails exactly once; after that every input is ignored. What the events mean, when the reply is
//! whole and which error a failed response is, the provider says through [`SseReply`].
//!
//! Like [`SerialRequests`](crate::requests::SerialRequests), it reads the kit's [`Input`] and
//! returns [`Output`]s; each adapter converts those to and from its contract types. `start` is
//! its own call because the kit's [`Input`] has no `start`.

use crate::error_body::ErrorCollector;
use crate::failure::Failure;
use crate::requests::{Input, Output};
use crate::response::ResponseBody;
use crate::sse::{SseEvent, SseParser};

/// The id of the stream's only request.
pub const REQUEST_ID: u32 = 1;

/// What an event did to the reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// More is coming.
    Continue,
    /// The reply is whole: it is completed now and the rest of the body is ignored.
    Complete,
}

/// How the body of a successful response is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// Server-sent events, the answer to a streaming request.
    Events,
    /// Anything else, read by [`SseReply::document`] (a server that ignored the request to
    /// stream and answered with one JSON document).
    Document,
}

/// The provider-specific half of an [`SseRequest`]: what its events mean.
pub trait SseReply {
    /// What the reply emits.
    type Event;
    /// The stream's error; protocol errors (an oversized event, a body without a head) are built
    /// from [`Failure`]s.
    type Error: From<Failure>;

    /// A 2xx head arrived with these (name, value) headers: how to read its body.
    fn head(&mut self, headers: &[(String, String)]) -> Body {
        let _ = headers;
        Body::Events
    }

    /// One event of the body, in order.
    fn event(&mut self, event: SseEvent, out: &mut Vec<Self::Event>) -> Result<Flow, Self::Error>;

    /// The body ended before an event completed the reply: `Ok` when the reply is whole anyway
    /// (it is then completed), else why it is not.
    fn ended(&mut self) -> Result<(), Self::Error>;

    /// The reply is whole: its closing events. The stream finishes after them.
    fn complete(&mut self, out: &mut Vec<Self::Event>) -> Result<(), Self::Error>;

    /// A non-2xx response is complete, its body collected: the error it reports.
    fn failed(&mut self, response: ErrorCollector) -> Self::Error;

    /// A chunk of a [`Body::Document`].
    fn document(&mut self, bytes: &[u8]) -> Result<(), Self::Error> {
        let _ = bytes;
        Ok(())
    }

    /// A [`Body::Document`] is complete; the reply is completed after it.
    fn document_end(&mut self, out: &mut Vec<Self::Event>) -> Result<(), Self::Error> {
        let _ = out;
        Ok(())
    }
}

/// The outputs of an [`SseRequest`] sending `Q` and read by `R`.
pub type Outputs<Q, R> = Vec<Output<Q, <R as SseReply>::Event, <R as SseReply>::Error>>;

/// One request and its streamed response.
#[derive(Debug)]
pub struct SseRequest<Q, R> {
    phase: Phase<Q>,
    reply: R,
}

#[derive(Debug)]
enum Phase<Q> {
    /// Not started.
    Idle(Q),
    AwaitingHead,
    Events(SseParser),
    Document,
    Failed(ErrorCollector),
    /// Finished or failed.
    Done,
}

impl<Q, R: SseReply> SseRequest<Q, R> {
    /// A stream that sends `request` on `start` and reads the response with `reply`.
    pub fn new(request: Q, reply: R) -> Self {
        SseRequest { phase: Phase::Idle(request), reply }
    }

    /// Sends the request, once.
    pub fn start(&mut self) -> Outputs<Q, R> {
        match std::mem::replace(&mut self.phase, Phase::AwaitingHead) {
            Phase::Idle(request) => vec![Output::Request(REQUEST_ID, request)],
            phase => {
                self.phase = phase;
                Vec::new()
            }
        }
    }

    /// Reads a response input for the request; any other input is ignored.
    pub fn response(&mut self, input: Input) -> Outputs<Q, R> {
        let mut events = Vec::new();
        let result = match input {
            Input::Head { id: REQUEST_ID, status, headers } => {
                self.on_head(status, &headers);
                Ok(Flow::Continue)
            }
            Input::Body { id: REQUEST_ID, bytes } => self.on_body(&bytes, &mut events),
            Input::BodyEnd(REQUEST_ID) => self.on_end(&mut events),
            _ => Ok(Flow::Continue),
        };
        let mut out: Outputs<Q, R> = events.into_iter().map(Output::Emit).collect();
        match result {
            Ok(Flow::Continue) => {}
            Ok(Flow::Complete) => out.push(Output::Finish),
            Err(error) => {
                self.phase = Phase::Done;
                out.push(Output::Fail(error));
            }
        }
        out
    }

    fn on_head(&mut self, status: u16, headers: &[(String, String)]) {
        if !matches!(self.phase, Phase::AwaitingHead) {
            return;
        }
        self.phase = match ResponseBody::for_head(status, headers.iter().map(|(n, v)| (n.as_str(), v.as_str()))) {
            ResponseBody::Failed(collector) => Phase::Failed(collector),
            _ => match self.reply.head(headers) {
                Body::Events => Phase::Events(SseParser::new()),
                Body::Document => Phase::Document,
            },
        };
    }

    fn on_body(&mut self, bytes: &[u8], out: &mut Vec<R::Event>) -> Result<Flow, R::Error> {
        match &mut self.phase {
            Phase::Events(parser) => {
                for event in parser.push(bytes).map_err(|e| Failure::protocol(e.to_string()))? {
                    if let Flow::Complete = self.reply.event(event, out)? {
                        return self.complete(out);
                    }
                }
            }
            Phase::Document => self.reply.document(bytes)?,
            Phase::Failed(collector) => collector.push(bytes),
            Phase::Idle(_) | Phase::AwaitingHead | Phase::Done => {}
        }
        Ok(Flow::Continue)
    }

    fn on_end(&mut self, out: &mut Vec<R::Event>) -> Result<Flow, R::Error> {
        match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Events(mut parser) => {
                // A last event the server did not close with a blank line still counts.
                if let Some(event) = parser.finish().map_err(|e| Failure::protocol(e.to_string()))?
                    && let Flow::Complete = self.reply.event(event, out)?
                {
                    return self.complete(out);
                }
                self.reply.ended()?;
                self.complete(out)
            }
            Phase::Document => {
                self.reply.document_end(out)?;
                self.complete(out)
            }
            Phase::Failed(collector) => Err(self.reply.failed(collector)),
            Phase::AwaitingHead => Err(Failure::protocol("the response ended before its head arrived").into()),
            phase @ (Phase::Idle(_) | Phase::Done) => {
                self.phase = phase;
                Ok(Flow::Continue)
            }
        }
    }

    fn complete(&mut self, out: &mut Vec<R::Event>) -> Result<Flow, R::Error> {
        self.phase = Phase::Done;
        self.reply.complete(out)?;
        Ok(Flow::Complete)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::{self, CHUNK_SIZES};
    use crate::sse::{DEFAULT_MAX_EVENT_BYTES, SseError};
    use crate::status::ErrorClass;

    /// Each event's data is a word: `done` completes the reply, `last` makes it whole without
    /// completing it, `bad` is malformed; any other word is emitted. A JSON body is a document.
    #[derive(Debug, Default)]
    struct Words {
        whole: bool,
        document: Vec<u8>,
    }

    impl SseReply for Words {
        type Event = String;
        type Error = Failure;

        fn head(&mut self, headers: &[(String, String)]) -> Body {
            if headers.iter().any(|(name, value)| name == "content-type" && value == "application/json") {
                Body::Document
            } else {
                Body::Events
            }
        }

        fn event(&mut self, event: SseEvent, out: &mut Vec<String>) -> Result<Flow, Failure> {
            match event.data.as_str() {
                "done" => return Ok(Flow::Complete),
                "last" => self.whole = true,
                "bad" => return Err(Failure::protocol("bad word")),
                word => out.push(word.to_string()),
            }
            Ok(Flow::Continue)
        }

        fn ended(&mut self) -> Result<(), Failure> {
            if self.whole { Ok(()) } else { Err(Failure::protocol("cut")) }
        }

        fn complete(&mut self, out: &mut Vec<String>) -> Result<(), Failure> {
            out.push("complete".into());
            Ok(())
        }

        fn failed(&mut self, response: ErrorCollector) -> Failure {
            Failure::http(response.finish(), "prov")
        }

        fn document(&mut self, bytes: &[u8]) -> Result<(), Failure> {
            self.document.extend_from_slice(bytes);
            Ok(())
        }

        fn document_end(&mut self, out: &mut Vec<String>) -> Result<(), Failure> {
            out.push(String::from_utf8_lossy(&self.document).into_owned());
            Ok(())
        }
    }

    type Out = Output<&'static str, String, Failure>;

    fn emit(word: &str) -> Out {
        Out::Emit(word.into())
    }

    fn started() -> SseRequest<&'static str, Words> {
        let mut stream = SseRequest::new("request", Words::default());
        assert_eq!(stream.start(), [Out::Request(REQUEST_ID, "request")]);
        stream
    }

    fn head(status: u16, headers: &[(&str, &str)]) -> Input {
        let headers = headers.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect();
        Input::Head { id: REQUEST_ID, status, headers }
    }

    fn body(bytes: &[u8]) -> Input {
        Input::Body { id: REQUEST_ID, bytes: bytes.to_vec() }
    }

    /// Replays one response at every chunk size; the outputs must not depend on where the body
    /// was cut, and nothing may follow the end.
    fn replay(status: u16, headers: &[(&str, &str)], bytes: &[u8]) -> Vec<Out> {
        let mut seen: Option<Vec<Out>> = None;
        for &size in CHUNK_SIZES {
            let mut stream = started();
            let (head, end) = (head(status, headers), Input::BodyEnd(REQUEST_ID));
            let got = replay::respond(|input| stream.response(input), head, bytes, size, |b| body(&b), end);
            assert_eq!(stream.response(Input::BodyEnd(REQUEST_ID)), [], "input after the end must be ignored");
            match &seen {
                Some(seen) => assert_eq!(&got, seen, "chunk size {size}"),
                None => seen = Some(got),
            }
        }
        seen.unwrap_or_default()
    }

    #[test]
    fn the_request_is_sent_once() {
        let mut stream = started();
        assert_eq!(stream.start(), []);
    }

    #[test]
    fn events_are_read_in_order_until_the_reply_completes() {
        let bytes = "data: héllo\r\n\r\n: comment\n\ndata: world\n\ndata: done\n\ndata: ignored\n\n";
        assert_eq!(replay(200, &[], bytes.as_bytes()), [emit("héllo"), emit("world"), emit("complete"), Out::Finish]);
    }

    #[test]
    fn a_last_event_without_its_blank_line_still_counts() {
        assert_eq!(replay(200, &[], b"data: a\n\ndata: done"), [emit("a"), emit("complete"), Out::Finish]);
    }

    #[test]
    fn the_reply_decides_whether_a_body_that_ends_uncompleted_is_whole() {
        assert_eq!(replay(200, &[], b"data: a\n\ndata: last\n\n"), [emit("a"), emit("complete"), Out::Finish]);
        assert_eq!(replay(200, &[], b"data: a\n\n"), [emit("a"), Out::Fail(Failure::protocol("cut"))]);
    }

    #[test]
    fn a_reply_error_fails_the_stream_after_the_events_before_it() {
        let mut stream = started();
        stream.response(head(200, &[]));
        assert_eq!(
            stream.response(body(b"data: a\n\ndata: bad\n\ndata: b\n\n")),
            [emit("a"), Out::Fail(Failure::protocol("bad word"))]
        );
        assert_eq!(stream.response(body(b"data: c\n\n")), []);
        assert_eq!(stream.response(Input::BodyEnd(REQUEST_ID)), []);
    }

    #[test]
    fn failed_responses_are_collected_whole_and_read_by_the_reply() {
        assert_eq!(
            replay(429, &[("Retry-After", "2")], br#"{"error":{"message":"Slow down"}}"#),
            [Out::Fail(Failure::Classified {
                class: ErrorClass::RateLimited,
                message: "prov returned HTTP 429: Slow down".into(),
                retry_after_ms: Some(2000),
            })]
        );
        // An error body is never read as events, whatever it looks like.
        assert_eq!(
            replay(503, &[], b"data: done\n\n"),
            [Out::Fail(Failure::new(ErrorClass::Unavailable, "prov returned HTTP 503: data: done"))]
        );
    }

    #[test]
    fn a_document_body_is_read_whole_then_completed() {
        let document = br#"{"words": ["a", "b"]}"#;
        assert_eq!(
            replay(200, &[("content-type", "application/json")], document),
            [emit(r#"{"words": ["a", "b"]}"#), emit("complete"), Out::Finish]
        );
    }

    #[test]
    fn a_body_that_ends_before_its_head_is_a_protocol_error() {
        let mut stream = started();
        assert_eq!(stream.response(body(b"data: a\n\n")), []);
        assert_eq!(
            stream.response(Input::BodyEnd(REQUEST_ID)),
            [Out::Fail(Failure::protocol("the response ended before its head arrived"))]
        );
    }

    #[test]
    fn an_oversized_event_is_a_protocol_error() {
        let mut stream = started();
        stream.response(head(200, &[]));
        let mut bytes = b"data: ".to_vec();
        bytes.resize(DEFAULT_MAX_EVENT_BYTES + 1, b'x');
        let too_large = SseError::EventTooLarge { limit: DEFAULT_MAX_EVENT_BYTES }.to_string();
        assert_eq!(stream.response(body(&bytes)), [Out::Fail(Failure::protocol(too_large))]);
    }

    #[test]
    fn other_requests_other_inputs_and_inputs_out_of_turn_are_ignored() {
        let mut stream = SseRequest::new("request", Words::default());
        assert_eq!(stream.response(head(200, &[])), []);
        assert_eq!(stream.response(Input::BodyEnd(REQUEST_ID)), []);
        assert_eq!(stream.start(), [Out::Request(REQUEST_ID, "request")]);
        stream.response(head(200, &[]));
        assert_eq!(stream.response(head(500, &[])), [], "a second head changes nothing");
        assert_eq!(stream.response(Input::Body { id: 2, bytes: b"data: done\n\n".to_vec() }), []);
        assert_eq!(stream.response(Input::BodyEnd(2)), []);
        assert_eq!(stream.response(Input::Text("t".into())), []);
        assert_eq!(stream.response(Input::Other), []);
        assert_eq!(stream.response(body(b"data: done\n\n")), [emit("complete"), Out::Finish]);
        assert_eq!(stream.response(body(b"data: a\n\n")), []);
        assert_eq!(stream.start(), []);
    }
}
