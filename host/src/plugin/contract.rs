//! Checks what a component exports and imports *before* it is instantiated, so a plugin built
//! against another contract version is refused with both versions named.

use std::path::Path;

use semver::Version;
use wasmtime::Engine;
use wasmtime::component::Component;

use super::bindings::{PACKAGE, SUPPORTED};
use super::error::PluginError;

/// Import namespaces the sandbox provides (the WASI basics a guest's standard library links).
const PROVIDED_IMPORTS: &[&str] =
    &["wasi:cli/", "wasi:io/", "wasi:clocks/", "wasi:random/", "wasi:filesystem/", "wasi:sockets/"];

/// Refuses anything that is not a plugin for a supported contract version; returns the version
/// the plugin was built for (every `voiceblox:plugin` name it exports or imports must agree).
pub fn check(engine: &Engine, component: &Component, path: &Path) -> Result<Version, PluginError> {
    let ty = component.component_type();
    let exports: Vec<&str> = ty.exports(engine).map(|(name, _)| name).collect();
    let ours: Vec<&str> = exports.iter().copied().filter(|n| n.starts_with(PACKAGE)).collect();
    let Some(meta) = ours.iter().find(|n| n.starts_with(&format!("{PACKAGE}/meta"))) else {
        return Err(PluginError::NotAPlugin { path: path.into(), found: list(&exports) });
    };
    let unsupported = |name: &str| PluginError::ContractVersion {
        path: path.into(),
        expected: supported_list(),
        found: match version_of(name) {
            Some(v) => format!("{PACKAGE}@{v} ({name})"),
            None => format!("an unversioned {name}"),
        },
    };
    let version = version_of(meta).filter(|v| SUPPORTED.contains(v)).ok_or_else(|| unsupported(meta))?;
    let imports: Vec<&str> = ty.imports(engine).map(|(name, _)| name).collect();
    // Our own interfaces come in as imports only for their types (`use types.{...}`).
    let ours = ours.iter().chain(imports.iter().filter(|n| n.starts_with(PACKAGE)));
    for name in ours {
        match version_of(name) {
            Some(v) if v == version => {}
            Some(v) if SUPPORTED.contains(&v) => {
                return Err(PluginError::MixedContract {
                    path: path.into(),
                    first: meta.to_string(),
                    second: format!("{name} ({PACKAGE}@{v})"),
                });
            }
            _ => return Err(unsupported(name)),
        }
    }
    if let Some(import) =
        imports.iter().find(|i| !i.starts_with(PACKAGE) && !PROVIDED_IMPORTS.iter().any(|p| i.starts_with(p)))
    {
        return Err(PluginError::UnsupportedImport { path: path.into(), import: import.to_string() });
    }
    Ok(version)
}

/// `0.1.0 and 0.2.0`
fn supported_list() -> String {
    let versions: Vec<String> = SUPPORTED.iter().map(Version::to_string).collect();
    versions.join(" and ")
}

/// `voiceblox:plugin/llm@0.1.0` → 0.1.0
fn version_of(export: &str) -> Option<Version> {
    Version::parse(export.rsplit_once('@')?.1).ok()
}

fn list(names: &[&str]) -> String {
    if names.is_empty() { "none".into() } else { names.join(", ") }
}

/// Tells a component from a core module or a non-wasm file by the header, so the error says
/// which it is instead of a parser message.
pub fn check_header(bytes: &[u8], path: &Path) -> Result<(), PluginError> {
    const MAGIC: &[u8] = b"\0asm";
    const CORE_LAYER: [u8; 2] = [0, 0];
    if bytes.len() < 8 || &bytes[..4] != MAGIC {
        return Err(PluginError::NotWasm { path: path.into() });
    }
    if bytes[6..8] == CORE_LAYER {
        return Err(PluginError::CoreModule { path: path.into() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_export_names() {
        assert_eq!(version_of("voiceblox:plugin/llm@0.1.0"), Some(Version::new(0, 1, 0)));
        assert_eq!(version_of("voiceblox:plugin/llm"), None);
    }

    #[test]
    fn headers_distinguish_components_modules_and_other_files() {
        let p = Path::new("x.wasm");
        assert!(matches!(check_header(b"hello world", p), Err(PluginError::NotWasm { .. })));
        assert!(matches!(check_header(b"\0asm\x01\0\0\0", p), Err(PluginError::CoreModule { .. })));
        assert!(check_header(b"\0asm\x0d\0\x01\0", p).is_ok());
    }
}
