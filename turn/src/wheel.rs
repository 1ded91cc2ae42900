//! Where the weights come from: the PyPI package `pipecat-ai` 1.14.0, whose wheel holds
//! `smart-turn-v3.2-cpu.onnx` under its BSD-2-Clause licence. Both the wheel and the model
//! are checked against their SHA-256, so a changed upload is refused rather than run.

use std::io::Read as _;

use sha2::{Digest as _, Sha256};

use crate::TurnModelError;

pub const PACKAGE: &str = "pipecat-ai";
pub const VERSION: &str = "1.14.0";
pub const WHEEL: &str = "pipecat_ai-1.14.0-py3-none-any.whl";
pub const WHEEL_SHA256: &str = "0352f504b44e78bdf524e45af4bc759601c835b9b7dc195efe5e03384b974a44";
/// The model inside the wheel.
pub const MEMBER: &str = "pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx";
/// The file name the model is kept under.
pub const MODEL_FILE: &str = "smart-turn-v3.2-cpu.onnx";
pub const MODEL_SHA256: &str = "2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f";

pub fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The model out of the wheel, both checked.
pub fn model_from_wheel(wheel: &[u8]) -> Result<Vec<u8>, TurnModelError> {
    let digest = sha256(wheel);
    if digest != WHEEL_SHA256 {
        return Err(TurnModelError::Package(format!("{WHEEL} has SHA-256 {digest}, expected {WHEEL_SHA256}")));
    }
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(wheel))
        .map_err(|e| TurnModelError::Package(format!("{WHEEL}: {e}")))?;
    let mut member = archive.by_name(MEMBER).map_err(|e| TurnModelError::Package(format!("{MEMBER}: {e}")))?;
    let mut model = Vec::new();
    member.read_to_end(&mut model).map_err(|e| TurnModelError::Package(format!("{MEMBER}: {e}")))?;
    check_model(&model)?;
    Ok(model)
}

/// Whether `model` is the expected file.
pub fn check_model(model: &[u8]) -> Result<(), TurnModelError> {
    let digest = sha256(model);
    if digest == MODEL_SHA256 {
        Ok(())
    } else {
        Err(TurnModelError::Package(format!("{MODEL_FILE} has SHA-256 {digest}, expected {MODEL_SHA256}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anything_but_the_expected_files_is_refused() {
        let error = model_from_wheel(b"PK not the wheel").unwrap_err().to_string();
        assert!(error.contains("SHA-256") && error.contains(WHEEL_SHA256), "{error}");
        let error = check_model(b"a model").unwrap_err().to_string();
        assert!(error.contains(MODEL_FILE), "{error}");
    }
}
