//! Recording and replaying what goes through the egress. A session being recorded gets an
//! egress whose every request, response chunk and WebSocket frame is written to its
//! [`Recorder`] as the plugin or host code wrote or saw it (keys as placeholders, replies
//! scrubbed); a replayed session gets one that sends nothing and answers from the recording,
//! on the recording's timeline.

use futures_util::StreamExt as _;
use std::sync::Arc;
use tokio_tungstenite::tungstenite::{self, Message};

use super::request::Authorized;
use super::secret::{BodyScrubber, Secret};
use super::ws::WsConnectError;
use crate::record::format::{Data, Entry, FailureKind, WsData};
use crate::record::{Answers, Asked, BodyStep, HttpExchange, HttpHead, Recorder, WsExchange, WsOpen};

/// What an egress does besides sending.
#[derive(Clone)]
pub enum Tap {
    Record(Recorder),
    /// Nothing is sent: answers come from a recording (or a flow test's script).
    Replay(Arc<dyn Answers>),
}

/// Why a request got no response.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    #[error(transparent)]
    Http(#[from] reqwest::Error),
    /// A failure as recorded, or a request the recording does not hold.
    #[error("{message}")]
    Replayed { failure: FailureKind, message: String },
}

impl SendError {
    pub fn is_timeout(&self) -> bool {
        match self {
            Self::Http(error) => error.is_timeout(),
            Self::Replayed { failure, .. } => *failure == FailureKind::Timeout,
        }
    }

    pub fn is_connect(&self) -> bool {
        match self {
            Self::Http(error) => error.is_connect(),
            Self::Replayed { failure, .. } => *failure == FailureKind::Connect,
        }
    }

    fn kind(&self) -> FailureKind {
        if super::denial(self).is_some() {
            FailureKind::Denied
        } else if self.is_timeout() {
            FailureKind::Timeout
        } else if self.is_connect() {
            FailureKind::Connect
        } else {
            FailureKind::Other
        }
    }
}

fn headers_of(map: &http::HeaderMap, secret: Option<&Secret>) -> Vec<(String, String)> {
    map.iter()
        .filter_map(|(name, value)| Some((name.to_string(), Secret::scrub(secret, value.to_str().ok()?))))
        .collect()
}

/// The request as its caller wrote it (the key as `{{api-key}}`), before it is sent.
pub(super) fn record_request(recorder: &Recorder, request: &Authorized) -> u32 {
    let id = recorder.next_id();
    recorder.write(Entry::HttpRequest {
        id,
        method: request.method.to_string(),
        url: request.url_for_logs.clone(),
        headers: request.written_headers.clone(),
        body: Data::of(&request.body),
    });
    id
}

/// Records the outcome of a live request: its head at once, its body chunk by chunk as the
/// caller reads it (scrubbed exactly as the plugin driver scrubs what it passes on).
pub(super) fn record_response(
    recorder: &Recorder,
    id: u32,
    secret: Option<Secret>,
    result: Result<reqwest::Response, reqwest::Error>,
) -> Result<reqwest::Response, SendError> {
    let response = match result {
        Ok(response) => response,
        Err(error) => {
            let error = SendError::Http(error);
            let message = Secret::scrub(secret.as_ref(), &crate::error_text::chain(&error));
            recorder.write(Entry::HttpFailed { id, failure: error.kind(), message });
            return Err(error);
        }
    };
    recorder.write(Entry::HttpResponse {
        id,
        status: response.status().as_u16(),
        headers: headers_of(response.headers(), secret.as_ref()),
    });
    let mut builder = http::Response::builder().status(response.status());
    if let Some(headers) = builder.headers_mut() {
        *headers = response.headers().clone();
    }
    let state = (response.bytes_stream(), recorder.clone(), BodyScrubber::new(secret), false);
    let body = futures_util::stream::unfold(state, move |(mut stream, recorder, mut scrubber, done)| async move {
        if done {
            return None;
        }
        match stream.next().await {
            Some(Ok(chunk)) => {
                let seen = scrubber.push(&chunk);
                if !seen.is_empty() {
                    recorder.write(Entry::HttpBody { id, data: Data::of(&seen) });
                }
                Some((Ok(chunk), (stream, recorder, scrubber, false)))
            }
            Some(Err(error)) => {
                let message = crate::error_text::chain(&error);
                recorder.write(Entry::HttpFailed { id, failure: FailureKind::Other, message });
                Some((Err(error), (stream, recorder, scrubber, true)))
            }
            None => {
                let tail = scrubber.finish();
                if !tail.is_empty() {
                    recorder.write(Entry::HttpBody { id, data: Data::of(&tail) });
                }
                recorder.write(Entry::HttpEnd { id });
                None
            }
        }
    });
    builder
        .body(reqwest::Body::wrap_stream(body))
        .map(reqwest::Response::from)
        .map_err(|e| SendError::Replayed { failure: FailureKind::Other, message: e.to_string() })
}

/// A request answered from the recording, head and chunks at their recorded delays.
/// What a replayed request asks, as its writer wrote it.
fn asked(request: &Authorized) -> Asked<'_> {
    Asked {
        method: request.method.as_str(),
        url: &request.url_for_logs,
        headers: &request.written_headers,
        body: &request.body,
    }
}

pub(super) async fn replay_http(answers: &dyn Answers, request: &Authorized) -> Result<reqwest::Response, SendError> {
    let sent = tokio::time::Instant::now();
    let Some(exchange) = answers.http(asked(request)) else {
        return Err(SendError::Replayed {
            failure: FailureKind::Connect,
            message: format!("the recording has no (further) {} {}", request.method, request.url_for_logs),
        });
    };
    let HttpExchange { head, body } = exchange;
    let (after, status, headers) = match head {
        // The session ended still waiting for this answer.
        HttpHead::Pending => return std::future::pending().await,
        HttpHead::Answered { after, status, headers } => (after, status, headers),
        HttpHead::Failed { after, failure, message } => {
            tokio::time::sleep_until(sent + after).await;
            return Err(SendError::Replayed { failure, message });
        }
    };
    tokio::time::sleep_until(sent + after).await;
    let mut builder = http::Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    let body = futures_util::stream::unfold(body.into_iter(), move |mut steps| async move {
        match steps.next() {
            Some(BodyStep::Chunk(at, chunk)) => {
                tokio::time::sleep_until(sent + at).await;
                Some((Ok(chunk), steps))
            }
            Some(BodyStep::Failed(at, message)) => {
                tokio::time::sleep_until(sent + at).await;
                Some((Err(std::io::Error::other(message)), steps))
            }
            Some(BodyStep::End(at)) => {
                tokio::time::sleep_until(sent + at).await;
                None
            }
            // A body the recording never saw end stays open, as it did.
            None => std::future::pending().await,
        }
    });
    builder
        .body(reqwest::Body::wrap_stream(body))
        .map(reqwest::Response::from)
        .map_err(|e| SendError::Replayed { failure: FailureKind::Other, message: e.to_string() })
}

/// A WebSocket connection about to be opened.
pub(super) fn record_ws_open(recorder: &Recorder, request: &Authorized) -> u32 {
    let id = recorder.next_id();
    let url = request.url_for_logs.clone();
    recorder.write(Entry::WsOpen { id, url, headers: request.written_headers.clone() });
    id
}

pub(super) fn record_ws_opened(recorder: &Recorder, id: u32, result: &Result<(), &WsConnectError>) {
    recorder.write(match result {
        Ok(()) => Entry::WsOpened { id },
        Err(WsConnectError::Refused { status, retry_after, body }) => {
            Entry::WsRefused { id, status: *status, retry_after: retry_after.clone(), body: body.clone() }
        }
        Err(WsConnectError::Denied(denied)) => {
            Entry::WsFailed { id, failure: FailureKind::Denied, message: denied.to_string() }
        }
        Err(WsConnectError::Unavailable(message) | WsConnectError::Invalid(message)) => {
            Entry::WsFailed { id, failure: FailureKind::Connect, message: message.clone() }
        }
    });
}

/// A message the session sends, as recorded: binary ones by size and digest.
pub(super) fn ws_sent(message: &Message) -> Option<WsData> {
    match message {
        Message::Binary(bytes) => Some(WsData::BinarySent {
            bytes: bytes.len(),
            sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes)),
        }),
        other => ws_data(other, None),
    }
}

/// A message as recorded: text scrubbed of the key, pings and pongs left out.
pub(super) fn ws_data(message: &Message, secret: Option<&Secret>) -> Option<WsData> {
    match message {
        Message::Text(text) => Some(WsData::Text { text: Secret::scrub(secret, text) }),
        Message::Binary(bytes) => {
            let scrubbed = secret.and_then(|s| s.scrub_bytes(bytes));
            Some(WsData::Binary { data: Data::binary(scrubbed.as_deref().unwrap_or(bytes)) })
        }
        Message::Close(frame) => Some(WsData::Close {
            code: frame.as_ref().map(|f| u16::from(f.code)),
            reason: frame.as_ref().map(|f| Secret::scrub(secret, &f.reason)).unwrap_or_default(),
        }),
        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => None,
    }
}

/// What the server sent (or that it stopped).
pub(super) fn record_ws_incoming(
    recorder: &Recorder,
    id: u32,
    item: Option<&Result<Message, tungstenite::Error>>,
    secret: Option<&Secret>,
) {
    match item {
        Some(Ok(message)) => {
            if let Some(message) = ws_data(message, secret) {
                recorder.write(Entry::WsRecv { id, message });
            }
        }
        Some(Err(error)) => {
            let message = Secret::scrub(secret, &crate::error_text::chain(error));
            recorder.write(Entry::WsRecvFailed { id, message });
        }
        None => recorder.write(Entry::WsEnd { id }),
    }
}

/// A connection answered from the recording: opened (or refused) after its recorded delay.
pub(super) async fn replay_ws_open(
    answers: &dyn Answers,
    request: &Authorized,
) -> Result<super::ws::ReplayWs, WsConnectError> {
    let started = tokio::time::Instant::now();
    let Some(WsExchange { open, incoming, responder }) = answers.ws(asked(request)) else {
        return Err(WsConnectError::Unavailable(format!(
            "the recording has no (further) connection to {}",
            request.url_for_logs
        )));
    };
    match open {
        WsOpen::Pending => std::future::pending().await,
        WsOpen::Opened(after) => {
            tokio::time::sleep_until(started + after).await;
            Ok(super::ws::ReplayWs { started, steps: incoming.into(), responder })
        }
        WsOpen::Refused { after, status, retry_after, body } => {
            tokio::time::sleep_until(started + after).await;
            Err(WsConnectError::Refused { status, retry_after, body })
        }
        WsOpen::Failed { after, message, .. } => {
            tokio::time::sleep_until(started + after).await;
            Err(WsConnectError::Unavailable(message))
        }
    }
}
