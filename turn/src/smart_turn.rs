//! Smart Turn v3 (`smart-turn-v3.2-cpu.onnx`): input `input_features` f32 `[1, 80, 800]`
//! ([`crate::features`]), output `logits` f32 `[1, 1]`, which despite its name is already the
//! sigmoid probability that the turn is complete.

use std::path::Path;
use std::sync::Arc;

use tract_onnx::prelude::*;

use crate::features::{N_FRAMES, N_MELS, WhisperFeatures};
use crate::onnx_rewrite;

/// Above this the turn is complete (pipecat's rule: strictly greater).
pub const THRESHOLD: f32 = 0.5;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TurnModelError {
    #[error("reading the turn model {path}: {source}")]
    Read { path: String, source: std::io::Error },
    /// The file is not the model, or tract cannot run it.
    #[error("loading the turn model: {0}")]
    Load(String),
    #[error("running the turn model: {0}")]
    Run(String),
    /// The downloaded package is not the one expected.
    #[error("the model package: {0}")]
    Package(String),
}

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
    pub fn load(path: &Path) -> Result<Self, TurnModelError> {
        let bytes =
            std::fs::read(path).map_err(|source| TurnModelError::Read { path: path.display().to_string(), source })?;
        Self::from_bytes(&bytes)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TurnModelError> {
        let plan = plan(bytes).map_err(|e| TurnModelError::Load(format!("{e:#}")))?;
        Ok(Self { plan, features: Arc::new(WhisperFeatures::new()) })
    }

    /// The probability that the user is done, for 16 kHz mono audio ending where their speech
    /// ended (only the last 8 s count).
    pub fn probability(&self, audio: &[i16]) -> Result<f32, TurnModelError> {
        let audio: Vec<f32> = audio.iter().map(|&s| f32::from(s) / 32768.0).collect();
        let features = self.features.compute(&audio);
        let run = || -> TractResult<f32> {
            let input = Tensor::from_shape(&[1, N_MELS, N_FRAMES], &features)?;
            let output = self.plan.run(tvec!(input.into_tvalue()))?;
            let probability = output[0].try_as_plain_ram()?.as_slice::<f32>()?.first().copied();
            probability.ok_or_else(|| anyhow::anyhow!("the model gave no output"))
        };
        run().map_err(|e| TurnModelError::Run(format!("{e:#}")))
    }
}

fn plan(bytes: &[u8]) -> TractResult<Arc<TypedRunnableModel>> {
    // The exporter's value_info and output shapes carry a symbolic batch that clashes with
    // the fixed batch of 1 set below.
    let onnx = tract_onnx::onnx().with_ignore_value_info(true).with_ignore_output_shapes(true);
    let mut proto = onnx.proto_model_for_read(&mut std::io::Cursor::new(bytes))?;
    onnx_rewrite::fold_constant_dequantize(&mut proto)?;
    onnx_rewrite::fake_quantize_activations(&mut proto)?;
    onnx_rewrite::drop_unused_initializers(&mut proto)?;
    let mut model = onnx.model_for_proto_model(&proto)?;
    model.set_input_names(["input_features"])?;
    model.set_input_fact(0, f32::fact([1, N_MELS, N_FRAMES]).into())?;
    model.into_optimized()?.into_runnable()
}
