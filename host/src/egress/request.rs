//! Requests before and after the policy: [`Outgoing`] is what a caller wants sent, with the
//! key standing as `{{api-key}}`; [`Authorized`] is what passed, with the key filled in.

use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::policy::{PolicyError, StreamGrant, Target};
use super::secret::{API_KEY_PLACEHOLDER, Secret, placement};
use crate::plugin::untrusted::clean;

/// What a caller may reach.
#[derive(Debug, Clone, Copy)]
pub enum Grant<'a> {
    /// A plugin stream: the hosts its plugin declared (and the operator allowed), and the base
    /// URL the operator configured for it.
    Stream(&'a StreamGrant),
    /// A URL an AgentConfig names (a webhook, an MCP server) or the operator configured for a
    /// host-side service (Exa): http(s), any public host, non-public ones only where the
    /// operator allowed that host.
    ConfigUrl,
}

/// A request as its caller wants it sent.
#[derive(Debug, Clone, Default)]
pub struct Outgoing {
    pub method: String,
    pub url: String,
    /// Header values may hold `{{api-key}}`; names may not.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Outgoing {
    pub fn get(url: impl Into<String>) -> Self {
        Self { method: "GET".into(), url: url.into(), ..Self::default() }
    }

    pub fn post(url: impl Into<String>, body: Vec<u8>) -> Self {
        Self { method: "POST".into(), url: url.into(), body, ..Self::default() }
    }

    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// Why a request was not authorized.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum EgressError {
    /// The policy refused the destination.
    #[error(transparent)]
    Denied(#[from] PolicyError),
    /// The request itself is malformed, or puts the key where it may not stand.
    #[error("{0}")]
    Invalid(String),
}

/// A request that passed the policy, with its key filled in. Only
/// [`super::Egress::authorize`] makes one, and only [`super::Egress::send`] and
/// [`super::Egress::connect`] take one.
#[derive(Debug)]
pub struct Authorized {
    pub(super) method: Method,
    pub(super) url: String,
    pub(super) url_for_logs: String,
    pub(super) headers: HeaderMap,
    /// The headers as the caller wrote them (the key as `{{api-key}}`), for recordings.
    pub(super) written_headers: Vec<(String, String)>,
    pub(super) body: Vec<u8>,
    pub(super) target: Target,
    pub(super) secret: Option<Secret>,
}

impl Authorized {
    /// The URL as the caller wrote it (the key not filled in), for logs and messages.
    pub fn url_for_logs(&self) -> &str {
        &self.url_for_logs
    }

    /// The key filled into this request, for scrubbing what comes back.
    pub fn secret(&self) -> Option<&Secret> {
        self.secret.as_ref()
    }

    pub(super) fn new(outgoing: Outgoing, target: Target, secret: Option<&Secret>) -> Result<Self, EgressError> {
        let method = Method::from_bytes(outgoing.method.as_bytes())
            .map_err(|_| EgressError::Invalid(format!("bad HTTP method `{}`", clean(&outgoing.method))))?;
        let url = placement::fill_url(secret, &target.url).map_err(|e| EgressError::Invalid(e.to_string()))?;
        let written_headers = outgoing.headers.clone();
        let headers = filled_headers(outgoing.headers, secret)?;
        Ok(Self {
            method,
            url,
            url_for_logs: target.url.to_string(),
            headers,
            written_headers,
            body: outgoing.body,
            target,
            secret: secret.cloned(),
        })
    }
}

/// The headers with the key filled in where it may stand, marked sensitive there.
fn filled_headers(headers: Vec<(String, String)>, secret: Option<&Secret>) -> Result<HeaderMap, EgressError> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let filled = placement::fill_header(secret, &name, &value).map_err(|e| EgressError::Invalid(e.to_string()))?;
        let header_name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| EgressError::Invalid(format!("bad header name `{}`", clean(&name))))?;
        let mut header_value = HeaderValue::from_str(&filled)
            .map_err(|_| EgressError::Invalid(format!("bad value for header `{}`", clean(&name))))?;
        if value.contains(API_KEY_PLACEHOLDER) {
            header_value.set_sensitive(true);
        }
        map.append(header_name, header_value);
    }
    Ok(map)
}
