//! `POST /api/agent-session` starts a session: validate the AgentConfig, create a LiveKit room
//! holding it as metadata, get an agent in, hand the browser a token for that room.
//! `DELETE /api/agent-session` ends one: it stops the in-process agent if this server runs it,
//! then deletes the room (which disconnects any agent).

mod catalog;
mod launcher;
mod local;
pub(crate) mod request;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use bytes::Bytes;
use serde::Serialize;
use voiceblox_host::config::{Medium, ValidConfig, strip_secrets};
use voiceblox_host::providers::RuntimeCatalog;
use voiceblox_host::transport::livekit::{
    self as livekit, BROWSER_TOKEN_TTL, ControlError, ControlPlane, DispatchSecrets,
};

pub use catalog::{RequestCatalog, session_runtime};
pub use launcher::{AgentLauncher, LocalAgent};
pub use local::LocalSessions;

use crate::AppState;
use crate::error::ApiError;
use crate::settings::{LiveKitOverride, RuntimeMode};

/// Exactly these names: browsers written for Voiceblox read them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Started {
    token: String,
    room_name: String,
    server_url: String,
}

pub async fn start(State(state): State<AppState>, body: Bytes) -> Result<Json<Started>, ApiError> {
    let request = request::parse(&body)?;
    let config = check_config(&state, &request)?;
    let record = state.sessions.recording(request.record)?;
    let control = control_plane(&state, &request.livekit)?;

    let room = livekit::room_name();
    let identity = livekit::user_identity();
    // Signed before the room exists, so a failure here leaves nothing behind.
    let token = control.browser_token(&room, &identity, BROWSER_TOKEN_TTL).map_err(ApiError::livekit)?;
    // Every participant reads the room metadata: the caller's config (unknown fields kept, for
    // other Voiceblox workers) without its keys. A dispatched worker gets those, and the
    // request's `apiKeys`, sealed in the dispatch metadata.
    let mut public = request.config.clone();
    let stripped = strip_secrets(&mut public);
    let from_request = !request.livekit.is_empty();
    control.create_room(&room, &public.to_string()).await.map_err(|e| ApiError::livekit_from(e, from_request))?;

    let launcher = AgentLauncher::for_mode(state.sessions.mode);
    let local = LocalAgent {
        sessions: &state.local,
        runtime: session_runtime(&state.runtime, &request.api_keys),
        config,
        record,
    };
    let secrets = (stripped > 0 || !request.api_keys.is_empty())
        .then(|| DispatchSecrets { config: request.config.to_string(), api_keys: request.api_keys.clone() });
    if let Err(error) = launcher.launch(&control, &room, local, secrets).await {
        // No agent is coming: the room would sit empty until LiveKit's timeout.
        if let Err(cleanup) = control.delete_room(&room).await {
            tracing::warn!(room, error = %cleanup, "could not delete the room of a failed session");
        }
        return Err(error);
    }
    tracing::info!(room, identity, mode = ?state.sessions.mode, "agent session started");
    Ok(Json(Started { token, room_name: room, server_url: control.credentials().url().to_string() }))
}

/// Parses and validates the config against the loaded plugins, the environment and the
/// request's `apiKeys` (a worker may have keys of its own, so in worker mode a missing key is
/// not an error); every problem is reported at once.
pub(crate) fn check_config(state: &AppState, request: &request::SessionRequest) -> Result<ValidConfig, ApiError> {
    let catalog = RequestCatalog {
        inner: &RuntimeCatalog(&state.runtime),
        keys: &request.api_keys,
        keys_elsewhere: state.sessions.mode == RuntimeMode::Worker,
    };
    let config = ValidConfig::parse(&request.config.to_string(), &catalog, Medium::Voice)
        .map_err(|e| ApiError::invalid_config(e.problems))?;
    for warning in config.warnings() {
        tracing::info!(%warning, "agent config warning");
    }
    Ok(config)
}

/// How long `DELETE` waits for an in-process session's post-call steps before deleting the room.
const LOCAL_STOP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Serialize)]
pub struct Ended {
    ok: bool,
}

pub async fn end(State(state): State<AppState>, body: Bytes) -> Result<Json<Ended>, ApiError> {
    let request = request::parse_end(&body)?;
    // Only rooms this API could have made: the endpoint must not become a way to end any
    // meeting in the LiveKit project.
    if !request.room_name.starts_with(livekit::ROOM_PREFIX) {
        let message = format!("not a voiceblox room (names start with {:?})", livekit::ROOM_PREFIX);
        return Err(ApiError::bad_request("invalid_room_name", message));
    }
    let control = control_plane(&state, &request.livekit)?;
    // An in-process agent says goodbye and runs its post-call steps before the room goes.
    let stopped = state.local.stop(&request.room_name, LOCAL_STOP_TIMEOUT).await;
    match control.delete_room(&request.room_name).await {
        Err(ControlError::NotFound { .. }) if stopped => {
            tracing::info!(room = request.room_name, "agent session ended (the room was already gone)");
            Ok(Json(Ended { ok: true }))
        }
        Ok(()) => {
            tracing::info!(room = request.room_name, "agent session ended");
            Ok(Json(Ended { ok: true }))
        }
        Err(ControlError::NotFound { message, .. }) => {
            Err(ApiError::new(StatusCode::NOT_FOUND, "room_not_found", format!("{}: {message}", request.room_name)))
        }
        Err(error) => Err(ApiError::livekit_from(error, !request.livekit.is_empty())),
    }
}

fn control_plane(state: &AppState, request: &LiveKitOverride) -> Result<std::sync::Arc<ControlPlane>, ApiError> {
    state.sessions.control_plane(request).map_err(|e| ApiError::livekit_settings(e, !request.is_empty()))
}
