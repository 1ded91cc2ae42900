//! `voiceblox-host worker`: register with LiveKit as the `voiceblox` agent and run dispatched
//! sessions until SIGTERM/SIGINT, then drain.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use voiceblox_host::egress::secret::Secret;
use voiceblox_host::record::RecordOptions;
use voiceblox_host::transport::livekit::LiveKitCredentials;
use voiceblox_host::worker::{DEFAULT_HEALTH_ADDR, HealthServer, JobRunner, SessionRunner, Worker, WorkerConfig};

use super::PluginOptions;

#[derive(Args, Debug)]
pub struct WorkerArgs {
    /// The LiveKit project URL (wss://…, or http(s)://…).
    #[arg(long, env = "LIVEKIT_URL")]
    url: Option<String>,
    #[arg(long, env = "LIVEKIT_API_KEY")]
    api_key: Option<String>,
    #[arg(long, env = "LIVEKIT_API_SECRET", hide_env_values = true)]
    api_secret: Option<String>,
    /// Sessions this worker runs at once; beyond it, it reports itself full.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    max_jobs: u32,
    /// On SIGTERM/SIGINT, how long running sessions may take to finish before they are stopped.
    #[arg(long, default_value = "30m", value_parser = humantime::parse_duration)]
    drain_timeout: Duration,
    /// Where `/healthz` and `/metrics` are served (port 0: any free port, printed at start).
    #[arg(long, env = "VOICEBLOX_HEALTH_ADDR", default_value = DEFAULT_HEALTH_ADDR)]
    health_addr: SocketAddr,
    #[command(flatten)]
    record: RecordOptions,
}

/// Runs the worker until a shutdown signal and the drain that follows.
pub async fn run(options: &PluginOptions, args: WorkerArgs) -> anyhow::Result<ExitCode> {
    let credentials = LiveKitCredentials::from_parts(args.url, args.api_key, args.api_secret.map(Secret::new))?;
    let shutdown = shutdown_signal().context("installing the SIGTERM/SIGINT handlers")?;
    voiceblox_host::open_files::raise_and_log();
    let runtime = options.runtime().await?;
    for failure in runtime.registry().failures() {
        tracing::warn!(%failure, "plugin refused");
    }
    let mut config = WorkerConfig::new(credentials);
    let runner: Arc<dyn JobRunner> = Arc::new(
        SessionRunner::new(runtime, config.metrics.clone(), config.credentials.clone())
            .recording(args.record.settings()),
    );
    config.options.max_jobs = args.max_jobs;
    config.drain_timeout = args.drain_timeout;
    let health = HealthServer::bind(args.health_addr, config.metrics.clone())
        .await
        .with_context(|| format!("serving /healthz and /metrics on {}", args.health_addr))?;
    eprintln!("voiceblox worker: health and metrics on http://{}", health.local_addr());
    Worker::run(config, runner, shutdown).await?;
    eprintln!("voiceblox worker: drained, exiting");
    Ok(ExitCode::SUCCESS)
}

/// The signal handlers are installed now, so a signal that arrives before the worker first
/// waits on it still counts.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    #[cfg(unix)]
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        eprintln!("voiceblox worker: shutting down; draining running sessions");
    })
}
