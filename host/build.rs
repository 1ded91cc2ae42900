//! Builds the repository's WebAssembly plugins (and the test fixture plugins) for
//! `wasm32-wasip2`, so `cargo run` and `cargo test` need no second step.
//!
//! The nested cargo uses its own target directory (`target/wasm`): sharing the outer one would
//! deadlock on cargo's build-directory lock. The finished components are copied to
//! `target/plugins/` (the host's default plugins folder) and `target/wasm/fixtures/`.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// (cargo package, output file stem, is a shipped plugin rather than a test fixture)
const WASM_CRATES: &[(&str, &str, bool)] = &[
    ("voiceblox-plugin-openai", "openai", true),
    ("voiceblox-plugin-deepgram", "deepgram", true),
    ("voiceblox-plugin-anthropic", "anthropic", true),
    ("voiceblox-plugin-gemini", "gemini", true),
    ("voiceblox-plugin-elevenlabs", "elevenlabs", true),
    ("voiceblox-plugin-cartesia", "cartesia", true),
    ("voiceblox-plugin-assemblyai", "assemblyai", true),
    ("voiceblox-fixture-misbehave", "misbehave", false),
    ("voiceblox-fixture-old-contract", "old-contract", false),
    ("voiceblox-fixture-impostor", "impostor", false),
    ("voiceblox-fixture-garbled", "garbled", false),
    ("voiceblox-fixture-stuck", "stuck", false),
];

const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir.parent().expect("host/ lives inside the workspace").to_path_buf();
    let target_root = env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace.join("target"));
    let wasm_target_dir = target_root.join("wasm");
    let plugins_out = target_root.join("plugins");
    let fixtures_out = wasm_target_dir.join("fixtures");

    for watched in ["plugins", "wit", "tests/fixtures/plugins", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", workspace.join(watched).display());
    }
    println!("cargo:rerun-if-env-changed=VOICEBLOX_SKIP_PLUGIN_BUILD");
    println!("cargo:rustc-env=VOICEBLOX_BUILTIN_PLUGINS_DIR={}", plugins_out.display());
    println!("cargo:rustc-env=VOICEBLOX_FIXTURE_PLUGINS_DIR={}", fixtures_out.display());

    if env::var_os("VOICEBLOX_SKIP_PLUGIN_BUILD").is_some() {
        println!("cargo:warning=VOICEBLOX_SKIP_PLUGIN_BUILD is set: plugins were not rebuilt");
        emit_first_party_hashes(&plugins_out);
        return;
    }

    ensure_wasm_target();
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&workspace).args(["build", "--release", "--target", TARGET, "--target-dir"]).arg(&wasm_target_dir);
    for (package, _, _) in WASM_CRATES {
        cmd.args(["-p", package]);
    }
    // The outer build's flags and wrappers (clippy, coverage, a host-only RUSTFLAGS) must not
    // leak into the guest build.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET_DIR",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_MANIFEST_PATH",
    ] {
        cmd.env_remove(var);
    }
    // Plugins ship without debug info: smaller files, faster loads.
    cmd.env("CARGO_PROFILE_RELEASE_DEBUG", "false").env("CARGO_PROFILE_RELEASE_STRIP", "true");
    let output = cmd.output().expect("could not run cargo to build the wasm plugins");
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let hint = if stderr.contains("wasm32-wasip2") && stderr.contains("target may not be installed") {
            "\nhint: the wasm32-wasip2 target is missing; rust-toolchain.toml lists it, so `rustup show` (or `rustup target add wasm32-wasip2`) installs it."
        } else {
            ""
        };
        panic!("building the wasm plugins failed:\n{stderr}{hint}");
    }

    let built = wasm_target_dir.join(TARGET).join("release");
    fs::create_dir_all(&plugins_out).expect("create target/plugins");
    fs::create_dir_all(&fixtures_out).expect("create target/wasm/fixtures");
    for (package, stem, shipped) in WASM_CRATES {
        let artifact = built.join(format!("{}.wasm", package.replace('-', "_")));
        let dest_dir: &Path = if *shipped { &plugins_out } else { &fixtures_out };
        copy_if_changed(&artifact, &dest_dir.join(format!("{stem}.wasm")));
    }
    emit_first_party_hashes(&plugins_out);
}

/// The SHA-256 of every shipped plugin, so the host knows its first-party plugins byte for
/// byte: a third-party file claiming `openai` never outranks the real one.
fn emit_first_party_hashes(plugins_out: &Path) {
    use sha2::{Digest, Sha256};
    let hashes: Vec<String> = WASM_CRATES
        .iter()
        .filter(|(_, _, shipped)| *shipped)
        .filter_map(|(_, stem, _)| fs::read(plugins_out.join(format!("{stem}.wasm"))).ok())
        .map(|bytes| hex::encode(Sha256::digest(&bytes)))
        .collect();
    println!("cargo:rustc-env=VOICEBLOX_FIRST_PARTY_SHA256={}", hashes.join(","));
}

/// Installs the wasm32-wasip2 standard library when the toolchain lacks it. rust-toolchain.toml
/// lists the target, but rustup adds it only on an explicit install (and not at all when
/// `RUSTUP_AUTO_INSTALL=0`), so a fresh machine would fail here otherwise.
fn ensure_wasm_target() {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let sysroot = Command::new(&rustc).args(["--print", "sysroot"]).output();
    let Ok(sysroot) = sysroot else { return };
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
    if sysroot.join("lib/rustlib").join(TARGET).exists() {
        return;
    }
    let toolchain = env::var("RUSTUP_TOOLCHAIN").ok();
    let mut rustup = Command::new("rustup");
    rustup.args(["target", "add", TARGET]);
    if let Some(toolchain) = &toolchain {
        rustup.args(["--toolchain", toolchain]);
    }
    match rustup.status() {
        Ok(status) if status.success() => println!("cargo:warning=installed the {TARGET} target with rustup"),
        _ => println!("cargo:warning=the {TARGET} target is missing and `rustup target add {TARGET}` failed"),
    }
}

/// Copies only when the bytes differ, so the host's compile cache and file watchers see a stable
/// file when nothing changed.
fn copy_if_changed(from: &Path, to: &Path) {
    let new = fs::read(from).unwrap_or_else(|e| panic!("read {}: {e}", from.display()));
    if fs::read(to).ok().as_deref() != Some(new.as_slice()) {
        fs::write(to, &new).unwrap_or_else(|e| panic!("write {}: {e}", to.display()));
    }
}
