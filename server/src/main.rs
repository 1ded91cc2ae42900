//! `voiceblox-server`: serves the agent runtime over HTTP.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use voiceblox_host::plugin::PluginOptions;
use voiceblox_server::{AppState, app};

#[derive(Parser, Debug)]
#[command(name = "voiceblox-server", version, about = "voiceblox server: agent sessions over HTTP")]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "VOICEBLOX_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    #[command(flatten)]
    plugins: PluginOptions,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    let runtime = args.plugins.runtime().await.context("starting the plugin runtime")?;
    for failure in runtime.registry().failures() {
        tracing::warn!(%failure, "plugin refused");
    }
    tracing::info!(plugins = runtime.registry().plugins().len(), dir = %args.plugins.plugins_dir().display(), "plugins loaded");
    let listener =
        tokio::net::TcpListener::bind(args.listen).await.with_context(|| format!("binding {}", args.listen))?;
    tracing::info!(address = %listener.local_addr()?, "voiceblox-server listening");
    axum::serve(listener, app(AppState { runtime: Arc::new(runtime) }))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("serving HTTP")
}
