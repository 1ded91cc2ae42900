//! Command-line interface: global plugin options and the subcommands.

mod console;
mod models;
mod plugins;
mod plugins_new;
mod replay;
mod test_cmd;
mod try_cmd;
mod worker;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use voiceblox_host::plugin::PluginOptions;

#[derive(Parser, Debug)]
#[command(name = "voiceblox-host", version, about = "voiceblox agent host: provider plugins and voice sessions")]
pub struct Cli {
    #[command(flatten)]
    pub plugins: PluginOptions,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Inspect provider plugins.
    #[command(subcommand)]
    Plugins(plugins::PluginsCommand),
    /// Run a whole agent session locally: `--text`, or `--input USER.wav --output AGENT.wav`.
    Console(console::ConsoleArgs),
    /// Make one real streaming call to a provider through its plugin.
    #[command(subcommand)]
    Try(try_cmd::TryCommand),
    /// Run a recorded session again, offline on virtual time, and compare its events.
    Replay(replay::ReplayArgs),
    /// Run flow tests of AgentConfigs (`<agent>.test.json`): scripted users and LLM replies,
    /// checked step paths, events and webhooks; offline, on virtual time.
    Test(test_cmd::TestArgs),
    /// Run as a LiveKit agent worker: take dispatched sessions until SIGTERM/SIGINT, then drain.
    Worker(worker::WorkerArgs),
    /// Local models (the end-of-turn model, the Silero VAD).
    #[command(subcommand)]
    Models(models::ModelsCommand),
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Plugins(command) => plugins::run(&cli.plugins, command).await,
        Command::Console(args) => console::run(&cli.plugins, args).await,
        Command::Try(command) => try_cmd::run(&cli.plugins, command).await,
        Command::Worker(args) => worker::run(&cli.plugins, args).await,
        Command::Replay(args) => replay::run(&cli.plugins, args).await,
        Command::Test(args) => test_cmd::run(&cli.plugins, args).await,
        Command::Models(command) => models::run(command).await,
    }
}
