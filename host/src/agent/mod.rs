//! An agent inside a LiveKit room: what runs a voice session once the agent has joined.
//!
//! - [`RoomLink`]: what a session needs of its room (publish an event, show its state); the
//!   LiveKit room client implements it, and so can an in-memory room in tests.
//! - [`RoomPublisher`]: the session's event sink, publishing each event in order on
//!   `voiceblox.agent.events` and keeping the `lk.agent.state` attribute current.
//! - [`run`]: wait for the user, read the AgentConfig from the room metadata, run the voice
//!   session until it ends, the user leaves or the job is stopped.
//!
//! - [`join_and_run`]: all of it in a LiveKit room: join with a token, run, leave.
//!
//! The same code serves the worker's jobs and the server's in-process sessions.

mod error;
mod link;
mod livekit;
mod publisher;
mod session;

pub use self::error::AgentError;
pub use self::link::{AGENT_STATE_ATTRIBUTE, LinkError, Presence, RoomLink};
pub use self::livekit::{JoinError, LiveKitLink, join_and_run};
pub use self::publisher::RoomPublisher;
pub use self::session::{AgentJob, USER_WAIT, run};
