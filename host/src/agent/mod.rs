//! The agent: what runs a session on the user's side a transport hands over
//! ([`crate::transport::UserSide`]).
//!
//! - [`RoomPublisher`]: the session's event sink, publishing each event in order through the
//!   link and keeping the agent's state shown.
//! - [`run`]: wait for the user, take the AgentConfig (validated by the caller, or read from
//!   the room metadata), run the voice session until it ends, the user leaves or the job is
//!   stopped.
//! - [`join_and_run`]: all of it in a LiveKit room: join with a token, run, leave.
//! - [`text`]: a text session (the console's `--text`): lines in, the agent's words out.
//!
//! The same code serves the worker's jobs and the server's in-process sessions.

mod error;
mod livekit;
mod publisher;
mod session;
pub mod text;

pub use self::error::AgentError;
pub use self::livekit::{JoinError, join_and_run};
pub use self::publisher::RoomPublisher;
pub use self::session::{AgentJob, USER_WAIT, run};
