//! The recording file: JSON lines, a [`Header`] first, then one [`Line`] per thing that
//! happened, in the order the host saw it, each stamped with its time on the session clock.
//!
//! A later host reads every `version` up to its own ([`VERSION`]); lines of kinds it does not
//! know are refused with the line number, never skipped silently.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

/// What the first line's `format` says.
pub const FORMAT: &str = "voiceblox-recording";
/// The newest format version this host writes and reads.
pub const VERSION: u32 = 1;

/// The first line: what is needed to run the session again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub version: u32,
    /// The host that recorded it (`voiceblox-host` version).
    pub host: String,
    /// When the session started (RFC 3339).
    pub started: String,
    pub medium: RecordedMedium,
    /// The AgentConfig with every key removed.
    pub config: serde_json::Value,
    /// The plugins loaded when the session ran.
    pub plugins: Vec<PluginIdentity>,
    /// Hosts the operator allowed beyond the built-in list (`--allow-host`), so a replay
    /// applies the same network policy.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Provider base URLs that came from the environment, by variable (never keys).
    #[serde(default)]
    pub base_url_env: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordedMedium {
    Text,
    Voice,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginIdentity {
    pub name: String,
    pub version: String,
    pub sha256: String,
    pub providers: Vec<String>,
}

/// One thing that happened, `at_us` microseconds after the session started.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Line {
    pub at_us: u64,
    #[serde(flatten)]
    pub entry: Entry,
}

/// Exchange ids number the session's HTTP requests and WebSocket connections in the order
/// they were made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    /// A user turn typed in a text session.
    UserText {
        text: String,
    },
    /// The user's text input ended (a text session's end of input).
    UserTextEnd,
    /// The user's audio as the voice loop heard it: mono, 16 kHz, 16-bit little-endian PCM.
    Mic {
        pcm: Data,
    },
    /// The user hung up / the microphone closed.
    MicEnd,
    HttpRequest {
        id: u32,
        method: String,
        url: String,
        headers: Vec<(String, String)>,
        body: Data,
    },
    HttpResponse {
        id: u32,
        status: u16,
        headers: Vec<(String, String)>,
    },
    HttpBody {
        id: u32,
        data: Data,
    },
    HttpEnd {
        id: u32,
    },
    HttpFailed {
        id: u32,
        failure: FailureKind,
        message: String,
    },
    WsOpen {
        id: u32,
        url: String,
        headers: Vec<(String, String)>,
    },
    WsOpened {
        id: u32,
    },
    WsRefused {
        id: u32,
        status: u16,
        retry_after: Option<String>,
        body: String,
    },
    WsFailed {
        id: u32,
        failure: FailureKind,
        message: String,
    },
    WsSend {
        id: u32,
        message: WsData,
    },
    WsRecv {
        id: u32,
        message: WsData,
    },
    /// The connection failed while reading.
    WsRecvFailed {
        id: u32,
        message: String,
    },
    /// The server's side ended (no more messages).
    WsEnd {
        id: u32,
    },
    /// An event the session published (JSON as on the data topic).
    Event {
        event: serde_json::Value,
    },
    /// The session ended.
    End {
        reason: String,
    },
    /// The size limit was reached; nothing after this point was written.
    Truncated {
        limit_bytes: u64,
    },
}

/// Why a request or connection failed below HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    Timeout,
    Connect,
    Denied,
    Other,
}

/// Bytes: as text when they are UTF-8 (readable in the file), else base64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Data {
    Text(String),
    Base64(String),
}

impl Data {
    pub fn of(bytes: &[u8]) -> Self {
        match std::str::from_utf8(bytes) {
            Ok(text) => Self::Text(text.to_string()),
            Err(_) => Self::Base64(STANDARD.encode(bytes)),
        }
    }

    /// Always base64 (audio, where text would be an accident).
    pub fn binary(bytes: &[u8]) -> Self {
        Self::Base64(STANDARD.encode(bytes))
    }

    pub fn bytes(&self) -> Result<Vec<u8>, base64::DecodeError> {
        match self {
            Self::Text(text) => Ok(text.as_bytes().to_vec()),
            Self::Base64(data) => STANDARD.decode(data),
        }
    }
}

/// A WebSocket message as recorded (pings and pongs are the connection's own business and
/// are not).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WsData {
    Text {
        text: String,
    },
    Binary {
        data: Data,
    },
    /// A binary message the session sent (audio to an STT): its size and SHA-256 only, as
    /// the audio itself is already in the recording once (`mic`) and a replay never needs it.
    BinarySent {
        bytes: usize,
        sha256: String,
    },
    Close {
        code: Option<u16>,
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_flat_json_objects_that_read_back() {
        let line = Line { at_us: 1500, entry: Entry::HttpBody { id: 3, data: Data::of(b"data: {}\n\n") } };
        let json = serde_json::to_string(&line).unwrap();
        assert_eq!(json, r#"{"at_us":1500,"kind":"http_body","id":3,"data":{"text":"data: {}\n\n"}}"#);
        let back: Line = serde_json::from_str(&json).unwrap();
        assert_eq!(back.entry, line.entry);
        let binary = Data::of(&[0xff, 0x00]);
        assert_eq!(binary, Data::Base64("/wA=".into()));
        assert_eq!(binary.bytes().unwrap(), vec![0xff, 0x00]);
    }
}
