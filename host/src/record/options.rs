//! The operator's recording flags, shared by every binary that runs sessions.

use std::path::PathBuf;

use clap::Args;

use super::recorder::{DEFAULT_MAX_BYTES, RecordSettings};

#[derive(Args, Debug, Clone, Default)]
pub struct RecordOptions {
    /// Record every session into this folder, one file per session (for `voiceblox-host
    /// replay`). Keys never reach a recording.
    #[arg(long = "record", env = "VOICEBLOX_RECORD_DIR", value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Size limit of one recording, in MiB; what comes after is not recorded.
    #[arg(long = "record-max-mb", env = "VOICEBLOX_RECORD_MAX_MB", default_value_t = DEFAULT_MAX_BYTES >> 20)]
    pub max_mb: u64,
    /// With --record: record only the sessions that ask (`"record": true` in the AgentConfig,
    /// or in the server request).
    #[arg(long = "record-on-request", env = "VOICEBLOX_RECORD_ON_REQUEST", requires = "dir")]
    pub on_request: bool,
}

impl RecordOptions {
    pub fn settings(&self) -> Option<RecordSettings> {
        self.dir.as_ref().map(|dir| RecordSettings {
            dir: dir.clone(),
            max_bytes: self.max_mb << 20,
            on_request: self.on_request,
        })
    }
}
