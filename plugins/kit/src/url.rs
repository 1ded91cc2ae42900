//! URL building without a URL crate: adapters only join configured base URLs with fixed paths,
//! swap schemes and append query strings, and a full parser would dominate a plugin's size.

/// `base` + `/` + `path`, with exactly one slash between them.
pub fn join(base: &str, path: &str) -> String {
    let base = base.trim_end_matches('/');
    let path = path.trim_start_matches('/');
    if path.is_empty() {
        return base.to_string();
    }
    format!("{base}/{path}")
}

/// Adds `https://` when an operator configured a bare host (`api.eu.deepgram.com`), as
/// provider SDKs accept.
pub fn with_default_scheme(url: &str) -> String {
    if url.contains("://") { url.to_string() } else { format!("https://{url}") }
}

/// The WebSocket URL for an HTTP one: `https` → `wss`, `http` → `ws`; `ws`/`wss` are kept and a
/// bare host gets `wss`.
pub fn to_websocket(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some(parts) => parts,
        None => return format!("wss://{url}"),
    };
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "https" | "wss" => "wss",
        "http" | "ws" => "ws",
        _ => return url.to_string(),
    };
    format!("{scheme}://{rest}")
}

/// The host name of `url` (lowercase, without userinfo, port or brackets).
pub fn host(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = after_scheme.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(bracketed) = authority.strip_prefix('[') {
        bracketed.split(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    host.to_ascii_lowercase()
}

/// Appends an encoded query string to `url`, after any query it already has.
pub fn append_query(url: &str, query: &str) -> String {
    if query.is_empty() {
        return url.to_string();
    }
    let separator = if !url.contains('?') {
        "?"
    } else if url.ends_with('?') || url.ends_with('&') {
        ""
    } else {
        "&"
    };
    format!("{url}{separator}{query}")
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so values survive any server's
/// query parser (a space becomes `%20`, which every server reads as a space).
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xF)]));
        }
    }
    out
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// An ordered query string. Keys may repeat (`keyterm=a&keyterm=b`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// An empty query.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a pair, keeping earlier pairs with the same key.
    pub fn push(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.pairs.push((key.to_string(), value.into()));
        self
    }

    /// Replaces every pair with this key by one pair, at the first one's position.
    pub fn set(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        let value = value.into();
        match self.pairs.iter().position(|(k, _)| k == key) {
            Some(first) => {
                self.pairs[first].1 = value;
                let mut index = 0;
                self.pairs.retain(|(k, _)| {
                    let keep = k != key || index == first;
                    index += 1;
                    keep
                });
            }
            None => self.pairs.push((key.to_string(), value)),
        }
        self
    }

    /// Removes every pair with this key.
    pub fn remove(&mut self, key: &str) -> &mut Self {
        self.pairs.retain(|(k, _)| k != key);
        self
    }

    /// The values for `key`, in order.
    pub fn get_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs.iter().filter(move |(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// `k=v&k2=v2`, percent-encoded.
    pub fn encode(&self) -> String {
        self.pairs
            .iter()
            .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_uses_one_slash() {
        assert_eq!(join("https://api.openai.com/v1", "chat/completions"), "https://api.openai.com/v1/chat/completions");
        assert_eq!(
            join("https://api.openai.com/v1/", "/chat/completions"),
            "https://api.openai.com/v1/chat/completions"
        );
        assert_eq!(join("http://127.0.0.1:11434/v1//", "models"), "http://127.0.0.1:11434/v1/models");
        assert_eq!(join("https://x.test", ""), "https://x.test");
    }

    #[test]
    fn default_scheme() {
        assert_eq!(with_default_scheme("api.eu.deepgram.com"), "https://api.eu.deepgram.com");
        assert_eq!(with_default_scheme("http://localhost:8080"), "http://localhost:8080");
    }

    #[test]
    fn websocket_schemes() {
        assert_eq!(to_websocket("https://api.deepgram.com"), "wss://api.deepgram.com");
        assert_eq!(to_websocket("HTTP://localhost:8080/x"), "ws://localhost:8080/x");
        assert_eq!(to_websocket("wss://a.test"), "wss://a.test");
        assert_eq!(to_websocket("ws://a.test"), "ws://a.test");
        assert_eq!(to_websocket("a.test"), "wss://a.test");
        assert_eq!(to_websocket("ftp://a.test"), "ftp://a.test");
    }

    #[test]
    fn hosts() {
        assert_eq!(host("https://api.openai.com/v1"), "api.openai.com");
        assert_eq!(host("https://My-Res.OpenAI.Azure.com/openai/deployments/x?q=1"), "my-res.openai.azure.com");
        assert_eq!(host("http://user:pw@127.0.0.1:11434/v1"), "127.0.0.1");
        assert_eq!(host("http://[::1]:8080/"), "::1");
        assert_eq!(host("api.groq.com"), "api.groq.com");
    }

    #[test]
    fn query_encoding_and_order() {
        let mut query = Query::new();
        query.push("model", "nova-3").push("keyterm", "Voice Blox").push("keyterm", "ünï&=?").push("b", "1");
        assert_eq!(query.encode(), "model=nova-3&keyterm=Voice%20Blox&keyterm=%C3%BCn%C3%AF%26%3D%3F&b=1");
        query.set("keyterm", "x").set("new", "y");
        assert_eq!(query.encode(), "model=nova-3&keyterm=x&b=1&new=y");
        query.remove("b");
        assert_eq!(query.get_all("model").collect::<Vec<_>>(), ["nova-3"]);
        assert_eq!(query.encode(), "model=nova-3&keyterm=x&new=y");
    }

    #[test]
    fn append_query_after_existing() {
        assert_eq!(append_query("https://a.test/x", "a=1"), "https://a.test/x?a=1");
        assert_eq!(append_query("https://a.test/x?k=v", "a=1"), "https://a.test/x?k=v&a=1");
        assert_eq!(append_query("https://a.test/x?", "a=1"), "https://a.test/x?a=1");
        assert_eq!(append_query("https://a.test/x", ""), "https://a.test/x");
    }
}
