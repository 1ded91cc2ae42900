//! Local models the voice loop can use, each loaded once per process: Smart Turn v3.2 for
//! `turnDetection: "model"` ([`TURN`]) and Silero VAD v6 for `vad: "silero"` ([`SILERO`]).
//!
//! A model's file comes from its own variable (`VOICEBLOX_TURN_MODEL`,
//! `VOICEBLOX_SILERO_MODEL`), else the model folder (`VOICEBLOX_MODELS_DIR`, default
//! `~/.cache/voiceblox/models`), where it is fetched with pip from the PyPI package that ships
//! it and checked against its SHA-256 ([`fetch`]). A model that cannot be had is logged once
//! and the session does without it (turns end by VAD silence; earshot hears speech).

pub mod fetch;
mod local;

use voiceblox_turn::{SileroModel, SmartTurn, wheel};

pub use self::fetch::{FetchError, MODELS_DIR_VAR, models_dir};
pub use self::local::LocalModel;

/// The end-of-turn model.
pub static TURN: LocalModel<SmartTurn> = LocalModel::new(&wheel::SMART_TURN, "VOICEBLOX_TURN_MODEL", SmartTurn::load);

/// The Silero VAD.
pub static SILERO: LocalModel<SileroModel> =
    LocalModel::new(&wheel::SILERO_VAD, "VOICEBLOX_SILERO_MODEL", SileroModel::load);
