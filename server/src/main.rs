//! `voiceblox-server`: serves the agent runtime over HTTP.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use voiceblox_host::plugin::PluginOptions;
use voiceblox_server::agent_session::LocalSessions;
use voiceblox_server::direct_session::DirectSessions;
use voiceblox_server::settings::{DirectOptions, SessionOptions, SessionSettings};
use voiceblox_server::{AppState, service};

#[derive(Parser, Debug)]
#[command(name = "voiceblox-server", version, about = "voiceblox server: agent sessions over HTTP")]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "VOICEBLOX_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    #[command(flatten)]
    plugins: PluginOptions,
    #[command(flatten)]
    sessions: SessionOptions,
    #[command(flatten)]
    direct: DirectOptions,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Before parsing, so `.env.local`/`.env` values reach clap's `env = ...` defaults; real
    // environment variables win over the files.
    let dotenv = voiceblox_host::dotenv::load();
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    for path in dotenv.context("reading the settings files")? {
        tracing::info!(path = %path.display(), "settings loaded");
    }
    voiceblox_host::open_files::raise_and_log();
    let runtime = args.plugins.runtime().await.context("starting the plugin runtime")?;
    for failure in runtime.registry().failures() {
        tracing::warn!(%failure, "plugin refused");
    }
    tracing::info!(plugins = runtime.registry().plugins().len(), dir = %args.plugins.plugins_dir().display(), "plugins loaded");
    let listener =
        tokio::net::TcpListener::bind(args.listen).await.with_context(|| format!("binding {}", args.listen))?;
    let sessions = SessionSettings::new(args.sessions);
    tracing::info!(address = %listener.local_addr()?, mode = ?sessions.mode, livekit = sessions.livekit_configured(), "voiceblox-server listening");
    if !sessions.livekit_configured() {
        tracing::info!(page = %format!("http://{}/", listener.local_addr()?), "no LiveKit configured: open the page to talk to an agent directly");
    }
    let local = LocalSessions::default();
    let direct = DirectSessions::new(&args.direct);
    let state = AppState { runtime: Arc::new(runtime), sessions, local: local.clone(), direct: direct.clone() };
    axum::serve(listener, service(state)).with_graceful_shutdown(shutdown_signal()).await.context("serving HTTP")?;
    for running in [&local, &direct.sessions] {
        if running.count() > 0 {
            tracing::info!(sessions = running.count(), "stopping in-process sessions");
            running.stop_all(SHUTDOWN_GRACE).await;
        }
    }
    Ok(())
}

/// How long running in-process sessions get to say goodbye and run their post-call steps.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => tokio::select! {
                _ = terminate.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            },
            Err(error) => {
                tracing::warn!(%error, "no SIGTERM handler; stopping on Ctrl-C only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
