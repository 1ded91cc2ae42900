//! Silero VAD v6 (MIT), streaming at 16 kHz: a speech probability per 32 ms.
//!
//! The calling convention is silero-vad's own (`OnnxWrapper.__call__` in 6.2.3): each call
//! gets 512 new samples prefixed by the last 64 samples of the previous call's input (zeros at
//! first), `input` f32 `[1, 576]`, with `state` f32 `[2, 1, 128]` (zeros at first); it answers
//! `output` `[1, 1]`, the probability, and `stateN`, the next call's `state`. The model's `sr`
//! input is pinned to 16 000 at load time, so tract folds the branches that depend on it.

use std::path::Path;
use std::sync::Arc;

use tract_onnx::prelude::*;

use crate::{ModelError, onnx_rewrite, plan};

/// The rate the model takes.
pub const SAMPLE_RATE: u32 = 16_000;
/// New samples per call (32 ms).
pub const CHUNK: usize = 512;
/// Samples of the previous call's input that precede each chunk.
const CONTEXT: usize = 64;
const STATE: [usize; 3] = [2, 1, 128];

/// The loaded model. Cheap to share: each audio stream gets its own [`SileroStream`].
#[derive(Clone)]
pub struct SileroModel {
    plan: Arc<TypedRunnableModel>,
}

impl std::fmt::Debug for SileroModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SileroModel")
    }
}

impl SileroModel {
    /// Loads `silero_vad_op18_ifless.onnx` (a few tens of ms of CPU).
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let bytes = std::fs::read(path).map_err(ModelError::read(path))?;
        Self::from_bytes(&bytes)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelError> {
        let rewrite = |proto: &mut _| {
            onnx_rewrite::pin_input(proto, "sr", onnx_rewrite::scalar_i64(i64::from(SAMPLE_RATE)))?;
            Ok(())
        };
        let inputs = [("input", f32::fact([1, CONTEXT + CHUNK]).into()), ("state", f32::fact(STATE).into())];
        let plan = plan::load(bytes, rewrite, &inputs).map_err(|e| ModelError::Load(format!("{e:#}")))?;
        Ok(Self { plan })
    }

    /// A new stream, silent so far.
    pub fn stream(&self) -> Result<SileroStream, ModelError> {
        let run = self.plan.spawn().map_err(|e| ModelError::Load(format!("{e:#}")))?;
        let mut stream = SileroStream { run, state: None, window: vec![0.0; CONTEXT + CHUNK] };
        stream.reset();
        Ok(stream)
    }
}

/// One audio stream's recurrent state and context.
pub struct SileroStream {
    run: TypedSimpleState,
    /// `None` at the start of a stream: zeros.
    state: Option<TValue>,
    /// The context, then the newest chunk.
    window: Vec<f32>,
}

impl std::fmt::Debug for SileroStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SileroStream")
    }
}

impl SileroStream {
    /// Forgets everything heard (the start of a new stream).
    pub fn reset(&mut self) {
        self.state = None;
        self.window.iter_mut().for_each(|v| *v = 0.0);
    }

    /// The speech probability of the next 512 samples (16 kHz mono, in -1..1).
    pub fn process(&mut self, chunk: &[f32; CHUNK]) -> Result<f32, ModelError> {
        self.window[CONTEXT..].copy_from_slice(chunk);
        let run = |this: &mut Self| -> TractResult<f32> {
            let input = Tensor::from_shape(&[1, CONTEXT + CHUNK], &this.window)?.into_tvalue();
            let state = match this.state.take() {
                Some(state) => state,
                None => Tensor::zero::<f32>(&STATE)?.into_tvalue(),
            };
            let mut output = this.run.run(tvec!(input, state))?;
            let probability = output[0].try_as_plain_ram()?.as_slice::<f32>()?.first().copied();
            this.state = Some(output.remove(1));
            probability.ok_or_else(|| anyhow::anyhow!("the model gave no output"))
        };
        let probability = run(self).map_err(|e| ModelError::Run(format!("{e:#}")));
        self.window.copy_within(CHUNK.., 0);
        probability
    }
}
