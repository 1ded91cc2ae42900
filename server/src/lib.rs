//! voiceblox server: the HTTP face of the agent runtime.
//!
//! For now it serves health and the loaded provider plugins; `/api/agent-session` and the
//! runtime modes arrive with the voice session and LiveKit work.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use voiceblox_host::plugin::{PluginRuntime, kind_name};

/// Shared state of every route.
#[derive(Clone)]
pub struct AppState {
    pub runtime: Arc<PluginRuntime>,
}

/// The application: routes without a listener, so tests can drive it directly.
pub fn app(state: AppState) -> Router {
    Router::new().route("/healthz", get(healthz)).route("/api/plugins", get(plugins)).with_state(state)
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
