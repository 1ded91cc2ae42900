//! MCP servers over streamable HTTP through the egress. rmcp speaks the protocol; every HTTP
//! request it makes goes out through [`Egress::send`] like a plugin's: checked by the policy,
//! with the credential filled in by the egress, and recorded or replayed with the session.
//! [`McpHttp`] is rmcp's HTTP client interface over that, with the status and content-type
//! handling of the MCP streamable HTTP transport.

use std::borrow::Cow;
use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::stream::{BoxStream, Stream, StreamExt as _};
use http::header::{ACCEPT, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderName, HeaderValue, StatusCode};
use rmcp::model::{ClientJsonRpcMessage, ClientRequest, ErrorData, JsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::{
    AuthRequiredError, HttpStatusError, InsufficientScopeError, SseError, StreamableHttpClient,
    StreamableHttpClientTransportConfig, StreamableHttpError, StreamableHttpPostResponse,
};
use sse_stream::{Sse, SseStream};

use super::Egress;
use super::request::{Authorized, EgressError, Grant, Outgoing};
use super::secret::Secret;
use super::tap::SendError;

/// The MCP session header (streamable HTTP transport).
const SESSION_ID: &str = "mcp-session-id";
const LAST_EVENT_ID: &str = "last-event-id";
/// Largest JSON answer (or SSE event) read from a server; the agent author chose the server,
/// but a broken one must not exhaust the host's memory.
const MAX_MESSAGE_BYTES: usize = 16 << 20;
/// How much of an error body goes into a message.
const ERROR_PREVIEW: usize = 512;

/// Why an MCP request got no usable answer below the protocol.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum McpHttpError {
    #[error(transparent)]
    Send(#[from] SendError),
    #[error(transparent)]
    Refused(#[from] EgressError),
    #[error("an answer larger than {MAX_MESSAGE_BYTES} bytes")]
    TooLarge,
}

impl McpHttpError {
    /// The transport failure inside, for the caller's error text (whose chain `transparent`
    /// would skip past it).
    pub fn http(&self) -> Option<&reqwest::Error> {
        match self {
            Self::Send(SendError::Http(error)) => Some(error),
            _ => None,
        }
    }
}

type HttpError = StreamableHttpError<McpHttpError>;

/// rmcp's HTTP client for one authorized MCP server URL.
#[derive(Clone)]
pub struct McpHttp {
    egress: Egress,
    /// The headers as the config's auth type wrote them (the credential as `{{api-key}}`).
    headers: Vec<(String, String)>,
    secret: Option<Secret>,
}

impl Egress {
    /// The transport for an authorized MCP server URL.
    pub(crate) fn mcp_transport(&self, request: Authorized) -> StreamableHttpClientTransport<McpHttp> {
        let config =
            StreamableHttpClientTransportConfig::with_uri(request.url_for_logs()).reinit_on_expired_session(true);
        let client =
            McpHttp { egress: self.clone(), headers: request.written_headers.clone(), secret: request.secret.clone() };
        StreamableHttpClientTransport::with_client(client, config)
    }
}

impl McpHttp {
    /// Sends one request: the server's credential headers, rmcp's own (protocol version), and
    /// the session's, checked by the policy again (the URL is the one authorized).
    async fn send(
        &self,
        mut request: Outgoing,
        session_id: Option<&str>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<reqwest::Response, HttpError> {
        request.headers.extend(self.headers.iter().cloned());
        for (name, value) in custom_headers {
            if let Ok(value) = value.to_str() {
                request.headers.push((name.to_string(), value.to_string()));
            }
        }
        if let Some(session_id) = session_id {
            request.headers.push((SESSION_ID.into(), session_id.into()));
        }
        let authorized = self
            .egress
            .authorize(Grant::ConfigUrl, request, self.secret.as_ref())
            .map_err(|e| StreamableHttpError::Client(e.into()))?;
        self.egress.send(authorized).await.map_err(|e| StreamableHttpError::Client(e.into()))
    }
}

impl StreamableHttpClient for McpHttp {
    type Error = McpHttpError;

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<StreamableHttpPostResponse, HttpError> {
        let body = serde_json::to_vec(&message)?;
        let request = Outgoing::post(uri.as_ref(), body)
            .header(ACCEPT.as_str(), "application/json, text/event-stream")
            .header(CONTENT_TYPE.as_str(), "application/json");
        let response = self.send(request, session_id.as_deref(), custom_headers).await?;
        let status = response.status();
        auth_refusal(&response)?;
        if matches!(status, StatusCode::ACCEPTED | StatusCode::NO_CONTENT) {
            return Ok(StreamableHttpPostResponse::Accepted);
        }
        if status == StatusCode::NOT_FOUND && session_id.is_some() {
            return Err(StreamableHttpError::SessionExpired);
        }
        let answered_session = response.headers().get(SESSION_ID).and_then(|v| v.to_str().ok()).map(str::to_string);
        let kind = media_type(&response);
        // Notifications and replies wait for nothing: any success will do.
        let awaits_no_response = !matches!(message, JsonRpcMessage::Request(_));
        if !status.is_success() {
            let body = read_capped(response).await?;
            if let Ok(error @ JsonRpcMessage::Error(_)) = serde_json::from_slice::<ServerJsonRpcMessage>(&body) {
                return Ok(StreamableHttpPostResponse::Json(error, answered_session));
            }
            if let Some(rejected) = discover_rejected(&message, session_id.is_some(), status, &body) {
                return Ok(rejected);
            }
            return Err(status_error(status, None, &body));
        }
        match kind.as_deref() {
            Some("text/event-stream") => Ok(StreamableHttpPostResponse::Sse(events(response), answered_session)),
            Some("application/json") => {
                let body = read_capped(response).await?;
                match serde_json::from_slice::<ServerJsonRpcMessage>(&body) {
                    Ok(parsed) => Ok(StreamableHttpPostResponse::Json(parsed, answered_session)),
                    Err(_) if awaits_no_response => Ok(StreamableHttpPostResponse::Accepted),
                    Err(error) => Err(StreamableHttpError::UnexpectedServerResponse(Cow::Owned(format!(
                        "not a JSON-RPC message ({error}): {}",
                        preview(&body)
                    )))),
                }
            }
            _ if awaits_no_response => Ok(StreamableHttpPostResponse::Accepted),
            other => Err(StreamableHttpError::UnexpectedContentType(other.map(str::to_string))),
        }
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<(), HttpError> {
        let request = Outgoing { method: "DELETE".into(), url: uri.to_string(), ..Outgoing::default() };
        let response = self.send(request, Some(&session_id), custom_headers).await?;
        let status = response.status();
        // A server without sessions to end says so with 405; that is fine.
        if status.is_success() || status == StatusCode::METHOD_NOT_ALLOWED {
            return Ok(());
        }
        let body = read_capped(response).await.unwrap_or_default();
        Err(status_error(status, None, &body))
    }

    async fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<BoxStream<'static, Result<Sse, SseError>>, HttpError> {
        let mut request = Outgoing::get(uri.as_ref()).header(ACCEPT.as_str(), "text/event-stream, application/json");
        if let Some(last_event_id) = last_event_id {
            request = request.header(LAST_EVENT_ID, last_event_id);
        }
        let response = self.send(request, session_id.as_deref(), custom_headers).await?;
        let status = response.status();
        if status == StatusCode::METHOD_NOT_ALLOWED {
            return Err(StreamableHttpError::ServerDoesNotSupportSse);
        }
        auth_refusal(&response)?;
        if !status.is_success() {
            let retry_after = response.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()).map(str::to_string);
            let body = read_capped(response).await.unwrap_or_default();
            return Err(status_error(status, retry_after, &body));
        }
        match media_type(&response).as_deref() {
            Some("text/event-stream" | "application/json") => Ok(events(response)),
            other => Err(StreamableHttpError::UnexpectedContentType(other.map(str::to_string))),
        }
    }
}

/// A 401 or 403 that names its challenge: rmcp's errors for it, which say what to fix.
fn auth_refusal(response: &reqwest::Response) -> Result<(), HttpError> {
    let Some(challenge) = response.headers().get(WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    match response.status() {
        StatusCode::UNAUTHORIZED => Err(StreamableHttpError::AuthRequired(AuthRequiredError::new(challenge.into()))),
        StatusCode::FORBIDDEN => {
            let scope = scope_of(challenge);
            Err(StreamableHttpError::InsufficientScope(InsufficientScopeError::new(challenge.into(), scope)))
        }
        _ => Ok(()),
    }
}

/// The `scope="..."` of a `WWW-Authenticate` challenge.
fn scope_of(challenge: &str) -> Option<String> {
    let start = challenge.find("scope=\"")? + "scope=\"".len();
    let rest = &challenge[start..];
    Some(rest[..rest.find('"')?].to_string())
}

/// Rate limits and server failures keep their status (rmcp retries on them); anything else
/// is reported with the start of its body.
fn status_error(status: StatusCode, retry_after: Option<String>, body: &[u8]) -> HttpError {
    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        return HttpStatusError::new(status.as_u16(), retry_after).into();
    }
    StreamableHttpError::UnexpectedServerResponse(Cow::Owned(format!("HTTP {status}: {}", preview(body))))
}

/// A server of an older protocol refusing `server/discover` (a 4xx without a session): the
/// refusal as a JSON-RPC error to the request, so rmcp falls back to `initialize`.
fn discover_rejected(
    message: &ClientJsonRpcMessage,
    session_attached: bool,
    status: StatusCode,
    body: &[u8],
) -> Option<StreamableHttpPostResponse> {
    let JsonRpcMessage::Request(request) = message else { return None };
    if session_attached
        || !status.is_client_error()
        || matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
        || !matches!(request.request, ClientRequest::DiscoverRequest(_))
    {
        return None;
    }
    let error =
        ErrorData::invalid_request(format!("server/discover refused with HTTP {status}: {}", preview(body)), None);
    Some(StreamableHttpPostResponse::Json(ServerJsonRpcMessage::error(error, Some(request.id.clone())), None))
}

/// The response's media type, lowercase and without parameters.
fn media_type(response: &reqwest::Response) -> Option<String> {
    let value = response.headers().get(CONTENT_TYPE)?.to_str().ok()?;
    Some(value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
}

async fn read_capped(response: reqwest::Response) -> Result<Vec<u8>, HttpError> {
    let mut body = Vec::new();
    let mut chunks = response.bytes_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| StreamableHttpError::Client(SendError::Http(e).into()))?;
        if body.len() + chunk.len() > MAX_MESSAGE_BYTES {
            return Err(StreamableHttpError::Client(McpHttpError::TooLarge));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn preview(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(ERROR_PREVIEW)]);
    if text.trim().is_empty() { "(no body)".into() } else { text.trim().to_string() }
}

/// The response body as server-sent events, each at most [`MAX_MESSAGE_BYTES`].
fn events(response: reqwest::Response) -> BoxStream<'static, Result<Sse, SseError>> {
    SseStream::from_bytes_stream(EventSizeLimit { inner: response.bytes_stream().boxed(), pending: 0, newline: false })
        .boxed()
}

/// Fails a byte stream whose current event grows past [`MAX_MESSAGE_BYTES`] (an event ends
/// at a blank line).
struct EventSizeLimit {
    inner: BoxStream<'static, Result<Bytes, reqwest::Error>>,
    pending: usize,
    newline: bool,
}

impl Stream for EventSizeLimit {
    type Item = Result<Bytes, McpHttpError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let chunk = match self.inner.poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(chunk))) => chunk,
            Poll::Ready(Some(Err(error))) => return Poll::Ready(Some(Err(SendError::Http(error).into()))),
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => return Poll::Pending,
        };
        for &byte in chunk.iter() {
            match byte {
                b'\n' if self.newline => self.pending = 0,
                b'\n' => self.newline = true,
                b'\r' => {}
                _ => {
                    self.newline = false;
                    self.pending += 1;
                }
            }
        }
        if self.pending > MAX_MESSAGE_BYTES {
            return Poll::Ready(Some(Err(McpHttpError::TooLarge)));
        }
        Poll::Ready(Some(Ok(chunk)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_challenge_names_its_scope() {
        assert_eq!(scope_of(r#"Bearer realm="x", scope="tools:call files""#).as_deref(), Some("tools:call files"));
        assert_eq!(scope_of("Bearer realm=\"x\""), None);
    }

    #[tokio::test]
    async fn an_event_stream_may_not_grow_one_event_past_the_limit() {
        let chunks = (0..3).map(|_| Ok(Bytes::from("data: {}\n\n"))).collect::<Vec<_>>();
        let mut limited =
            EventSizeLimit { inner: futures_util::stream::iter(chunks).boxed(), pending: 0, newline: false };
        for _ in 0..3 {
            assert!(limited.next().await.unwrap().is_ok());
        }
        let big = Bytes::from(vec![b'a'; MAX_MESSAGE_BYTES / 2 + 1]);
        let mut limited = EventSizeLimit {
            inner: futures_util::stream::iter(vec![Ok(big.clone()), Ok(big)]).boxed(),
            pending: 0,
            newline: false,
        };
        assert!(limited.next().await.unwrap().is_ok());
        assert!(matches!(limited.next().await.unwrap(), Err(McpHttpError::TooLarge)));
    }
}
