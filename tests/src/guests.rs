//! The example plugins written in interpreted languages (`examples/plugins/`), built from
//! source with their `build.sh` for the tests and benches that load them.

use std::path::{Path, PathBuf};
use std::process::Command;

use voiceblox_host::plugin::default_plugins_dir;

/// One example plugin and what building it takes.
pub struct Guest {
    pub language: &'static str,
    /// Folder under `examples/plugins/`.
    pub folder: &'static str,
    /// Component file `build.sh` writes into `target/plugins-examples/`.
    pub file: &'static str,
    /// `describe()` name and provider id.
    pub name: &'static str,
    pub provider: &'static str,
    /// What to install when the build cannot run.
    pub needs: &'static str,
}

pub const PYTHON: Guest = Guest {
    language: "Python",
    folder: "python",
    file: "py-openai-compat.wasm",
    name: "py-openai-compat",
    provider: "openai-compat-py",
    needs: "python3 (3.9 or newer, with the venv module; Debian/Ubuntu: apt-get install python3 python3-venv) \
            and access to PyPI",
};

pub const JAVASCRIPT: Guest = Guest {
    language: "JavaScript",
    folder: "javascript",
    file: "js-openai-compat.wasm",
    name: "js-openai-compat",
    provider: "openai-compat-js",
    needs: "Node.js 20 or newer with npm (https://nodejs.org; Debian/Ubuntu: apt-get install nodejs npm) \
            and access to the npm registry",
};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ lives in the workspace").to_path_buf()
}

/// The target folder of this build (`target/`, or `$CARGO_TARGET_DIR` as the host build saw
/// it): the parent of the built-in plugins folder.
pub fn target_dir() -> PathBuf {
    default_plugins_dir().parent().expect("the plugins folder lives in the target folder").to_path_buf()
}

/// Runs the guest's `build.sh` (a no-op while its component is up to date) and returns the
/// component's path.
pub fn build(guest: &Guest) -> PathBuf {
    let script = workspace_root().join("examples/plugins").join(guest.folder).join("build.sh");
    let output = Command::new("bash")
        .arg(&script)
        .env("CARGO_TARGET_DIR", target_dir())
        .output()
        .unwrap_or_else(|e| panic!("could not run `bash {}`: {e}; install bash", script.display()));
    if !output.status.success() {
        let stdout = String::from_utf8_lossy(&output.stdout);
        panic!(
            "building the {} example plugin failed ({}): `{}` needs {}.\n--- stderr ---\n{}{}",
            guest.language,
            output.status,
            script.display(),
            guest.needs,
            String::from_utf8_lossy(&output.stderr).trim_end(),
            if stdout.trim().is_empty() { String::new() } else { format!("\n--- stdout ---\n{}", stdout.trim_end()) },
        );
    }
    let wasm = target_dir().join("plugins-examples").join(guest.file);
    assert!(wasm.is_file(), "`{}` succeeded but wrote no {}", script.display(), wasm.display());
    wasm
}
