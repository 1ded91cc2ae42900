//! `voiceblox-host test`: flow-test specs run through the binary, offline: exit codes, the
//! report a person reads, JUnit XML, and the message of a path the config cannot take.

use std::path::{Path, PathBuf};

use crate::common::*;

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/agents").join(name)
}

fn spec(dir: &Path, tests: serde_json::Value) -> PathBuf {
    let path = dir.join("triage.test.json");
    let spec = serde_json::json!({"config": example("support_triage.json").display().to_string(), "tests": tests});
    std::fs::write(&path, spec.to_string()).unwrap();
    path
}

/// The billing conversation of the support-triage example, with `expect`.
fn billing(name: &str, expect: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "name": name,
        "llm": ["Your account number?", "Billing question", "That's the late fee.", "{}"],
        "turns": [{"user": "A question about my bill."}, {"user": "4471."}, {"wait": "3m"}],
        "expect": expect
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn the_examples_specs_pass_and_report_as_junit() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("junit.xml");
    let mut cmd = cli(["test"]);
    cmd.arg(example("support_triage.test.json")).arg(example("demo_qualifier.test.json"));
    cmd.arg("--junit").arg(&junit);
    let out = run(cmd).await;
    out.assert_code(0);
    assert!(out.stdout.contains("5 passed, 0 failed"), "{out}");
    // The billing timer runs its two minutes on virtual time.
    let billing = out.stdout.lines().find(|l| l.contains("routed to billing")).unwrap();
    assert!(billing.starts_with("PASS ") && billing.contains("2m "), "{billing}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testsuite ").count(), 2, "{xml}");
    assert_eq!(xml.matches("<testcase ").count(), 5, "{xml}");
    assert!(!xml.contains("<failure"), "{xml}");
}

#[tokio::test(flavor = "multi_thread")]
async fn failing_expectations_exit_1_and_say_where_the_session_departs() {
    let dir = tempfile::tempdir().unwrap();
    let path = spec(
        dir.path(),
        serde_json::json!([
            billing("right", serde_json::json!({"path": ["greet", "discover", "route", "billing", "log", "bye"]})),
            billing("impossible path", serde_json::json!({"path": ["greet", "discover", "route", "billing", "bye"]})),
            billing(
                "wrong webhook and budget",
                serde_json::json!({
                    "webhooks": [{"url": "https://hooks.acme.example/voice/triage", "body": {"stepId": "route"}}],
                    "maxDuration": "1m",
                    "agentTurns": 9
                })
            ),
        ]),
    );
    let junit = dir.path().join("junit.xml");
    let mut cmd = cli(["test"]);
    cmd.arg(&path).arg("--junit").arg(&junit);
    let out = run(cmd).await;
    out.assert_code(1);
    assert!(out.stdout.contains("1 passed, 2 failed"), "{out}");
    assert!(out.stdout.contains("PASS ") && out.stdout.contains("› right"), "{out}");
    assert!(out.stdout.contains("no way from `billing` to `bye` (from `billing` it goes to `log`)"), "{out}");
    assert!(out.stdout.contains("the path parts at step #5: expected `bye`, the session went to `log`"), "{out}");
    assert!(out.stdout.contains("greet → discover → route → billing → log → bye"), "{out}");
    assert!(out.stdout.contains("webhook #1 not sent") && out.stdout.contains("\"stepId\":\"log\""), "{out}");
    assert!(out.stdout.contains("more than maxDuration 1m"), "{out}");
    assert!(out.stdout.contains("agent turns: expected 9, the agent spoke 4 times"), "{out}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<failure ").count(), 2, "{xml}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_script_that_runs_short_or_long_fails_the_test() {
    let dir = tempfile::tempdir().unwrap();
    let path = spec(
        dir.path(),
        serde_json::json!([
            {"name": "too few replies", "llm": ["Your account number?"],
             "turns": [{"user": "A question about my bill."}, {"user": "4471."}]},
            {"name": "too many replies", "llm": ["One.", "Two.", "Three.", "Four.", "Five.", "Six."],
             "turns": [{"user": "Hello."}]}
        ]),
    );
    let out = run({
        let mut cmd = cli(["test"]);
        cmd.arg(&path);
        cmd
    })
    .await;
    out.assert_code(1);
    assert!(out.stdout.contains("unscripted: LLM request #2: the script has no reply left"), "{out}");
    assert!(out.stdout.contains("4 scripted LLM replies were never asked for"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_spec_exits_2_with_the_json_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.test.json");
    std::fs::write(&path, r#"{"tests": [{"name": "x", "turns": [{"usr": "hi"}]}]}"#).unwrap();
    let out = run({
        let mut cmd = cli(["test"]);
        cmd.arg(&path);
        cmd
    })
    .await;
    out.assert_code(2);
    assert!(out.stderr.contains("tests[0].turns[0]") && out.stderr.contains("usr"), "{out}");
}

/// An agent on Anthropic: the scripted replies go out as Messages streams, which the anthropic
/// plugin parses (text, a tool call, an overload error that the evaluation retries past).
#[tokio::test(flavor = "multi_thread")]
async fn an_anthropic_agent_is_tested_with_the_same_script() {
    an_order_desk_passes("anthropic", "claude-sonnet-4-5", 529).await;
}

/// An agent on Gemini: the same kind of script goes out as `streamGenerateContent` SSE, which
/// the gemini plugin parses (text, a function call, an outage the evaluation retries past).
#[tokio::test(flavor = "multi_thread")]
async fn a_gemini_agent_is_tested_with_the_same_script() {
    an_order_desk_passes("google", "gemini-2.5-flash", 503).await;
}

/// An order desk on `provider`'s LLM, tested with one paid order whose evaluation first meets
/// the provider's `error` status: the flow test passes, so the provider's wire format carried the
/// text, the tool call and the retried error.
async fn an_order_desk_passes(provider: &str, model: &str, error: u16) {
    let dir = tempfile::tempdir().unwrap();
    let config = serde_json::json!({
        "agentName": "Order desk",
        "instructions": "You help with orders.",
        "llm": {"model": model, "provider": provider},
        "steps": [
            {"id": "hi", "type": "start", "command": "Hello, order desk.", "isLiteral": true, "nextStepIds": {"next": "talk"}},
            {"id": "talk", "type": "opentalk", "command": "Take the order.", "nextStepIds": {"next": "paid"}},
            {"id": "paid", "type": "ifelse", "conditionText": "The caller paid.", "nextStepIds": {"true": "bye", "false": "talk"}},
            {"id": "bye", "type": "end", "command": "Thanks, goodbye.", "isLiteral": true}
        ]
    });
    let spec = serde_json::json!({"config": config, "tests": [{
        "name": "an order, paid",
        "llm": [
            {"say": "Two pizzas, paid by card. Done.", "tools": [{"name": "step_complete", "arguments": {}}]},
            {"error": error},
            "true"
        ],
        "turns": [{"user": "Two pizzas please, I paid by card."}],
        "expect": {
            "path": ["hi", "talk", "paid", "bye"],
            "events": [
                {"type": "transcript", "role": "assistant", "text": "Two pizzas, paid by card. Done."},
                {"type": "transcript", "role": "assistant", "text": "Thanks, goodbye."}
            ]
        }
    }]});
    let path = dir.path().join(format!("{provider}-desk.test.json"));
    std::fs::write(&path, spec.to_string()).unwrap();
    let mut cmd = cli(["test"]);
    cmd.arg(&path);
    let out = run(cmd).await;
    out.assert_code(0);
    assert!(out.stdout.contains("1 passed, 0 failed"), "{out}");
}

/// A voice test: WAVs spoken into the voice loop on virtual time. Speech the STT makes nothing
/// of is no turn; the next clip is heard as its `user` text, through a batch STT (OpenAI
/// transcriptions) here; a spoken turn without audio is refused with what to write.
#[tokio::test(flavor = "multi_thread")]
async fn a_voice_test_speaks_wavs_and_the_scripted_stt_hears_its_text() {
    let dir = tempfile::tempdir().unwrap();
    let wav = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/audio/testdata/librivox-sense-0880.wav");
    let wav = wav.display().to_string();
    let config = serde_json::json!({
        "agentName": "Book talk",
        "instructions": "You talk about books.",
        "llm": {"model": "gpt-4.1-mini", "provider": "openai"},
        "tts": {"model": "gpt-4o-mini-tts", "provider": "openai", "voiceId": "alloy"},
        "stt": {"model": "gpt-4o-transcribe", "provider": "openai"},
        "steps": [
            {"id": "s", "type": "start", "command": "Which book?", "isLiteral": true, "nextStepIds": {"next": "o"}},
            {"id": "o", "type": "opentalk", "command": "Talk about books."}
        ]
    });
    let heard = "It's Sense and Sensibility.";
    let spec = serde_json::json!({"config": config, "tests": [
        {
            "name": "heard",
            "llm": ["A fine choice."],
            "turns": [{"audio": &wav}, {"audio": &wav, "user": heard}],
            "expect": {
                "agentTurns": 2,
                "events": [
                    {"type": "transcript", "role": "user", "text": heard, "final": true},
                    {"type": "transcript", "role": "assistant", "text": "A fine choice."}
                ]
            }
        },
        {"name": "typed into a call", "llm": ["A fine choice."], "turns": [{"audio": &wav}, {"user": heard}]}
    ]});
    let path = dir.path().join("books.test.json");
    std::fs::write(&path, spec.to_string()).unwrap();
    let mut cmd = cli(["test"]);
    cmd.arg(&path);
    let out = run(cmd).await;
    out.assert_code(1);
    assert!(out.stdout.contains("PASS") && out.stdout.contains("› heard"), "{out}");
    assert!(out.stdout.contains("turn 2: a voice test's user speaks: give `audio`"), "{out}");
}
