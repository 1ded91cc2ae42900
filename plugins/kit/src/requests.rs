//! Request-per-job streams: REST text-to-speech, batch speech-to-text.
//!
//! Such a stream buffers its input into jobs and sends one HTTP request per job, one at a time in
//! submission order ([`SerialQueue`]); each response is either the payload or an error document.
//! [`SerialRequests`] does all of that. A stream supplies the provider-specific parts through
//! [`Jobs`] (build a job's request, read its payload) and decides when to submit.
//!
//! The streams read the kit's [`Input`] and return [`Output`]s; each adapter converts its generated
//! `input` into the first and the second into its generated `action` in one place.

use crate::failure::Failure;
use crate::queue::{SerialQueue, Step};
use crate::response::ResponseBody;

/// A host input, as a request-per-job stream reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A chunk of text to speak.
    Text(String),
    /// One frame of 16-bit mono PCM.
    Audio(Vec<i16>),
    /// Send what was given so far.
    Flush,
    /// No more input will come; finish what is pending.
    End,
    /// The response head of a request.
    Head {
        /// The request id.
        id: u32,
        /// The response status.
        status: u16,
        /// The response headers as (name, value) pairs, in order.
        headers: Vec<(String, String)>,
    },
    /// A piece of the response body of a request.
    Body {
        /// The request id.
        id: u32,
        /// The bytes, as they arrived.
        bytes: Vec<u8>,
    },
    /// The response body of the request with this id is complete.
    BodyEnd(u32),
    /// Any other input (`start`, WebSocket inputs, timers); request-per-job streams ignore it.
    Other,
}

/// What a request-per-job stream asks of the host: `R` is the adapter's HTTP request, `V` the
/// event type and `E` the error type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output<R, V, E> {
    /// Send this HTTP request under this id.
    Request(u32, R),
    /// Deliver this event.
    Emit(V),
    /// The stream is complete; nothing follows.
    Finish,
    /// The stream failed; nothing follows.
    Fail(E),
}

/// The outputs of a stream whose jobs are described by `J`.
pub type Outputs<J> = Vec<Output<<J as Jobs>::Request, <J as Jobs>::Event, <J as Jobs>::Error>>;

/// The provider-specific half of a request-per-job stream.
pub trait Jobs {
    /// What one request carries (a piece of text, an utterance).
    type Job;
    /// The adapter's HTTP request.
    type Request;
    /// The events a payload turns into.
    type Event;
    /// The stream's error; failed responses and protocol errors are built from [`Failure`]s.
    type Error: From<Failure>;

    /// The request for `job`, which is now in flight. It may move the job's payload into the
    /// request; the queue keeps the job until its response is complete.
    fn request(&mut self, job: &mut Self::Job) -> Self::Request;

    /// A response head arrived for the request in flight.
    fn head(&mut self) {}

    /// A chunk of a successful (2xx) response body.
    fn body(&mut self, bytes: &[u8]) -> Result<Option<Self::Event>, Self::Error>;

    /// The successful response to `job` is complete.
    fn end(&mut self, job: &Self::Job) -> Result<Option<Self::Event>, Self::Error>;

    /// A submission is complete, in submission order: a job whose response ended, or (`None`) a
    /// marker that needed no request.
    fn done(&mut self, job: Option<Self::Job>) -> Option<Self::Event> {
        let _ = job;
        None
    }
}

/// Runs the requests of a request-per-job stream one at a time and reads their responses.
///
/// A failed response (non-2xx, or a body that ends before its head) fails the stream; so does an
/// error from [`Jobs`]. After `Finish` or `Fail`, every call returns nothing.
#[derive(Debug)]
pub struct SerialRequests<J: Jobs> {
    jobs: J,
    queue: SerialQueue<J::Job>,
    body: ResponseBody,
    provider: &'static str,
    what: &'static str,
    done: bool,
}

impl<J: Jobs> SerialRequests<J> {
    /// A stream over `jobs`. `provider` names the provider in HTTP error messages and `what` the
    /// responses in protocol errors (`speech`, `transcription`).
    pub fn new(provider: &'static str, what: &'static str, jobs: J) -> Self {
        SerialRequests {
            jobs,
            queue: SerialQueue::new(),
            body: ResponseBody::AwaitingHead,
            provider,
            what,
            done: false,
        }
    }

    /// The provider-specific half.
    pub fn jobs(&self) -> &J {
        &self.jobs
    }

    /// True once the stream finished or failed.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Queues jobs in order (`None`: a marker that completes in order without a request) and
    /// starts the first request if none is in flight.
    pub fn submit(&mut self, jobs: impl IntoIterator<Item = Option<J::Job>>) -> Outputs<J> {
        if self.done {
            return Vec::new();
        }
        let mut steps = Vec::new();
        for job in jobs {
            steps.extend(self.queue.submit(job));
        }
        self.run(steps)
    }

    /// No more submissions; `Finish` comes once everything queued is done.
    pub fn end(&mut self) -> Outputs<J> {
        if self.done {
            return Vec::new();
        }
        let steps = self.queue.end();
        self.run(steps)
    }

    /// Reads a response input for the request in flight; any other input is ignored.
    pub fn response(&mut self, input: Input) -> Outputs<J> {
        if self.done {
            return Vec::new();
        }
        let in_flight = self.queue.in_flight_id();
        let result = match input {
            Input::Head { id, status, headers } if Some(id) == in_flight => {
                self.body = ResponseBody::for_head(status, headers.iter().map(|(n, v)| (n.as_str(), v.as_str())));
                self.jobs.head();
                Ok(Vec::new())
            }
            Input::Body { id, bytes } if Some(id) == in_flight => self.on_body(&bytes),
            Input::BodyEnd(id) if Some(id) == in_flight => self.on_end(id),
            _ => Ok(Vec::new()),
        };
        result.unwrap_or_else(|error| {
            self.done = true;
            vec![Output::Fail(error)]
        })
    }

    fn on_body(&mut self, bytes: &[u8]) -> Result<Outputs<J>, J::Error> {
        match &mut self.body {
            ResponseBody::Payload => Ok(self.jobs.body(bytes)?.map(Output::Emit).into_iter().collect()),
            ResponseBody::Failed(collector) => {
                collector.push(bytes);
                Ok(Vec::new())
            }
            ResponseBody::AwaitingHead => Ok(Vec::new()),
        }
    }

    fn on_end(&mut self, id: u32) -> Result<Outputs<J>, J::Error> {
        match std::mem::replace(&mut self.body, ResponseBody::AwaitingHead) {
            ResponseBody::Failed(collector) => Err(Failure::http(collector.finish(), self.provider).into()),
            ResponseBody::AwaitingHead => {
                Err(Failure::protocol(format!("the {} response ended before its head arrived", self.what)).into())
            }
            ResponseBody::Payload => {
                let Some(job) = self.queue.in_flight_job() else {
                    return Ok(Vec::new());
                };
                let mut out: Outputs<J> = self.jobs.end(job)?.map(Output::Emit).into_iter().collect();
                let steps = self.queue.complete(id);
                out.extend(self.run(steps));
                Ok(out)
            }
        }
    }

    fn run(&mut self, steps: Vec<Step<J::Job>>) -> Outputs<J> {
        let mut out = Vec::new();
        for step in steps {
            match step {
                Step::Start { id } => {
                    if let Some(job) = self.queue.in_flight_job_mut() {
                        out.push(Output::Request(id, self.jobs.request(job)));
                        self.body = ResponseBody::AwaitingHead;
                    }
                }
                Step::Done(job) => out.extend(self.jobs.done(job).map(Output::Emit)),
                Step::Finish => {
                    self.done = true;
                    out.push(Output::Finish);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::ErrorClass;

    /// Jobs are words; a request is the word, a payload is collected and emitted at the end.
    #[derive(Debug, Default)]
    struct Words {
        heads: usize,
        payload: Vec<u8>,
    }

    impl Jobs for Words {
        type Job = String;
        type Request = String;
        type Event = String;
        type Error = Failure;

        fn request(&mut self, job: &mut String) -> String {
            format!("say {job}")
        }

        fn head(&mut self) {
            self.heads += 1;
            self.payload.clear();
        }

        fn body(&mut self, bytes: &[u8]) -> Result<Option<String>, Failure> {
            if bytes == b"!" {
                return Err(Failure::protocol("bang"));
            }
            self.payload.extend_from_slice(bytes);
            Ok(None)
        }

        fn end(&mut self, job: &String) -> Result<Option<String>, Failure> {
            Ok(Some(format!("{job}={}", String::from_utf8_lossy(&std::mem::take(&mut self.payload)))))
        }

        fn done(&mut self, job: Option<String>) -> Option<String> {
            job.is_none().then(|| "marker".to_string())
        }
    }

    type Out = Output<String, String, Failure>;

    fn stream() -> SerialRequests<Words> {
        SerialRequests::new("prov", "word", Words::default())
    }

    fn head(id: u32, status: u16) -> Input {
        Input::Head { id, status, headers: vec![("Retry-After".into(), "2".into())] }
    }

    fn body(id: u32, bytes: &[u8]) -> Input {
        Input::Body { id, bytes: bytes.to_vec() }
    }

    #[test]
    fn requests_run_in_order_and_payloads_become_events() {
        let mut stream = stream();
        assert_eq!(stream.submit([Some("a".into()), None, Some("b".into())]), [Out::Request(1, "say a".into())]);
        assert_eq!(stream.end(), []);
        assert_eq!(stream.response(head(1, 200)), []);
        assert_eq!(stream.response(body(1, b"x")), []);
        assert_eq!(stream.response(body(2, b"ignored: not in flight")), []);
        assert_eq!(
            stream.response(Input::BodyEnd(1)),
            [Out::Emit("a=x".into()), Out::Emit("marker".into()), Out::Request(2, "say b".into())]
        );
        stream.response(head(2, 200));
        assert_eq!(stream.response(Input::BodyEnd(2)), [Out::Emit("b=".into()), Out::Finish]);
        assert!(stream.is_done());
        assert_eq!(stream.jobs().heads, 2);
        assert_eq!(stream.submit([None]), []);
    }

    #[test]
    fn failed_responses_fail_the_stream() {
        let mut stream = stream();
        stream.submit([Some("a".into())]);
        stream.response(head(1, 429));
        assert_eq!(stream.response(body(1, br#"{"error":"slow"}"#)), []);
        assert_eq!(
            stream.response(Input::BodyEnd(1)),
            [Out::Fail(Failure::Classified {
                class: ErrorClass::RateLimited,
                message: "prov returned HTTP 429: slow".into(),
                retry_after_ms: Some(2000),
            })]
        );
        assert!(stream.is_done());
        assert_eq!(stream.end(), []);
    }

    #[test]
    fn a_body_without_a_head_and_job_errors_fail_the_stream() {
        let mut headless = stream();
        headless.submit([Some("a".into())]);
        assert_eq!(
            headless.response(Input::BodyEnd(1)),
            [Out::Fail(Failure::protocol("the word response ended before its head arrived"))]
        );

        let mut refused = stream();
        refused.submit([Some("a".into())]);
        refused.response(head(1, 200));
        assert_eq!(refused.response(body(1, b"!")), [Out::Fail(Failure::protocol("bang"))]);
        assert_eq!(refused.response(Input::BodyEnd(1)), []);
    }

    #[test]
    fn other_inputs_are_ignored() {
        let mut stream = stream();
        assert_eq!(stream.response(Input::Other), []);
        assert_eq!(stream.response(Input::Text("t".into())), []);
        assert_eq!(stream.end(), [Out::Finish]);
    }
}
