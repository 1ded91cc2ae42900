use crate::config::ConfigError;
use crate::transport::livekit::SealError;

/// Why an agent could not run its session in a room.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    #[error("the room has no metadata; it must hold the AgentConfig JSON")]
    NoMetadata,
    #[error("the AgentConfig in the room metadata was refused")]
    InvalidConfig(#[source] ConfigError),
    /// The dispatch carried sealed secrets this worker could not open.
    #[error(transparent)]
    Sealed(#[from] SealError),
}
