//! `voiceblox-host`: the host's command line (plugin tools, console sessions, the LiveKit worker).

use std::io::IsTerminal;

use clap::Parser;

mod cli;

/// The error and its causes, skipping a cause the message already quotes (several of our
/// errors name their cause in their own text).
fn describe(error: &anyhow::Error) -> String {
    let mut message = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !message.contains(&cause) {
            message.push_str(": ");
            message.push_str(&cause);
        }
    }
    message
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Before parsing, so the files' values reach clap's `env = ...` defaults.
    if let Err(error) = voiceblox_host::dotenv::load() {
        eprintln!("error: {}", describe(&error.into()));
        return std::process::ExitCode::FAILURE;
    }
    let args = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match cli::run(args).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", describe(&error));
            std::process::ExitCode::FAILURE
        }
    }
}
