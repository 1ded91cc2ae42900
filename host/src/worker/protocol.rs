//! The worker's side of `/agent` as a state machine: no sockets, no clock. The connection
//! feeds it what the server says and a tick every [`WorkerOptions::update_interval`]; it
//! answers with messages to send and jobs to start or stop.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use livekit_protocol as proto;
use proto::server_message::Message as FromServer;
use proto::worker_message::Message as ToServer;

/// The agent name the product dispatches to.
pub const AGENT_NAME: &str = "voiceblox";

#[derive(Debug, Clone, PartialEq)]
pub struct WorkerOptions {
    pub agent_name: String,
    pub version: String,
    /// Jobs this worker runs at once; beyond it the worker reports itself full.
    pub max_jobs: u32,
    /// How often load is reported (LiveKit's workers: 2.5 s).
    pub update_interval: Duration,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            agent_name: AGENT_NAME.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            max_jobs: 100,
            update_interval: Duration::from_millis(2500),
        }
    }
}

/// What the connection must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Send(Box<proto::WorkerMessage>),
    /// Join `job`'s room with `token` (at `url`, or our own LiveKit URL when `None`).
    StartJob {
        job: Box<proto::Job>,
        token: String,
        url: Option<String>,
    },
    /// Leave the job's room and end its session.
    StopJob {
        job_id: String,
    },
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    #[error("the server sent {0} before confirming registration")]
    NotRegistered(&'static str),
    #[error("the server sent an empty message")]
    Empty,
}

#[derive(Debug)]
pub struct WorkerProtocol {
    options: WorkerOptions,
    worker_id: Option<String>,
    /// Accepted in an availability answer, not yet assigned.
    promised: HashSet<String>,
    /// Assigned and running.
    running: HashMap<String, JobPhase>,
    draining: bool,
    seq: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JobPhase {
    Starting,
    Running,
}

impl WorkerProtocol {
    pub fn new(options: WorkerOptions) -> Self {
        Self { options, worker_id: None, promised: HashSet::new(), running: HashMap::new(), draining: false, seq: 0 }
    }

    /// The id the server gave this worker, once registered.
    pub fn worker_id(&self) -> Option<&str> {
        self.worker_id.as_deref()
    }

    pub fn job_count(&self) -> usize {
        self.running.len()
    }

    pub fn is_draining(&self) -> bool {
        self.draining
    }

    /// A (new) connection is open: register. Jobs from before a reconnect keep running.
    pub fn connected(&mut self) -> Vec<Command> {
        self.worker_id = None;
        self.promised.clear();
        let register = proto::RegisterWorkerRequest {
            r#type: proto::JobType::JtRoom as i32,
            agent_name: self.options.agent_name.clone(),
            version: self.options.version.clone(),
            allowed_permissions: Some(agent_permissions()),
            ..Default::default()
        };
        vec![send(ToServer::Register(register))]
    }

    /// A message from the server.
    pub fn on_message(&mut self, message: proto::ServerMessage) -> Result<Vec<Command>, ProtocolError> {
        let message = message.message.ok_or(ProtocolError::Empty)?;
        if self.worker_id.is_none() && !matches!(message, FromServer::Register(_) | FromServer::Pong(_)) {
            return Err(ProtocolError::NotRegistered(name(&message)));
        }
        Ok(match message {
            FromServer::Register(registered) => {
                tracing::info!(worker_id = %registered.worker_id, "registered with LiveKit");
                self.worker_id = Some(registered.worker_id);
                // The server learns the current load at once, jobs kept across a reconnect
                // included, and each of those jobs is reported running again: this connection's
                // server-side worker has never heard of them.
                let mut commands = vec![self.status()];
                let mut kept: Vec<&String> =
                    self.running.iter().filter(|(_, phase)| **phase == JobPhase::Running).map(|(id, _)| id).collect();
                kept.sort();
                commands.extend(kept.into_iter().map(|id| self.job_status(id, proto::JobStatus::JsRunning, "")));
                commands
            }
            FromServer::Availability(request) => self.availability(request),
            FromServer::Assignment(assignment) => self.assignment(assignment),
            FromServer::Termination(termination) => {
                self.promised.remove(&termination.job_id);
                if self.running.contains_key(&termination.job_id) {
                    vec![Command::StopJob { job_id: termination.job_id }]
                } else {
                    Vec::new()
                }
            }
            FromServer::Pong(_) | FromServer::GoAway(_) => Vec::new(),
        })
    }

    fn availability(&mut self, request: proto::AvailabilityRequest) -> Vec<Command> {
        let Some(job) = request.job else { return Vec::new() };
        let wanted = job.agent_name.is_empty() || job.agent_name == self.options.agent_name;
        let available = wanted && !self.draining && self.has_room();
        if available {
            self.promised.insert(job.id.clone());
        }
        let answer = proto::AvailabilityResponse {
            job_id: job.id.clone(),
            available,
            participant_identity: format!("agent-{}", job.id),
            participant_name: self.options.agent_name.clone(),
            participant_attributes: HashMap::from([("lk.agent.state".to_string(), "initializing".to_string())]),
            ..Default::default()
        };
        let mut commands = vec![send(ToServer::Availability(answer))];
        if available && !self.has_room() {
            commands.push(self.status());
        }
        commands
    }

    fn assignment(&mut self, assignment: proto::JobAssignment) -> Vec<Command> {
        let Some(job) = assignment.job else { return Vec::new() };
        let promised = self.promised.remove(&job.id);
        if !promised && (self.draining || !self.has_room()) {
            // Never promised and no room for it: refuse rather than overload.
            return vec![self.job_status(&job.id, proto::JobStatus::JsFailed, "worker is full")];
        }
        if self.running.contains_key(&job.id) {
            return Vec::new();
        }
        self.running.insert(job.id.clone(), JobPhase::Starting);
        let url = assignment.url.filter(|u| !u.is_empty());
        vec![Command::StartJob { job: Box::new(job), token: assignment.token, url }]
    }

    /// The job's agent joined its room.
    pub fn job_running(&mut self, job_id: &str) -> Vec<Command> {
        match self.running.get_mut(job_id) {
            Some(phase) => {
                *phase = JobPhase::Running;
                vec![self.job_status(job_id, proto::JobStatus::JsRunning, "")]
            }
            None => Vec::new(),
        }
    }

    /// The job ended: success, or the reason it failed.
    pub fn job_ended(&mut self, job_id: &str, outcome: Result<(), String>) -> Vec<Command> {
        if self.running.remove(job_id).is_none() {
            return Vec::new();
        }
        let mut commands = vec![match outcome {
            Ok(()) => self.job_status(job_id, proto::JobStatus::JsSuccess, ""),
            Err(error) => self.job_status(job_id, proto::JobStatus::JsFailed, &error),
        }];
        commands.push(self.status());
        commands
    }

    /// The periodic load report.
    pub fn tick(&mut self) -> Vec<Command> {
        if self.worker_id.is_none() { Vec::new() } else { vec![self.status()] }
    }

    /// Stop taking jobs; running ones finish.
    pub fn drain(&mut self) -> Vec<Command> {
        self.draining = true;
        self.tick()
    }

    fn has_room(&self) -> bool {
        (self.running.len() + self.promised.len()) < self.options.max_jobs as usize
    }

    fn status(&mut self) -> Command {
        self.seq += 1;
        let jobs = self.running.len() as u32;
        let full = self.draining || !self.has_room();
        send(ToServer::UpdateWorker(proto::UpdateWorkerStatus {
            status: Some(if full { proto::WorkerStatus::WsFull } else { proto::WorkerStatus::WsAvailable } as i32),
            load: jobs as f32 / self.options.max_jobs.max(1) as f32,
            job_count: jobs,
            draining: self.draining,
            seq: self.seq,
        }))
    }

    fn job_status(&self, job_id: &str, status: proto::JobStatus, error: &str) -> Command {
        send(ToServer::UpdateJob(proto::UpdateJobStatus {
            job_id: job_id.to_string(),
            status: status as i32,
            error: error.to_string(),
        }))
    }
}

/// What the agent may do in its rooms. `agent` is deprecated in the protocol (participant
/// kinds replace it) but servers still read it from workers, as the official SDKs send it.
#[allow(deprecated)]
fn agent_permissions() -> proto::ParticipantPermission {
    proto::ParticipantPermission {
        can_subscribe: true,
        can_publish: true,
        can_publish_data: true,
        can_update_metadata: true,
        agent: true,
        ..Default::default()
    }
}

fn send(message: ToServer) -> Command {
    Command::Send(Box::new(proto::WorkerMessage { message: Some(message) }))
}

fn name(message: &FromServer) -> &'static str {
    match message {
        FromServer::Register(_) => "register",
        FromServer::Availability(_) => "availability",
        FromServer::Assignment(_) => "assignment",
        FromServer::Termination(_) => "termination",
        FromServer::Pong(_) => "pong",
        FromServer::GoAway(_) => "go_away",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(message: FromServer) -> proto::ServerMessage {
        proto::ServerMessage { message: Some(message) }
    }

    fn job(id: &str) -> proto::Job {
        proto::Job { id: id.into(), agent_name: AGENT_NAME.into(), ..Default::default() }
    }

    fn sent(commands: &[Command]) -> Vec<&ToServer> {
        commands
            .iter()
            .filter_map(|c| match c {
                Command::Send(m) => m.message.as_ref(),
                _ => None,
            })
            .collect()
    }

    fn registered(max_jobs: u32) -> WorkerProtocol {
        let mut worker = WorkerProtocol::new(WorkerOptions { max_jobs, ..Default::default() });
        let hello = worker.connected();
        let Some(ToServer::Register(register)) = sent(&hello).first().copied() else { panic!("{hello:?}") };
        assert_eq!(register.agent_name, "voiceblox");
        assert_eq!(register.r#type, proto::JobType::JtRoom as i32);
        assert_eq!(register.allowed_permissions, Some(agent_permissions()));
        assert!(register.allowed_permissions.as_ref().is_some_and(|p| p.can_publish && p.can_publish_data));
        let answer = worker
            .on_message(server(FromServer::Register(proto::RegisterWorkerResponse {
                worker_id: "W1".into(),
                ..Default::default()
            })))
            .unwrap();
        assert!(matches!(sent(&answer)[..], [ToServer::UpdateWorker(_)]));
        worker
    }

    fn assign(worker: &mut WorkerProtocol, id: &str) -> Vec<Command> {
        let assignment = proto::JobAssignment { job: Some(job(id)), url: None, token: "t".into() };
        worker.on_message(server(FromServer::Assignment(assignment))).unwrap()
    }

    fn offer(worker: &mut WorkerProtocol, id: &str) -> proto::AvailabilityResponse {
        let answer = worker
            .on_message(server(FromServer::Availability(proto::AvailabilityRequest {
                job: Some(job(id)),
                resuming: false,
            })))
            .unwrap();
        match sent(&answer)[0] {
            ToServer::Availability(a) => a.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_job_goes_from_availability_to_assignment_to_success() {
        let mut worker = registered(2);
        let answer = offer(&mut worker, "AJ_1");
        assert!(answer.available);
        assert_eq!(answer.participant_identity, "agent-AJ_1");
        let start = worker
            .on_message(server(FromServer::Assignment(proto::JobAssignment {
                job: Some(job("AJ_1")),
                url: Some(String::new()),
                token: "jwt".into(),
            })))
            .unwrap();
        assert!(
            matches!(&start[..], [Command::StartJob { job, token, url: None }] if job.id == "AJ_1" && token == "jwt")
        );
        let running = worker.job_running("AJ_1");
        assert!(
            matches!(sent(&running)[..], [ToServer::UpdateJob(u)] if u.status == proto::JobStatus::JsRunning as i32)
        );
        let tick = worker.tick();
        let [ToServer::UpdateWorker(status)] = sent(&tick)[..] else { panic!() };
        assert_eq!(
            (status.job_count, status.load, status.status),
            (1, 0.5, Some(proto::WorkerStatus::WsAvailable as i32))
        );
        let done = worker.job_ended("AJ_1", Err("config refused: steps[0]".into()));
        let [ToServer::UpdateJob(u), ToServer::UpdateWorker(_)] = sent(&done)[..] else { panic!("{done:?}") };
        assert_eq!((u.status, u.error.as_str()), (proto::JobStatus::JsFailed as i32, "config refused: steps[0]"));
        assert_eq!(worker.job_count(), 0);
    }

    #[test]
    fn a_full_worker_declines_and_reports_full() {
        let mut worker = registered(1);
        assert!(offer(&mut worker, "A").available);
        // The promise counts: a second offer before the assignment is declined.
        assert!(!offer(&mut worker, "B").available);
        let tick = worker.tick();
        let [ToServer::UpdateWorker(status)] = sent(&tick)[..] else { panic!() };
        assert_eq!(status.status, Some(proto::WorkerStatus::WsFull as i32));
        // An assignment nobody promised, while full, is failed rather than run.
        let refused = assign(&mut worker, "C");
        assert!(
            matches!(sent(&refused)[..], [ToServer::UpdateJob(u)] if u.status == proto::JobStatus::JsFailed as i32)
        );
    }

    #[test]
    fn termination_stops_the_job_and_drain_refuses_new_ones() {
        let mut worker = registered(5);
        offer(&mut worker, "A");
        assign(&mut worker, "A");
        let stop =
            worker.on_message(server(FromServer::Termination(proto::JobTermination { job_id: "A".into() }))).unwrap();
        assert_eq!(stop, [Command::StopJob { job_id: "A".into() }]);
        let drain = worker.drain();
        let [ToServer::UpdateWorker(status)] = sent(&drain)[..] else { panic!() };
        assert!(status.draining);
        assert_eq!(status.status, Some(proto::WorkerStatus::WsFull as i32));
        assert!(!offer(&mut worker, "B").available);
    }

    #[test]
    fn jobs_survive_a_reconnect_and_messages_before_registration_are_refused() {
        let mut worker = registered(5);
        offer(&mut worker, "A");
        assign(&mut worker, "A");
        worker.connected();
        assert_eq!(worker.worker_id(), None);
        let early = worker.on_message(server(FromServer::Availability(proto::AvailabilityRequest {
            job: Some(job("B")),
            resuming: false,
        })));
        assert_eq!(early, Err(ProtocolError::NotRegistered("availability")));
        let again = worker
            .on_message(server(FromServer::Register(proto::RegisterWorkerResponse {
                worker_id: "W2".into(),
                ..Default::default()
            })))
            .unwrap();
        let [ToServer::UpdateWorker(status)] = sent(&again)[..] else { panic!("{again:?}") };
        assert_eq!(status.job_count, 1, "the job kept running across the reconnect");
        // Once running, a kept job is re-reported to the new connection.
        worker.job_running("A");
        worker.connected();
        let again = worker
            .on_message(server(FromServer::Register(proto::RegisterWorkerResponse {
                worker_id: "W3".into(),
                ..Default::default()
            })))
            .unwrap();
        let [ToServer::UpdateWorker(_), ToServer::UpdateJob(job)] = sent(&again)[..] else { panic!("{again:?}") };
        assert_eq!((job.job_id.as_str(), job.status), ("A", proto::JobStatus::JsRunning as i32));
        assert_eq!(worker.on_message(proto::ServerMessage { message: None }), Err(ProtocolError::Empty));
    }
}
