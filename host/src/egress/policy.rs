//! The network policy: the one chokepoint every plugin `http-request` and `ws-connect` passes
//! before any I/O (DESIGN decision 3, wasmtime's `send_request` hook, Zed's capability granter).
//!
//! A request is allowed when its host is one the plugin *declared* in `describe()` and the
//! operator *allowed*, or when the operator named it for this stream (a configured base URL).
//! Resolved addresses are checked too: a name that resolves into a loopback, private,
//! link-local or otherwise non-public range is refused unless the operator allowed that name
//! explicitly (`--allow-host`), so a declared name cannot be pointed at internal services.
//! Secrets are filled into the outgoing request only after it passed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use url::Url;

/// A host pattern: `api.openai.com`, `*.deepgram.com` (any subdomain), optionally with a port
/// (`127.0.0.1:8080`); without a port any port matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    host: String,
    wildcard: bool,
    port: Option<u16>,
}

impl HostPattern {
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        let text = text.trim().to_ascii_lowercase();
        let bad = || PolicyError::BadPattern(crate::plugin::untrusted::clean(&text).into_owned());
        let (host, port) = split_host_port(&text).ok_or_else(bad)?;
        let (host, wildcard) = match host.strip_prefix("*.") {
            Some(rest) => (rest.to_string(), true),
            None => (host.to_string(), false),
        };
        // Plain ASCII only (IDNs in their xn-- form): no look-alikes, nothing a terminal obeys.
        if host.is_empty() || !host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':')) {
            return Err(bad());
        }
        Ok(Self { host, wildcard, port })
    }

    fn matches(&self, host: &str, port: u16) -> bool {
        self.port.is_none_or(|p| p == port) && self.matches_name(host)
    }

    /// Ignores the port: at resolution time the port was already checked by `authorize`.
    fn matches_name(&self, host: &str) -> bool {
        if self.wildcard {
            host.strip_suffix(self.host.as_str()).is_some_and(|prefix| prefix.ends_with('.'))
        } else {
            host == self.host
        }
    }
}

impl std::fmt::Display for HostPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.wildcard {
            f.write_str("*.")?;
        }
        f.write_str(&self.host)?;
        match self.port {
            Some(port) => write!(f, ":{port}"),
            None => Ok(()),
        }
    }
}

/// `host`, `host:port`, `[v6]:port`, `v6`.
fn split_host_port(text: &str) -> Option<(&str, Option<u16>)> {
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after.strip_prefix(':') {
            Some(port) => Some((host, Some(port.parse().ok()?))),
            None if after.is_empty() => Some((host, None)),
            None => None,
        };
    }
    match text.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Some((host, Some(port.parse().ok()?))),
        Some(_) => Some((text, None)),
        None => Some((text, None)),
    }
}

/// Hosts of the providers the product names. Allowed by default for plugins that declare them,
/// and only on public addresses.
pub const DEFAULT_ALLOWED_HOSTS: &[&str] = &[
    "api.openai.com",
    "*.openai.azure.com",
    "api.deepgram.com",
    "api.elevenlabs.io",
    "api.cartesia.ai",
    "api.assemblyai.com",
    "streaming.assemblyai.com",
    "api.anthropic.com",
    "generativelanguage.googleapis.com",
    "api.groq.com",
];

/// The operator's network policy. Deny by default: only what is listed here is reachable.
#[derive(Debug, Clone)]
pub struct NetworkPolicy {
    /// Allowed for declaring plugins, public addresses only.
    defaults: Vec<HostPattern>,
    /// Named by the operator: allowed on any address.
    operator: Vec<HostPattern>,
}

impl Default for NetworkPolicy {
    /// The built-in provider hosts, public addresses only.
    fn default() -> Self {
        Self {
            defaults: DEFAULT_ALLOWED_HOSTS.iter().filter_map(|h| HostPattern::parse(h).ok()).collect(),
            operator: Vec::new(),
        }
    }
}

impl NetworkPolicy {
    /// A policy that allows nothing at all.
    pub fn deny_all() -> Self {
        Self { defaults: Vec::new(), operator: Vec::new() }
    }

    /// Allows `pattern` for plugins that declare it, on any address (operator's word).
    pub fn allow(mut self, pattern: HostPattern) -> Self {
        self.operator.push(pattern);
        self
    }

    /// What the operator allowed beyond the built-in list.
    pub fn operator_allowed(&self) -> impl Iterator<Item = &HostPattern> {
        self.operator.iter()
    }

    pub fn allowed(&self) -> impl Iterator<Item = &HostPattern> {
        self.operator.iter().chain(&self.defaults)
    }

    /// Whether the operator named `host:port` explicitly, which allows it on non-public
    /// addresses too. For host code that checks literal IP hosts itself (the LLM tools).
    pub fn private_allowed(&self, host: &str, port: u16) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        self.operator.iter().any(|p| p.matches(&host, port))
    }

    /// Checks one outgoing request of a stream. Returns the vetted target; literal IP
    /// addresses are checked here, names again at resolution ([`Self::vet_addrs`]).
    pub fn authorize(&self, grant: &StreamGrant, raw_url: &str) -> Result<Target, PolicyError> {
        let url =
            Url::parse(raw_url).map_err(|e| PolicyError::BadUrl { url: redact_url(raw_url), reason: e.to_string() })?;
        if !matches!(url.scheme(), "http" | "https" | "ws" | "wss") {
            return Err(PolicyError::Scheme(url.scheme().to_string()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(PolicyError::BadUrl {
                url: redact_url(raw_url),
                reason: "credentials in URLs are not allowed".into(),
            });
        }
        let host =
            url.host_str().ok_or_else(|| PolicyError::BadUrl { url: redact_url(raw_url), reason: "no host".into() })?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        let port = url.port_or_known_default().unwrap_or(0);
        let named_by_operator = grant.operator_hosts.iter().any(|p| p.matches(&host, port));
        let declared = grant.declared.iter().any(|p| p.matches(&host, port));
        let any_address = self.operator.iter().any(|p| p.matches(&host, port));
        let allowed = any_address || self.defaults.iter().any(|p| p.matches(&host, port));
        if !named_by_operator && !declared {
            return Err(PolicyError::Undeclared { host: format!("{host}:{port}") });
        }
        if !named_by_operator && !allowed {
            return Err(PolicyError::NotAllowed { host: format!("{host}:{port}") });
        }
        let private_ok = any_address;
        if let Ok(ip) = host.parse::<IpAddr>()
            && !private_ok
            && !is_public(ip)
        {
            return Err(PolicyError::PrivateAddress { host, addr: ip });
        }
        Ok(Target { url, host, private_ok })
    }

    /// Checks a URL an AgentConfig names for the host's own requests (a webhook, an MCP
    /// server): http(s) only, any public host, non-public addresses only where the operator
    /// allowed the host. Configs can come from browsers, so they must not reach inside.
    pub fn authorize_config_url(&self, raw_url: &str) -> Result<Target, PolicyError> {
        let url =
            Url::parse(raw_url).map_err(|e| PolicyError::BadUrl { url: redact_url(raw_url), reason: e.to_string() })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(PolicyError::Scheme(url.scheme().to_string()));
        }
        let host =
            url.host_str().ok_or_else(|| PolicyError::BadUrl { url: redact_url(raw_url), reason: "no host".into() })?;
        // Named by the config, so no declaration is needed; the address rules still apply
        // (a literal non-public IP here, resolved names in the client's resolver).
        let own = HostPattern::parse(host.trim_start_matches('[').trim_end_matches(']'))?;
        self.authorize(&StreamGrant { declared: Vec::new(), operator_hosts: vec![own] }, raw_url)
    }

    /// Checks resolved addresses of `host`: non-public ones only where the operator allowed
    /// the name explicitly.
    pub fn vet_addrs(&self, host: &str, addrs: Vec<SocketAddr>) -> Result<Vec<SocketAddr>, PolicyError> {
        let host = host.to_ascii_lowercase();
        let private_ok = self.operator.iter().any(|p| p.matches_name(&host));
        if private_ok {
            return Ok(addrs);
        }
        match addrs.iter().find(|a| !is_public(a.ip())) {
            Some(bad) => Err(PolicyError::PrivateAddress { host, addr: bad.ip() }),
            None => Ok(addrs),
        }
    }
}

/// What one stream may reach, computed when it is opened.
#[derive(Debug, Clone, Default)]
pub struct StreamGrant {
    /// Hosts the plugin declared in `describe()`.
    pub declared: Vec<HostPattern>,
    /// Hosts the operator configured for this stream (its base URL): allowed without declaring.
    pub operator_hosts: Vec<HostPattern>,
}

/// A request that passed the policy.
#[derive(Debug, Clone)]
pub struct Target {
    pub url: Url,
    pub host: String,
    /// Whether the host may resolve to a non-public address.
    pub private_ok: bool,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyError {
    #[error("host {host} was not declared by the plugin in describe()")]
    Undeclared { host: String },
    #[error("host {host} is not allowed by the operator (allow it with --allow-host or VOICEBLOX_ALLOW_HOSTS)")]
    NotAllowed { host: String },
    #[error(
        "host {host} resolves to the non-public address {addr}; allow the name explicitly with --allow-host to reach it"
    )]
    PrivateAddress { host: String, addr: IpAddr },
    #[error("scheme {0}:// is not allowed (http, https, ws, wss only)")]
    Scheme(String),
    #[error("bad URL {url}: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("bad host pattern `{0}` (expected host, host:port or *.domain)")]
    BadPattern(String),
}

/// True for globally routable unicast addresses. An IPv6 address that carries an IPv4
/// address (IPv4-compatible, IPv4-mapped, NAT64, 6to4, Teredo) is judged by the IPv4 address
/// it carries, so `::ffff:127.0.0.1` or `2002:7f00:1::` cannot reach loopback.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            let embedded = embedded_v4(v6);
            if !embedded.is_empty() {
                return embedded.into_iter().all(is_public_v4);
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
                || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]) // discard-only
                || (s[0] == 0x2001 && s[1] < 0x0200) // IETF protocol assignments (ORCHID, benchmarking, ...)
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] == 0x3fff && s[1] < 0x1000)) // documentation (RFC 9637)
        }
    }
}

fn is_public_v4(v4: Ipv4Addr) -> bool {
    let [a, b, ..] = v4.octets();
    !(v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_unspecified()
        || v4.is_broadcast()
        || v4.is_documentation()
        || v4.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && v4.octets()[2] == 0)
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240)
}

/// The IPv4 addresses an IPv6 address carries, by the transition schemes that route to them.
fn embedded_v4(v6: Ipv6Addr) -> Vec<Ipv4Addr> {
    let s = v6.segments();
    let v4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    if let Some(mapped) = v6.to_ipv4_mapped() {
        return vec![mapped];
    }
    // IPv4-compatible (::a.b.c.d; deprecated, still routed by some stacks). `::` and `::1`
    // are left to the IPv6 rules.
    if s[..6] == [0; 6] && (s[6] != 0 || s[7] > 1) {
        return vec![v4(s[6], s[7])];
    }
    // NAT64: the well-known prefix 64:ff9b::/96 and the local-use 64:ff9b:1::/48.
    if (s[..6] == [0x64, 0xff9b, 0, 0, 0, 0]) || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1) {
        return vec![v4(s[6], s[7])];
    }
    // 6to4: 2002:AABB:CCDD::/48.
    if s[0] == 0x2002 {
        return vec![v4(s[1], s[2])];
    }
    // Teredo 2001:0000::/32: the server in bits 32..64, the client (inverted) in the last 32.
    if s[0] == 0x2001 && s[1] == 0 {
        return vec![v4(s[2], s[3]), v4(!s[6], !s[7])];
    }
    Vec::new()
}

/// The URL with its query removed, for messages and logs (keys sometimes travel there).
pub fn redact_url(raw: &str) -> String {
    match raw.split_once('?') {
        Some((base, _)) => format!("{base}?…"),
        None => raw.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(p: &str) -> HostPattern {
        HostPattern::parse(p).unwrap()
    }

    fn grant(declared: &[&str]) -> StreamGrant {
        StreamGrant { declared: declared.iter().map(|d| pattern(d)).collect(), operator_hosts: vec![] }
    }

    #[test]
    fn patterns_match_exact_wildcard_and_port() {
        assert!(pattern("api.openai.com").matches("api.openai.com", 443));
        assert!(!pattern("api.openai.com").matches("evil-api.openai.com", 443));
        assert!(pattern("*.deepgram.com").matches("api.deepgram.com", 443));
        assert!(!pattern("*.deepgram.com").matches("deepgram.com", 443));
        assert!(!pattern("*.deepgram.com").matches("xdeepgram.com", 443));
        assert!(pattern("127.0.0.1:8080").matches("127.0.0.1", 8080));
        assert!(!pattern("127.0.0.1:8080").matches("127.0.0.1", 8081));
        assert!(pattern("[::1]:80").matches("::1", 80));
        assert!(HostPattern::parse("http://x").is_err());
        assert!(HostPattern::parse("a.com:notaport").is_err());
        for bad in ["{{api-key}}.x.com", "аpi.openai.com", "a\u{1b}[2J.com", "a b.com", "a@b.com", "*.*.com"] {
            assert!(HostPattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_empty_policy_blocks_everything() {
        let err = NetworkPolicy::deny_all()
            .authorize(&grant(&["api.openai.com"]), "https://api.openai.com/v1/x")
            .unwrap_err();
        assert_eq!(err, PolicyError::NotAllowed { host: "api.openai.com:443".into() });
    }

    #[test]
    fn declared_and_allowed_passes_undeclared_fails() {
        let policy = NetworkPolicy::default();
        assert!(policy.authorize(&grant(&["api.openai.com"]), "https://api.openai.com/v1/chat").is_ok());
        let err = policy.authorize(&grant(&["api.openai.com"]), "https://api.deepgram.com/v1/listen").unwrap_err();
        assert!(matches!(err, PolicyError::Undeclared { .. }), "{err}");
        let err = policy.authorize(&grant(&["evil.example"]), "https://evil.example/").unwrap_err();
        assert!(matches!(err, PolicyError::NotAllowed { .. }), "{err}");
    }

    #[test]
    fn operator_base_url_counts_as_allowed_but_not_for_private_addresses() {
        let policy = NetworkPolicy::default();
        let mut g = grant(&[]);
        g.operator_hosts.push(pattern("api.groq.com"));
        assert!(policy.authorize(&g, "https://api.groq.com/openai/v1/chat/completions").is_ok());
        g.operator_hosts.push(pattern("127.0.0.1:11434"));
        let err = policy.authorize(&g, "http://127.0.0.1:11434/v1/chat/completions").unwrap_err();
        assert!(matches!(err, PolicyError::PrivateAddress { .. }), "{err}");
        let policy = policy.allow(pattern("127.0.0.1:11434"));
        assert!(policy.authorize(&g, "http://127.0.0.1:11434/v1/chat/completions").is_ok());
    }

    #[test]
    fn resolved_private_addresses_need_an_explicit_allow() {
        let policy = NetworkPolicy::default();
        let lo: SocketAddr = "127.0.0.1:443".parse().unwrap();
        let public: SocketAddr = "104.18.6.192:443".parse().unwrap();
        assert!(policy.vet_addrs("api.openai.com", vec![public]).is_ok());
        assert!(matches!(
            policy.vet_addrs("api.openai.com", vec![public, lo]),
            Err(PolicyError::PrivateAddress { .. })
        ));
        let policy = policy.allow(pattern("localhost"));
        assert!(policy.vet_addrs("localhost", vec![lo]).is_ok());
    }

    #[test]
    fn private_allowed_follows_the_operator_list_only() {
        let policy = NetworkPolicy::default().allow(pattern("127.0.0.1:8080"));
        assert!(policy.private_allowed("127.0.0.1", 8080));
        assert!(!policy.private_allowed("127.0.0.1", 8081));
        // Default provider hosts are public-only, so they do not count.
        assert!(!policy.private_allowed("api.openai.com", 443));
        assert!(NetworkPolicy::default().allow(pattern("[::1]")).private_allowed("[::1]", 1));
    }

    #[test]
    fn non_public_ranges_are_recognised() {
        for ip in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "0.0.0.0",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "2606:4700::1111"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn ipv6_addresses_carrying_ipv4_are_judged_by_it() {
        for ip in [
            "::127.0.0.1",     // IPv4-compatible
            "::ffff:10.0.0.1", // IPv4-mapped
            "::ffff:169.254.169.254",
            "64:ff9b::7f00:1",                      // NAT64 → 127.0.0.1
            "64:ff9b:1::a00:1",                     // local-use NAT64 → 10.0.0.1
            "2002:7f00:1::1",                       // 6to4 → 127.0.0.1
            "2002:a9fe:a9fe::",                     // 6to4 → 169.254.169.254
            "2001:0:4136:e378:8000:63bf:80ff:fffe", // Teredo, client 127.0.0.1
            "2001:0:0a00:0001::",                   // Teredo, server 10.0.0.1
            "100::1",
            "2001:2::1",
            "fec0::1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1", "::8.8.8.8"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn schemes_and_credentials_are_refused() {
        let policy = NetworkPolicy::default();
        let g = grant(&["api.openai.com"]);
        assert!(matches!(policy.authorize(&g, "file:///etc/passwd"), Err(PolicyError::Scheme(_))));
        assert!(matches!(policy.authorize(&g, "https://u:p@api.openai.com/"), Err(PolicyError::BadUrl { .. })));
    }

    #[test]
    fn config_urls_may_name_any_public_host_but_not_private_addresses() {
        let policy = NetworkPolicy::default();
        assert!(policy.authorize_config_url("https://hooks.example.com/voice").is_ok());
        assert!(matches!(
            policy.authorize_config_url("http://127.0.0.1:9000/hook"),
            Err(PolicyError::PrivateAddress { .. })
        ));
        assert!(matches!(policy.authorize_config_url("ws://hooks.example.com/"), Err(PolicyError::Scheme(_))));
        let allowed = NetworkPolicy::default().allow(pattern("127.0.0.1"));
        assert!(allowed.authorize_config_url("http://127.0.0.1:9000/hook").is_ok());
    }
}
