use futures_util::future::BoxFuture;

use crate::events::AgentState;

/// A room operation that failed (the transport's error, as text and source).
pub type LinkError = Box<dyn std::error::Error + Send + Sync>;

/// The participant attribute LiveKit's agent UIs read the agent's state from.
pub const AGENT_STATE_ATTRIBUTE: &str = "lk.agent.state";

/// What a session needs of the room it sits in.
pub trait RoomLink: Send + Sync + 'static {
    /// Publishes one event (its JSON) reliably on `voiceblox.agent.events`.
    fn publish_event(&self, json: Vec<u8>) -> BoxFuture<'_, Result<(), LinkError>>;
    /// Sets the agent's [`AGENT_STATE_ATTRIBUTE`].
    fn set_agent_state(&self, state: AgentState) -> BoxFuture<'_, Result<(), LinkError>>;
}

/// Who is in the room, as the session needs to know it. A transport reports the users already
/// present when the agent joined first, then changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presence {
    /// A user (not another agent) is in the room.
    UserJoined(String),
    UserLeft(String),
    /// The agent is out of the room (the room was deleted, the server removed it, the link died).
    Closed(String),
}
