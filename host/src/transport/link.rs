//! The seam between a session and its user's side: a LiveKit room, the console, and next a
//! direct WebRTC link. A transport hands the session a [`UserSide`] — the user's audio in
//! and the agent's out, a way to publish events and show the agent's state, and who is
//! there — and the session runs the same whatever is behind it.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use tokio::sync::mpsc;

use crate::audio::AudioIo;
use crate::events::{AgentState, Role};
use crate::voice::control::TurnControl;

/// A failed operation on the user's side (the transport's error, as text and source).
pub type LinkError = Box<dyn std::error::Error + Send + Sync>;

/// The participant attribute LiveKit's agent UIs read the agent's state from.
pub const AGENT_STATE_ATTRIBUTE: &str = "lk.agent.state";

/// Turn controls a user side may queue ahead of the voice loop (a person presses a button a
/// few times a second at most).
pub const CONTROL_QUEUE: usize = 16;

/// How a session tells its user what happens.
pub trait UserLink: Send + Sync + 'static {
    /// Publishes one event (its JSON) reliably (LiveKit: on `voiceblox.agent.events`).
    fn publish_event(&self, json: Vec<u8>) -> BoxFuture<'_, Result<(), LinkError>>;
    /// Shows the agent's state (LiveKit: the [`AGENT_STATE_ATTRIBUTE`]).
    fn set_agent_state(&self, state: AgentState) -> BoxFuture<'_, Result<(), LinkError>>;
    /// Shows a transcript where the user side's own tools look for one (LiveKit: an
    /// `lk.transcription` text stream). The event carrying it went out already; a link whose
    /// user reads only the events has nothing more to do.
    fn publish_transcript(&self, _role: Role, _text: &str, _final: bool) -> BoxFuture<'_, Result<(), LinkError>> {
        Box::pin(async { Ok(()) })
    }
    /// Hands the user over to `to` (`tel:` or `sip:`), as a phone call's transfer does; the
    /// user leaves once the far end has taken the call. Only a phone caller can be.
    fn transfer(&self, _to: &str, _play_dialtone: bool) -> BoxFuture<'_, Result<(), LinkError>> {
        Box::pin(async { Err("only a phone caller can be transferred, and this user is not on a phone line".into()) })
    }
}

/// Who is there, as the session needs to know it. A transport reports the users already
/// present when the agent arrived first, then changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presence {
    /// A user (not another agent) is there.
    UserJoined(String),
    UserLeft(String),
    /// The agent is out (the room was deleted, the server removed it, the link died).
    Closed(String),
}

/// Everything a transport gives a session.
pub struct UserSide {
    pub link: Arc<dyn UserLink>,
    pub presence: mpsc::Receiver<Presence>,
    /// The user's audio and the agent's.
    pub audio: AudioIo,
    /// The user's app's turn controls (a talk button; see `voice::control`).
    pub controls: mpsc::Receiver<TurnControl>,
}
