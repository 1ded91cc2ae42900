//! Settings files in the working directory, read by every entry point (server, worker,
//! console) before the command line: `.env.local`, then `.env`, as the product's users keep
//! them. Variables already in the environment win over both; `.env.local` wins over `.env`
//! (a variable is only set when it is not set yet).

use std::path::{Path, PathBuf};

/// The files, in the order they are read (the first to set a variable wins).
pub const FILES: [&str; 2] = [".env.local", ".env"];

/// A settings file that exists but cannot be read or parsed.
#[derive(Debug, thiserror::Error)]
#[error("reading {}", path.display())]
pub struct DotenvError {
    pub path: PathBuf,
    #[source]
    pub source: dotenvy::Error,
}

/// Reads [`FILES`] from the working directory; the files that were read.
pub fn load() -> Result<Vec<PathBuf>, DotenvError> {
    load_from(Path::new("."))
}

/// Reads [`FILES`] from `dir`; missing files are skipped.
pub fn load_from(dir: &Path) -> Result<Vec<PathBuf>, DotenvError> {
    let mut read = Vec::new();
    for name in FILES {
        let path = dir.join(name);
        match dotenvy::from_path(&path) {
            Ok(()) => read.push(path),
            Err(error) if error.not_found() => {}
            Err(source) => return Err(DotenvError { path, source }),
        }
    }
    Ok(read)
}
