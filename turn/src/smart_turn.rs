//! Smart Turn v3 (`smart-turn-v3.2-cpu.onnx`): input `input_features` f32 `[1, 80, 800]`
//! ([`crate::features`]), output `logits` f32 `[1, 1]`, which despite its name is already the
//! sigmoid probability that the turn is complete.

use std::path::Path;
use std::sync::Arc;

use tract_onnx::prelude::*;

use crate::features::{N_FRAMES, N_MELS, WhisperFeatures};
use crate::{ModelError, onnx_rewrite, plan};

/// Above this the turn is complete (pipecat's rule: strictly greater).
pub const THRESHOLD: f32 = 0.5;

/// The loaded model, ready to decide. Cheap to share; decisions may run concurrently.
#[derive(Clone)]
pub struct SmartTurn {
    plan: Arc<TypedRunnableModel>,
    features: Arc<WhisperFeatures>,
}

impl std::fmt::Debug for SmartTurn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SmartTurn")
    }
}

impl SmartTurn {
    /// Loads and optimises the model (about a third of a second of CPU in a release build).
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let bytes = std::fs::read(path).map_err(ModelError::read(path))?;
        Self::from_bytes(&bytes)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelError> {
        let rewrite = |proto: &mut _| {
            onnx_rewrite::fold_constant_dequantize(proto)?;
            onnx_rewrite::fake_quantize_activations(proto)?;
            onnx_rewrite::drop_unused_initializers(proto)?;
            Ok(())
        };
        let plan = plan::load(bytes, rewrite, &[("input_features", f32::fact([1, N_MELS, N_FRAMES]).into())])
            .map_err(|e| ModelError::Load(format!("{e:#}")))?;
        Ok(Self { plan, features: Arc::new(WhisperFeatures::new()) })
    }

    /// The probability that the user is done, for 16 kHz mono audio ending where their speech
    /// ended (only the last 8 s count).
    pub fn probability(&self, audio: &[i16]) -> Result<f32, ModelError> {
        let audio: Vec<f32> = audio.iter().map(|&s| f32::from(s) / 32768.0).collect();
        let features = self.features.compute(&audio);
        let run = || -> TractResult<f32> {
            let input = Tensor::from_shape(&[1, N_MELS, N_FRAMES], &features)?;
            let output = self.plan.run(tvec!(input.into_tvalue()))?;
            let probability = output[0].try_as_plain_ram()?.as_slice::<f32>()?.first().copied();
            probability.ok_or_else(|| anyhow::anyhow!("the model gave no output"))
        };
        run().map_err(|e| ModelError::Run(format!("{e:#}")))
    }
}
