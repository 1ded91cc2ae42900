//! What can go wrong in a LiveKit room, in terms a caller can act on.

/// A failed room operation. Messages come from the server's answer, the network or the WebRTC
/// stack; none holds the access token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RoomError {
    #[error("{url:?} is not a LiveKit URL: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// The server refused the `/rtc` upgrade: 401 for a bad token or missing grant, 400 for a
    /// bad request (no room name, empty identity), 404 for a missing room. `message` is the
    /// server's plain-text body.
    #[error("LiveKit refused to join the room ({status}): {message}")]
    Refused { status: u16, message: String },
    #[error("cannot reach LiveKit: {0}")]
    Unreachable(String),
    #[error("LiveKit did not {what} within {after:?}")]
    Timeout { what: &'static str, after: std::time::Duration },
    /// The server sent something this client cannot use (an undecodable frame, no join first).
    #[error("LiveKit protocol error: {0}")]
    Protocol(String),
    #[error("WebRTC: {0}")]
    WebRtc(String),
    /// LiveKit drops data packets of 64 000 bytes or more (payload included).
    #[error("data payload of {size} bytes is too large (LiveKit takes less than {max})")]
    PayloadTooLarge { size: usize, max: usize },
    /// The room was left or the connection lost; `reason` says which.
    #[error("not connected to the room: {reason}")]
    Disconnected { reason: String },
}

impl From<crate::transport::webrtc::PeerError> for RoomError {
    fn from(error: crate::transport::webrtc::PeerError) -> Self {
        use crate::transport::webrtc::PeerError;
        match error {
            PeerError::Protocol(message) => Self::Protocol(message),
            PeerError::WebRtc(message) => Self::WebRtc(message),
        }
    }
}
