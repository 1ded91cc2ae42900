//! HTTP for plugin streams: an authorized request sent through the egress, its head, body
//! chunks and end reported to the stream, the key scrubbed from all of it.

use tokio::sync::mpsc;

use super::super::bindings::latest::types::{Header, HttpResponse, Input, ProviderError};
use super::super::error::StreamError;
use super::IoEvent;
use crate::egress::secret::{BodyScrubber, Secret};
use crate::egress::{Authorized, Egress, SendError, denial};
use crate::error_text::chain;

/// Performs one request and reports its head, body chunks and end (or failure).
pub(super) async fn run(io: Egress, id: u32, request: Authorized, provider: String, events: mpsc::Sender<IoEvent>) {
    let fail = |error: ProviderError| IoEvent::Failed(StreamError::Provider { provider: provider.clone(), error });
    let secret = request.secret().cloned();
    let response = match tokio::time::timeout(io.timeouts().response, io.send(request)).await {
        Err(_) => {
            let message = format!("no response within {} s", io.timeouts().response.as_secs());
            let _ = events.send(fail(ProviderError::Timeout(message))).await;
            return;
        }
        Ok(Err(error)) => {
            let _ = events.send(transport_failure(&error, secret.as_ref(), &provider)).await;
            return;
        }
        Ok(Ok(response)) => response,
    };
    // A response may reflect the request (an echo endpoint, an error page quoting the
    // header): the key is scrubbed before the plugin sees a byte of it.
    let head = HttpResponse {
        status: response.status().as_u16(),
        headers: response
            .headers()
            .iter()
            .filter_map(|(name, value)| {
                Some(Header { name: name.to_string(), value: Secret::scrub(secret.as_ref(), value.to_str().ok()?) })
            })
            .collect(),
    };
    let mut scrubber = BodyScrubber::new(secret.clone());
    if events.send(IoEvent::Input(Input::HttpResponse((id, head)))).await.is_err() {
        return;
    }
    let mut response = response;
    let idle = io.timeouts().idle;
    loop {
        let Ok(chunk) = tokio::time::timeout(idle, response.chunk()).await else {
            let message = format!("no data for {} s in the middle of the response", idle.as_secs());
            let _ = events.send(fail(ProviderError::Timeout(message))).await;
            return;
        };
        match chunk {
            Ok(Some(chunk)) => {
                let chunk = scrubber.push(&chunk);
                if !chunk.is_empty() && events.send(IoEvent::Input(Input::HttpBody((id, chunk)))).await.is_err() {
                    return;
                }
            }
            Ok(None) => {
                let tail = scrubber.finish();
                if !tail.is_empty() && events.send(IoEvent::Input(Input::HttpBody((id, tail)))).await.is_err() {
                    return;
                }
                let _ = events.send(IoEvent::Input(Input::HttpEnd(id))).await;
                return;
            }
            Err(error) => {
                let _ = events.send(transport_failure(&error.into(), secret.as_ref(), &provider)).await;
                return;
            }
        }
    }
}

/// A request that failed below HTTP: a policy refusal at resolution, a timeout, a refused or
/// dropped connection.
fn transport_failure(error: &SendError, secret: Option<&Secret>, provider: &str) -> IoEvent {
    if let Some(denied) = denial(error) {
        return IoEvent::Failed(StreamError::Denied { plugin: provider.to_string(), source: denied.clone() });
    }
    let detail = Secret::scrub(secret, &chain(error));
    let error = if error.is_timeout() {
        ProviderError::Timeout(detail)
    } else if error.is_connect() {
        ProviderError::Unavailable(format!("could not connect: {detail}"))
    } else {
        ProviderError::Unavailable(detail)
    };
    IoEvent::Failed(StreamError::Provider { provider: provider.to_string(), error })
}

pub(super) use super::status::{from_status, retry_after_ms};
