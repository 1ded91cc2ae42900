//! The claims `/rtc` reads beyond the Twirp ones, and the refreshed token the server sends.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::Value;

/// What a participant's token says about it, read after the signature was verified.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct JoinClaims {
    pub(crate) sub: String,
    pub(crate) name: String,
    pub(crate) metadata: String,
    pub(crate) attributes: HashMap<String, String>,
    pub(crate) kind: String,
    pub(crate) video: JoinGrants,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct JoinGrants {
    pub(crate) room_join: bool,
    pub(crate) room: String,
    pub(crate) can_publish: Option<bool>,
    pub(crate) can_subscribe: Option<bool>,
    pub(crate) can_publish_data: Option<bool>,
    pub(crate) can_update_own_metadata: Option<bool>,
    pub(crate) hidden: bool,
    pub(crate) agent: bool,
}

fn payload(token: &str) -> Option<Value> {
    let part = token.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()
}

/// The claims of a token whose signature has already been checked.
pub(crate) fn claims(token: &str) -> JoinClaims {
    payload(token).and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default()
}

/// LiveKit's token refresh: the same claims, a new validity window, signed with the project
/// secret (HS256).
pub(crate) fn refreshed(token: &str, secret: &str, ttl_secs: u64) -> String {
    sign(payload(token).unwrap_or(Value::Null), secret, ttl_secs)
}

/// Signs `claims` (HS256) valid from now for `ttl_secs`.
pub(crate) fn sign(mut claims: Value, secret: &str, ttl_secs: u64) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    if let Some(map) = claims.as_object_mut() {
        map.insert("nbf".into(), now.into());
        map.insert("exp".into(), (now + ttl_secs).into());
    }
    super::super::auth::sign(&claims, secret)
}
