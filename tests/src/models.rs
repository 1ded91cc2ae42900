//! The local models for tests and benches: fetched with pip once per target folder
//! (`target/models`), as a user's first session would.

use std::path::PathBuf;

use voiceblox_host::models::fetch;
use voiceblox_turn::wheel::Package;

/// The model file of `package`, fetched into `target/models` unless it is there already.
pub async fn fetched(package: &Package) -> PathBuf {
    let dir = crate::target_dir().join("models");
    let path = dir.join(package.model_file);
    if path.exists() { path } else { fetch::fetch(package, &dir).await.expect("fetching the model with pip") }
}
