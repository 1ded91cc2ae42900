//! `RoomService` and `AgentDispatchService`: the methods voiceblox calls, with the checks and
//! limits of LiveKit's `pkg/service/roomservice.go` and `agent_dispatch_service.go`.

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
