//! The kit's plain failures in this crate's generated contract types.

use voiceblox_plugin_kit::failure::Failure;
use voiceblox_plugin_kit::status::ErrorClass;

use crate::voiceblox::plugin::types::{ProviderError, RateLimit};

impl From<Failure> for ProviderError {
    fn from(failure: Failure) -> Self {
        let (class, message, retry_after_ms) = match failure {
            Failure::Classified { class, message, retry_after_ms } => (class, message, retry_after_ms),
            Failure::Protocol(message) => return ProviderError::Protocol(message),
        };
        match class {
            ErrorClass::Unauthorized => ProviderError::Unauthorized(message),
            ErrorClass::RateLimited => ProviderError::RateLimited(RateLimit { message, retry_after_ms }),
            ErrorClass::InvalidRequest => ProviderError::InvalidRequest(message),
            ErrorClass::Timeout => ProviderError::Timeout(message),
            ErrorClass::Unavailable => ProviderError::Unavailable(message),
        }
    }
}
