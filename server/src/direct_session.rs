//! `POST /api/direct-session`: a browser talks to an agent in this process over WebRTC, no
//! LiveKit between. The body carries the browser's SDP offer and the AgentConfig (validated
//! exactly as for `/api/agent-session`); the answer comes back with a session id.
//! `DELETE /api/direct-session` with that id ends it (the agent runs its post-call steps);
//! so does the browser going away.
//!
//! Limits: [`DirectOptions`] (sessions at once, session length) and [`MAX_BODY`].

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::connect_info::ConnectInfo;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::{Json, Router, routing::post};
use bytes::Bytes;
use serde::Serialize;
use tokio::sync::Semaphore;
use voiceblox_host::agent::{self, AgentJob};
use voiceblox_host::error_text;
use voiceblox_host::transport::direct::{DirectCall, DirectError};

use crate::AppState;
use crate::agent_session::request::{parse_direct, parse_direct_end};
use crate::agent_session::{LocalSessions, check_config, session_runtime};
use crate::error::ApiError;
use crate::settings::DirectOptions;

/// The largest request body: an SDP offer is a few kB, an AgentConfig rarely 100 kB.
pub const MAX_BODY: usize = 256 * 1024;
/// How long `DELETE` waits for the session's post-call steps.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// The direct sessions this process runs, and their limits. Cheap to clone.
#[derive(Clone)]
pub struct DirectSessions {
    pub sessions: LocalSessions,
    slots: Arc<Semaphore>,
    max_length: Duration,
}

impl DirectSessions {
    pub fn new(options: &DirectOptions) -> Self {
        Self {
            sessions: LocalSessions::default(),
            slots: Arc::new(Semaphore::new(options.max_sessions)),
            max_length: Duration::from_secs(options.max_seconds),
        }
    }
}

impl Default for DirectSessions {
    fn default() -> Self {
        Self::new(&DirectOptions::default())
    }
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/direct-session", post(start).delete(end))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Started {
    session_id: String,
    answer: String,
}

async fn start(
    State(state): State<AppState>,
    connection: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Started>, ApiError> {
    let body = body.map_err(body_error)?;
    let (offer, request) = parse_direct(&body)?;
    let config = check_config(&state, &request)?;
    let record = state.sessions.recording(request.record)?;
    let direct = &state.direct;
    let Ok(slot) = direct.slots.clone().try_acquire_owned() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_sessions",
            "the server runs as many direct sessions as it allows (--direct-max-sessions); try again later",
        ));
    };
    // Without connection info (a test driving the router directly) the browser is local.
    let browser = connection.map_or(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), |c| c.0.0);
    let call = DirectCall::answer(&offer, browser).await.map_err(|error| match error {
        DirectError::InvalidOffer(message) => ApiError::bad_request("invalid_offer", message),
        other => ApiError::internal(&other),
    })?;
    let id = session_id();
    let job =
        AgentJob { config: Some(config), record, ..AgentJob::new(session_runtime(&state.runtime, &request.api_keys)) };
    let max_length = direct.max_length;
    let name = id.clone();
    direct.sessions.spawn(&id, move |stop| async move {
        let _slot = slot;
        let hangup = stop.child_token();
        let limit = {
            let hangup = hangup.clone();
            tokio::spawn(async move {
                tokio::time::sleep(max_length).await;
                tracing::info!(?max_length, "direct session at its length limit; hanging up");
                hangup.cancel();
            })
        };
        match agent::run(job, "", call.side, hangup).await {
            Ok(ending) => tracing::info!(session = name, ?ending, "direct session ended"),
            Err(error) => tracing::warn!(session = name, error = %error_text::chain(&error), "direct session failed"),
        }
        limit.abort();
    });
    tracing::info!(session = id, %browser, "direct session started");
    Ok(Json(Started { session_id: id, answer: call.answer }))
}

#[derive(Serialize)]
pub struct Ended {
    ok: bool,
}

async fn end(State(state): State<AppState>, body: Result<Bytes, BytesRejection>) -> Result<Json<Ended>, ApiError> {
    let id = parse_direct_end(&body.map_err(body_error)?)?;
    if state.direct.sessions.stop(&id, STOP_TIMEOUT).await {
        tracing::info!(session = id, "direct session stopped");
        Ok(Json(Ended { ok: true }))
    } else {
        Err(ApiError::new(StatusCode::NOT_FOUND, "session_not_found", format!("no direct session {id:?} is running")))
    }
}

fn body_error(rejection: BytesRejection) -> ApiError {
    let status = rejection.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(status, "body_too_large", format!("the request body is larger than {MAX_BODY} bytes"));
    }
    ApiError::bad_request("invalid_request", rejection.body_text())
}

/// `direct-` and 16 random hex digits: unguessable enough that one browser cannot end
/// another's session.
fn session_id() -> String {
    format!("direct-{:016x}", rand::random::<u64>())
}
