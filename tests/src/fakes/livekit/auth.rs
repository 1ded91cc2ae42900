//! LiveKit's API authentication as the server applies it (`pkg/service/auth.go`): an HTTP
//! middleware that verifies the bearer JWT, then a grant check inside each Twirp method.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use super::twirp::TwirpError;

/// The claims a LiveKit token carries that these services look at (camelCase, as signed).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Claims {
    /// The API key that signed the token.
    pub iss: String,
    pub sub: String,
    pub name: String,
    pub exp: u64,
    pub nbf: u64,
    pub video: VideoGrants,
    /// `agent` for the tokens LiveKit mints for agent participants.
    pub kind: String,
    pub metadata: String,
    pub attributes: std::collections::HashMap<String, String>,
    pub sip: SipGrants,
}

/// The `sip` grants (`SIPGrants`): `call` lets a token place and transfer calls.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct SipGrants {
    pub admin: bool,
    pub call: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct VideoGrants {
    pub room_create: bool,
    pub room_list: bool,
    pub room_admin: bool,
    pub room_join: bool,
    pub room: String,
    pub can_publish: Option<bool>,
    pub can_subscribe: Option<bool>,
    pub can_publish_data: Option<bool>,
    pub can_publish_sources: Vec<String>,
    pub can_update_own_metadata: Option<bool>,
    /// Lets a worker connect to `/agent`.
    pub agent: bool,
}

/// The middleware's refusal: LiveKit writes it as plain text, before Twirp is involved.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AuthRefusal(pub(crate) String);

impl axum::response::IntoResponse for AuthRefusal {
    fn into_response(self) -> axum::response::Response {
        (StatusCode::UNAUTHORIZED, [("content-type", "text/plain; charset=utf-8")], self.0).into_response()
    }
}

/// What the middleware lets through: the verified claims, or none when no token was sent (then
/// every method's grant check fails).
pub(crate) fn authenticate(headers: &HeaderMap, api_key: &str, secret: &str) -> Result<Option<Claims>, AuthRefusal> {
    let Some(header) = headers.get("authorization") else { return Ok(None) };
    let header = header.to_str().unwrap_or_default();
    let Some(token) = header.strip_prefix("Bearer ") else {
        return Err(AuthRefusal("invalid authorization header. Must start with Bearer ".into()));
    };
    verify(token, api_key, secret).map(Some)
}

/// go-jose's default clock leeway, which LiveKit's verifier uses.
const LEEWAY_SECS: u64 = 60;

/// Verifies a token as LiveKit does: the issuer names the API key, whose secret must have made
/// the HS256 signature, and now must lie within `nbf`..`exp` (give or take the leeway). Done by
/// hand on `hmac`/`sha2` rather than through the SDK's JWT stack, so a signing bug in the code
/// under test cannot be mirrored by the check. Stricter than LiveKit in two ways that the SDKs
/// never exercise: only HS256 is accepted, and `exp` is required.
pub fn verify(token: &str, api_key: &str, secret: &str) -> Result<Claims, AuthRefusal> {
    let malformed = || AuthRefusal("invalid authorization token".into());
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed());
    };
    let header: Header = serde_json::from_slice(&base64url(header).ok_or_else(malformed)?).map_err(|_| malformed())?;
    let claims: Claims = serde_json::from_slice(&base64url(payload).ok_or_else(malformed)?).map_err(|_| malformed())?;
    let signature = base64url(signature).ok_or_else(malformed)?;
    // The issuer picks the secret, so it is read before the signature can be checked.
    if claims.iss != api_key {
        return Err(AuthRefusal("invalid API key".into()));
    }
    let refused = |why: &str| AuthRefusal(format!("invalid authorization token: {why}"));
    if header.alg != "HS256" {
        return Err(refused("unexpected signature algorithm"));
    }
    let signed = &token[..header_and_payload_len(token)];
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|_| refused("unusable secret"))?;
    mac.update(signed.as_bytes());
    mac.verify_slice(&signature).map_err(|_| refused("go-jose/go-jose: error in cryptographic primitive"))?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    if claims.exp == 0 {
        return Err(refused("no expiry"));
    }
    if now > claims.exp + LEEWAY_SECS {
        return Err(refused("go-jose/go-jose/jwt: validation failed, token is expired (exp)"));
    }
    if claims.nbf > now + LEEWAY_SECS {
        return Err(refused("go-jose/go-jose/jwt: validation failed, token not valid yet (nbf)"));
    }
    Ok(claims)
}

/// Signs `claims` as LiveKit signs the tokens it mints itself (HS256 with the project secret).
/// Tests use it for tokens the SDK will not make (expired, missing grants, a wrong secret).
pub fn sign(claims: &serde_json::Value, secret: &str) -> String {
    let encode = |value: &serde_json::Value| URL_SAFE_NO_PAD.encode(value.to_string());
    let signed = format!("{}.{}", encode(&serde_json::json!({"alg": "HS256", "typ": "JWT"})), encode(claims));
    // HMAC takes a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!());
    mac.update(signed.as_bytes());
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

fn base64url(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// `header.payload`: what the signature covers.
fn header_and_payload_len(token: &str) -> usize {
    token.rfind('.').unwrap_or(token.len())
}

/// The grant checks of `auth.go`; LiveKit reports a failed one as `unauthenticated`.
pub(crate) fn ensure_create(claims: Option<&Claims>) -> Result<(), TwirpError> {
    granted(claims.is_some_and(|c| c.video.room_create))
}

pub(crate) fn ensure_list(claims: Option<&Claims>) -> Result<(), TwirpError> {
    granted(claims.is_some_and(|c| c.video.room_list))
}

/// `roomAdmin` for exactly this room.
/// `EnsureSIPCallPermission`.
pub(crate) fn ensure_sip_call(claims: Option<&Claims>) -> Result<(), TwirpError> {
    granted(claims.is_some_and(|c| c.sip.call))
}

pub(crate) fn ensure_admin(claims: Option<&Claims>, room: &str) -> Result<(), TwirpError> {
    granted(claims.is_some_and(|c| c.video.room_admin && c.video.room == room))
}

fn granted(ok: bool) -> Result<(), TwirpError> {
    if ok { Ok(()) } else { Err(TwirpError::unauthenticated("permissions denied")) }
}
