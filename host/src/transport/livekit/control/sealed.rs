//! Keys for a dispatched agent, sealed into the dispatch metadata.
//!
//! Room metadata is readable by every participant, so a config's keys and a request's
//! `apiKeys` must not travel there. The server seals them instead, with ChaCha20-Poly1305
//! under a key both sides derive (HKDF-SHA256) from the LiveKit API secret, bound to the room
//! name, and puts the envelope in the dispatch metadata, which only the job's worker receives.
//! A worker that does not share the secret, or a blob moved to another room or altered, cannot
//! open it.
//!
//! The envelope is JSON, so the dispatch metadata stays readable as such:
//! `{"voiceblox.sealed": {"v": 1, "nonce": "<base64>", "data": "<base64>"}}`.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hkdf;
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

use crate::config::ApiKey;
use crate::transport::livekit::LiveKitCredentials;

/// The dispatch metadata field that holds the envelope.
pub const SEALED_FIELD: &str = "voiceblox.sealed";
const VERSION: u32 = 1;
const SALT: &[u8] = b"voiceblox dispatch";
const INFO: &[u8] = b"voiceblox sealed dispatch secrets v1";

/// What a dispatched agent needs and nobody else may read: the config as its author wrote it
/// (keys included) and the keys sent beside it.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct DispatchSecrets {
    /// The AgentConfig JSON, keys included.
    pub config: String,
    /// Provider id → key, as a request's `apiKeys` gave them.
    pub api_keys: BTreeMap<String, ApiKey>,
}

impl fmt::Debug for DispatchSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DispatchSecrets")
            .field("config", &format_args!("[{} bytes]", self.config.len()))
            .field("api_keys", &self.api_keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The sealed plaintext: keys in the clear, which is why it exists only inside [`seal`]/[`open`].
#[derive(Serialize, Deserialize)]
struct Plain {
    config: String,
    #[serde(default)]
    api_keys: BTreeMap<String, String>,
}

impl From<&DispatchSecrets> for Plain {
    fn from(secrets: &DispatchSecrets) -> Self {
        let api_keys = secrets.api_keys.iter().map(|(p, k)| (p.clone(), k.secret().expose().to_string())).collect();
        Self { config: secrets.config.clone(), api_keys }
    }
}

impl From<Plain> for DispatchSecrets {
    fn from(plain: Plain) -> Self {
        let api_keys = plain.api_keys.into_iter().map(|(p, k)| (p, ApiKey::new(k))).collect();
        Self { config: plain.config, api_keys }
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    #[error("the crypto library failed to {0}")]
    Crypto(&'static str),
    #[error("the sealed secrets in the dispatch metadata are malformed: {0}")]
    Malformed(String),
    #[error("the sealed secrets are version {0}; this worker reads version {VERSION}")]
    Version(u32),
    /// Wrong key, another room's blob, or altered on the way.
    #[error(
        "the sealed secrets in the dispatch metadata could not be opened: the worker and the server must \
         use the same LiveKit API secret"
    )]
    Refused,
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    v: u32,
    nonce: String,
    data: String,
}

/// The dispatch metadata carrying `secrets` for the agent of `room`.
pub fn seal(credentials: &LiveKitCredentials, room: &str, secrets: &DispatchSecrets) -> Result<String, SealError> {
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new().fill(&mut nonce).map_err(|_| SealError::Crypto("draw a nonce"))?;
    let mut data = serde_json::to_vec(&Plain::from(secrets)).map_err(|e| SealError::Malformed(e.to_string()))?;
    key(credentials)?
        .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(room.as_bytes()), &mut data)
        .map_err(|_| SealError::Crypto("seal"))?;
    let envelope = Envelope { v: VERSION, nonce: B64.encode(nonce), data: B64.encode(data) };
    Ok(serde_json::json!({ SEALED_FIELD: envelope }).to_string())
}

/// The secrets sealed for `room`, or `None` when the dispatch metadata holds no envelope
/// (empty, or another app's dispatch).
pub fn open(
    credentials: &LiveKitCredentials,
    room: &str,
    metadata: &str,
) -> Result<Option<DispatchSecrets>, SealError> {
    let Ok(serde_json::Value::Object(mut fields)) = serde_json::from_str::<serde_json::Value>(metadata) else {
        return Ok(None);
    };
    let Some(envelope) = fields.remove(SEALED_FIELD) else { return Ok(None) };
    let envelope: Envelope = serde_json::from_value(envelope).map_err(|e| SealError::Malformed(e.to_string()))?;
    if envelope.v != VERSION {
        return Err(SealError::Version(envelope.v));
    }
    let nonce: [u8; NONCE_LEN] = B64
        .decode(&envelope.nonce)
        .ok()
        .and_then(|n| n.try_into().ok())
        .ok_or_else(|| SealError::Malformed("nonce".into()))?;
    let mut data = B64.decode(&envelope.data).map_err(|e| SealError::Malformed(format!("data: {e}")))?;
    let plain = key(credentials)?
        .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(room.as_bytes()), &mut data)
        .map_err(|_| SealError::Refused)?;
    let plain: Plain = serde_json::from_slice(plain).map_err(|e| SealError::Malformed(e.to_string()))?;
    Ok(Some(plain.into()))
}

fn key(credentials: &LiveKitCredentials) -> Result<LessSafeKey, SealError> {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, SALT).extract(credentials.api_secret().as_bytes());
    let mut bytes = [0u8; 32];
    let okm = prk.expand(&[INFO], &CHACHA20_POLY1305).map_err(|_| SealError::Crypto("derive the key"))?;
    okm.fill(&mut bytes).map_err(|_| SealError::Crypto("derive the key"))?;
    let key = UnboundKey::new(&CHACHA20_POLY1305, &bytes).map_err(|_| SealError::Crypto("make the key"))?;
    Ok(LessSafeKey::new(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::egress::secret::Secret;

    fn credentials(secret: &str) -> LiveKitCredentials {
        LiveKitCredentials::new("wss://lk.example.com", "APIkey", Secret::new(secret)).unwrap()
    }

    fn secrets() -> DispatchSecrets {
        DispatchSecrets {
            config: r#"{"llm": {"apiKey": "sk-inline-1"}}"#.into(),
            api_keys: BTreeMap::from([("openai".into(), ApiKey::new("sk-request-2"))]),
        }
    }

    #[test]
    fn sealed_for_a_room_opens_there_with_the_same_secret_and_shows_nothing() {
        let lk = credentials("project-secret");
        let metadata = seal(&lk, "voiceblox-1-a", &secrets()).unwrap();
        for plain in ["sk-inline-1", "sk-request-2", "openai", "apiKey"] {
            assert!(!metadata.contains(plain), "{plain} readable in {metadata}");
        }
        assert_eq!(open(&lk, "voiceblox-1-a", &metadata).unwrap(), Some(secrets()));
        // Two seals of the same secrets differ (fresh nonce).
        assert_ne!(seal(&lk, "voiceblox-1-a", &secrets()).unwrap(), metadata);
    }

    #[test]
    fn another_secret_another_room_or_a_changed_byte_is_refused() {
        let lk = credentials("project-secret");
        let metadata = seal(&lk, "voiceblox-1-a", &secrets()).unwrap();
        assert!(matches!(open(&credentials("other"), "voiceblox-1-a", &metadata), Err(SealError::Refused)));
        assert!(matches!(open(&lk, "voiceblox-2-b", &metadata), Err(SealError::Refused)));
        let mut envelope: serde_json::Value = serde_json::from_str(&metadata).unwrap();
        let data = envelope[SEALED_FIELD]["data"].as_str().unwrap();
        let mut bytes = B64.decode(data).unwrap();
        bytes[3] ^= 1;
        envelope[SEALED_FIELD]["data"] = B64.encode(bytes).into();
        assert!(matches!(open(&lk, "voiceblox-1-a", &envelope.to_string()), Err(SealError::Refused)));
        envelope[SEALED_FIELD]["v"] = 2.into();
        assert!(matches!(open(&lk, "voiceblox-1-a", &envelope.to_string()), Err(SealError::Version(2))));
        envelope[SEALED_FIELD]["nonce"] = "AAAA".into();
        envelope[SEALED_FIELD]["v"] = 1.into();
        assert!(matches!(open(&lk, "voiceblox-1-a", &envelope.to_string()), Err(SealError::Malformed(_))));
    }

    #[test]
    fn dispatch_metadata_without_an_envelope_is_not_an_error() {
        let lk = credentials("project-secret");
        for metadata in ["", "hello", r#"{"other": 1}"#, "[1]"] {
            assert_eq!(open(&lk, "r", metadata).unwrap(), None, "{metadata}");
        }
        assert!(!format!("{:?}", secrets()).contains("sk-"));
    }
}
