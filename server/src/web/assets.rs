//! The page's files. Its own are embedded; livekit-client (LiveKit mode only) comes from npm
//! (`npm ci --prefix server/web`) and is read from disk when asked for.

use std::path::PathBuf;

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AppState;
use crate::error::ApiError;

/// Where livekit-client's ES module is, when not in `server/web/node_modules`.
pub const LIVEKIT_CLIENT_ENV: &str = "VOICEBLOX_LIVEKIT_CLIENT";

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const SVG: &str = "image/svg+xml";

const SCRIPTS: &[(&str, &str)] = &[
    ("main.js", include_str!("../../web/js/main.js")),
    ("api.js", include_str!("../../web/js/api.js")),
    ("direct.js", include_str!("../../web/js/direct.js")),
    ("livekit.js", include_str!("../../web/js/livekit.js")),
    ("session.js", include_str!("../../web/js/session.js")),
    ("view.js", include_str!("../../web/js/view.js")),
    ("steps.js", include_str!("../../web/js/steps.js")),
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { asset(HTML, include_str!("../../web/index.html")) }))
        .route("/style.css", get(|| async { asset(CSS, include_str!("../../web/style.css")) }))
        .route("/favicon.svg", get(|| async { asset(SVG, include_str!("../../web/favicon.svg")) }))
        .route("/js/{file}", get(script))
        .route("/vendor/livekit-client.mjs", get(livekit_client))
}

/// Served fresh each time: the page is a development tool, and a stale script after an
/// upgrade is worse than a few kB more.
fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")], body).into_response()
}

async fn script(Path(file): Path<String>) -> Response {
    match SCRIPTS.iter().find(|(name, _)| *name == file) {
        Some((_, body)) => asset(JS, body),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn livekit_client() -> Result<Response, ApiError> {
    let path = std::env::var_os(LIVEKIT_CLIENT_ENV).map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web/node_modules/livekit-client/dist/livekit-client.esm.mjs")
    });
    match tokio::fs::read(&path).await {
        Ok(body) => Ok(([(header::CONTENT_TYPE, JS)], body).into_response()),
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "livekit-client is not installed");
            Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "livekit_client_missing",
                format!(
                    "LiveKit mode needs livekit-client: run `npm ci --prefix server/web` (or set {LIVEKIT_CLIENT_ENV})"
                ),
            ))
        }
    }
}
