//! [`Egress`]: the operator's policy and the one pooled HTTP client whose every name is
//! vetted by it.

use std::sync::Arc;
use std::time::Duration;

use super::policy::NetworkPolicy;
use super::request::{Authorized, EgressError, Grant, Outgoing};
use super::resolver::PolicyResolver;
use super::secret::Secret;
use super::tap::{self, SendError, Tap};

/// Time limits of outgoing I/O.
#[derive(Debug, Clone)]
pub struct Timeouts {
    /// TCP + TLS (+ WebSocket handshake).
    pub connect: Duration,
    /// From sending a request to its response head.
    pub response: Duration,
    /// Silence allowed between two body chunks of a plugin's response.
    pub idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self { connect: Duration::from_secs(10), response: Duration::from_secs(30), idle: Duration::from_secs(30) }
    }
}

/// Every outgoing request's way out. Cheap to clone.
#[derive(Clone)]
pub struct Egress {
    pub(super) client: reqwest::Client,
    policy: Arc<NetworkPolicy>,
    timeouts: Timeouts,
    /// A session's recording or replay; `None` for plain sending.
    pub(super) tap: Option<Tap>,
}

impl std::fmt::Debug for Egress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Egress").field("policy", &self.policy).field("timeouts", &self.timeouts).finish()
    }
}

impl Egress {
    pub fn new(policy: Arc<NetworkPolicy>, timeouts: Timeouts) -> Result<Self, String> {
        super::tls::install_crypto_provider();
        let client = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            // No read timeout on the client: an MCP server's event stream may rest for minutes.
            // Each caller bounds its own waits (the plugin driver: `idle` between body chunks).
            .pool_idle_timeout(Duration::from_secs(90))
            .http2_adaptive_window(true)
            .redirect(reqwest::redirect::Policy::none())
            // A proxy from HTTP(S)_PROXY would resolve names itself, past the policy's
            // address check; traffic goes direct.
            .no_proxy()
            .dns_resolver(Arc::new(PolicyResolver { policy: policy.clone() }))
            .user_agent(concat!("voiceblox/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("building the HTTP client: {e}"))?;
        Ok(Self { client, policy, timeouts, tap: None })
    }

    /// This egress recording into, or replaying from, a session's recording.
    pub fn with_tap(&self, tap: Tap) -> Self {
        Self { tap: Some(tap), ..self.clone() }
    }

    /// Whether this egress answers from a recording instead of sending.
    pub fn is_replaying(&self) -> bool {
        matches!(self.tap, Some(Tap::Replay(_)))
    }

    pub fn policy(&self) -> &NetworkPolicy {
        &self.policy
    }

    pub fn timeouts(&self) -> &Timeouts {
        &self.timeouts
    }

    /// Checks `request` against the grant and the policy and fills in `secret` where the
    /// request asks for it (`{{api-key}}`) and may carry it. Nothing is sent.
    pub fn authorize(
        &self,
        grant: Grant<'_>,
        request: Outgoing,
        secret: Option<&Secret>,
    ) -> Result<Authorized, EgressError> {
        let target = match grant {
            Grant::Stream(grant) => self.policy.authorize(grant, &request.url)?,
            Grant::ConfigUrl => self.policy.authorize_config_url(&request.url)?,
        };
        let mut authorized = Authorized::new(request, target, secret)?;
        if self.is_replaying() {
            // Nothing leaves a replay, and what comes back was scrubbed when it was recorded.
            authorized.secret = None;
        }
        Ok(authorized)
    }

    /// Sends an authorized HTTP request; the response's body is the caller's to read.
    pub async fn send(&self, request: Authorized) -> Result<reqwest::Response, SendError> {
        match &self.tap {
            None => Ok(self.send_live(request).await?),
            Some(Tap::Record(recorder)) => {
                let id = tap::record_request(recorder, &request);
                let secret = request.secret.clone();
                tap::record_response(recorder, id, secret, self.send_live(request).await)
            }
            Some(Tap::Replay(answers)) => tap::replay_http(answers.as_ref(), &request).await,
        }
    }

    async fn send_live(&self, request: Authorized) -> Result<reqwest::Response, reqwest::Error> {
        let Authorized { method, url, headers, body, .. } = request;
        self.client.request(method, &url).headers(headers).body(body).send().await
    }
}

/// The policy refusal inside a failed request's error chain (a name that resolved to a
/// non-public address), if that is why it failed.
pub fn denial<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a super::PolicyError> {
    crate::error_text::find(&crate::error_text::causes(error, |_| None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::egress::{HostPattern, PolicyError, StreamGrant};

    fn egress(policy: NetworkPolicy) -> Egress {
        Egress::new(Arc::new(policy), Timeouts::default()).unwrap()
    }

    fn config_url(egress: &Egress, url: &str) -> Result<Authorized, EgressError> {
        egress.authorize(Grant::ConfigUrl, Outgoing::post(url, Vec::new()), None)
    }

    #[test]
    fn config_urls_are_http_or_https_without_credentials() {
        let egress = egress(NetworkPolicy::default());
        assert!(config_url(&egress, "https://mcp.example.com/mcp").is_ok());
        assert!(config_url(&egress, "http://mcp.example.com/mcp").is_ok());
        for bad in ["file:///etc/passwd", "ws://mcp.example.com/", "https://u:p@mcp.example.com/", "not a url"] {
            assert!(matches!(config_url(&egress, bad), Err(EgressError::Denied(_))), "{bad}");
        }
    }

    #[test]
    fn literal_non_public_addresses_need_the_operator() {
        let open = egress(NetworkPolicy::default());
        for url in
            ["http://127.0.0.1:8080/mcp", "http://[::1]/mcp", "http://169.254.169.254/latest", "http://10.0.0.2/"]
        {
            let err = config_url(&open, url).unwrap_err();
            assert!(matches!(err, EgressError::Denied(PolicyError::PrivateAddress { .. })), "{url}: {err}");
        }
        assert!(config_url(&open, "https://8.8.8.8/").is_ok());
        let allowed = egress(NetworkPolicy::default().allow(HostPattern::parse("127.0.0.1:8080").unwrap()));
        assert!(config_url(&allowed, "http://127.0.0.1:8080/mcp").is_ok());
        assert!(config_url(&allowed, "http://127.0.0.1:9090/mcp").is_err());
    }

    #[test]
    fn an_empty_stream_grant_reaches_nothing_and_the_key_goes_only_where_asked() {
        let egress = egress(NetworkPolicy::default());
        let request =
            || Outgoing::get("https://api.openai.com/v1/models").header("authorization", "Bearer {{api-key}}");
        let err = egress.authorize(Grant::Stream(&StreamGrant::default()), request(), None).unwrap_err();
        assert!(matches!(err, EgressError::Denied(PolicyError::Undeclared { .. })), "{err}");

        let grant = StreamGrant { declared: vec![HostPattern::parse("api.openai.com").unwrap()], ..Default::default() };
        let key = Secret::new("sk-egress-1");
        let authorized = egress.authorize(Grant::Stream(&grant), request(), Some(&key)).unwrap();
        assert_eq!(authorized.headers["authorization"], "Bearer sk-egress-1");
        assert!(authorized.headers["authorization"].is_sensitive());
        assert!(!authorized.url_for_logs().contains("sk-egress-1"));
        let in_path = Outgoing::get("https://api.openai.com/{{api-key}}/models");
        let err = egress.authorize(Grant::Stream(&grant), in_path, Some(&key)).unwrap_err();
        assert!(matches!(err, EgressError::Invalid(_)), "{err}");
    }

    #[tokio::test]
    async fn a_name_that_resolves_inside_is_refused_at_resolution() {
        let egress = egress(NetworkPolicy::default());
        // `localhost` is a name, so the static check passes; the resolver refuses its address.
        let authorized = config_url(&egress, "http://localhost:9/hook").unwrap();
        let error = egress.send(authorized).await.unwrap_err();
        let denied = denial(&error).expect("refused by the policy");
        assert!(matches!(denied, PolicyError::PrivateAddress { .. }), "{denied}");
    }
}
