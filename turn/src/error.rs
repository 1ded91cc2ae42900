/// Why a model could not be had or run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    #[error("reading the model {path}: {source}")]
    Read { path: String, source: std::io::Error },
    /// The file is not the model, or tract cannot run it.
    #[error("loading the model: {0}")]
    Load(String),
    #[error("running the model: {0}")]
    Run(String),
    /// The downloaded package is not the one expected.
    #[error("the model package: {0}")]
    Package(String),
}

impl ModelError {
    pub(crate) fn read(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Self + '_ {
        move |source| Self::Read { path: path.display().to_string(), source }
    }
}
