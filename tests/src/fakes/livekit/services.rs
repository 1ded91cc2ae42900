//! `RoomService`, `AgentDispatchService` and `SIP`: the methods voiceblox calls, with the
//! checks and limits of LiveKit's `pkg/service/roomservice.go`, `agent_dispatch_service.go` and
//! `sip.go`.

use std::time::{SystemTime, UNIX_EPOCH};

use livekit_protocol as proto;

use super::Project;
use super::auth::{self, Claims};
use super::twirp::TwirpError;
use crate::fakes::ids::alnum_id;
use crate::fakes::server::lock;

/// LiveKit's default limits (`pkg/config/config.go`).
const MAX_ROOM_NAME_LENGTH: usize = 256;
const MAX_METADATA_SIZE: usize = 512 * 1024;
/// What a room created without timeouts gets (LiveKit's `room.empty_timeout` and
/// `room.departure_timeout` defaults, in seconds).
const DEFAULT_EMPTY_TIMEOUT: u32 = 300;
const DEFAULT_DEPARTURE_TIMEOUT: u32 = 20;

pub(crate) fn create_room(
    project: &Project,
    claims: Option<&Claims>,
    request: proto::CreateRoomRequest,
) -> Result<proto::Room, TwirpError> {
    auth::ensure_create(claims)?;
    if request.name.is_empty() {
        return Err(TwirpError::new("invalid_argument", "no room name"));
    }
    if request.name.len() > MAX_ROOM_NAME_LENGTH {
        let msg = format!("room name length exceeds limits: max length {MAX_ROOM_NAME_LENGTH}");
        return Err(TwirpError::new("invalid_argument", msg));
    }
    if request.metadata.len() > MAX_METADATA_SIZE {
        return Err(TwirpError::new("invalid_argument", "metadata size exceeds limits"));
    }
    let mut rooms = lock(&project.rooms);
    // Creating an existing room returns it unchanged, as LiveKit's router does.
    if let Some(room) = rooms.iter().find(|r| r.name == request.name) {
        return Ok(room.clone());
    }
    let room = new_room(project, &request.name, request.metadata, request.empty_timeout, request.departure_timeout);
    rooms.push(room.clone());
    Ok(room)
}

pub(crate) fn delete_room(
    project: &Project,
    claims: Option<&Claims>,
    request: proto::DeleteRoomRequest,
) -> Result<proto::DeleteRoomResponse, TwirpError> {
    auth::ensure_create(claims)?;
    let mut rooms = lock(&project.rooms);
    let Some(index) = rooms.iter().position(|r| r.name == request.room) else {
        return Err(TwirpError::new("not_found", "requested room does not exist"));
    };
    rooms.remove(index);
    drop(rooms);
    lock(&project.dispatches).retain(|d| d.room != request.room);
    project.agents.room_deleted(&request.room);
    lock(&project.deleted).push(request.room);
    Ok(proto::DeleteRoomResponse {})
}

pub(crate) fn list_rooms(
    project: &Project,
    claims: Option<&Claims>,
    request: proto::ListRoomsRequest,
) -> Result<proto::ListRoomsResponse, TwirpError> {
    auth::ensure_list(claims)?;
    let rooms = lock(&project.rooms);
    let wanted = |room: &&proto::Room| request.names.is_empty() || request.names.contains(&room.name);
    Ok(proto::ListRoomsResponse { rooms: rooms.iter().filter(wanted).cloned().collect() })
}

pub(crate) fn create_dispatch(
    project: &Project,
    claims: Option<&Claims>,
    request: proto::CreateAgentDispatchRequest,
) -> Result<proto::AgentDispatch, TwirpError> {
    auth::ensure_admin(claims, &request.room)?;
    if request.metadata.len() > MAX_METADATA_SIZE {
        return Err(TwirpError::new("invalid_argument", "metadata size exceeds limits"));
    }
    let room = {
        // Rooms are auto-created by default, so dispatching to a new name creates the room.
        let mut rooms = lock(&project.rooms);
        match rooms.iter().find(|r| r.name == request.room) {
            Some(room) => room.clone(),
            None => {
                let room = new_room(project, &request.room, String::new(), 0, 0);
                rooms.push(room.clone());
                room
            }
        }
    };
    let dispatch = proto::AgentDispatch {
        id: format!("AD_{}", alnum_id(0xAD, project.serial.next(), 12)),
        agent_name: request.agent_name,
        room: request.room,
        metadata: request.metadata,
        state: Some(proto::AgentDispatchState { created_at: now_nanos(), ..Default::default() }),
        restart_policy: request.restart_policy,
        deployment: request.deployment,
        attributes: request.attributes,
    };
    lock(&project.dispatches).push(dispatch.clone());
    project.agents.dispatched(project, &dispatch, room);
    Ok(dispatch)
}

/// `SIP/TransferSIPParticipant`, as `sip.go` checks it; the SIP bridge's REFER always
/// succeeds here, and the caller then leaves the room as the bridge does after a transfer.
pub(crate) fn transfer_sip_participant(
    project: &Project,
    claims: Option<&Claims>,
    request: proto::TransferSipParticipantRequest,
) -> Result<proto::TransferSipParticipantResponse, TwirpError> {
    if request.room_name.is_empty() {
        return Err(TwirpError::new("invalid_argument", "Missing room name"));
    }
    if request.participant_identity.is_empty() {
        return Err(TwirpError::new("invalid_argument", "Missing participant identity"));
    }
    auth::ensure_sip_call(claims)?;
    auth::ensure_admin(claims, &request.room_name)?;
    let to = request.transfer_to.as_str();
    if !(to.starts_with("sip:") || to.starts_with("sips:") || to.starts_with("tel:")) {
        return Err(TwirpError::new("invalid_argument", "transfer_to must start with sip:, sips: or tel:"));
    }
    let Some(caller) = project.sfu.participant(&request.room_name, &request.participant_identity) else {
        return Err(TwirpError::new("not_found", "participant not found"));
    };
    let Some(call_id) = caller.attributes.get(SIP_CALL_ID_ATTRIBUTE).cloned() else {
        return Err(TwirpError::new("invalid_argument", "no SIP session associated with participant"));
    };
    lock(&project.sip_transfers).push(SipTransfer {
        room: request.room_name.clone(),
        identity: request.participant_identity.clone(),
        call_id,
        transfer_to: request.transfer_to,
        play_dialtone: request.play_dialtone,
    });
    // The bridge answers once the far end took the call, then hangs up on the caller (BYE):
    // the caller leaves a moment after the answer.
    project.sfu.hang_up_after(&request.room_name, &request.participant_identity, HANG_UP_AFTER);
    Ok(proto::TransferSipParticipantResponse {
        transfer_id: format!("ST_{}", alnum_id(0x53, project.serial.next(), 12)),
        ..Default::default()
    })
}

/// From the transfer's answer to the caller leaving the room.
const HANG_UP_AFTER: std::time::Duration = std::time::Duration::from_millis(500);

/// The attribute LiveKit's SIP bridge sets on a caller (`livekit.AttrSIPCallID`).
pub const SIP_CALL_ID_ATTRIBUTE: &str = "sip.callID";

/// A transfer the SIP service was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipTransfer {
    pub room: String,
    pub identity: String,
    pub call_id: String,
    pub transfer_to: String,
    pub play_dialtone: bool,
}

pub(crate) fn new_room(
    project: &Project,
    name: &str,
    metadata: String,
    empty_timeout: u32,
    departure_timeout: u32,
) -> proto::Room {
    let now_ms = now_nanos() / 1_000_000;
    proto::Room {
        sid: format!("RM_{}", alnum_id(0x52, project.serial.next(), 12)),
        name: name.to_string(),
        metadata,
        empty_timeout: if empty_timeout == 0 { DEFAULT_EMPTY_TIMEOUT } else { empty_timeout },
        departure_timeout: if departure_timeout == 0 { DEFAULT_DEPARTURE_TIMEOUT } else { departure_timeout },
        creation_time: now_ms / 1000,
        creation_time_ms: now_ms,
        ..proto::Room::default()
    }
}

fn now_nanos() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}
