//! WebRTC on str0m, shared by the transports that speak it: a sans-I/O [`Peer`] (one peer
//! connection: ICE, DTLS, Opus tracks, data channels) and the UDP socket that carries it
//! ([`PeerSocket`]). LiveKit rooms drive two per room; a direct session drives one.

pub mod peer;
pub mod udp;

pub use peer::{CandidateInit, Peer, PeerEvent, Transmit};
pub use udp::PeerSocket;

/// A failed peer operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PeerError {
    /// The other side sent something unusable (a bad SDP or candidate, an answer without an
    /// offer).
    #[error("{0}")]
    Protocol(String),
    /// The WebRTC stack failed.
    #[error("{0}")]
    WebRtc(String),
}
