//! The browser's ticket into its room.

use std::time::Duration;

use livekit_api::access_token::{AccessToken, VideoGrants};

use super::error::ControlError;
use crate::transport::livekit::credentials::LiveKitCredentials;

/// Long enough to connect (a token is checked on join, not afterwards), short enough that a
/// leaked one is soon useless.
pub const BROWSER_TOKEN_TTL: Duration = Duration::from_secs(15 * 60);

/// What the browser may publish: its microphone, nothing else (LiveKit's track source names).
const PUBLISH_SOURCES: &[&str] = &["microphone"];

/// A JWT that lets `identity` join `room` only: publish its microphone, subscribe to the agent,
/// send data; no admin or room-creation rights.
pub fn browser_token(
    credentials: &LiveKitCredentials,
    room: &str,
    identity: &str,
    ttl: Duration,
) -> Result<String, ControlError> {
    let grants = VideoGrants {
        can_publish_sources: PUBLISH_SOURCES.iter().map(|s| s.to_string()).collect(),
        ..member_grants(room)
    };
    sign(AccessToken::with_api_key(credentials.api_key(), credentials.api_secret()), identity, grants, ttl)
}

/// How long an in-process agent's token lasts: it is used at once; LiveKit refreshes the
/// session's token while connected.
pub const AGENT_TOKEN_TTL: Duration = Duration::from_secs(10 * 60);

/// A JWT for an agent joining `room` as LiveKit's own agent dispatch would mint it: kind
/// `agent` (UIs show it as the agent), publish/subscribe/data, and the right to set its own
/// attributes (`lk.agent.state`).
pub fn agent_token(
    credentials: &LiveKitCredentials,
    room: &str,
    identity: &str,
    ttl: Duration,
) -> Result<String, ControlError> {
    let grants = VideoGrants { can_update_own_metadata: Some(true), agent: true, ..member_grants(room) };
    let token = AccessToken::with_api_key(credentials.api_key(), credentials.api_secret()).with_kind("agent");
    sign(token, identity, grants, ttl)
}

/// Join `room` (that one only), publish, subscribe, send data.
fn member_grants(room: &str) -> VideoGrants {
    VideoGrants {
        room_join: true,
        room: room.to_string(),
        can_publish: Some(true),
        can_subscribe: Some(true),
        can_publish_data: Some(true),
        ..VideoGrants::default()
    }
}

/// `token` for `identity` (also its display name) with `grants`, valid for `ttl`.
fn sign(token: AccessToken, identity: &str, grants: VideoGrants, ttl: Duration) -> Result<String, ControlError> {
    token
        .with_identity(identity)
        .with_name(identity)
        .with_grants(grants)
        .with_ttl(ttl)
        .to_jwt()
        .map_err(|e| ControlError::Token(e.to_string()))
}
