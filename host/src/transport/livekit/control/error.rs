//! What can go wrong talking to LiveKit's control plane, in terms a caller can act on.

use crate::error_text::chain;
use livekit_api::services::{ServerError, ServiceError};

/// A failed control-plane call. `call` names the Twirp method (`CreateRoom`, ...). No variant
/// ever holds the API secret: messages come from LiveKit's answer or the HTTP client, neither
/// of which sees it (only signatures made with it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error(
        "LiveKit refused {call}: {message} (check LIVEKIT_API_KEY and LIVEKIT_API_SECRET; the key must match the \
         secret and have the needed grants)"
    )]
    Unauthorized { call: &'static str, message: String },
    #[error("LiveKit is unreachable ({call}): {message}")]
    Unreachable { call: &'static str, message: String },
    #[error("LiveKit {call}: {message}")]
    NotFound { call: &'static str, message: String },
    #[error("LiveKit answered {call} with {code}: {message}")]
    Server { call: &'static str, code: String, message: String },
    #[error("LiveKit sent an unreadable answer to {call}: {message}")]
    Protocol { call: &'static str, message: String },
    #[error("cannot sign a LiveKit token: {0}")]
    Token(String),
}

impl ControlError {
    pub(crate) fn from_service(call: &'static str, error: ServiceError) -> Self {
        match error {
            ServiceError::Twirp(error) => Self::from_server(call, error),
            ServiceError::AccessToken(error) => Self::Token(error.to_string()),
            // Only the SDK's `new()` constructors read the environment; ours never do.
            ServiceError::Env(error) => Self::Token(error.to_string()),
        }
    }

    fn from_server(call: &'static str, error: ServerError) -> Self {
        match error {
            ServerError::Twirp(answer) => match answer.code.as_str() {
                // LiveKit answers a missing grant with `unauthenticated` too ("permissions denied").
                "unauthenticated" | "permission_denied" => Self::Unauthorized { call, message: answer.msg },
                "not_found" => Self::NotFound { call, message: answer.msg },
                _ => Self::Server { call, code: answer.code, message: answer.msg },
            },
            // The SDK decodes every non-200 body as a Twirp error. LiveKit's authentication
            // layer runs before Twirp and refuses a bad signature or unknown key with a plain
            // text 401 ("invalid authorization token: ..."), which is the one non-Twirp error
            // body the server sends; so an undecodable error body means the credentials.
            ServerError::Request(error) if error.is_decode() => Self::Unauthorized {
                call,
                message: "the request was rejected before reaching the service (LiveKit does this when the API key \
                          is unknown or the token signature does not match the secret)"
                    .to_string(),
            },
            ServerError::Request(error) => Self::Unreachable { call, message: chain(&error) },
            ServerError::Url(error) => Self::Unreachable { call, message: error.to_string() },
            ServerError::Prost(error) => Self::Protocol { call, message: error.to_string() },
        }
    }
}

#[cfg(test)]
mod tests {
    use livekit_api::services::ServerErrorCode;

    use super::*;

    fn twirp(code: &str, msg: &str) -> ControlError {
        let answer = ServerErrorCode { code: code.into(), msg: msg.into(), meta: Default::default() };
        ControlError::from_service("CreateRoom", ServiceError::Twirp(ServerError::Twirp(answer)))
    }

    #[test]
    fn twirp_codes_map_to_what_a_caller_can_act_on() {
        assert!(matches!(twirp("unauthenticated", "permissions denied"), ControlError::Unauthorized { .. }));
        assert!(matches!(twirp("permission_denied", "no"), ControlError::Unauthorized { .. }));
        assert_eq!(
            twirp("not_found", "requested room does not exist"),
            ControlError::NotFound { call: "CreateRoom", message: "requested room does not exist".into() }
        );
        assert_eq!(
            twirp("invalid_argument", "metadata size exceeds limits").to_string(),
            "LiveKit answered CreateRoom with invalid_argument: metadata size exceeds limits"
        );
    }
}
