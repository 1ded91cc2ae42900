//! HTTP for plugin streams: one pooled client (rustls, HTTP/2 where the server offers it),
//! a resolver that applies the network policy to resolved addresses, and timeouts.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use tokio::sync::mpsc;

use super::super::bindings::latest::types::{Header, HttpRequest, HttpResponse, Input, ProviderError};
use super::super::error::StreamError;
use super::super::untrusted::clean;
use super::{IoEvent, status};
use crate::egress::policy::{NetworkPolicy, PolicyError, Target};
use crate::egress::secret::{API_KEY_PLACEHOLDER, BodyScrubber, Secret, placement};
use crate::error_text::chain;

/// Time limits of provider I/O.
#[derive(Debug, Clone)]
pub struct Timeouts {
    /// TCP + TLS (+ WebSocket handshake).
    pub connect: Duration,
    /// From sending a request to its response head.
    pub response: Duration,
    /// Silence allowed between two body chunks.
    pub idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self { connect: Duration::from_secs(10), response: Duration::from_secs(30), idle: Duration::from_secs(30) }
    }
}

/// The shared HTTP machinery of every stream. Cheap to clone.
#[derive(Clone)]
pub struct HttpIo {
    client: reqwest::Client,
    policy: Arc<NetworkPolicy>,
    timeouts: Timeouts,
}

/// A request that passed the policy, with its secret filled in.
pub struct Prepared {
    method: reqwest::Method,
    url: String,
    url_for_logs: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Prepared {
    pub fn url_for_logs(&self) -> &str {
        &self.url_for_logs
    }
}

/// Validates the plugin's request and fills in the key where it may stand. Errors are
/// contract violations.
pub fn prepare(request: HttpRequest, target: Target, secret: Option<&Secret>) -> Result<Prepared, String> {
    let method = reqwest::Method::from_bytes(request.method.as_bytes())
        .map_err(|_| format!("bad HTTP method `{}`", clean(&request.method)))?;
    Ok(Prepared {
        method,
        url: placement::fill_url(secret, &target.url).map_err(|e| e.to_string())?,
        url_for_logs: target.url.to_string(),
        headers: filled_headers(request.headers, secret)?,
        body: request.body,
    })
}

/// The plugin's headers (of a request or a WebSocket handshake) with the key filled in where
/// it may stand. Errors are contract violations.
pub fn filled_headers(headers: Vec<Header>, secret: Option<&Secret>) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::new();
    for Header { name, value } in headers {
        let filled = placement::fill_header(secret, &name, &value).map_err(|e| e.to_string())?;
        let header_name =
            HeaderName::from_bytes(name.as_bytes()).map_err(|_| format!("bad header name `{}`", clean(&name)))?;
        let mut header_value =
            HeaderValue::from_str(&filled).map_err(|_| format!("bad value for header `{}`", clean(&name)))?;
        if value.contains(API_KEY_PLACEHOLDER) {
            header_value.set_sensitive(true);
        }
        map.append(header_name, header_value);
    }
    Ok(map)
}

impl HttpIo {
    pub fn new(policy: Arc<NetworkPolicy>, timeouts: Timeouts) -> Result<Self, StreamError> {
        // tungstenite builds its TLS config from the process default; with a second provider
        // linked in (a later dependency's aws-lc-rs) that would panic instead of choosing.
        // An error only means a provider was installed already, which is what we want.
        crate::egress::tls::install_crypto_provider();
        let client = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .read_timeout(timeouts.idle)
            .pool_idle_timeout(Duration::from_secs(90))
            .http2_adaptive_window(true)
            .redirect(reqwest::redirect::Policy::none())
            // A proxy from HTTP(S)_PROXY would resolve names itself, past the policy's
            // address check; provider traffic goes direct.
            .no_proxy()
            .dns_resolver(Arc::new(PolicyResolver { policy: policy.clone() }))
            .user_agent(concat!("voiceblox/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| StreamError::Io(format!("building the HTTP client: {e}")))?;
        Ok(Self { client, policy, timeouts })
    }

    pub fn policy(&self) -> &NetworkPolicy {
        &self.policy
    }

    /// The pooled client; every name it resolves is vetted by the policy.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    pub fn timeouts(&self) -> &Timeouts {
        &self.timeouts
    }

    /// Performs one request and reports its head, body chunks and end (or failure).
    pub(super) async fn run(
        self,
        id: u32,
        request: Prepared,
        secret: Option<Secret>,
        provider: String,
        events: mpsc::Sender<IoEvent>,
    ) {
        let fail = |error: ProviderError| IoEvent::Failed(StreamError::Provider { provider: provider.clone(), error });
        let send = self.client.request(request.method, &request.url).headers(request.headers).body(request.body).send();
        let response = match tokio::time::timeout(self.timeouts.response, send).await {
            Err(_) => {
                let message = format!("no response within {} s", self.timeouts.response.as_secs());
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
        loop {
            match response.chunk().await {
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
                    let _ = events.send(transport_failure(&error, secret.as_ref(), &provider)).await;
                    return;
                }
            }
        }
    }
}

/// A request that failed below HTTP: a policy refusal at resolution, a timeout, a refused or
/// dropped connection.
fn transport_failure(error: &reqwest::Error, secret: Option<&Secret>, provider: &str) -> IoEvent {
    if let Some(denied) = find_source::<PolicyError>(error) {
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

fn find_source<'a, E: std::error::Error + 'static>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a E> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<E>() {
            return Some(found);
        }
        current = e.source();
    }
    None
}

/// Resolves names and refuses non-public addresses the operator did not allow.
struct PolicyResolver {
    policy: Arc<NetworkPolicy>,
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let vetted = policy.vet_addrs(&host, addrs)?;
            let addrs: Addrs = Box::new(vetted.into_iter());
            Ok(addrs)
        })
    }
}

/// Resolves and vets a WebSocket target (reqwest's resolver covers HTTP only).
pub(super) async fn resolve_vetted(
    policy: &NetworkPolicy,
    target: &Target,
) -> Result<Vec<SocketAddr>, StreamErrorKind> {
    let port = target.url.port_or_known_default().unwrap_or(443);
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((target.host.as_str(), port))
        .await
        .map_err(|e| StreamErrorKind::Connect(format!("resolving {}: {e}", target.host)))?
        .collect();
    if addrs.is_empty() {
        return Err(StreamErrorKind::Connect(format!("{} has no addresses", target.host)));
    }
    if target.private_ok {
        return Ok(addrs);
    }
    policy.vet_addrs(&target.host, addrs).map_err(StreamErrorKind::Denied)
}

pub(super) enum StreamErrorKind {
    Connect(String),
    Denied(PolicyError),
}

pub(super) use status::{from_status, retry_after_ms};
