//! The server's routes, driven in-process (no listener), over the plugins built from this repo.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;
use voiceblox_host::egress::NetworkPolicy;
use voiceblox_host::plugin::{
    CompileCache, PluginEngine, PluginRegistry, PluginRuntime, SandboxLimits, Timeouts, default_plugins_dir,
};
use voiceblox_server::settings::{SessionOptions, SessionSettings};
use voiceblox_server::{AppState, app};

async fn state(dir: &std::path::Path) -> AppState {
    let engine = PluginEngine::new(SandboxLimits::default()).unwrap();
    let registry = PluginRegistry::load_dir(&engine, &CompileCache::new(None), dir).await;
    AppState {
        runtime: Arc::new(PluginRuntime::new(registry, NetworkPolicy::default(), Timeouts::default()).unwrap()),
        sessions: SessionSettings::new(SessionOptions::default()),
        local: Default::default(),
        direct: Default::default(),
    }
}

async fn get_json(state: AppState, uri: &str) -> (StatusCode, serde_json::Value) {
    let response = app(state).oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn healthz_answers_ok() {
    let (status, body) = get_json(state(&default_plugins_dir()).await, "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, serde_json::json!({ "ok": true }));
}

#[tokio::test]
async fn plugins_lists_the_shipped_adapters_and_refused_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(default_plugins_dir().join("openai.wasm"), dir.path().join("openai.wasm")).unwrap();
    std::fs::write(dir.path().join("broken.wasm"), "nope").unwrap();
    let (status, body) = get_json(state(dir.path()).await, "/api/plugins").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["plugins"][0]["name"], "openai");
    assert_eq!(body["plugins"][0]["providers"][0]["kinds"], serde_json::json!(["llm", "tts", "stt"]));
    assert_eq!(body["plugins"][0]["providers"][0]["hosts"], serde_json::json!(["api.openai.com"]));
    let refused = body["refused"][0].as_str().unwrap();
    assert!(refused.contains("broken.wasm") && refused.contains("not a WebAssembly file"), "{refused}");
}
