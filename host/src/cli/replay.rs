//! `voiceblox-host replay FILE`: runs a recorded session again, offline, on virtual time, and
//! says whether its events are the recorded ones or where they first part.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use voiceblox_host::plugin::PluginOptions;
use voiceblox_host::record::replay::{self, Replayed};
use voiceblox_host::record::{ReadError, Recording};

#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// A recording (`--record DIR` of `console`, `worker` or the server).
    file: PathBuf,
    /// Write the replay's events there, as JSON lines.
    #[arg(long)]
    events: Option<PathBuf>,
}

/// Exit status when the events differ.
const DIVERGED: u8 = 1;
/// Exit status when the recording cannot be read or replayed.
const UNREADABLE: u8 = 2;

pub async fn run(options: &PluginOptions, args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let recording = match Recording::read(&args.file) {
        Ok(recording) => recording,
        Err(error @ (ReadError::NotARecording { .. } | ReadError::TooNew { .. } | ReadError::Line { .. })) => {
            eprintln!("error: {error}");
            return Ok(ExitCode::from(UNREADABLE));
        }
        Err(error) => return Err(error.into()),
    };
    let options = options.clone();
    // Its own single-threaded runtime with a paused clock: virtual time, the same every run.
    let outcome = tokio::task::spawn_blocking(move || {
        replay::on_virtual_time(async move {
            let runtime = options.runtime().await?;
            anyhow::Ok(replay::replay(&recording, &runtime).await)
        })
    })
    .await
    .context("the replay task")?
    .context("starting the replay runtime")??;
    let replayed = match outcome {
        Ok(replayed) => replayed,
        Err(error) => {
            eprintln!("error: {error}");
            return Ok(ExitCode::from(UNREADABLE));
        }
    };
    if let Some(path) = &args.events {
        let lines: String = replayed.replayed.iter().map(|e| format!("{e}\n")).collect();
        std::fs::write(path, lines).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(report(&args.file, &replayed))
}

fn report(file: &std::path::Path, replayed: &Replayed) -> ExitCode {
    println!("replayed {}", file.display());
    if replayed.plugin_changes.is_empty() {
        println!("  plugins: the recorded builds");
    } else {
        for change in &replayed.plugin_changes {
            println!("  plugin changed: {change}");
        }
    }
    for request in &replayed.unmatched {
        println!("  not in the recording: {request}");
    }
    for request in &replayed.unused {
        println!("  recorded but not requested: {request}");
    }
    match replayed.divergence() {
        None => {
            println!("identical: {} events (measured timings aside)", replayed.recorded.len());
            ExitCode::SUCCESS
        }
        Some(divergence) => {
            println!("{divergence}");
            ExitCode::from(DIVERGED)
        }
    }
}
