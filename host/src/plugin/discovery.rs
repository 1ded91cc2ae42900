//! Finding plugins: every `*.wasm` file directly inside the plugins folder.

use std::path::{Path, PathBuf};

/// The folder used when neither `--plugins` nor `VOICEBLOX_PLUGINS` is given: where the
/// workspace build puts the repository's plugins (`target/plugins`).
pub fn default_dir() -> PathBuf {
    PathBuf::from(env!("VOICEBLOX_BUILTIN_PLUGINS_DIR"))
}

/// `*.wasm` files in `dir`, sorted by name so loading (and conflict resolution) is stable.
pub fn wasm_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_file() && path.extension().is_some_and(|ext| ext == "wasm"))
        .collect();
    files.sort();
    Ok(files)
}

/// Where the workspace build puts the test fixture plugins (`target/wasm/fixtures`).
#[doc(hidden)]
pub fn fixture_plugins_dir() -> PathBuf {
    PathBuf::from(env!("VOICEBLOX_FIXTURE_PLUGINS_DIR"))
}
