//! Record and replay: a session written down completely (config without keys, plugin
//! identities, the user's audio or text with its timing, every provider exchange as the host
//! saw it, the events), and run again offline on virtual time against that traffic.
//!
//! Plugins are sans-I/O and every byte they exchange goes through the host's egress, so the
//! recording is taken there ([`crate::egress::Tap`]) and a replay answers there: a replay
//! needs no key and no network, and with the same plugin builds gives the same events.

pub mod compare;
pub mod format;
mod options;
mod reader;
mod recorder;
pub mod replay;
pub mod session;
mod traffic;

pub use self::options::RecordOptions;
pub use self::reader::{ReadError, Recording};
pub use self::recorder::{DEFAULT_MAX_BYTES, RecordError, RecordSettings, Recorder};
pub use self::traffic::{
    Answers, Asked, BodyStep, HttpExchange, HttpHead, ReplayTraffic, Responder, WsExchange, WsOpen, WsResponder, WsStep,
};
