//! The LiveKit agent-worker protocol (`/agent`), spec in `reference/livekit.md`.
//!
//! - [`protocol::WorkerProtocol`]: the worker's side of the protocol as a sans-I/O state
//!   machine — registration, availability answers, assignments, job status, load reports,
//!   drain — fed server messages and ticks, answering with [`protocol::Command`]s.
//!
//! The WebSocket connection (reconnect with backoff, re-register without dropping running
//! jobs) and the job runner that joins rooms are built on top of it.

pub mod protocol;

pub use self::protocol::{Command, ProtocolError, WorkerOptions, WorkerProtocol};
