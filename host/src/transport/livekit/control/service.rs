//! Rooms and agent dispatch over LiveKit's Twirp API.

use std::time::Duration;

use livekit_api::services::LiveKitApi;
use livekit_api::services::room::CreateRoomOptions;
use livekit_api::services::sip::TransferSIPParticipantOptions;
use livekit_protocol as proto;

use super::error::ControlError;
use super::token;
use crate::transport::livekit::credentials::LiveKitCredentials;

/// The agent name voiceblox workers register and the server dispatches to; shared with every
/// Voiceblox app, so either side interoperates with the other's.
pub const AGENT_NAME: &str = "voiceblox";

/// Per attempt. A control-plane call answers in milliseconds; waiting longer only holds the
/// browser's request open.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// One LiveKit project's control plane. Cheap to share (one HTTP connection pool); build one
/// per set of credentials.
pub struct ControlPlane {
    credentials: LiveKitCredentials,
    api: LiveKitApi,
}

impl ControlPlane {
    pub fn new(credentials: LiveKitCredentials) -> Self {
        crate::egress::tls::install_crypto_provider();
        let api = LiveKitApi::with_api_key(credentials.url(), credentials.api_key(), credentials.api_secret())
            .with_request_timeout(REQUEST_TIMEOUT);
        Self { credentials, api }
    }

    pub fn credentials(&self) -> &LiveKitCredentials {
        &self.credentials
    }

    /// `RoomService/CreateRoom` with `metadata` (the AgentConfig JSON the agent reads). LiveKit
    /// returns the existing room, unchanged, when the name is taken.
    pub async fn create_room(&self, name: &str, metadata: &str) -> Result<proto::Room, ControlError> {
        let options = CreateRoomOptions { metadata: metadata.to_string(), ..CreateRoomOptions::default() };
        self.api.room().create_room(name, options).await.map_err(|e| ControlError::from_service("CreateRoom", e))
    }

    /// `RoomService/DeleteRoom`: disconnects everyone, the agent included.
    pub async fn delete_room(&self, name: &str) -> Result<(), ControlError> {
        self.api.room().delete_room(name).await.map_err(|e| ControlError::from_service("DeleteRoom", e))
    }

    /// `AgentDispatchService/CreateDispatch`: asks a worker registered as `agent_name` to join
    /// `room`. Workers registered with a name get no automatic dispatch, so this is required.
    pub async fn create_dispatch(
        &self,
        room: &str,
        agent_name: &str,
        metadata: &str,
    ) -> Result<proto::AgentDispatch, ControlError> {
        let request = proto::CreateAgentDispatchRequest {
            agent_name: agent_name.to_string(),
            room: room.to_string(),
            metadata: metadata.to_string(),
            ..proto::CreateAgentDispatchRequest::default()
        };
        self.api
            .agent_dispatch()
            .create_dispatch(request)
            .await
            .map_err(|e| ControlError::from_service("CreateDispatch", e))
    }

    /// `SIP/TransferSIPParticipant`: hands the phone caller `identity` in `room` over to
    /// `transfer_to` (`tel:+15550100` or `sip:agent@pbx`) with a SIP REFER. LiveKit answers once
    /// the far end took the call; the caller then leaves the room.
    pub async fn transfer_sip_participant(
        &self,
        room: &str,
        identity: &str,
        transfer_to: &str,
        play_dialtone: bool,
    ) -> Result<(), ControlError> {
        let options = TransferSIPParticipantOptions { play_dialtone: Some(play_dialtone), ..Default::default() };
        self.api
            .sip()
            .transfer_sip_participant(room.to_string(), identity.to_string(), transfer_to.to_string(), options)
            .await
            .map_err(|e| ControlError::from_service("TransferSIPParticipant", e))
    }

    /// A token for one browser participant in `room`; see [`token::browser_token`].
    pub fn browser_token(&self, room: &str, identity: &str, ttl: Duration) -> Result<String, ControlError> {
        token::browser_token(&self.credentials, room, identity, ttl)
    }

    /// A token for an agent this process runs in `room`; see [`token::agent_token`].
    pub fn agent_token(&self, room: &str, identity: &str) -> Result<String, ControlError> {
        token::agent_token(&self.credentials, room, identity, token::AGENT_TOKEN_TTL)
    }
}
