//! The one error shape every API route answers with: `{ "error": { "code", "message" } }`,
//! plus `problems` for an invalid config. 4xx is the caller's to fix, 5xx the operator's.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use voiceblox_host::config::{Problem, Severity};
use voiceblox_host::transport::livekit::{ControlError, CredentialsError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub problems: Vec<Problem>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), problems: Vec::new() }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn invalid_config(problems: Vec<Problem>) -> Self {
        let errors = problems.iter().filter(|p| p.is_error()).count();
        let message = format!("the agent config has {errors} error{}", if errors == 1 { "" } else { "s" });
        Self { problems, ..Self::bad_request("invalid_config", message) }
    }

    /// Missing or unusable LiveKit settings. Blamed on the request when it tried to supply them,
    /// else on the server's configuration.
    pub fn livekit_settings(error: CredentialsError, from_request: bool) -> Self {
        let status = if from_request { StatusCode::BAD_REQUEST } else { StatusCode::SERVICE_UNAVAILABLE };
        let message = match &error {
            CredentialsError::Missing { .. } => {
                format!("{error}; set them on the server or send livekit {{url, apiKey, apiSecret}} in the request")
            }
            CredentialsError::InvalidUrl { .. } => error.to_string(),
        };
        Self::new(status, "livekit_not_configured", message)
    }

    /// A LiveKit call made with the request's own `livekit` settings when `from_request`: LiveKit
    /// refusing those credentials is the caller's to fix (400), not the server's; otherwise as
    /// [`Self::livekit`].
    pub fn livekit_from(error: ControlError, from_request: bool) -> Self {
        match error {
            ControlError::Unauthorized { .. } if from_request => Self::bad_request(
                "livekit_unauthorized",
                format!("LiveKit refused the credentials sent in the request's \"livekit\": {error}"),
            ),
            error => Self::livekit(error),
        }
    }

    /// LiveKit refused or could not be reached: a bad gateway, since the fault is upstream.
    pub fn livekit(error: ControlError) -> Self {
        let code = match &error {
            ControlError::Unauthorized { .. } => "livekit_unauthorized",
            ControlError::Unreachable { .. } => "livekit_unreachable",
            ControlError::Token(_) => return Self::internal(&error),
            _ => "livekit_error",
        };
        tracing::warn!(%error, "LiveKit call failed");
        Self::new(StatusCode::BAD_GATEWAY, code, error.to_string())
    }

    /// Our fault: the detail goes to the log, the caller gets a generic message.
    pub fn internal(error: &dyn std::fmt::Display) -> Self {
        tracing::error!(%error, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error, see the server log")
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: Detail<'a>,
}

#[derive(Serialize)]
struct Detail<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    problems: Vec<ProblemView<'a>>,
}

#[derive(Serialize)]
struct ProblemView<'a> {
    path: &'a str,
    message: &'a str,
    severity: &'static str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problems = self
            .problems
            .iter()
            .map(|p| ProblemView {
                path: &p.path,
                message: &p.message,
                severity: match p.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                },
            })
            .collect();
        let body = Body { error: Detail { code: self.code, message: &self.message, problems } };
        (self.status, Json(body)).into_response()
    }
}
