//! The session's VAD, as its config asks.

use crate::audio::{EarshotVad, SileroVad, Vad, VadConfig, VadError};
use crate::config::VadModel;
use crate::models;

/// earshot, or Silero when the config asks for it and its model is at hand: loaded already or
/// on disk (it then loads in tens of milliseconds). A model that still has to be fetched is
/// fetched in the background for later sessions while this one uses earshot; on virtual time
/// (`wait`) the session waits for it, so a replay hears as the call did.
pub async fn for_session(model: VadModel, config: VadConfig, wait: bool) -> Result<Box<dyn Vad>, VadError> {
    if model == VadModel::Silero {
        let silero = if wait || models::SILERO.at_hand() {
            models::SILERO.shared().await
        } else {
            models::SILERO.warm_up();
            tracing::info!("the Silero VAD is being fetched; this session hears with earshot");
            None
        };
        if let Some(silero) = silero {
            tracing::debug!("the session hears with the Silero VAD");
            return Ok(Box::new(SileroVad::new(&silero, config)?));
        }
    }
    Ok(Box::new(EarshotVad::new(config)?))
}
