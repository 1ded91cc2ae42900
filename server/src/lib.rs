//! voiceblox server: the HTTP face of the agent runtime.
//!
//! - `GET /healthz`, `GET /api/plugins`: liveness and the loaded provider plugins.
//! - `POST`/`DELETE /api/agent-session` ([`agent_session`]): start and end a session in a
//!   LiveKit room, in the runtime mode of [`settings`].
//! - `POST`/`DELETE /api/direct-session` ([`direct_session`]): a browser talks to an agent in
//!   this process over WebRTC, no LiveKit between.
//! - `/` and what it asks ([`web`]): the test page, `/api/info`, the examples,
//!   `/api/validate`.
//!
//! Errors share one JSON shape ([`error::ApiError`]).

pub mod agent_session;
pub mod direct_session;
pub mod error;
pub mod settings;
pub mod web;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::extract::State;
use axum::extract::connect_info::IntoMakeServiceWithConnectInfo;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use voiceblox_host::plugin::{PluginRuntime, kind_name};

use settings::SessionSettings;

/// Shared state of every route.
#[derive(Clone)]
pub struct AppState {
    pub runtime: Arc<PluginRuntime>,
    pub sessions: SessionSettings,
    /// The agents this process runs itself (`AGENT_RUNTIME=inprocess`).
    pub local: agent_session::LocalSessions,
    /// The direct browser sessions.
    pub direct: direct_session::DirectSessions,
}

/// The application: routes without a listener, so tests can drive it directly.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/plugins", get(plugins))
        .route("/api/agent-session", post(agent_session::start).delete(agent_session::end))
        .merge(direct_session::routes())
        .merge(web::routes())
        .layer(DefaultBodyLimit::max(direct_session::MAX_BODY))
        .with_state(state)
}

/// The application as a listener serves it: each request knows the address it came from (a
/// direct session binds its socket on the route back to the browser).
pub fn service(state: AppState) -> IntoMakeServiceWithConnectInfo<Router, SocketAddr> {
    app(state).into_make_service_with_connect_info::<SocketAddr>()
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "ok": true }))
}

#[derive(Serialize)]
struct PluginView {
    name: String,
    version: String,
    providers: Vec<ProviderView>,
}

#[derive(Serialize)]
struct ProviderView {
    id: String,
    kinds: Vec<&'static str>,
    hosts: Vec<String>,
}

#[derive(Serialize)]
struct PluginsResponse {
    plugins: Vec<PluginView>,
    refused: Vec<String>,
}

/// The loaded plugins and the refused files, for operators and the web page.
async fn plugins(State(state): State<AppState>) -> Json<PluginsResponse> {
    let registry = state.runtime.registry();
    let plugins = registry
        .plugins()
        .iter()
        .map(|p| PluginView {
            name: p.name().to_string(),
            version: p.info().version.clone(),
            providers: p
                .info()
                .providers
                .iter()
                .map(|provider| ProviderView {
                    id: provider.id.clone(),
                    kinds: provider.kinds.iter().map(|k| kind_name(*k)).collect(),
                    hosts: provider.hosts.clone(),
                })
                .collect(),
        })
        .collect();
    Json(PluginsResponse { plugins, refused: registry.failures().iter().map(|f| f.to_string()).collect() })
}
