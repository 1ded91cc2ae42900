//! The official LiveKit Python SDK (PyPI `livekit`, which ships libwebrtc and libopus) as a real
//! peer in a room: a venv made on first use under `target/`, and `tests/python/livekit_user.py`
//! (a browser user: speaks a WAV, records what it hears, logs the agent's events) run in it.
//!
//! Making the venv takes about 20 s and 150 MB, once per target directory.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// The SDK versions the tests were written against (pinned: the SDK moves quickly).
pub const REQUIREMENTS: &[&str] = &["livekit==1.2.1", "livekit-api==1.2.2"];

/// Only one test makes the venv; the others wait for it.
static VENV: Mutex<()> = Mutex::new(());

/// The user script in the repository.
pub fn user_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python/livekit_user.py")
}

/// The venv's Python with the SDK installed, made now if it is missing or pins other versions.
pub fn python() -> Result<PathBuf> {
    let _one_at_a_time = VENV.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let venv = crate::target_dir().join("python-livekit");
    let python = venv.join("bin/python");
    let marker = venv.join("voiceblox-requirements.txt");
    let wanted = REQUIREMENTS.join("\n");
    if std::fs::read_to_string(&marker).is_ok_and(|have| have == wanted) && python.exists() {
        return Ok(python);
    }
    let system = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    run(std::process::Command::new(&system).args(["-m", "venv", "--clear"]).arg(&venv))
        .with_context(|| format!("making a venv with {system} (set PYTHON to another interpreter)"))?;
    run(std::process::Command::new(&python)
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
        .args(REQUIREMENTS))
    .context("installing the LiveKit Python SDK from PyPI")?;
    std::fs::write(&marker, wanted).context("marking the venv ready")?;
    Ok(python)
}

/// Runs `command` to completion; its stderr is the error when it fails.
pub(crate) fn run(command: &mut std::process::Command) -> Result<()> {
    let output = command.stdin(Stdio::null()).output().with_context(|| format!("running {command:?}"))?;
    if !output.status.success() {
        bail!("{command:?} failed ({}): {}", output.status, String::from_utf8_lossy(&output.stderr));
    }
    Ok(())
}

/// What one run of the user script reported.
#[derive(Debug)]
pub struct UserRun {
    /// The script's JSON summary (its last stdout line).
    pub summary: Value,
    /// The agent's events and `lk.agent.state` changes, as written (`{"from", "event"|"state"}`).
    pub events: Vec<Value>,
    /// What it heard, 48 kHz mono.
    pub recording: Vec<i16>,
    /// The SDK's log (stderr), for failure messages.
    pub log: String,
}

/// Runs the user script with `args` (after `--url`/`--token`, which the caller includes) and
/// `--record`/`--events` files in `dir`; fails if it does not exit 0 within `limit`.
pub async fn run_user(args: &[&str], dir: &Path, limit: Duration) -> Result<UserRun> {
    let python = tokio::task::spawn_blocking(python).await.context("venv task")??;
    let (recording, events) = (dir.join("heard.wav"), dir.join("events.jsonl"));
    let mut command = tokio::process::Command::new(python);
    command
        .arg(user_script())
        .args(args)
        .arg("--record")
        .arg(&recording)
        .arg("--events")
        .arg(&events)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(limit, command.output())
        .await
        .with_context(|| format!("the Python user ran past {limit:?}"))?
        .context("starting the Python user")?;
    let log = String::from_utf8_lossy(&output.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!("the Python user failed ({}): {stdout}\n{log}", output.status);
    }
    let summary = stdout.lines().rev().find_map(|line| serde_json::from_str(line).ok()).context("no JSON summary")?;
    let events = std::fs::read_to_string(&events)
        .context("the events file")?
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .context("an events line that is not JSON")?;
    let recording = crate::audio::read_wav(&recording)?;
    if (recording.sample_rate, recording.channels) != (48_000, 1) {
        bail!("the recording is {} Hz x {}, not 48 kHz mono", recording.sample_rate, recording.channels);
    }
    Ok(UserRun { summary, events, recording: recording.samples, log })
}
