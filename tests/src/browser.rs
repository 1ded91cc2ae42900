//! Real headless Chromium driving the test page: `tests/browser/talk.mjs` (Playwright,
//! `playwright-core` from npm, run against Debian's Chromium) opens the page, feeds a WAV file
//! as the microphone, clicks Test, waits for the events a test expects and prints a JSON
//! summary.
//!
//! Set-up happens on first use: `npm ci` in `tests/browser/` and `server/web/` (once per
//! checkout), and on a Debian machine without Chromium, as root, `apt-get install chromium`
//! (`.ci/run` installs it beforehand). `VOICEBLOX_CHROMIUM` names another Chromium.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::python_sdk::run;

/// Only one test installs; the others wait for it.
static SETUP: Mutex<()> = Mutex::new(());

const DEBIAN_CHROMIUM: &str = "/usr/bin/chromium";

fn harness_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("browser")
}

/// The Chromium to run, installed now if this is a Debian machine without one.
pub fn chromium() -> Result<PathBuf> {
    let _one_at_a_time = SETUP.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(path) = std::env::var_os("VOICEBLOX_CHROMIUM") {
        return Ok(PathBuf::from(path));
    }
    let path = PathBuf::from(DEBIAN_CHROMIUM);
    if path.exists() {
        return Ok(path);
    }
    let apt = Path::new("/usr/bin/apt-get");
    if !apt.exists() {
        bail!("no Chromium at {DEBIAN_CHROMIUM}: install it, or set VOICEBLOX_CHROMIUM to one");
    }
    let install = || {
        run(std::process::Command::new(apt)
            .args(["install", "-y", "--no-install-recommends", "chromium"])
            .env("DEBIAN_FRONTEND", "noninteractive"))
    };
    if install().is_err() {
        run(std::process::Command::new(apt).arg("update")).context("apt-get update")?;
        install().context("installing Debian's chromium (run as root, or install it yourself)")?;
    }
    Ok(path)
}

/// `node` with the harness's packages installed, and the page's (livekit-client, for LiveKit
/// mode): `npm ci` in each folder, once per checkout.
fn harness() -> Result<PathBuf> {
    let _one_at_a_time = SETUP.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let page = Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/web");
    for (dir, package) in [(harness_dir(), "playwright-core"), (page, "livekit-client")] {
        if !dir.join("node_modules").join(package).join("package.json").exists() {
            run(std::process::Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&dir))
                .with_context(|| format!("installing {package} (npm ci in {})", dir.display()))?;
        }
    }
    Ok(harness_dir().join("talk.mjs"))
}

/// What one run of the harness reported.
#[derive(Debug)]
pub struct PageRun {
    /// The exit code (0: every expectation met).
    pub code: i32,
    /// Its JSON summary.
    pub summary: Value,
    /// Its progress log (stderr), for failure messages.
    pub log: String,
}

impl PageRun {
    pub fn events(&self) -> Vec<Value> {
        self.summary["events"].as_array().cloned().unwrap_or_default()
    }
}

/// Runs the harness with `args` (`--url` and the rest); fails if it cannot start or says
/// nothing within `limit`.
pub async fn talk(args: &[&str], limit: Duration) -> Result<PageRun> {
    let chromium = tokio::task::spawn_blocking(chromium).await.context("chromium task")??;
    let script = tokio::task::spawn_blocking(harness).await.context("harness task")??;
    let mut command = tokio::process::Command::new("node");
    command.arg(&script).args(args).arg("--chromium").arg(&chromium);
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    let child = command.spawn().context("starting node (is Node.js installed?)")?;
    let output = tokio::time::timeout(limit, child.wait_with_output())
        .await
        .with_context(|| format!("the browser run took more than {limit:?}"))?
        .context("waiting for the browser run")?;
    let log = String::from_utf8_lossy(&output.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let Some(line) = stdout.lines().rev().find(|l| l.trim_start().starts_with('{')) else {
        bail!("the harness printed no summary ({}); its log:\n{log}", output.status);
    };
    let summary = serde_json::from_str(line).with_context(|| format!("the harness summary {line:?}"))?;
    Ok(PageRun { code: output.status.code().unwrap_or(-1), summary, log })
}
