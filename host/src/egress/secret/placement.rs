//! Where a plugin may put the key placeholder, and filling it in there.
//!
//! The placeholder stands only where a provider protocol carries a key:
//! - a header value (`Authorization: Bearer {{api-key}}`),
//! - a query value (`?token={{api-key}}`), percent-encoded when filled in,
//! - the first text frame a stream sends on its WebSocket (ElevenLabs' opening message).
//!
//! Anywhere else it is refused before anything is sent: in a URL's scheme, user info, host,
//! port, path, fragment or a query name (a key in a host name would leave in a DNS query), in
//! a header name. Bodies and later WebSocket frames are sent as written, never filled: they
//! carry text that users and models produce, which must not be able to ask for the key.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use url::Url;

use super::{API_KEY_PLACEHOLDER, Secret};

/// Everything but the unreserved characters is encoded in a filled-in query value.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlacementError {
    #[error(
        "the key placeholder {{{{api-key}}}} stands in the URL's {0}; it may stand only in header values, query values and the first WebSocket text frame"
    )]
    Url(&'static str),
    #[error("the key placeholder {{{{api-key}}}} stands in a header name; it may stand only in header values")]
    HeaderName,
}

fn holds_placeholder(text: &str) -> bool {
    text.contains(API_KEY_PLACEHOLDER) || percent_decode_str(text).decode_utf8_lossy().contains(API_KEY_PLACEHOLDER)
}

/// Checks where the placeholder stands in `url` and returns the URL to send, with the key in
/// the query values that ask for it.
pub fn fill_url(secret: Option<&Secret>, url: &Url) -> Result<String, PlacementError> {
    let parts: [(&'static str, &str); 5] = [
        ("scheme", url.scheme()),
        ("user info", url.username()),
        ("password", url.password().unwrap_or_default()),
        ("host", url.host_str().unwrap_or_default()),
        ("path", url.path()),
    ];
    for (part, text) in parts {
        if holds_placeholder(text) {
            return Err(PlacementError::Url(part));
        }
    }
    if url.fragment().is_some_and(holds_placeholder) {
        return Err(PlacementError::Url("fragment"));
    }
    let Some(query) = url.query() else { return Ok(url.to_string()) };
    if !holds_placeholder(query) {
        return Ok(url.to_string());
    }
    let mut filled = Vec::new();
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if holds_placeholder(name) {
            return Err(PlacementError::Url("query name"));
        }
        match secret {
            Some(secret) if value.contains(API_KEY_PLACEHOLDER) => {
                let key = utf8_percent_encode(secret.expose(), QUERY_VALUE).to_string();
                filled.push(format!("{name}={}", value.replace(API_KEY_PLACEHOLDER, &key)));
            }
            _ => filled.push(pair.to_string()),
        }
    }
    let mut url = url.clone();
    url.set_query(Some(&filled.join("&")));
    Ok(url.to_string())
}

/// Checks a header and fills the key into its value.
pub fn fill_header(secret: Option<&Secret>, name: &str, value: &str) -> Result<String, PlacementError> {
    if holds_placeholder(name) {
        return Err(PlacementError::HeaderName);
    }
    Ok(match secret {
        Some(secret) if value.contains(API_KEY_PLACEHOLDER) => value.replace(API_KEY_PLACEHOLDER, secret.expose()),
        _ => value.to_string(),
    })
}

/// Fills the key into a WebSocket text frame, when it is the first the stream sends.
pub fn fill_ws_text(secret: Option<&Secret>, text: String, first_frame: bool) -> String {
    match secret {
        Some(secret) if first_frame && text.contains(API_KEY_PLACEHOLDER) => {
            text.replace(API_KEY_PLACEHOLDER, secret.expose())
        }
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(url: &str) -> Result<String, PlacementError> {
        fill_url(Some(&Secret::new("k&y=1/2")), &Url::parse(url).unwrap())
    }

    #[test]
    fn query_values_get_the_key_encoded() {
        assert_eq!(
            fill("wss://api.x.com/v1/listen?model=a&token={{api-key}}").unwrap(),
            "wss://api.x.com/v1/listen?model=a&token=k%26y%3D1%2F2"
        );
        assert_eq!(fill("https://api.x.com/v1?a=b").unwrap(), "https://api.x.com/v1?a=b");
        assert_eq!(
            fill_url(None, &Url::parse("https://a.com/?t={{api-key}}").unwrap()).unwrap(),
            "https://a.com/?t={{api-key}}"
        );
    }

    #[test]
    fn the_authority_path_and_names_never_take_the_key() {
        assert_eq!(fill("https://{{api-key}}.x.example.com/"), Err(PlacementError::Url("host")));
        assert_eq!(fill("https://{{api-key}}@x.example.com/"), Err(PlacementError::Url("user info")));
        assert_eq!(fill("https://x.example.com/v1/{{api-key}}/a"), Err(PlacementError::Url("path")));
        assert_eq!(fill("https://x.example.com/v1/%7B%7Bapi-key%7D%7D"), Err(PlacementError::Url("path")));
        assert_eq!(fill("https://x.example.com/?{{api-key}}=1"), Err(PlacementError::Url("query name")));
        assert_eq!(fill("https://x.example.com/#{{api-key}}"), Err(PlacementError::Url("fragment")));
    }

    #[test]
    fn headers_and_first_frames_only() {
        let key = Secret::new("sk-1");
        assert_eq!(fill_header(Some(&key), "authorization", "Bearer {{api-key}}").unwrap(), "Bearer sk-1");
        assert_eq!(fill_header(Some(&key), "x-{{api-key}}", "1"), Err(PlacementError::HeaderName));
        assert_eq!(fill_ws_text(Some(&key), "{\"k\":\"{{api-key}}\"}".into(), true), "{\"k\":\"sk-1\"}");
        assert_eq!(fill_ws_text(Some(&key), "say {{api-key}}".into(), false), "say {{api-key}}");
    }
}
