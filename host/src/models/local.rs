//! [`LocalModel`]: one model, loaded at most once per process and shared by every session.

use std::path::{Path, PathBuf};

use tokio::sync::OnceCell;
use voiceblox_turn::ModelError;
use voiceblox_turn::wheel::Package;

use super::fetch::{self, FetchError};

/// A model file, where it comes from, and the loaded model once it is.
pub struct LocalModel<T> {
    cell: OnceCell<Option<T>>,
    package: &'static Package,
    /// The variable naming a file of the operator's to use instead.
    file_var: &'static str,
    load: fn(&Path) -> Result<T, ModelError>,
}

impl<T: Clone + Send + Sync + 'static> LocalModel<T> {
    pub const fn new(
        package: &'static Package,
        file_var: &'static str,
        load: fn(&Path) -> Result<T, ModelError>,
    ) -> Self {
        Self { cell: OnceCell::const_new(), package, file_var, load }
    }

    /// What it is, for messages.
    pub fn package(&self) -> &'static Package {
        self.package
    }

    /// The model, loading it (and fetching it first if need be) on the first call; `None` when
    /// it cannot be had (logged once).
    pub async fn shared(&'static self) -> Option<T> {
        self.cell
            .get_or_init(|| async {
                let what = self.package.what;
                match self.load().await {
                    Ok(model) => {
                        tracing::info!("{what} loaded");
                        Some(model)
                    }
                    Err(error) => {
                        tracing::warn!(%error, "no {what}: the session does without it");
                        None
                    }
                }
            })
            .await
            .clone()
    }

    /// The model file (fetching it now if it is missing), loaded off the async threads.
    pub async fn load(&'static self) -> Result<T, FetchError> {
        let path = self.path().await?;
        let load = self.load;
        tokio::task::spawn_blocking(move || load(&path).map_err(FetchError::from))
            .await
            .map_err(|e| FetchError::Io { what: format!("loading {}", self.package.what), source: e.into() })?
    }

    /// Starts loading the model in the background, so a session does not wait for it.
    pub fn warm_up(&'static self) {
        if !self.cell.initialized() {
            tokio::spawn(self.shared());
        }
    }

    /// Uses `model` for this process (a test's, or one loaded by hand) unless one is loaded
    /// already; whether it was taken.
    pub fn provide(&self, model: T) -> bool {
        self.cell.set(Some(model)).is_ok()
    }

    /// The model if it is loaded by now.
    pub fn ready(&self) -> Option<T> {
        self.cell.get().cloned().flatten()
    }

    /// Whether the model can be loaded without a download: loaded already, or its file is on
    /// disk (it then loads in a fraction of a second).
    pub fn at_hand(&self) -> bool {
        self.cell.initialized() || self.file().exists()
    }

    /// The file the model is read from: the operator's, else the model folder's.
    pub fn file(&self) -> PathBuf {
        match std::env::var_os(self.file_var) {
            Some(path) => path.into(),
            None => fetch::models_dir().join(self.package.model_file),
        }
    }

    /// The model file: the operator's, else the fetched one (fetching it now if it is missing).
    pub async fn path(&self) -> Result<PathBuf, FetchError> {
        let path = self.file();
        if std::env::var_os(self.file_var).is_some() || tokio::fs::try_exists(&path).await.unwrap_or(false) {
            return Ok(path);
        }
        fetch::fetch(self.package, &fetch::models_dir()).await
    }
}
