//! Twirp's wire as LiveKit's Go server speaks it: POST only, a protobuf or JSON body by
//! `Content-Type`, the answer in the request's encoding, errors as `{"code","msg"}` JSON.

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub(crate) const PROTOBUF: &str = "application/protobuf";
pub(crate) const JSON: &str = "application/json";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    /// Twirp routes on the media type; anything else is a bad route (404), as in twirp-go.
    pub(crate) fn of(headers: &HeaderMap) -> Result<Self, TwirpError> {
        let value = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
        let media_type = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        match media_type.as_str() {
            PROTOBUF => Ok(Self::Protobuf),
            JSON => Ok(Self::Json),
            _ => Err(TwirpError::new("bad_route", format!("unexpected Content-Type: {value:?}"))),
        }
    }

    pub(crate) fn decode<M: prost::Message + Default + DeserializeOwned>(self, body: &Bytes) -> Result<M, TwirpError> {
        let decoded = match self {
            Self::Protobuf => M::decode(body.clone()).map_err(|e| e.to_string()),
            Self::Json => serde_json::from_slice(body).map_err(|e| e.to_string()),
        };
        decoded.map_err(|e| TwirpError::new("malformed", format!("the request could not be decoded: {e}")))
    }

    pub(crate) fn encode<M: prost::Message + Serialize>(self, message: &M) -> Response {
        match self {
            Self::Protobuf => ([("content-type", PROTOBUF)], message.encode_to_vec()).into_response(),
            Self::Json => match serde_json::to_vec(message) {
                Ok(body) => ([("content-type", JSON)], body).into_response(),
                Err(e) => TwirpError::new("internal", e.to_string()).into_response(),
            },
        }
    }
}

/// A Twirp error: `code` is one of Twirp's names, which fixes the HTTP status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TwirpError {
    pub code: &'static str,
    pub msg: String,
}

impl TwirpError {
    pub(crate) fn new(code: &'static str, msg: impl Into<String>) -> Self {
        Self { code, msg: msg.into() }
    }

    pub(crate) fn unauthenticated(msg: &str) -> Self {
        Self::new("unauthenticated", msg)
    }

    /// Twirp's code → HTTP status table.
    fn status(&self) -> StatusCode {
        match self.code {
            "invalid_argument" | "malformed" | "out_of_range" => StatusCode::BAD_REQUEST,
            "unauthenticated" => StatusCode::UNAUTHORIZED,
            "permission_denied" => StatusCode::FORBIDDEN,
            "not_found" | "bad_route" => StatusCode::NOT_FOUND,
            "already_exists" | "aborted" => StatusCode::CONFLICT,
            "failed_precondition" => StatusCode::PRECONDITION_FAILED,
            "resource_exhausted" => StatusCode::TOO_MANY_REQUESTS,
            "unimplemented" => StatusCode::NOT_IMPLEMENTED,
            "unavailable" => StatusCode::SERVICE_UNAVAILABLE,
            "deadline_exceeded" => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for TwirpError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "code": self.code, "msg": self.msg }).to_string();
        (self.status(), [("content-type", JSON)], body).into_response()
    }
}
