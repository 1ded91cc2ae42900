//! What the binary's end-to-end tests share: running `voiceblox-host` as a child process with
//! a clean environment, and configs pointed at the provider fakes.

#![allow(dead_code)] // each test binary uses its own part

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;
use voiceblox_tests::audio::{read_wav, write_wav};
use voiceblox_tests::fakes::deepgram::{self, DeepgramFake, DeepgramScript, ListenScript};
use voiceblox_tests::fakes::openai::{self, ChatScript, OpenAiFake, OpenAiScript};

/// Longest a single CLI run may take before the test fails (and the child is killed).
pub const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// Environment a developer's shell may carry that would change what the CLI does.
pub const INHERITED_VARS: &[&str] = &[
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "DEEPGRAM_API_KEY",
    "DEEPGRAM_BASE_URL",
    "DEEPGRAM_HOST",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "RUST_LOG",
];

/// One finished run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn assert_code(&self, code: i32) {
        assert_eq!(self.code, Some(code), "unexpected exit code\n{self}");
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit code: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}", self.code, self.stdout, self.stderr)
    }
}

/// Compiled components shared by every run (and with the other test binaries' cache), so
/// each run loads the plugins in milliseconds instead of compiling them.
pub fn cache_dir() -> PathBuf {
    std::env::temp_dir().join("voiceblox-test-cache")
}

/// The binary with a clean provider environment, the shared compile cache and `args`.
pub fn cli<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut cmd = bare_cli();
    cmd.arg("--cache-dir").arg(cache_dir());
    cmd.args(args);
    cmd
}

/// The binary with a clean provider environment and no arguments (for the cache options).
pub fn bare_cli() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_voiceblox-host"));
    for var in INHERITED_VARS {
        cmd.env_remove(var);
    }
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("VOICEBLOX_") {
            cmd.env_remove(name);
        }
    }
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    cmd
}

/// Files in `dir` whose name ends with `suffix`.
pub fn files_ending_with(dir: &Path, suffix: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect())
        .unwrap_or_default();
    names.retain(|name| name.ends_with(suffix));
    names
}

/// Runs to completion (bounded by [`RUN_TIMEOUT`]) and captures both streams.
pub async fn run(cmd: Command) -> Run {
    run_within(cmd, RUN_TIMEOUT).await
}

/// [`run`] with another bound: loading an interpreter guest compiles megabytes of wasm, which
/// takes minutes on a loaded machine.
pub async fn run_within(mut cmd: Command, limit: Duration) -> Run {
    let output = tokio::time::timeout(limit, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("voiceblox-host did not finish within {limit:?}: {cmd:?}"))
        .expect("running voiceblox-host");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `--allow-host` value for a fake on loopback.
pub fn allow(addr: std::net::SocketAddr) -> String {
    format!("127.0.0.1:{}", addr.port())
}

/// A config whose LLM, TTS and STT are the fakes' (keys from the environment).
pub fn console_config(dir: &Path, steps: serde_json::Value) -> PathBuf {
    let config = serde_json::json!({
        "agentName": "Console test",
        "instructions": "You are a helpful assistant.",
        "llm": {"model": "gpt-4.1-mini", "provider": "openai"},
        "tts": {"model": "gpt-4o-mini-tts", "provider": "openai", "voiceId": "alloy"},
        "stt": {"model": "nova-3", "provider": "deepgram"},
        "steps": steps,
    });
    let path = dir.join("agent.json");
    std::fs::write(&path, config.to_string()).expect("writing the config");
    path
}

pub fn events_in(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .expect("events file")
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON event per line"))
        .collect()
}

/// What the user says in the voice console runs: a LibriVox reading.
pub const BOOK_LINE: &str = "He was not an ill disposed young man.";

/// A voice `console` run against the fakes: the LibriVox speech in, a short book talk out.
pub struct VoiceConsole {
    pub cmd: Command,
    /// The user's speech (16 kHz mono).
    pub speech: Vec<i16>,
    pub events: PathBuf,
    pub output: PathBuf,
    pub openai: OpenAiFake,
    pub deepgram: DeepgramFake,
}

/// The fakes (expecting `keys`: OpenAI's, Deepgram's) and the command, ready to run in `dir`.
pub fn voice_console(dir: &Path, keys: (&str, &str)) -> VoiceConsole {
    let speech =
        read_wav(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/audio/testdata/librivox-sense-0880.wav")).unwrap();
    let openai = openai::start(OpenAiScript::new().api_key(keys.0).chat(ChatScript::text(["Indeed he was not."])));
    let deepgram = deepgram::start(
        DeepgramScript::new().api_key(keys.1).listen(ListenScript::new().word_ms(300).utterance_at(300, BOOK_LINE)),
    );
    let config = console_config(
        dir,
        serde_json::json!([
            {"id": "s", "type": "start", "command": "Go ahead.", "isLiteral": true, "nextStepIds": {"next": "o"}},
            {"id": "o", "type": "opentalk", "command": "Discuss the book."}
        ]),
    );
    let input = dir.join("user.wav");
    write_wav(&input, &speech.samples, 16_000).unwrap();
    let (events, output) = (dir.join("events.jsonl"), dir.join("agent.wav"));
    let mut cmd = cli(["console", "--allow-host", "127.0.0.1"]);
    cmd.arg("--config").arg(&config).arg("--input").arg(&input).arg("--output").arg(&output);
    cmd.arg("--events").arg(&events);
    cmd.env("OPENAI_API_KEY", keys.0).env("OPENAI_BASE_URL", openai.base_url());
    cmd.env("DEEPGRAM_API_KEY", keys.1).env("DEEPGRAM_BASE_URL", deepgram.base_url());
    VoiceConsole { cmd, speech: speech.samples, events, output, openai, deepgram }
}
