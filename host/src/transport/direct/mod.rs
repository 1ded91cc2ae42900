//! Direct calls: a browser talks to an agent in this process over WebRTC, with no LiveKit
//! server in between (the server's default when no LiveKit project is configured).
//!
//! 1. The browser makes an offer with its microphone (a send-receive audio track) and a data
//!    channel named [`EVENTS_CHANNEL`], and posts it with the AgentConfig.
//! 2. [`DirectCall::answer`] binds a UDP socket on the address that routes to the browser,
//!    answers (str0m, Opus only), and hands back the answer SDP and the session's
//!    [`UserSide`]: the browser's microphone as 20 ms frames at 48 kHz, the agent's voice back
//!    on the same m-line, each event's JSON as a text message on the data channel.
//! 3. The browser's connectivity checks tell us its address (its own candidates may be hidden
//!    behind mDNS names; they are ignored). Once ICE and DTLS are up, the user is present;
//!    when the connection is lost, the user has left and the session's post-call steps run.
//!
//! The call is a sans-I/O machine ([`call::Call`]) fed by one task per call that owns the
//! socket and the clock. It ends when the session drops its side.

pub mod call;
mod driver;
mod link;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

pub use call::{CallStats, DIRECT_USER, EVENTS_CHANNEL};
pub use link::DirectLink;

use crate::audio::AudioIo;
use crate::transport::webrtc::PeerSocket;
use crate::transport::{CONTROL_QUEUE, UserSide};

/// How long the browser has to connect after the answer.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// Events the session may queue ahead of the call.
const EVENT_QUEUE: usize = 256;

/// Why a direct call could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DirectError {
    /// The browser's offer cannot be answered; the message says why.
    #[error("invalid offer: {0}")]
    InvalidOffer(String),
    #[error("WebRTC: {0}")]
    WebRtc(String),
}

/// An answered call, not yet running.
pub struct DirectCall {
    /// The SDP answer for the browser.
    pub answer: String,
    /// The session's side of the call; running the session on it runs the call.
    pub side: UserSide,
}

impl DirectCall {
    /// Answers `offer` from a browser at `browser` (its address as the HTTP request came in:
    /// the call's socket binds on the local address that routes there). The call's task runs
    /// until the session drops `side`.
    pub async fn answer(offer: &str, browser: SocketAddr) -> Result<Self, DirectError> {
        let socket = PeerSocket::bind(browser).await.map_err(|e| DirectError::WebRtc(e.to_string()))?;
        let now = tokio::time::Instant::now().into_std();
        let (call, answer) =
            call::Call::answer(offer, socket.local_addr(), CONNECT_TIMEOUT, u64::from(rand::random::<u32>()), now)?;
        let (audio, ends) = AudioIo::pair();
        let (events_tx, events) = mpsc::channel(EVENT_QUEUE);
        let (presence_tx, presence) = mpsc::channel(16);
        let (controls_tx, controls) = mpsc::channel(CONTROL_QUEUE);
        let driver = driver::Driver { call, socket, audio: ends, events, presence: presence_tx, controls: controls_tx };
        tokio::spawn(driver.run());
        let side = UserSide { link: Arc::new(DirectLink { events: events_tx }), presence, audio, controls };
        Ok(Self { answer, side })
    }
}
