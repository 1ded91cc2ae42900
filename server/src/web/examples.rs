//! The example agents of `examples/agents/`, embedded so the page can load them from any
//! working directory.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use crate::error::ApiError;

const EXAMPLES: &[(&str, &str)] = &[
    ("support_triage", include_str!("../../../examples/agents/support_triage.json")),
    ("demo_qualifier", include_str!("../../../examples/agents/demo_qualifier.json")),
    ("docs_assistant_mcp", include_str!("../../../examples/agents/docs_assistant_mcp.json")),
];

pub fn names() -> Vec<&'static str> {
    EXAMPLES.iter().map(|(name, _)| *name).collect()
}

pub async fn get(Path(name): Path<String>) -> Result<impl IntoResponse, ApiError> {
    match EXAMPLES.iter().find(|(n, _)| *n == name) {
        Some((_, json)) => Ok(([(header::CONTENT_TYPE, "application/json")], *json)),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "example_not_found",
            format!("no example {name:?}; there are {}", names().join(", ")),
        )),
    }
}
