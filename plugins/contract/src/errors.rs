//! The failures every adapter reports, as the contract's `provider-error`.

use voiceblox_plugin_kit::error_body::HttpFailure;
use voiceblox_plugin_kit::failure::Failure;

use crate::types::ProviderError;

/// A request the adapter refuses to send.
pub fn invalid(message: impl Into<String>) -> ProviderError {
    Failure::invalid(message).into()
}

/// A response the adapter cannot understand.
pub fn protocol(message: impl Into<String>) -> ProviderError {
    Failure::protocol(message).into()
}

/// A failed HTTP response from `provider`, classified by its status.
pub fn from_http(failure: HttpFailure, provider: &str) -> ProviderError {
    Failure::http(failure, provider).into()
}
