//! POSTs of the conversation: the webhook step and the post-call webhook.
//!
//! Body: `{ "conversation": [{type, text, timestamp}], ... }`. The URL comes from the config,
//! which may come from a browser, so the network policy vets it like any other egress.

use std::time::Duration;

use serde::Serialize;

use super::history::Entry;
use crate::egress::policy::{PolicyError, redact_url};
use crate::egress::{Egress, EgressError, Grant, Outgoing};

const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    #[error("webhook {url} refused: {source}")]
    Denied { url: String, source: PolicyError },
    #[error("webhook {url} answered {status}")]
    Status { url: String, status: u16 },
    #[error("webhook {url} did not answer within {} s", WEBHOOK_TIMEOUT.as_secs())]
    Timeout { url: String },
    #[error("webhook {url}: {message}")]
    Transport { url: String, message: String },
}

/// The webhook step's body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepPayload<'a> {
    pub conversation: &'a [Entry],
    pub step_id: &'a str,
    pub agent_name: &'a str,
}

/// POSTs `body` as JSON; any 2xx is success.
pub async fn post(egress: &Egress, url: &str, body: &impl Serialize) -> Result<(), WebhookError> {
    let shown = redact_url(url);
    let body =
        serde_json::to_vec(body).map_err(|e| WebhookError::Transport { url: shown.clone(), message: e.to_string() })?;
    let request = Outgoing::post(url, body).header("content-type", "application/json");
    let authorized = egress.authorize(Grant::ConfigUrl, request, None).map_err(|error| match error {
        EgressError::Denied(source) => WebhookError::Denied { url: shown.clone(), source },
        other => WebhookError::Transport { url: shown.clone(), message: other.to_string() },
    })?;
    let response = match tokio::time::timeout(WEBHOOK_TIMEOUT, egress.send(authorized)).await {
        Err(_) => return Err(WebhookError::Timeout { url: shown }),
        Ok(Err(error)) if error.is_timeout() => return Err(WebhookError::Timeout { url: shown }),
        Ok(Err(error)) => {
            return Err(match crate::egress::denial(&error) {
                Some(source) => WebhookError::Denied { url: shown, source: source.clone() },
                None => WebhookError::Transport { url: shown, message: crate::error_text::chain(&error) },
            });
        }
        Ok(Ok(response)) => response,
    };
    let status = response.status();
    if !status.is_success() {
        return Err(WebhookError::Status { url: shown, status: status.as_u16() });
    }
    tracing::debug!(url = %shown, %status, "webhook delivered");
    Ok(())
}
