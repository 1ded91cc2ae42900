//! The test page and what it asks the server: the page's files (embedded in the binary, so
//! `cargo run` serves them from anywhere), `GET /api/info` (which transport the page should
//! use), the example agents, and `POST /api/validate`.

mod assets;
mod examples;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use bytes::Bytes;
use serde::Serialize;

use crate::AppState;
use crate::agent_session::check_config;
use crate::agent_session::request::parse;
use crate::error::ApiError;
use crate::settings::RuntimeMode;
use voiceblox_host::config::Problem;

pub use assets::LIVEKIT_CLIENT_ENV;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/info", get(info))
        .route("/api/validate", post(validate))
        .route("/api/examples/{name}", get(examples::get))
        .merge(assets::routes())
}

#[derive(Serialize)]
struct Info {
    /// `direct` without a LiveKit project: the page calls `/api/direct-session`; `livekit`
    /// with one: `/api/agent-session`.
    transport: &'static str,
    runtime: &'static str,
    examples: Vec<&'static str>,
}

async fn info(State(state): State<AppState>) -> Json<Info> {
    Json(Info {
        transport: if state.sessions.livekit_configured() { "livekit" } else { "direct" },
        runtime: match state.sessions.mode {
            RuntimeMode::InProcess => "inprocess",
            RuntimeMode::Worker => "worker",
        },
        examples: examples::names(),
    })
}

#[derive(Serialize)]
struct ProblemView {
    path: String,
    message: String,
    severity: &'static str,
}

#[derive(Serialize)]
struct Validated {
    /// Whether a session could start with it.
    ok: bool,
    /// Every problem; only warnings when `ok`.
    problems: Vec<ProblemView>,
}

/// Validates a config (bare, or `{config, apiKeys}`) as a session start would, without
/// starting anything: 200 with `ok` and every problem by path (validation itself succeeded
/// either way); 400 only for a body that is not a request at all.
async fn validate(State(state): State<AppState>, body: Bytes) -> Result<Json<Validated>, ApiError> {
    let request = parse(&body)?;
    let view = |p: &Problem| ProblemView {
        path: p.path.clone(),
        message: p.message.clone(),
        severity: if p.is_error() { "error" } else { "warning" },
    };
    match check_config(&state, &request) {
        Ok(config) => Ok(Json(Validated { ok: true, problems: config.warnings().iter().map(view).collect() })),
        Err(error) if !error.problems.is_empty() => {
            Ok(Json(Validated { ok: false, problems: error.problems.iter().map(view).collect() }))
        }
        Err(error) => Err(error),
    }
}
