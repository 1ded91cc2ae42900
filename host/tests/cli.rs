//! End-to-end tests of the `voiceblox-host` binary: `plugins list|check` and `try llm|tts|stt`
//! run as a child process against the provider fakes, which serve on this test's runtime.
//!
//! Each test checks the exit code, what the command printed (result on stdout, progress and
//! errors on stderr) and what went over the wire (every fake records its requests).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;
use voiceblox_host::plugin::{default_plugins_dir, discovery::fixture_plugins_dir};

use crate::common::*;
use voiceblox_tests::audio::{read_wav, s16le_to_samples, sine_samples, write_wav};
use voiceblox_tests::fakes::deepgram::{self, DeepgramScript, ListenScript, SpeakScript};
use voiceblox_tests::fakes::openai::{self, ChatScript, OpenAiScript, SpeechScript, TranscriptionScript};

/// The plugins the build ships, in the order the host lists them.
const SHIPPED: [&str; 7] = [
    "anthropic.wasm",
    "assemblyai.wasm",
    "cartesia.wasm",
    "deepgram.wasm",
    "elevenlabs.wasm",
    "gemini.wasm",
    "openai.wasm",
];

/// Lines of the table `plugins list|check` print, split into whitespace-separated cells.
fn table_rows(stdout: &str) -> Vec<Vec<&str>> {
    stdout
        .lines()
        .skip_while(|line| !line.starts_with("PLUGIN"))
        .take_while(|line| !line.starts_with("refused:"))
        .map(|line| line.split_whitespace().collect())
        .collect()
}

/// A 16 kHz mono WAV of a 2 s tone.
fn tone_wav(dir: &Path) -> (PathBuf, Vec<i16>) {
    let samples = sine_samples(300.0, 16_000, 2_000);
    let path = dir.join("tone-16k.wav");
    write_wav(&path, &samples, 16_000).expect("writing the WAV");
    (path, samples)
}

// ---------------------------------------------------------------------------------------------
// plugins list / plugins check

#[tokio::test(flavor = "multi_thread")]
async fn plugins_list_shows_the_shipped_plugins() {
    let out = run(cli(["plugins", "list"])).await;
    out.assert_code(0);
    assert!(out.stdout.starts_with(&format!("plugins in {}\n", default_plugins_dir().display())), "{out}");
    let rows = table_rows(&out.stdout);
    assert_eq!(
        rows.first(),
        Some(&vec!["PLUGIN", "VERSION", "CONTRACT", "ORIGIN", "PROVIDER", "KINDS", "HOSTS"]),
        "{out}"
    );
    assert!(
        rows.contains(&vec!["openai", "0.1.0", "0.2.0", "first-party", "openai", "llm,tts,stt", "api.openai.com"]),
        "{out}"
    );
    assert!(
        rows.contains(&vec!["deepgram", "0.1.0", "0.2.0", "first-party", "deepgram", "stt,tts", "api.deepgram.com"]),
        "{out}"
    );
    assert!(
        rows.contains(&vec!["anthropic", "0.1.0", "0.2.0", "first-party", "anthropic", "llm", "api.anthropic.com"]),
        "{out}"
    );
    assert!(
        rows.contains(&vec!["elevenlabs", "0.1.0", "0.2.0", "first-party", "elevenlabs", "tts", "api.elevenlabs.io"]),
        "{out}"
    );
    assert!(
        rows.contains(&vec!["cartesia", "0.1.0", "0.2.0", "first-party", "cartesia", "tts", "api.cartesia.ai"]),
        "{out}"
    );
    assert!(
        rows.contains(&vec![
            "gemini",
            "0.1.0",
            "0.2.0",
            "first-party",
            "google",
            "llm",
            "generativelanguage.googleapis.com"
        ]),
        "{out}"
    );
    assert!(
        rows.contains(&vec![
            "assemblyai",
            "0.1.0",
            "0.2.0",
            "first-party",
            "assemblyai",
            "stt",
            "streaming.assemblyai.com"
        ]),
        "{out}"
    );
    assert_eq!(rows.len(), SHIPPED.len() + 1, "{out}");
    assert!(!out.stdout.contains("refused"), "{out}");
    // Columns are aligned: every cell starts where the header's cell starts.
    let lines: Vec<&str> = out.stdout.lines().skip(1).collect();
    let column = |line: &str, name: &str| line.find(name).expect("cell");
    let hosts_at = column(lines[0], "HOSTS");
    for line in &lines[1..] {
        // The hosts cell is the last one (`generativelanguage.googleapis.com` has no `api.`).
        assert_eq!(line.trim_end().rfind(' ').map(|at| at + 1), Some(hosts_at), "{out}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn plugins_list_reports_a_refused_file_and_keeps_the_good_ones() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(default_plugins_dir().join("openai.wasm"), dir.path().join("openai.wasm")).unwrap();
    let broken = dir.path().join("broken.wasm");
    std::fs::write(&broken, "this is not a component").unwrap();
    // Files without the .wasm extension are not plugins and are ignored.
    std::fs::write(dir.path().join("README.txt"), "notes").unwrap();

    let mut cmd = cli(["plugins", "list", "--plugins"]);
    cmd.arg(dir.path());
    let out = run(cmd).await;
    out.assert_code(2);
    assert!(out.stdout.starts_with(&format!("plugins in {}\n", dir.path().display())), "{out}");
    let rows = table_rows(&out.stdout);
    assert_eq!(
        rows,
        [
            vec!["PLUGIN", "VERSION", "CONTRACT", "ORIGIN", "PROVIDER", "KINDS", "HOSTS"],
            vec!["openai", "0.1.0", "0.2.0", "first-party", "openai", "llm,tts,stt", "api.openai.com"]
        ],
        "{out}"
    );
    let refused = format!("refused: {}: not a WebAssembly file", broken.display());
    assert!(out.stdout.lines().any(|line| line.starts_with(&refused)), "{out}");
    assert!(!out.stdout.contains("README"), "{out}");

    // The same folder through the environment variable.
    let mut cmd = cli(["plugins", "list"]);
    cmd.env("VOICEBLOX_PLUGINS", dir.path());
    let out = run(cmd).await;
    out.assert_code(2);
    assert!(out.stdout.contains(&refused), "{out}");
    assert!(!out.stdout.contains("deepgram"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn plugins_check_accepts_a_plugin_of_the_older_contract_and_says_it_is_forwarded() {
    let old = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/contract/openai-0.1.0.wasm");
    let empty = tempfile::tempdir().unwrap();
    let mut cmd = cli(["plugins", "check"]);
    cmd.arg(&old).env("VOICEBLOX_PLUGINS", empty.path());
    let out = run(cmd).await;
    out.assert_code(0);
    assert!(out.stdout.starts_with("ok: openai 0.1.0 (contract voiceblox:plugin@0.1.0, forwarded to 0.2.0, "), "{out}");
    assert!(
        table_rows(&out.stdout).contains(&vec![
            "openai",
            "0.1.0",
            "0.1.0",
            "third-party",
            "openai",
            "llm,tts,stt",
            "api.openai.com"
        ]),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn plugins_check_accepts_a_shipped_plugin() {
    let mut cmd = cli(["plugins", "check"]);
    cmd.arg(default_plugins_dir().join("deepgram.wasm"));
    let out = run(cmd).await;
    out.assert_code(0);
    assert!(out.stdout.starts_with("ok: deepgram 0.1.0 (contract voiceblox:plugin@0.2.0, "), "{out}");
    assert!(out.stdout.lines().next().unwrap().ends_with(" KiB, first-party)"), "{out}");
    assert_eq!(
        table_rows(&out.stdout),
        [
            vec!["PLUGIN", "VERSION", "CONTRACT", "ORIGIN", "PROVIDER", "KINDS", "HOSTS"],
            vec!["deepgram", "0.1.0", "0.2.0", "first-party", "deepgram", "stt,tts", "api.deepgram.com"]
        ],
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_impostor_is_refused_by_list_and_check_and_a_pin_lets_it_in() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(default_plugins_dir().join("openai.wasm"), dir.path().join("openai.wasm")).unwrap();
    let impostor = dir.path().join("aaa-openai.wasm");
    std::fs::copy(fixture_plugins_dir().join("impostor.wasm"), &impostor).unwrap();

    let mut cmd = cli(["plugins", "list", "--plugins"]);
    cmd.arg(dir.path());
    let out = run(cmd).await;
    out.assert_code(2);
    let refused = format!(
        "refused: {}: claims provider `openai`, which the first-party plugin openai (openai.wasm) serves; refused (to use it, pin it in the policy file: [providers.openai] plugin = \"aaa-openai.wasm\")",
        impostor.display()
    );
    assert!(out.stdout.lines().any(|line| line == refused), "{out}");
    assert!(table_rows(&out.stdout).iter().all(|row| row[0] != "impostor"), "{out}");

    // `check` says the same of the file, judged beside the folder's plugins.
    let mut cmd = cli(["plugins", "check"]);
    cmd.arg(&impostor).arg("--plugins").arg(dir.path());
    let out = run(cmd).await;
    out.assert_code(1);
    assert!(out.stdout.lines().any(|line| line == refused), "{out}");

    // Pinned, it serves `openai`; its declared LIVEKIT_API_SECRET is noted as never read.
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, "[providers.openai]\nplugin = \"aaa-openai.wasm\"\n").unwrap();
    let mut cmd = cli(["plugins", "check"]);
    cmd.arg(&impostor).arg("--plugins").arg(dir.path()).arg("--policy").arg(&policy);
    let out = run(cmd).await;
    out.assert_code(0);
    assert!(out.stdout.starts_with("ok: impostor 6.6.6 (") && out.stdout.contains("third-party)"), "{out}");
    assert!(out.stdout.contains("note: provider `openai` declares the key variable LIVEKIT_API_SECRET, which the host does not read for it; its key comes from OPENAI_API_KEY"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn plugins_check_refuses_an_old_contract_and_garbage() {
    let old = fixture_plugins_dir().join("old-contract.wasm");
    let mut cmd = cli(["plugins", "check"]);
    cmd.arg(&old);
    let out = run(cmd).await;
    out.assert_code(1);
    let first = out.stdout.lines().next().unwrap_or_default();
    assert!(first.starts_with(&format!("refused: {}: built for voiceblox:plugin@0.0.9", old.display())), "{out}");
    assert!(first.contains("this host loads voiceblox:plugin 0.1.0 and 0.2.0"), "{out}");
    assert!(!out.stdout.contains("PLUGIN"), "{out}");

    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.wasm");
    std::fs::write(&garbage, [0u8; 64]).unwrap();
    let mut cmd = cli(["plugins", "check"]);
    cmd.arg(&garbage);
    let out = run(cmd).await;
    out.assert_code(1);
    assert!(out.stdout.starts_with(&format!("refused: {}: not a WebAssembly file", garbage.display())), "{out}");

    let missing = dir.path().join("missing.wasm");
    let mut cmd = cli(["plugins", "check"]);
    cmd.arg(&missing);
    let out = run(cmd).await;
    out.assert_code(1);
    assert!(out.stdout.starts_with(&format!("refused: {}: ", missing.display())), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn compiled_components_go_to_the_cache_dir_unless_no_cache() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("components");
    let mut cmd = bare_cli();
    cmd.arg("--cache-dir").arg(&cache).args(["plugins", "list"]);
    let out = run(cmd).await;
    out.assert_code(0);
    assert_eq!(files_ending_with(&cache, ".cwasm").len(), SHIPPED.len(), "one compiled component per plugin\n{out}");

    // A second run loads from the cache and lists the same table.
    let mut cmd = bare_cli();
    cmd.arg("--cache-dir").arg(&cache).args(["plugins", "list"]);
    let again = run(cmd).await;
    again.assert_code(0);
    assert_eq!(again.stdout, out.stdout);
    assert_eq!(files_ending_with(&cache, ".cwasm").len(), SHIPPED.len());

    let untouched = dir.path().join("untouched");
    let mut cmd = bare_cli();
    cmd.arg("--cache-dir").arg(&untouched).args(["--no-cache", "plugins", "list"]);
    let out = run(cmd).await;
    out.assert_code(0);
    assert!(!untouched.exists(), "--no-cache wrote to the cache folder\n{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_memory_cap_below_a_plugins_needs_refuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = bare_cli();
    cmd.arg("--cache-dir").arg(dir.path()).args(["--no-cache", "--plugin-memory-mb", "1", "plugins", "list"]);
    let out = run(cmd).await;
    out.assert_code(2);
    assert_eq!(table_rows(&out.stdout).len(), 1, "only the header: no plugin fits in 1 MiB\n{out}");
    let refused: Vec<&str> = out.stdout.lines().filter(|line| line.starts_with("refused: ")).collect();
    assert_eq!(refused.len(), SHIPPED.len(), "{out}");
    for (line, name) in refused.iter().zip(SHIPPED) {
        assert!(line.contains(name) && line.contains("memory"), "{out}");
    }
}

// ---------------------------------------------------------------------------------------------
// try llm

#[tokio::test(flavor = "multi_thread")]
async fn try_llm_streams_tokens_from_the_base_url() {
    let fake = openai::start(
        OpenAiScript::new()
            .api_key("sk-test")
            .chat(ChatScript::text(["Hel", "lo", " from", " the fake."]).with_usage(12, 4)),
    );
    let mut cmd = cli(["try", "llm", "--provider", "openai", "--model", "gpt-4.1-mini", "--base-url"]);
    cmd.arg(fake.base_url()).arg("--allow-host").arg(allow(fake.addr())).arg("Say hi");
    cmd.env("OPENAI_API_KEY", "sk-test");
    let out = run(cmd).await;
    out.assert_code(0);
    assert_eq!(out.stdout, "Hello from the fake.\n", "{out}");
    let stderr = &out.stderr;
    assert!(stderr.contains("openai gpt-4.1-mini: waiting for the first token"), "{out}");
    assert!(stderr.contains("usage: 12 prompt (0 cached) + 4 completion tokens"), "{out}");
    assert!(stderr.contains("first token after "), "{out}");
    assert!(!stderr.contains("warning") && !stderr.contains("error"), "{out}");
    // Progress lines come in order: waiting, usage, done.
    let at = |what: &str| stderr.find(what).unwrap();
    assert!(at("waiting for the first token") < at("usage:") && at("usage:") < at("first token after"), "{out}");

    let requests = fake.chat_requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].header("authorization"), Some("Bearer sk-test"));
    let body = requests[0].json().unwrap();
    assert_eq!(body["model"], "gpt-4.1-mini", "{body}");
    assert_eq!(body["stream"], true, "{body}");
    assert_eq!(body["messages"], serde_json::json!([{"role": "user", "content": "Say hi"}]), "{body}");
    assert!(!out.stdout.contains("sk-test") && !stderr.contains("sk-test"), "the key leaked into the output\n{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn provider_traffic_ignores_proxy_variables_so_the_policy_sees_every_address() {
    // A proxy resolves names itself, past the address check; the host must go direct.
    let fake = openai::start(OpenAiScript::new().chat(ChatScript::text(["Direct."])));
    let mut cmd = cli(["try", "llm", "--provider", "openai", "--model", "gpt-4.1-mini", "--base-url"]);
    cmd.arg(fake.base_url()).arg("--allow-host").arg(allow(fake.addr())).arg("Hi");
    cmd.env("OPENAI_API_KEY", "sk-test");
    for var in ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY"] {
        cmd.env(var, "http://127.0.0.1:9");
    }
    let out = run(cmd).await;
    out.assert_code(0);
    assert_eq!(out.stdout, "Direct.\n", "{out}");
    assert_eq!(fake.chat_requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn try_llm_takes_the_base_url_and_allowed_hosts_from_the_environment() {
    let fake = openai::start(OpenAiScript::new().api_key("sk-env").chat(ChatScript::text(["Env", " works."])));
    let mut cmd = cli(["try", "llm", "--provider", "openai", "--model", "openai/gpt-4.1-mini"]);
    cmd.args(["--system", "Be brief.", "--temperature", "0.5", "--max-tokens", "20", "Say hi"]);
    cmd.env("OPENAI_API_KEY", "sk-env")
        .env("OPENAI_BASE_URL", fake.base_url())
        .env("VOICEBLOX_ALLOW_HOSTS", allow(fake.addr()));
    let out = run(cmd).await;
    out.assert_code(0);
    assert_eq!(out.stdout, "Env works.\n", "{out}");

    let requests = fake.chat_requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(requests[0].header("authorization"), Some("Bearer sk-env"));
    let body = requests[0].json().unwrap();
    // The `openai/` prefix is the provider's and is removed.
    assert_eq!(body["model"], "gpt-4.1-mini", "{body}");
    assert_eq!(
        body["messages"],
        serde_json::json!([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hi"}]),
        "{body}"
    );
    assert_eq!(body["temperature"], 0.5, "{body}");
    let max_tokens = body.get("max_completion_tokens").or_else(|| body.get("max_tokens"));
    assert_eq!(max_tokens, Some(&serde_json::json!(20)), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn try_llm_reads_the_allow_list_from_a_policy_file() {
    let fake = openai::start(ChatScript::text(["From", " policy."]));
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, format!("[network]\nallow = [\"{}\"]\n", allow(fake.addr()))).unwrap();
    let mut cmd = cli(["--policy"]);
    cmd.arg(&policy).args(["try", "llm", "--provider", "openai", "--model", "m", "--base-url"]);
    cmd.arg(fake.base_url()).arg("Hi");
    // No key at all: a keyless compatible server is reached through --base-url.
    let out = run(cmd).await;
    out.assert_code(0);
    assert_eq!(out.stdout, "From policy.\n", "{out}");
    let requests = fake.chat_requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(requests[0].header("authorization"), None, "no key, so no Authorization header");

    // A policy file with an unknown section is refused before anything runs.
    std::fs::write(&policy, "[netwrok]\nallow = []\n").unwrap();
    let mut cmd = cli(["--policy"]);
    cmd.arg(&policy).args(["try", "llm", "--provider", "openai", "--model", "m", "--base-url"]);
    cmd.arg(fake.base_url()).arg("Hi");
    let out = run(cmd).await;
    out.assert_code(1);
    assert!(out.stderr.contains(&format!("error: parsing policy file {}", policy.display())), "{out}");
    assert_eq!(fake.chat_requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn try_llm_without_a_key_names_the_variable() {
    let out = run(cli(["try", "llm", "--provider", "openai", "--model", "gpt-4.1-mini", "Say hi"])).await;
    out.assert_code(1);
    assert!(out.stdout.is_empty(), "{out}");
    assert!(
        out.stderr.contains("error: no API key for provider `openai`: set OPENAI_API_KEY"),
        "the error must name the variable\n{out}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn try_llm_with_an_unknown_provider_lists_the_loaded_ones() {
    let out = run(cli(["try", "llm", "--provider", "nope", "Hi"])).await;
    out.assert_code(1);
    assert!(
        out.stderr.contains("unknown llm provider `nope`; loaded plugins provide: anthropic, google, openai"),
        "{out}"
    );
    // Deepgram has no LLM.
    let out = run(cli(["try", "llm", "--provider", "deepgram", "Hi"])).await;
    out.assert_code(1);
    assert!(out.stderr.contains("unknown llm provider `deepgram`"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn try_llm_with_a_wrong_key_reports_unauthorized() {
    let fake = openai::start(OpenAiScript::new().api_key("sk-right"));
    let wrong_key = "sk-wrong-0123456789";
    let mut cmd = cli(["try", "llm", "--provider", "openai", "--model", "gpt-4.1-mini", "--base-url"]);
    cmd.arg(fake.base_url()).arg("--allow-host").arg(allow(fake.addr())).arg("Say hi");
    cmd.env("OPENAI_API_KEY", wrong_key);
    let out = run(cmd).await;
    out.assert_code(1);
    assert_eq!(out.stdout.trim(), "", "{out}");
    assert!(out.stderr.contains("unauthorized"), "{out}");
    assert!(out.stderr.contains("Incorrect API key provided"), "the provider's message is kept\n{out}");
    assert!(!out.stderr.contains(wrong_key), "the key leaked into the output\n{out}");
    let requests = fake.chat_requests();
    assert_eq!(requests.len(), 1, "a 401 is not retried: {requests:#?}");
    assert_eq!(requests[0].header("authorization"), Some(format!("Bearer {wrong_key}").as_str()));
}

#[tokio::test(flavor = "multi_thread")]
async fn try_llm_refuses_a_loopback_base_url_without_allow_host() {
    let fake = openai::start(OpenAiScript::new());
    let mut cmd = cli(["try", "llm", "--provider", "openai", "--model", "gpt-4.1-mini", "--base-url"]);
    cmd.arg(fake.base_url()).arg("Say hi");
    cmd.env("OPENAI_API_KEY", "sk-test");
    let out = run(cmd).await;
    out.assert_code(1);
    assert!(out.stderr.contains("non-public address 127.0.0.1"), "{out}");
    assert!(out.stderr.contains("--allow-host"), "the error says how to allow it\n{out}");
    assert!(fake.requests().is_empty(), "the fake was reached: {:#?}", fake.requests());

    // Allowing another port of the same address does not allow this one.
    let mut cmd = cli(["try", "llm", "--provider", "openai", "--model", "gpt-4.1-mini", "--base-url"]);
    cmd.arg(fake.base_url()).args(["--allow-host", "127.0.0.1:1", "Say hi"]);
    cmd.env("OPENAI_API_KEY", "sk-test");
    let out = run(cmd).await;
    out.assert_code(1);
    assert!(out.stderr.contains("non-public address 127.0.0.1"), "{out}");
    assert!(fake.requests().is_empty(), "the fake was reached: {:#?}", fake.requests());
}

// ---------------------------------------------------------------------------------------------
// try tts

#[tokio::test(flavor = "multi_thread")]
async fn try_tts_writes_the_exact_audio_to_a_wav() {
    let fake = openai::start(OpenAiScript::new().api_key("sk-test").speech(SpeechScript::tone()));
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("hello.wav");
    let mut cmd = cli(["try", "tts", "--provider", "openai", "--model", "gpt-4o-mini-tts", "--base-url"]);
    cmd.arg(fake.base_url()).arg("--allow-host").arg(allow(fake.addr()));
    cmd.arg("--out").arg(&wav).arg("Hello there");
    cmd.env("OPENAI_API_KEY", "sk-test");
    let out = run(cmd).await;
    out.assert_code(0);
    assert!(out.stderr.contains("openai gpt-4o-mini-tts: synthesizing 11 characters"), "{out}");
    assert!(out.stderr.contains(&format!("wrote {} (0.44 s of audio at 24000 Hz", wav.display())), "{out}");

    let written = read_wav(&wav).unwrap();
    assert_eq!((written.sample_rate, written.channels, written.bits_per_sample), (24_000, 1, 16));
    // The fake sends 4801-byte chunks, so samples straddle chunk boundaries: every one must
    // still come out whole and in order.
    let expected = s16le_to_samples(&SpeechScript::tone().pcm_for("Hello there")).unwrap();
    assert_eq!(written.samples.len(), expected.len());
    assert!(written.samples == expected, "the WAV's samples differ from what the fake sent");

    let requests = fake.speech_requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(requests[0].header("authorization"), Some("Bearer sk-test"));
    let body = requests[0].json().unwrap();
    assert_eq!(body["model"], "gpt-4o-mini-tts", "{body}");
    assert_eq!(body["input"], "Hello there", "{body}");
    assert_eq!(body["response_format"], "pcm", "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn try_tts_with_deepgram_at_a_chosen_rate() {
    let fake = deepgram::start(DeepgramScript::new().api_key("dg-test").speak(SpeakScript::tone()));
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("dg.wav");
    let mut cmd = cli(["try", "tts", "--provider", "deepgram", "--model", "aura-2-thalia-en", "--sample-rate"]);
    cmd.arg("16000").arg("--base-url").arg(fake.base_url()).arg("--allow-host").arg(allow(fake.addr()));
    cmd.arg("--out").arg(&wav).arg("Good morning");
    cmd.env("DEEPGRAM_API_KEY", "dg-test");
    let out = run(cmd).await;
    out.assert_code(0);
    let written = read_wav(&wav).unwrap();
    assert_eq!((written.sample_rate, written.channels), (16_000, 1), "{out}");
    let expected = s16le_to_samples(&SpeakScript::tone().pcm_for("Good morning", 16_000)).unwrap();
    assert!(written.samples == expected, "the WAV's samples differ from what the fake sent\n{out}");
    let requests = fake.speak_requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(requests[0].header("authorization"), Some("Token dg-test"));
    assert_eq!(requests[0].query_param("sample_rate").as_deref(), Some("16000"));
    assert_eq!(requests[0].query_param("model").as_deref(), Some("aura-2-thalia-en"));
}

// ---------------------------------------------------------------------------------------------
// try stt

#[tokio::test(flavor = "multi_thread")]
async fn try_stt_streams_a_wav_to_deepgram() {
    let fake =
        deepgram::start(DeepgramScript::new().api_key("dg-test").listen(ListenScript::transcript("Hello world.")));
    let dir = tempfile::tempdir().unwrap();
    let (wav, samples) = tone_wav(dir.path());
    let mut cmd = cli(["try", "stt", "--provider", "deepgram", "--model", "nova-3", "--base-url"]);
    cmd.arg(fake.base_url()).arg("--allow-host").arg(allow(fake.addr())).arg(&wav);
    cmd.env("DEEPGRAM_API_KEY", "dg-test");
    let out = run(cmd).await;
    out.assert_code(0);
    // Finals on stdout (smart_format is on, so the punctuated words come back as scripted).
    assert_eq!(out.stdout.lines().filter(|l| !l.is_empty()).collect::<Vec<_>>(), ["Hello world."], "{out}");
    assert!(out.stderr.contains("deepgram nova-3: sending 2.00 s of audio"), "{out}");
    // Interims word by word, before the final.
    let interim_hello = out.stderr.find("interim: Hello").unwrap_or_else(|| panic!("no interim\n{out}"));
    let interim_full = out.stderr.find("interim: Hello world.").unwrap_or_else(|| panic!("no full interim\n{out}"));
    let final_line = out.stderr.find("final (").unwrap_or_else(|| panic!("no final progress line\n{out}"));
    assert!(interim_hello <= interim_full && interim_full < final_line, "{out}");

    let sessions = fake.wait_for(Duration::from_secs(10), |s| s.len() == 1 && s[0].ended).await.unwrap();
    let session = &sessions[0];
    assert_eq!(session.query_param("model"), Some("nova-3"));
    assert_eq!(session.query_param("encoding"), Some("linear16"));
    assert_eq!(session.query_param("sample_rate"), Some("16000"));
    assert_eq!(session.query_param("interim_results"), Some("true"));
    assert!(session.samples().unwrap() == samples, "the fake did not receive the WAV's samples exactly");
    assert_eq!(session.final_transcripts(), ["Hello world."]);
    let handshake = &fake.requests_to(deepgram::LISTEN_PATH)[0];
    assert_eq!(handshake.header("authorization"), Some("Token dg-test"));
}

#[tokio::test(flavor = "multi_thread")]
async fn try_stt_with_a_wrong_deepgram_key_reports_unauthorized() {
    let fake = deepgram::start(DeepgramScript::new().api_key("dg-right").listen(ListenScript::transcript("Hi.")));
    let dir = tempfile::tempdir().unwrap();
    let (wav, _) = tone_wav(dir.path());
    let mut cmd = cli(["try", "stt", "--provider", "deepgram", "--model", "nova-3", "--base-url"]);
    cmd.arg(fake.base_url()).arg("--allow-host").arg(allow(fake.addr())).arg(&wav);
    cmd.env("DEEPGRAM_API_KEY", "dg-wrong-key-42");
    let out = run(cmd).await;
    out.assert_code(1);
    assert!(out.stdout.trim().is_empty(), "{out}");
    assert!(out.stderr.contains("unauthorized"), "{out}");
    assert!(!out.stderr.contains("dg-wrong-key-42"), "the key leaked into the output\n{out}");
    let handshakes = fake.requests_to(deepgram::LISTEN_PATH);
    assert_eq!(handshakes.len(), 1, "{handshakes:#?}");
    assert_eq!(handshakes[0].header("authorization"), Some("Token dg-wrong-key-42"));
    assert!(fake.sessions().is_empty(), "the upgrade was refused, so no session ran");
}

#[tokio::test(flavor = "multi_thread")]
async fn try_stt_refuses_a_wav_of_the_wrong_format_with_a_sox_hint() {
    let dir = tempfile::tempdir().unwrap();
    let cd_quality = dir.path().join("cd.wav");
    write_wav(&cd_quality, &sine_samples(300.0, 44_100, 200), 44_100).unwrap();
    let stereo = dir.path().join("stereo.wav");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(&stereo, spec).unwrap();
    for sample in sine_samples(300.0, 16_000, 200) {
        writer.write_sample(sample).unwrap();
        writer.write_sample(sample).unwrap();
    }
    writer.finalize().unwrap();

    for (file, described) in
        [(&cd_quality, "44100 Hz, 1 channel(s), 16-bit"), (&stereo, "16000 Hz, 2 channel(s), 16-bit")]
    {
        let mut cmd = cli(["try", "stt", "--provider", "deepgram", "--model", "nova-3"]);
        cmd.arg(file).env("DEEPGRAM_API_KEY", "dg-test");
        let out = run(cmd).await;
        out.assert_code(1);
        assert!(out.stderr.contains(&format!("{} is {described}", file.display())), "{out}");
        assert!(out.stderr.contains("this provider needs 16000 Hz mono 16-bit"), "{out}");
        assert!(out.stderr.contains("sox IN.wav -r 16000 -c 1 -b 16 OUT.wav"), "{out}");
        assert!(out.stdout.is_empty(), "{out}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn try_stt_transcribes_a_wav_with_openai_in_one_upload() {
    let fake = openai::start(
        OpenAiScript::new().api_key("sk-test").transcription(TranscriptionScript::text("Testing one two three.")),
    );
    let dir = tempfile::tempdir().unwrap();
    let (wav, samples) = tone_wav(dir.path());
    let mut cmd = cli(["try", "stt", "--provider", "openai", "--model", "gpt-4o-mini-transcribe", "--base-url"]);
    cmd.arg(fake.base_url()).arg("--allow-host").arg(allow(fake.addr())).arg(&wav);
    cmd.env("OPENAI_API_KEY", "sk-test");
    let out = run(cmd).await;
    out.assert_code(0);
    assert_eq!(out.stdout, "Testing one two three.\n", "{out}");
    assert!(out.stderr.contains("openai gpt-4o-mini-transcribe: sending 2.00 s of audio"), "{out}");
    assert!(out.stderr.contains("final ("), "{out}");

    let uploads = fake.transcriptions();
    assert_eq!(uploads.len(), 1, "{uploads:#?}");
    assert_eq!(uploads[0].model, "gpt-4o-mini-transcribe");
    assert_eq!((uploads[0].sample_rate, uploads[0].channels), (16_000, 1));
    assert!(uploads[0].samples == samples, "the upload does not hold the WAV's samples exactly");
    let request = &fake.requests_to(openai::TRANSCRIPTIONS_PATH)[0];
    assert_eq!(request.header("authorization"), Some("Bearer sk-test"));
}

// ---------------------------------------------------------------------------------------------
// console

#[tokio::test(flavor = "multi_thread")]
async fn console_without_a_key_names_the_variable_and_starts_nothing() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/agents/support_triage.json");
    let out = run(cli(["console", "--text", "--config"]
        .map(String::from)
        .into_iter()
        .chain([examples.display().to_string()])))
    .await;
    out.assert_code(2);
    assert!(out.stderr.contains("OPENAI_API_KEY"), "{out}");
    assert!(out.stderr.contains("the session did not start"), "{out}");
    // Text mode does not use speech, so the STT key is not asked for.
    assert!(!out.stderr.contains("DEEPGRAM_API_KEY"), "{out}");
    let out = run(cli(["console", "--input", "x.wav", "--output", "y.wav", "--config"]
        .map(String::from)
        .into_iter()
        .chain([examples.display().to_string()])))
    .await;
    out.assert_code(2);
    assert!(out.stderr.contains("OPENAI_API_KEY") && out.stderr.contains("DEEPGRAM_API_KEY"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn console_text_mode_holds_a_conversation_and_writes_events() {
    let fake = openai::start(
        OpenAiScript::new()
            .api_key("sk-console")
            .chat(ChatScript::text(["Hi! ", "What shall we plan?"]))
            .chat(ChatScript::text(["A picnic sounds lovely."])),
    );
    let dir = tempfile::tempdir().unwrap();
    let config = console_config(
        dir.path(),
        serde_json::json!([
            {"id": "s", "type": "start", "command": "Greet the user.", "nextStepIds": {"next": "o"}},
            {"id": "o", "type": "opentalk", "command": "Plan a weekend."}
        ]),
    );
    let events = dir.path().join("events.jsonl");
    let mut cmd = cli(["console", "--text", "--allow-host", &allow(fake.addr())]);
    cmd.arg("--config").arg(&config).arg("--events").arg(&events);
    cmd.env("OPENAI_API_KEY", "sk-console").env("OPENAI_BASE_URL", fake.base_url());
    cmd.stdin(Stdio::piped());
    let mut child = cmd.spawn().expect("spawning");
    {
        use tokio::io::AsyncWriteExt;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"Let's plan a picnic.\n").await.unwrap();
    }
    let output = tokio::time::timeout(RUN_TIMEOUT, child.wait_with_output()).await.unwrap().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(stdout, "agent> Hi! What shall we plan?\nagent> A picnic sounds lovely.\n");
    let events = events_in(&events);
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types[..4], ["agent_state", "agent_state", "step_change", "step_change"], "{types:?}");
    assert_eq!((events[0]["state"].as_str(), events[1]["state"].as_str()), (Some("initializing"), Some("thinking")));
    assert!(events.contains(&serde_json::json!({"type": "step_change", "stepId": "o", "stepType": "opentalk"})));
    assert!(events.contains(
        &serde_json::json!({"type": "transcript", "role": "user", "text": "Let's plan a picnic.", "final": true})
    ));
    assert!(events.iter().any(|e| e["type"] == "metrics" && e["turn"] == 2));
}

#[tokio::test(flavor = "multi_thread")]
async fn console_audio_mode_turns_user_speech_into_agent_speech() {
    let dir = tempfile::tempdir().unwrap();
    let VoiceConsole { cmd, events, output, openai, deepgram: _deepgram, .. } =
        voice_console(dir.path(), ("sk-a", "dg-a"));
    let out = run(cmd).await;
    out.assert_code(0);
    let events = events_in(&events);
    let heard = serde_json::json!({"type": "transcript", "role": "user", "text": BOOK_LINE, "final": true});
    assert!(events.contains(&heard), "{events:?}");
    let agent = read_wav(&output).unwrap();
    assert_eq!((agent.sample_rate, agent.channels), (48_000, 1));
    // "Go ahead." and the answer, 40 ms of tone per character, on the session's timeline: played
    // whole and once. Frames are placed by wall-clock arrival, so on a busy machine a late frame
    // leaves a gap that splits its audio over one more 20 ms window: no upper bound tighter than
    // "not twice".
    let audible = agent.samples.chunks(960).filter(|f| f.iter().any(|s| s.unsigned_abs() > 100)).count() * 20;
    let expected = 40 * ("Go ahead.".len() + "Indeed he was not.".len());
    assert!(audible + 80 >= expected && audible < expected * 3 / 2, "{audible} ms audible, {expected} ms synthesised");
    assert!(agent.samples.len() > 48_000 * 3, "the file covers the input's timeline");
    assert_eq!(speech_inputs(&openai), ["Go ahead.", "Indeed he was not."]);
}

fn speech_inputs(fake: &openai::OpenAiFake) -> Vec<String> {
    fake.speech_requests().iter().map(|r| r.json().unwrap()["input"].as_str().unwrap().to_string()).collect()
}

// ---------------------------------------------------------------------------------------------
// worker

const LIVEKIT_VARS: &[&str] = &["LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"];

/// `voiceblox-host worker` with no LiveKit settings from the developer's shell.
fn worker_cli<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut cmd = cli(["worker"]);
    cmd.args(args);
    for var in LIVEKIT_VARS {
        cmd.env_remove(var);
    }
    cmd
}

#[tokio::test(flavor = "multi_thread")]
async fn worker_without_credentials_names_every_missing_variable() {
    let out = run(worker_cli(["--health-addr", "127.0.0.1:0"])).await;
    out.assert_code(1);
    assert!(
        out.stderr.contains("LiveKit is not configured: LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET not set"),
        "{out}"
    );
    let mut cmd = worker_cli(["--health-addr", "127.0.0.1:0", "--api-key", "key"]);
    cmd.env("LIVEKIT_URL", "ws://127.0.0.1:1");
    let out = run(cmd).await;
    out.assert_code(1);
    assert!(out.stderr.contains("LiveKit is not configured: LIVEKIT_API_SECRET not set"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn worker_registers_serves_health_and_drains_on_sigterm() {
    use tokio::io::AsyncBufReadExt;
    use voiceblox_host::egress::secret::Secret;
    use voiceblox_host::transport::livekit::{ControlPlane, LiveKitCredentials};
    use voiceblox_tests::fakes::livekit::FakeLiveKit;

    const KEY: &str = "APIcli";
    const SECRET: &str = "cli-secret-abcdefghijklmnopqrstu";
    let livekit = FakeLiveKit::start(KEY, SECRET);
    let mut cmd = worker_cli(["--health-addr", "127.0.0.1:0", "--max-jobs", "3", "--drain-timeout", "5s"]);
    cmd.env("LIVEKIT_URL", livekit.url()).env("LIVEKIT_API_KEY", KEY).env("LIVEKIT_API_SECRET", SECRET);
    let mut child = cmd.spawn().expect("starting voiceblox-host worker");
    let stderr = child.stderr.take().expect("piped stderr");
    let mut lines = tokio::io::BufReader::new(stderr).lines();
    let prefix = "voiceblox worker: health and metrics on http://";
    let health = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.expect("reading stderr") {
            if let Some(addr) = line.strip_prefix(prefix) {
                return addr.to_string();
            }
        }
        panic!("the worker exited without serving its health endpoint");
    })
    .await
    .expect("the worker printed no health address");
    // The rest of stderr, for the final assertions (and so the pipe never fills).
    let rest = tokio::spawn(async move {
        let mut text = String::new();
        while let Ok(Some(line)) = lines.next_line().await {
            text.push_str(&line);
            text.push('\n');
        }
        text
    });

    livekit.wait_for("the worker's registration", |lk| lk.agent_workers().into_iter().next()).await;
    voiceblox_host::egress::tls::install_crypto_provider();
    let healthz = reqwest::get(format!("http://{health}/healthz")).await.unwrap();
    assert_eq!(healthz.status(), 200);
    let metrics = reqwest::get(format!("http://{health}/metrics")).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("voiceblox_worker_connection_state{state=\"registered\"} 1"), "{metrics}");

    // A room whose metadata is no config this host can run: the job joins, tells the user why
    // and fails with the reason; the worker goes on.
    let credentials = LiveKitCredentials::new(&livekit.url(), KEY, Secret::new(SECRET)).unwrap();
    let control = ControlPlane::new(credentials);
    control.create_room("voiceblox-cli", r#"{"agentName": "no steps"}"#).await.unwrap();
    let mut user = voiceblox_tests::room_user::RoomUser::join(
        &livekit.url(),
        &livekit.participant_token("voiceblox-cli", "user-1"),
    )
    .await
    .unwrap();
    let dispatch = control.create_dispatch("voiceblox-cli", "voiceblox", "").await.unwrap();
    let error = user.until_event("the agent's error", |e| e["type"] == "error").await;
    assert_eq!(error["code"], "invalid_config");
    let failed = livekit
        .wait_for("the job's failure", |lk| {
            lk.agent_jobs().into_iter().find(|j| j.job.dispatch_id == dispatch.id && !j.error.is_empty())
        })
        .await;
    assert!(failed.error.starts_with("the AgentConfig in the room metadata was refused"), "{}", failed.error);
    let metrics = reqwest::get(format!("http://{health}/metrics")).await.unwrap().text().await.unwrap();
    for line in ["voiceblox_worker_jobs_failed_total 1", "voiceblox_session_errors_total{code=\"invalid_config\"} 1"] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }

    let pid = child.id().expect("the worker's pid").to_string();
    let killed = std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("running kill");
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("the worker did not exit after SIGTERM")
        .unwrap();
    let stderr = rest.await.unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("drained, exiting"), "{stderr}");
    let drained = livekit
        .agent_messages()
        .into_iter()
        .any(|m| matches!(m.message, livekit_protocol::worker_message::Message::UpdateWorker(u) if u.draining));
    assert!(drained, "the worker never reported draining");
}

/// `models fetch` gets the end-of-turn model and the Silero VAD into the model folder (with pip,
/// once per target folder) and loads them; a file that is not the model is refused with its path.
#[tokio::test(flavor = "multi_thread")]
async fn models_fetch_readies_the_local_models_and_refuses_a_wrong_file() {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/models");
    let mut cmd = cli(["models", "fetch"]);
    cmd.env("VOICEBLOX_MODELS_DIR", &models).env_remove("VOICEBLOX_TURN_MODEL");
    let out = run(cmd).await;
    out.assert_code(0);
    assert!(out.stdout.contains("end-of-turn model ready") && out.stdout.contains("smart-turn-v3.2-cpu.onnx"), "{out}");
    assert!(out.stdout.contains("Silero VAD ready") && out.stdout.contains("silero_vad_op18_ifless.onnx"), "{out}");

    let dir = tempfile::tempdir().unwrap();
    let wrong = dir.path().join("model.onnx");
    std::fs::write(&wrong, b"not a model").unwrap();
    let mut cmd = cli(["models", "fetch", "turn"]);
    cmd.env("VOICEBLOX_TURN_MODEL", &wrong);
    let out = run(cmd).await;
    assert_ne!(out.code, Some(0), "{out}");
    assert!(out.stderr.contains("model.onnx") && out.stderr.contains("end-of-turn model"), "{out}");
}

// plugins new

/// Builds a scaffolded Rust plugin for wasm with the repository's locked dependency versions
/// (the target folder is shared by runs, so only the first one compiles the SDK); the file.
async fn build_scaffold(project: &Path, file: &str) -> PathBuf {
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock"), project.join("Cargo.lock")).unwrap();
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/scaffolds");
    let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo.current_dir(project).args(["build", "--release", "--target", "wasm32-wasip2", "--target-dir"]).arg(&target);
    // This test's own build flags are not the scaffold's.
    for var in ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO_BUILD_RUSTFLAGS", "RUSTC_WRAPPER", "CARGO_TARGET_DIR"] {
        cargo.env_remove(var);
    }
    let built = tokio::time::timeout(Duration::from_secs(900), cargo.output()).await.unwrap().unwrap();
    assert!(built.status.success(), "the scaffold does not build:\n{}", String::from_utf8_lossy(&built.stderr));
    target.join("wasm32-wasip2/release").join(format!("{file}.wasm"))
}

/// `plugins new` writes a Rust LLM and a TTS plugin that build with one command, pass `plugins
/// check`, and stream from an OpenAI-compatible server through `try` as they are.
#[tokio::test(flavor = "multi_thread")]
async fn plugins_new_scaffolds_rust_plugins_that_build_check_and_answer() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    for (name, kind) in [("acme-chat", "llm"), ("acme-voice", "tts"), ("acme-ears", "stt")] {
        let project = dir.path().join(name);
        let mut new = cli(["plugins", "new", name, "--kind", kind, "--dir"]);
        new.arg(&project);
        let out = run(new).await;
        out.assert_code(0);
        assert!(out.stdout.contains("cargo build --release --target wasm32-wasip2"), "{out}");
        let file = name.replace('-', "_");
        let wasm = build_scaffold(&project, &file).await;
        std::fs::copy(&wasm, plugins.join(format!("{file}.wasm"))).unwrap();
        let mut check = cli(["--plugins"]);
        check.arg(&plugins).args(["plugins", "check"]).arg(plugins.join(format!("{file}.wasm")));
        let out = run(check).await;
        out.assert_code(0);
        assert!(out.stdout.starts_with(&format!("ok: {name} 0.1.0")), "{out}");
        assert!(table_rows(&out.stdout).contains(&vec![
            name,
            "0.1.0",
            "0.2.0",
            "third-party",
            name,
            kind,
            "api.openai.com"
        ]));
    }

    let fake = openai::start(
        OpenAiScript::new()
            .api_key("sk-acme")
            .chat(ChatScript::text(["Hello ", "from ", "a new plugin."]).with_usage(9, 5))
            .speech(SpeechScript::tone())
            .transcription(TranscriptionScript::text("Book a table.")),
    );
    let mut cmd = cli(["--plugins"]);
    cmd.arg(&plugins).args(["try", "llm", "--provider", "acme-chat", "--model", "m", "--base-url"]);
    cmd.arg(fake.base_url()).arg("--allow-host").arg(allow(fake.addr())).arg("Say hi");
    cmd.env("ACME_CHAT_API_KEY", "sk-acme");
    let out = run(cmd).await;
    out.assert_code(0);
    assert_eq!(out.stdout, "Hello from a new plugin.\n", "{out}");
    assert!(out.stderr.contains("usage: 9 prompt (0 cached) + 5 completion tokens"), "{out}");

    let wav = dir.path().join("voice.wav");
    let mut cmd = cli(["--plugins"]);
    cmd.arg(&plugins).args(["try", "tts", "--provider", "acme-voice", "--model", "m", "--base-url"]);
    cmd.arg(fake.base_url()).arg("--allow-host").arg(allow(fake.addr())).arg("--out").arg(&wav).arg("Hello there");
    cmd.env("ACME_VOICE_API_KEY", "sk-acme");
    let out = run(cmd).await;
    out.assert_code(0);
    let expected = s16le_to_samples(&SpeechScript::tone().pcm_for("Hello there")).unwrap();
    assert!(read_wav(&wav).unwrap().samples == expected, "the audio differs from what the fake sent");
    assert_eq!(fake.chat_requests()[0].header("authorization"), Some("Bearer sk-acme"));

    let (wav, samples) = tone_wav(dir.path());
    let mut cmd = cli(["--plugins"]);
    cmd.arg(&plugins).args(["try", "stt", "--provider", "acme-ears", "--model", "m", "--base-url"]);
    cmd.arg(fake.base_url()).arg("--allow-host").arg(allow(fake.addr())).arg(&wav);
    cmd.env("ACME_EARS_API_KEY", "sk-acme");
    let out = run(cmd).await;
    out.assert_code(0);
    assert_eq!(out.stdout.lines().filter(|l| !l.is_empty()).collect::<Vec<_>>(), ["Book a table."], "{out}");
    let upload = &fake.transcriptions()[0];
    assert_eq!((upload.sample_rate, upload.sample_count(), upload.model.as_str()), (16_000, samples.len(), "m"));

    // Refusals say what to do.
    let out = run(cli(["plugins", "new", "Acme_Chat"])).await;
    assert_ne!(out.code, Some(0));
    assert!(out.stderr.contains("lowercase letters, digits and `-`"), "{out}");
    let mut again = cli(["plugins", "new", "acme-chat", "--dir"]);
    again.arg(dir.path().join("acme-chat"));
    let out = run(again).await;
    assert!(out.stderr.contains("exists already"), "{out}");
}

/// A Python component's first compile (18 MB of wasm) on a busy machine.
const GUEST_LOAD: Duration = Duration::from_secs(600);

/// `plugins new --lang python|js` writes a self-contained project (the SDK and the WIT contract
/// copied in) whose `build.sh` makes a component that passes `plugins check` and streams a reply
/// through `try`.
#[tokio::test(flavor = "multi_thread")]
async fn plugins_new_scaffolds_python_and_javascript_plugins_that_build_check_and_answer() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = default_plugins_dir().parent().unwrap().to_path_buf();
    for (lang, name, kind) in [
        ("python", "acme-py", "llm"),
        ("js", "acme-js", "llm"),
        ("python", "acme-py-voice", "tts"),
        ("js", "acme-js-voice", "tts"),
        ("python", "acme-py-ears", "stt"),
        ("js", "acme-js-ears", "stt"),
    ] {
        let project = dir.path().join(name);
        let mut new = cli(["plugins", "new", name, "--lang", lang, "--kind", kind, "--dir"]);
        new.arg(&project);
        let out = run(new).await;
        out.assert_code(0);
        assert!(out.stdout.contains("./build.sh"), "{out}");
        // The toolchains the test suite installs for the examples (same pinned versions).
        let mut build = Command::new("bash");
        build.arg(project.join("build.sh")).env("VOICEBLOX_PLUGIN_TOOLCHAINS", target.join("plugin-toolchains"));
        if lang == "js" {
            let example = root.join("examples/plugins/javascript");
            let ready = Command::new("bash").arg(example.join("build.sh")).env("CARGO_TARGET_DIR", &target).output();
            assert!(ready.await.unwrap().status.success(), "the JavaScript example's toolchain");
            std::os::unix::fs::symlink(example.join("node_modules"), project.join("node_modules")).unwrap();
        }
        let built = build.output().await.unwrap();
        assert!(built.status.success(), "{lang}: build.sh failed:\n{}", String::from_utf8_lossy(&built.stderr));
        let file = format!("{}.wasm", name.replace('-', "_"));
        std::fs::copy(project.join(&file), plugins.join(&file)).unwrap();
        let mut check = cli(["--plugins"]);
        check.arg(&plugins).args(["plugins", "check"]).arg(plugins.join(&file));
        let out = run_within(check, GUEST_LOAD).await;
        out.assert_code(0);
        assert!(table_rows(&out.stdout).contains(&vec![
            name,
            "0.1.0",
            "0.2.0",
            "third-party",
            name,
            kind,
            "api.openai.com"
        ]));
    }

    let fake = openai::start(
        OpenAiScript::new()
            .api_key("sk-guest")
            .chat(ChatScript::text(["Hello ", "from a guest."]))
            .speech(SpeechScript::tone())
            .speech(SpeechScript::tone())
            .transcription(TranscriptionScript::text("Book a table."))
            .transcription(TranscriptionScript::text("Book a table."))
            // Then each voice plugin meets a rate limit and each ear a wrong key.
            .speech(SpeechScript::error(429).retry_after(30))
            .speech(SpeechScript::error(429).retry_after(30))
            .transcription(TranscriptionScript::error(401))
            .transcription(TranscriptionScript::error(401)),
    );
    for (name, var) in [("acme-py", "ACME_PY_API_KEY"), ("acme-js", "ACME_JS_API_KEY")] {
        let mut cmd = cli(["--plugins"]);
        cmd.arg(&plugins).args(["try", "llm", "--provider", name, "--model", "m", "--base-url"]);
        cmd.arg(fake.base_url()).arg("--allow-host").arg(allow(fake.addr())).arg("Say hi");
        cmd.env(var, "sk-guest");
        let out = run_within(cmd, GUEST_LOAD).await;
        out.assert_code(0);
        assert_eq!(out.stdout, "Hello from a guest.\n", "{name}: {out}");
    }
    for (name, var) in [("acme-py-voice", "ACME_PY_VOICE_API_KEY"), ("acme-js-voice", "ACME_JS_VOICE_API_KEY")] {
        let wav = dir.path().join(format!("{name}.wav"));
        let mut cmd = cli(["--plugins"]);
        cmd.arg(&plugins).args(["try", "tts", "--provider", name, "--model", "m", "--base-url"]);
        cmd.arg(fake.base_url()).arg("--allow-host").arg(allow(fake.addr())).arg("--out").arg(&wav);
        cmd.arg("Hello there").env(var, "sk-guest");
        let out = run_within(cmd, GUEST_LOAD).await;
        out.assert_code(0);
        let expected = s16le_to_samples(&SpeechScript::tone().pcm_for("Hello there")).unwrap();
        assert!(read_wav(&wav).unwrap().samples == expected, "{name}: the audio differs from what the fake sent");
    }
    let spoken: Vec<String> =
        fake.speech_requests().iter().map(|r| r.json().unwrap()["input"].as_str().unwrap().to_string()).collect();
    assert_eq!(spoken, ["Hello there", "Hello there"]);
    let (wav, samples) = tone_wav(dir.path());
    for (name, var) in [("acme-py-ears", "ACME_PY_EARS_API_KEY"), ("acme-js-ears", "ACME_JS_EARS_API_KEY")] {
        let mut cmd = cli(["--plugins"]);
        cmd.arg(&plugins).args(["try", "stt", "--provider", name, "--model", "m", "--base-url"]);
        cmd.arg(fake.base_url()).arg("--allow-host").arg(allow(fake.addr())).arg(&wav).env(var, "sk-guest");
        let out = run_within(cmd, GUEST_LOAD).await;
        out.assert_code(0);
        assert_eq!(
            out.stdout.lines().filter(|l| !l.is_empty()).collect::<Vec<_>>(),
            ["Book a table."],
            "{name}: {out}"
        );
    }
    let uploads = fake.transcriptions();
    assert_eq!(uploads.len(), 2);
    for upload in &uploads {
        assert_eq!((upload.sample_rate, upload.channels, upload.sample_count()), (16_000, 1, samples.len()));
        assert_eq!(upload.model, "m");
    }

    // The SDKs' failed answers become the typed errors the host acts on, Retry-After included.
    for (name, var, kind, input, expected) in [
        ("acme-py-voice", "ACME_PY_VOICE_API_KEY", "tts", "Hello there", "rate limited (retry after 30000 ms)"),
        ("acme-js-voice", "ACME_JS_VOICE_API_KEY", "tts", "Hello there", "rate limited (retry after 30000 ms)"),
        ("acme-py-ears", "ACME_PY_EARS_API_KEY", "stt", &*wav.to_string_lossy(), "unauthorized"),
        ("acme-js-ears", "ACME_JS_EARS_API_KEY", "stt", &*wav.to_string_lossy(), "unauthorized"),
    ] {
        let mut cmd = cli(["--plugins"]);
        cmd.arg(&plugins).args(["try", kind, "--provider", name, "--model", "m", "--base-url"]);
        cmd.arg(fake.base_url()).arg("--allow-host").arg(allow(fake.addr()));
        if kind == "tts" {
            cmd.arg("--out").arg(dir.path().join("refused.wav"));
        }
        cmd.arg(input).env(var, "sk-guest");
        let out = run_within(cmd, GUEST_LOAD).await;
        out.assert_code(1);
        assert!(out.stderr.contains(expected) && out.stderr.contains("HTTP"), "{name}: {out}");
    }
    assert_eq!((fake.speech_requests().len(), fake.transcriptions().len()), (4, 4), "no failure was retried");
}
