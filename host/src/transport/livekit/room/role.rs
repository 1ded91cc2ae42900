//! LiveKit's two peer connections per participant.

use livekit_protocol as proto;

/// Which of LiveKit's two peer connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerRole {
    /// We offer: our data channels, the agent's track.
    Publisher,
    /// The server offers: its data channels and the other participants' tracks.
    Subscriber,
}

impl PeerRole {
    pub fn target(self) -> proto::SignalTarget {
        match self {
            Self::Publisher => proto::SignalTarget::Publisher,
            Self::Subscriber => proto::SignalTarget::Subscriber,
        }
    }

    /// The name the peer logs under.
    pub fn name(self) -> &'static str {
        match self {
            Self::Publisher => "publisher",
            Self::Subscriber => "subscriber",
        }
    }
}
