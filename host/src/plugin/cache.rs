//! On-disk cache of compiled components, keyed by the component's content hash and the
//! engine's compatibility hash (wasmtime version, target, settings), so a restart skips
//! Cranelift and an engine change never loads an incompatible artifact.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// The default cache folder: `$XDG_CACHE_HOME/voiceblox/components` or `~/.cache/...`.
pub fn default_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(base.join("voiceblox").join("components"))
}

pub struct CompileCache {
    dir: Option<PathBuf>,
}

impl CompileCache {
    /// `None` disables the cache (every load compiles).
    pub fn new(dir: Option<PathBuf>) -> Self {
        Self { dir }
    }

    /// Loads the compiled form of `bytes` from the cache, or compiles and stores it.
    /// Cache failures are logged and fall back to compiling; they never fail the load.
    pub fn load(&self, engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Component> {
        let Some(dir) = &self.dir else {
            return Component::new(engine, bytes);
        };
        let path = dir.join(format!("{}.cwasm", key(engine, bytes)));
        if path.exists() {
            // SAFETY: the file is in our own cache folder, named by the hash of the source
            // component and of the engine's compatibility settings, and was written by
            // `Engine::precompile_component` below; wasmtime re-checks the header.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => return Ok(component),
                Err(error) => tracing::warn!(path = %path.display(), %error, "discarding unusable cache entry"),
            }
        }
        let compiled = engine.precompile_component(bytes)?;
        if let Err(error) = store(&path, &compiled) {
            tracing::warn!(path = %path.display(), %error, "could not write the compile cache");
        }
        // SAFETY: `compiled` was produced by this engine just now.
        unsafe { Component::deserialize(engine, &compiled) }
    }
}

fn key(engine: &Engine, bytes: &[u8]) -> String {
    let mut engine_hash = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut engine_hash);
    let mut sha = Sha256::new();
    sha.update(bytes);
    sha.update(engine_hash.finish().to_le_bytes());
    hex::encode(&sha.finalize()[..16])
}

/// Writes atomically (temp file + rename) so a concurrent reader never sees half a file.
fn store(path: &Path, compiled: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, compiled)?;
    std::fs::rename(&tmp, path)
}
