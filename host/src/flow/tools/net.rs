//! Outbound HTTP of the LLM tools (MCP servers, Exa search).
//!
//! Tool URLs come from agent configs, which browsers write in server mode, so every tool
//! request passes the same network policy as the plugins' requests: `http`/`https` only, no
//! credentials in the URL, and no loopback, private or link-local address unless the operator
//! allowed that host explicitly (`--allow-host`). Literal IP hosts are checked here, names when
//! they resolve ([`PolicyResolver`]). Redirects are not followed and proxies are not used:
//! either would let a request reach an address the resolver never saw.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

use super::ToolError;
use crate::egress::policy::{NetworkPolicy, PolicyError, is_public, redact_url};
use crate::egress::secret::Secret;

/// Parses a tool URL and applies the policy's static checks. `what` names the tool in errors.
pub(crate) fn vet_url(raw: &str, policy: &NetworkPolicy, what: &str) -> Result<Url, ToolError> {
    let shown = redact_url(raw);
    let url = Url::parse(raw.trim()).map_err(|e| ToolError::Denied(format!("{what}: bad URL `{shown}`: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ToolError::Denied(format!(
            "{what}: scheme {}:// is not allowed (http and https only)",
            url.scheme()
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ToolError::Denied(format!("{what}: credentials in URLs are not allowed")));
    }
    let port = url.port_or_known_default().unwrap_or(0);
    let literal = match url.host() {
        None => return Err(ToolError::Denied(format!("{what}: the URL `{shown}` has no host"))),
        Some(Host::Domain(_)) => None,
        Some(Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
    };
    // A literal address never reaches the resolver, so it is vetted here.
    if let Some(ip) = literal
        && !is_public(ip)
        && !policy.private_allowed(&ip.to_string(), port)
    {
        let denied = PolicyError::PrivateAddress { host: ip.to_string(), addr: ip };
        return Err(ToolError::Denied(format!("{what}: {denied}")));
    }
    Ok(url)
}

/// An HTTP client for tool requests: the policy's resolver, no redirects, no proxy.
pub(crate) fn client(policy: &NetworkPolicy, connect_timeout: Duration) -> Result<reqwest::Client, String> {
    // This reqwest is built without a crypto provider of its own (no aws-lc); it takes the
    // process default, which must be installed before the first client. An error only means
    // it was installed already.
    crate::egress::tls::install_crypto_provider();
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(Arc::new(PolicyResolver { policy: Arc::new(policy.clone()) }))
        .user_agent(concat!("voiceblox/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("building the HTTP client: {e}"))
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

/// The causes of `error`, outermost first. `inner` steps into errors that hold a cause
/// without reporting it as `source()` (rmcp's `StreamableHttpError::Client`).
pub(crate) fn causes<'a>(
    error: &'a (dyn std::error::Error + 'static),
    inner: impl Fn(&'a (dyn std::error::Error + 'static)) -> Option<&'a (dyn std::error::Error + 'static)>,
) -> Vec<&'a (dyn std::error::Error + 'static)> {
    let mut found = Vec::new();
    let mut current = Some(error);
    while let Some(e) = current {
        found.push(e);
        current = e.source().or_else(|| inner(e));
    }
    found
}

/// The policy refusal among `causes`, if a request was refused at resolution.
pub(crate) fn denial(causes: &[&(dyn std::error::Error + 'static)]) -> Option<PolicyError> {
    causes.iter().find_map(|e| e.downcast_ref::<PolicyError>()).cloned()
}

/// The causes on one line, safe to show: the secret scrubbed, the URL without its query.
pub(crate) fn describe(causes: &[&(dyn std::error::Error + 'static)], url: &Url, secret: Option<&Secret>) -> String {
    let mut text = String::new();
    for cause in causes {
        let line = cause.to_string();
        // Wrappers repeat their cause in their own text; keep each piece once.
        if text.contains(&line) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&line);
    }
    let text = text.replace(url.as_str(), &redact_url(url.as_str()));
    Secret::scrub(secret, &text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::egress::HostPattern;

    fn vet(raw: &str, policy: &NetworkPolicy) -> Result<Url, ToolError> {
        vet_url(raw, policy, "MCP server")
    }

    #[test]
    fn only_http_and_https_without_credentials() {
        let policy = NetworkPolicy::default();
        assert!(vet("https://mcp.example.com/mcp", &policy).is_ok());
        assert!(vet("http://mcp.example.com/mcp", &policy).is_ok());
        for bad in ["file:///etc/passwd", "ws://mcp.example.com/", "https://u:p@mcp.example.com/", "not a url"] {
            assert!(matches!(vet(bad, &policy), Err(ToolError::Denied(_))), "{bad}");
        }
    }

    #[test]
    fn literal_private_addresses_need_the_operator() {
        let policy = NetworkPolicy::default();
        for url in
            ["http://127.0.0.1:8080/mcp", "http://[::1]/mcp", "http://169.254.169.254/latest", "http://10.0.0.2/"]
        {
            let err = vet(url, &policy).unwrap_err();
            assert!(err.to_string().contains("non-public address"), "{url}: {err}");
        }
        assert!(vet("https://8.8.8.8/", &policy).is_ok());
        let allowed = policy.allow(HostPattern::parse("127.0.0.1:8080").unwrap());
        assert!(vet("http://127.0.0.1:8080/mcp", &allowed).is_ok());
        assert!(vet("http://127.0.0.1:9090/mcp", &allowed).is_err());
    }

    #[test]
    fn descriptions_hide_the_query_and_the_secret() {
        #[derive(Debug, thiserror::Error)]
        #[error("error sending request for url (https://mcp.example.com/mcp?token=abc) with key sk-secret-1")]
        struct Outer;
        let url = Url::parse("https://mcp.example.com/mcp?token=abc").unwrap();
        let secret = Secret::new("sk-secret-1");
        let outer = Outer;
        let text = describe(&causes(&outer, |_| None), &url, Some(&secret));
        assert_eq!(text, "error sending request for url (https://mcp.example.com/mcp?…) with key [redacted]");
    }
}
