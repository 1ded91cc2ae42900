//! One request at a time, in submission order.
//!
//! Speech must come out in the order it was written and transcripts in the order the audio was
//! spoken, so request-per-flush adapters (REST text-to-speech, batch speech-to-text) send the next
//! request only when the previous one is done. The queue also decides when an ended stream is
//! finished: after the last job, exactly once.

use std::collections::VecDeque;

/// What the adapter must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step<J> {
    /// Send the request for the job now in flight ([`SerialQueue::in_flight_job`]) under this
    /// request id. The queue keeps the job, so it is never copied.
    Start {
        /// Request id for the host's `http-request` action.
        id: u32,
    },
    /// A submission is complete: a finished job, or a marker (`None`) that needed no request,
    /// in submission order.
    Done(Option<J>),
    /// The stream ended and nothing is left: the adapter finishes.
    Finish,
}

#[derive(Debug)]
struct InFlight<J> {
    id: u32,
    job: J,
}

/// Serial request queue. `J` is whatever the adapter needs to build a request and to react when
/// it completes.
#[derive(Debug)]
pub struct SerialQueue<J> {
    pending: VecDeque<Option<J>>,
    in_flight: Option<InFlight<J>>,
    next_id: u32,
    ended: bool,
    finished: bool,
}

impl<J> Default for SerialQueue<J> {
    fn default() -> Self {
        Self::new()
    }
}

impl<J> SerialQueue<J> {
    /// An empty queue; request ids start at 1.
    pub fn new() -> Self {
        SerialQueue { pending: VecDeque::new(), in_flight: None, next_id: 1, ended: false, finished: false }
    }

    /// Adds a job, or with `None` a marker that completes in order without a request.
    pub fn submit(&mut self, job: Option<J>) -> Vec<Step<J>> {
        if self.ended {
            return Vec::new();
        }
        self.pending.push_back(job);
        self.advance()
    }

    /// No more submissions; `Finish` comes once everything queued is done.
    pub fn end(&mut self) -> Vec<Step<J>> {
        self.ended = true;
        self.advance()
    }

    /// The request with this id completed successfully. Unknown ids are ignored.
    pub fn complete(&mut self, id: u32) -> Vec<Step<J>> {
        match self.in_flight.take() {
            Some(flight) if flight.id == id => {
                let mut steps = vec![Step::Done(Some(flight.job))];
                steps.extend(self.advance());
                steps
            }
            other => {
                self.in_flight = other;
                Vec::new()
            }
        }
    }

    /// The id of the request being waited for.
    pub fn in_flight_id(&self) -> Option<u32> {
        self.in_flight.as_ref().map(|f| f.id)
    }

    /// The job being waited for.
    pub fn in_flight_job(&self) -> Option<&J> {
        self.in_flight.as_ref().map(|f| &f.job)
    }

    /// The job being waited for, mutably: an adapter may move its payload into the request.
    pub fn in_flight_job_mut(&mut self) -> Option<&mut J> {
        self.in_flight.as_mut().map(|f| &mut f.job)
    }

    /// True once `Finish` has been returned.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    fn advance(&mut self) -> Vec<Step<J>> {
        let mut steps = Vec::new();
        while self.in_flight.is_none() {
            match self.pending.pop_front() {
                Some(Some(job)) => {
                    let id = self.next_id;
                    self.next_id = self.next_id.wrapping_add(1).max(1);
                    self.in_flight = Some(InFlight { id, job });
                    steps.push(Step::Start { id });
                }
                Some(None) => steps.push(Step::Done(None)),
                None => break,
            }
        }
        if self.ended && self.in_flight.is_none() && !self.finished {
            self.finished = true;
            steps.push(Step::Finish);
        }
        steps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_one_job_at_a_time_in_order() {
        let mut queue = SerialQueue::new();
        assert_eq!(queue.submit(Some("a")), [Step::Start { id: 1 }]);
        assert_eq!(queue.in_flight_job(), Some(&"a"));
        assert_eq!(queue.submit(Some("b")), []);
        assert_eq!(queue.submit(None), []);
        assert_eq!(queue.submit(Some("c")), []);
        assert_eq!(queue.in_flight_id(), Some(1));
        assert_eq!(queue.complete(1), [Step::Done(Some("a")), Step::Start { id: 2 }]);
        assert_eq!(queue.complete(2), [Step::Done(Some("b")), Step::Done(None), Step::Start { id: 3 }]);
        assert_eq!(queue.end(), []);
        assert_eq!(queue.complete(3), [Step::Done(Some("c")), Step::Finish]);
        assert!(queue.is_finished());
        assert_eq!(queue.end(), []);
    }

    #[test]
    fn markers_complete_immediately_when_idle() {
        let mut queue: SerialQueue<&str> = SerialQueue::new();
        assert_eq!(queue.submit(None), [Step::Done(None)]);
        assert_eq!(queue.end(), [Step::Finish]);
    }

    #[test]
    fn unknown_completion_is_ignored() {
        let mut queue = SerialQueue::new();
        queue.submit(Some(1));
        assert_eq!(queue.complete(9), []);
        assert_eq!(queue.in_flight_job(), Some(&1));
    }

    #[test]
    fn submissions_after_end_are_dropped() {
        let mut queue = SerialQueue::new();
        assert_eq!(queue.end(), [Step::Finish]);
        assert_eq!(queue.submit(Some(1)), []);
    }
}
