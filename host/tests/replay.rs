//! Record and replay, end to end through the binary: a session recorded against the provider
//! fakes (`console --record DIR`) replays offline, with the fakes gone, to the same events; a
//! changed recording reports where it departs; keys never reach a file.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::AsyncWriteExt as _;
use voiceblox_tests::fakes::openai::{self, ChatScript, OpenAiScript};

use crate::common::*;

/// A key no file may ever contain.
const CANARY_OPENAI: &str = "sk-canary-openai-7f3a9c";
const CANARY_DEEPGRAM: &str = "dg-canary-deepgram-51be02";

/// The one recording in `dir`.
fn recording_in(dir: &Path) -> PathBuf {
    let names = files_ending_with(dir, ".rec.jsonl");
    assert_eq!(names.len(), 1, "one recording per session: {names:?}");
    dir.join(&names[0])
}

fn lines_of(path: &Path) -> Vec<serde_json::Value> {
    events_in(path)
}

fn replay_cli(recording: &Path) -> tokio::process::Command {
    let mut cmd = cli(["replay"]);
    cmd.arg(recording);
    cmd
}

/// Runs a text console with `lines` typed in, then the input closed.
async fn type_into(mut cmd: tokio::process::Command, lines: &[u8]) -> std::process::Output {
    cmd.stdin(Stdio::piped());
    let mut child = cmd.spawn().expect("spawning");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(lines).await.unwrap();
    drop(stdin);
    tokio::time::timeout(RUN_TIMEOUT, child.wait_with_output()).await.unwrap().unwrap()
}

/// Records a text session: a greeting, two user turns, the fakes answering.
async fn record_text_session(dir: &Path) -> (PathBuf, Vec<serde_json::Value>) {
    let events = text_session(dir, false, false).await;
    (recording_in(&dir.join("recordings")), events)
}

/// Runs the text session with `--record DIR/recordings` (and `--record-on-request`, and a
/// config that asks, as told); returns its events.
async fn text_session(dir: &Path, on_request: bool, config_asks: bool) -> Vec<serde_json::Value> {
    let fake = openai::start(
        OpenAiScript::new()
            .api_key(CANARY_OPENAI)
            .chat(ChatScript::text(["Hello! ", "Where to?"]))
            .chat(ChatScript::text(["The coast is ", "lovely in June."]))
            .chat(ChatScript::text(["Pack a jumper."])),
    );
    let config = console_config(
        dir,
        serde_json::json!([
            {"id": "s", "type": "start", "command": "Greet the user.", "nextStepIds": {"next": "o"}},
            {"id": "o", "type": "opentalk", "command": "Plan a trip."}
        ]),
    );
    if config_asks {
        let mut json: serde_json::Value = serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
        json["record"] = serde_json::Value::Bool(true);
        std::fs::write(&config, json.to_string()).unwrap();
    }
    let events = dir.join("events.jsonl");
    let records = dir.join("recordings");
    let mut cmd = cli(["console", "--text", "--allow-host", &allow(fake.addr())]);
    cmd.arg("--config").arg(&config).arg("--events").arg(&events).arg("--record").arg(&records);
    if on_request {
        cmd.arg("--record-on-request");
    }
    cmd.env("OPENAI_API_KEY", CANARY_OPENAI).env("OPENAI_BASE_URL", fake.base_url());
    let output = type_into(cmd, b"Somewhere by the sea.\nWhat should I bring?\n").await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(stderr.contains("session recorded in"), !on_request || config_asks, "{stderr}");
    assert_eq!(fake.chat_requests().len(), 3);
    events_in(&events)
}

#[tokio::test(flavor = "multi_thread")]
async fn with_record_on_request_only_a_config_that_asks_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    text_session(dir.path(), true, false).await;
    assert!(files_ending_with(&dir.path().join("recordings"), ".rec.jsonl").is_empty(), "recorded unasked");
    text_session(dir.path(), true, true).await;
    let recording = recording_in(&dir.path().join("recordings"));
    assert_eq!(lines_of(&recording)[0]["config"]["record"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recorded_text_session_replays_offline_to_the_same_events() {
    let dir = tempfile::tempdir().unwrap();
    let (recording, live_events) = record_text_session(dir.path()).await;
    // The fake is gone: the replay has no network and no key.

    let text = std::fs::read_to_string(&recording).unwrap();
    assert!(!text.contains(CANARY_OPENAI), "a key reached the recording");
    let lines = lines_of(&recording);
    let header = &lines[0];
    assert_eq!((header["format"].as_str(), header["version"].as_u64()), (Some("voiceblox-recording"), Some(1)));
    assert_eq!(header["medium"], "text");
    assert!(header["config"]["llm"].get("apiKey").is_none());
    let openai = header["plugins"].as_array().unwrap().iter().find(|p| p["name"] == "openai").expect("plugin identity");
    assert_eq!(openai["sha256"].as_str().map(str::len), Some(64));
    let kinds: Vec<&str> = lines[1..].iter().map(|l| l["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "http_request").count(), 3, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "user_text").count(), 2, "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"end"));
    let request = lines.iter().find(|l| l["kind"] == "http_request").unwrap();
    let authorization = request["headers"].as_array().unwrap().iter().find(|h| h[0] == "Authorization").unwrap();
    assert_eq!(authorization[1], "Bearer {{api-key}}", "the key stays a placeholder, as the plugin wrote it");
    let recorded_events: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l["kind"] == "event").map(|l| &l["event"]).collect();
    assert_eq!(recorded_events, live_events.iter().collect::<Vec<_>>(), "the recording holds every event");

    let first = dir.path().join("replay-1.jsonl");
    let out = run({
        let mut cmd = replay_cli(&recording);
        cmd.arg("--events").arg(&first);
        cmd
    })
    .await;
    out.assert_code(0);
    assert!(out.stdout.contains("plugins: the recorded builds"), "{out}");
    assert!(out.stdout.contains(&format!("identical: {} events", live_events.len())), "{out}");
    // Virtual time: a second replay is the same to the byte, measured timings included.
    let second = dir.path().join("replay-2.jsonl");
    run({
        let mut cmd = replay_cli(&recording);
        cmd.arg("--events").arg(&second);
        cmd
    })
    .await
    .assert_code(0);
    assert_eq!(std::fs::read(&first).unwrap(), std::fs::read(&second).unwrap());
    let replayed = events_in(&first);
    assert!(
        replayed.contains(
            &serde_json::json!({"type": "transcript", "role": "assistant", "text": "Pack a jumper.", "final": true})
        ),
        "{replayed:?}"
    );
}

/// Every kind of credential a session holds — a provider key written in the config, an MCP
/// bearer token, a host-side service's key from the environment — stays out of the recording,
/// in the clear and in base64, while the session's MCP and Exa traffic is recorded; the call
/// then replays with every server gone.
#[tokio::test(flavor = "multi_thread")]
async fn no_credential_reaches_a_recording_and_mcp_and_exa_replay_without_their_servers() {
    use voiceblox_tests::fakes::exa::{ExaFake, ExaPage};
    use voiceblox_tests::fakes::mcp::{McpAuth, McpFake};
    const CANARY_CONFIG_KEY: &str = "sk-canary-in-config-4c1e";
    const CANARY_MCP: &str = "mcp-canary-token-90d1";
    const CANARY_EXA: &str = "exa-canary-key-2b7f";
    let dir = tempfile::tempdir().unwrap();
    let mcp = McpFake::start(McpAuth::Bearer(CANARY_MCP.into()));
    let exa = ExaFake::start(Some(CANARY_EXA), vec![ExaPage::new("UPS tracking", "https://ups.example/t", "Track.")]);
    let fake = openai::start(
        OpenAiScript::new()
            .api_key(CANARY_CONFIG_KEY)
            .chat(ChatScript::text(["How can I help?"]))
            .chat(ChatScript::new().tool_call("call_a", "lookup_order", r#"{"order_id": "42"}"#))
            .chat(ChatScript::new().tool_call("call_b", "web_search", r#"{"query": "UPS tracking"}"#))
            .chat(ChatScript::text(["Order 42 ships on Friday."])),
    );
    // The greeting comes from the LLM: after a literal one, the text console's `speaking` and the
    // next step's `step_change` come from two tasks in either order (see the issue note).
    let config = console_config(
        dir.path(),
        serde_json::json!([
            {"id": "s", "type": "start", "command": "Offer help.", "nextStepIds": {"next": "o"}},
            {"id": "o", "type": "opentalk", "command": "Help with orders."}
        ]),
    );
    let mut json: serde_json::Value = serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
    json["llm"]["apiKey"] = CANARY_CONFIG_KEY.into();
    json["mcpServers"] = serde_json::json!([{"serverUrl": mcp.url(), "authType": "bearer", "authValue": CANARY_MCP}]);
    json["exaConfigs"] = serde_json::json!([{"numResults": 1}]);
    std::fs::write(&config, json.to_string()).unwrap();
    let records = dir.path().join("recordings");
    let events = dir.path().join("events.jsonl");
    let mut cmd = cli(["console", "--text"]);
    for addr in [fake.addr(), mcp.addr(), exa.addr()] {
        cmd.arg("--allow-host").arg(allow(addr));
    }
    cmd.arg("--config").arg(&config).arg("--events").arg(&events).arg("--record").arg(&records);
    cmd.env("OPENAI_BASE_URL", fake.base_url()).env("EXA_API_KEY", CANARY_EXA).env("EXA_BASE_URL", exa.base_url());
    let output = type_into(cmd, b"Where is order 42?\n").await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!((mcp.tool_calls().len(), exa.search_requests().len()), (1, 1), "the tools ran live");
    drop((mcp, exa, fake));

    let recording = recording_in(&records);
    let text = std::fs::read_to_string(&recording).unwrap();
    for canary in [CANARY_CONFIG_KEY, CANARY_MCP, CANARY_EXA] {
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::STANDARD.encode(canary);
        assert!(!text.contains(canary) && !text.contains(&encoded[..16]), "{canary} reached the recording");
    }
    let mcp_requests: Vec<String> = lines_of(&recording)
        .into_iter()
        .filter(|l| l["kind"] == "http_request" && l["url"].as_str().unwrap().ends_with("/mcp"))
        .map(|l| l["body"]["text"].as_str().unwrap_or_default().to_string())
        .collect();
    for method in ["initialize", "tools/list", "tools/call"] {
        assert!(mcp_requests.iter().any(|b| b.contains(&format!(r#""method":"{method}""#))), "{mcp_requests:?}");
    }
    let live = events_in(&events);
    for tool in ["lookup_order", "web_search"] {
        assert!(live.iter().any(|e| e["type"] == "tool_result" && e["toolName"] == tool), "{tool}: {live:?}");
    }
    let out = run(replay_cli(&recording)).await;
    out.assert_code(0);
    assert!(out.stdout.contains(&format!("identical: {} events", live.len())), "{out}");
}

/// A literal greeting and the step after it: the turn's events travel with its words, so the
/// greeting's `speaking` comes before the next step's `step_change` in every live run (the
/// turn and the console ran on separate threads and raced before), and the replay agrees.
#[tokio::test(flavor = "multi_thread")]
async fn a_literal_greeting_keeps_its_events_in_order_live_and_on_replay() {
    let fake = openai::start(OpenAiScript::new().api_key(CANARY_OPENAI).chat(ChatScript::text(["Noted."])));
    for round in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let config = console_config(
            dir.path(),
            serde_json::json!([
                {"id": "s", "type": "start", "command": "Hello there.", "isLiteral": true, "nextStepIds": {"next": "o"}},
                {"id": "o", "type": "opentalk", "command": "Take a note."}
            ]),
        );
        let (events, records) = (dir.path().join("events.jsonl"), dir.path().join("recordings"));
        let mut cmd = cli(["console", "--text", "--allow-host", &allow(fake.addr())]);
        cmd.arg("--config").arg(&config).arg("--events").arg(&events).arg("--record").arg(&records);
        cmd.env("OPENAI_API_KEY", CANARY_OPENAI).env("OPENAI_BASE_URL", fake.base_url());
        let output = type_into(cmd, b"Milk.\n").await;
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let live = events_in(&events);
        let at = |wanted: serde_json::Value| live.iter().position(|e| *e == wanted);
        let speaking = at(serde_json::json!({"type": "agent_state", "state": "speaking"}));
        let next_step = at(serde_json::json!({"type": "step_change", "stepId": "o", "stepType": "opentalk"}));
        assert!(speaking.is_some() && next_step.is_some() && speaking < next_step, "round {round}: {live:?}");
        let out = run(replay_cli(&recording_in(&records))).await;
        out.assert_code(0);
        assert!(out.stdout.contains(&format!("identical: {} events", live.len())), "round {round}: {out}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_recording_reports_where_the_events_part() {
    let dir = tempfile::tempdir().unwrap();
    let (recording, _) = record_text_session(dir.path()).await;
    // The provider's second answer said something else.
    let text = std::fs::read_to_string(&recording).unwrap();
    assert!(text.contains("lovely in June."));
    let edited = dir.path().join("edited.rec.jsonl");
    let edited_text: String = text
        .lines()
        .map(|line| match line.contains("\"kind\":\"http_body\"") {
            true => format!("{}\n", line.replace("lovely in June.", "lovely in May.")),
            false => format!("{line}\n"),
        })
        .collect();
    assert_ne!(edited_text, text);
    std::fs::write(&edited, edited_text).unwrap();
    let out = run(replay_cli(&edited)).await;
    out.assert_code(1);
    assert!(out.stdout.contains("events diverge at #"), "{out}");
    assert!(out.stdout.contains("- recorded:") && out.stdout.contains("lovely in June."), "{out}");
    assert!(out.stdout.contains("+ replayed:") && out.stdout.contains("lovely in May."), "{out}");

    // Another plugin build is named, and the events still compared.
    let other_build = dir.path().join("other-build.rec.jsonl");
    let mut lines: Vec<serde_json::Value> = lines_of(&recording);
    for plugin in lines[0]["plugins"].as_array_mut().unwrap() {
        if plugin["name"] == "openai" {
            plugin["sha256"] = serde_json::json!("0".repeat(64));
        }
    }
    let rewritten: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&other_build, rewritten).unwrap();
    let out = run(replay_cli(&other_build)).await;
    out.assert_code(0);
    assert!(out.stdout.contains("plugin changed: openai: recorded with"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn what_is_not_a_readable_recording_exits_2_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.jsonl");
    std::fs::write(&garbage, "hello\n").unwrap();
    let out = run(replay_cli(&garbage)).await;
    out.assert_code(2);
    assert!(out.stderr.contains("is not a voiceblox recording"), "{out}");

    let future = dir.path().join("future.jsonl");
    std::fs::write(&future, "{\"format\":\"voiceblox-recording\",\"version\":99}\n").unwrap();
    let out = run(replay_cli(&future)).await;
    out.assert_code(2);
    assert!(out.stderr.contains("format-99 recording") && out.stderr.contains("newer voiceblox-host"), "{out}");

    let (recording, _) = record_text_session(dir.path()).await;
    let mut text = std::fs::read_to_string(&recording).unwrap();
    text.push_str("{\"at_us\": 1, \"kind\": \"teleport\"}\n");
    std::fs::write(&recording, text).unwrap();
    let out = run(replay_cli(&recording)).await;
    out.assert_code(2);
    assert!(out.stderr.contains(".rec.jsonl:") && out.stderr.contains("teleport"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recorded_voice_session_replays_offline_to_the_same_events() {
    let dir = tempfile::tempdir().unwrap();
    let records = dir.path().join("recordings");
    let VoiceConsole { mut cmd, speech, events, openai, deepgram, .. } =
        voice_console(dir.path(), (CANARY_OPENAI, CANARY_DEEPGRAM));
    cmd.arg("--record").arg(&records);
    run(cmd).await.assert_code(0);
    drop((openai, deepgram));

    let recording = recording_in(&records);
    let text = std::fs::read_to_string(&recording).unwrap();
    assert!(!text.contains(CANARY_OPENAI) && !text.contains(CANARY_DEEPGRAM), "a key reached the recording");
    let lines = lines_of(&recording);
    assert_eq!(lines[0]["medium"], "voice");
    let kinds: Vec<&str> = lines[1..].iter().map(|l| l["kind"].as_str().unwrap()).collect();
    for kind in ["mic", "mic_end", "ws_open", "ws_opened", "ws_send", "ws_recv", "http_request", "http_body", "end"] {
        assert!(kinds.contains(&kind), "no {kind} in the recording");
    }
    // Every 16 kHz sample the voice loop heard, and no more than the input and its tail.
    let heard: usize = lines
        .iter()
        .filter(|l| l["kind"] == "mic")
        .map(|l| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.decode(l["pcm"]["base64"].as_str().unwrap()).unwrap().len() / 2
        })
        .sum();
    assert!(heard >= speech.len() * 9 / 10, "{heard} samples recorded of {}", speech.len());
    assert!(text.len() < 4 * 2 * heard, "{} bytes for {heard} samples", text.len());

    let out = run(replay_cli(&recording)).await;
    out.assert_code(0);
    let live = events_in(&events);
    assert!(out.stdout.contains(&format!("identical: {} events", live.len())), "{out}");

    // The call as a regression test: a flow test on the recording, checked on its replay.
    let spec = dir.path().join("call.test.json");
    let name = recording.file_name().unwrap().to_string_lossy().into_owned();
    let heard = serde_json::json!({"type": "transcript", "role": "user", "text": BOOK_LINE, "final": true});
    let tests = serde_json::json!({"tests": [
        {"name": "the recorded call", "recording": &recording.display().to_string(),
         "expect": {"path": ["s", "o"], "events": [heard], "agentTurns": 2, "sameEvents": true}},
        {"name": "a wrong expectation", "recording": format!("recordings/{name}"), "expect": {"agentTurns": 5}}
    ]});
    std::fs::write(&spec, tests.to_string()).unwrap();
    let mut cmd = cli(["test"]);
    cmd.arg(&spec);
    let out = run(cmd).await;
    out.assert_code(1);
    assert!(out.stdout.contains("PASS ") && out.stdout.contains("› the recorded call"), "{out}");
    assert!(out.stdout.contains("agent turns: expected 5, the agent spoke 2 times"), "{out}");
    assert!(
        live.contains(&serde_json::json!({"type": "transcript", "role": "user", "text": BOOK_LINE, "final": true}))
    );
}
