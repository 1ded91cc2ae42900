//! `voiceblox-host models fetch`: gets the end-of-turn model ahead of the first session that
//! needs it (a deploy step, or a machine that will run offline).

use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use voiceblox_host::voice::turn_model;
use voiceblox_turn::SmartTurn;

#[derive(Subcommand, Debug)]
pub enum ModelsCommand {
    /// Fetch Smart Turn v3.2 (`turnDetection: "model"`) with pip into the model folder
    /// (`VOICEBLOX_MODELS_DIR`, default ~/.cache/voiceblox/models) and check that it loads.
    Fetch,
}

pub async fn run(command: ModelsCommand) -> anyhow::Result<ExitCode> {
    match command {
        ModelsCommand::Fetch => {
            let path = turn_model::model_path().await.context("fetching the end-of-turn model")?;
            let shown = path.clone();
            tokio::task::spawn_blocking(move || SmartTurn::load(&path))
                .await
                .context("loading the model")?
                .with_context(|| format!("loading {}", shown.display()))?;
            println!("end-of-turn model ready: {}", shown.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}
