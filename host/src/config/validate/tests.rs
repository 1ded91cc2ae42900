//! Each rule fires with the right path and level, and all problems come back together.

use serde_json::{Value, json};

use super::*;
use crate::config::error::Severity;
use crate::config::fixture_tests::full_catalog;
use crate::config::{ConfigError, ProviderKind, StaticCatalog, load};

/// A valid config with the given steps.
fn config_with(steps: Value) -> Value {
    json!({
        "frameworkId": "f", "frameworkProvider": "livekit", "agentName": "a", "instructions": "Be helpful.",
        "llm": {"model": "gpt-4.1-mini", "provider": "openai"},
        "tts": {"model": "tts-1", "provider": "openai"},
        "stt": {"model": "nova-3", "provider": "deepgram"},
        "steps": steps,
    })
}

fn problems_of(config: Value) -> Vec<Problem> {
    problems_with(config, &full_catalog())
}

fn problems_with(config: Value, catalog: &StaticCatalog) -> Vec<Problem> {
    validate(&AgentConfig::from_json(&config.to_string()).unwrap(), catalog)
}

/// The single problem at `path`, failing with the whole list otherwise.
fn at<'a>(problems: &'a [Problem], path: &str) -> &'a Problem {
    let found: Vec<&Problem> = problems.iter().filter(|p| p.path == path).collect();
    assert_eq!(found.len(), 1, "expected one problem at {path}, got {problems:#?}");
    found[0]
}

fn linear() -> Value {
    json!([
        {"id": "s", "type": "start", "nextStepIds": {"next": "b"}},
        {"id": "b", "type": "burst", "nextStepIds": {"next": "e"}},
        {"id": "e", "type": "end"}
    ])
}

#[test]
fn a_valid_flow_has_no_problems() {
    assert_eq!(problems_of(config_with(linear())), []);
}

#[test]
fn missing_start_step() {
    let problems = problems_of(config_with(json!([{"id": "e", "type": "end"}])));
    assert!(at(&problems, "steps").message.contains("no start step"));
    assert!(problems_of(config_with(json!([]))).iter().any(|p| p.path == "steps"));
}

#[test]
fn more_than_one_start_step() {
    let problems = problems_of(config_with(json!([
        {"id": "s1", "type": "start", "nextStepIds": {"next": "e"}},
        {"id": "s2", "type": "start", "nextStepIds": {"next": "e"}},
        {"id": "e", "type": "end"}
    ])));
    let problem = at(&problems, "steps[1].type");
    assert_eq!(problem.severity, Severity::Error);
    assert!(problem.message.contains("steps[0]"));
}

#[test]
fn next_step_pointing_nowhere() {
    let problems = problems_of(config_with(json!([
        {"id": "s", "type": "start", "nextStepIds": {"next": "ghost"}}
    ])));
    assert!(at(&problems, "steps[0].nextStepIds.next").message.contains("unknown step 'ghost'"));
}

#[test]
fn duplicate_and_missing_ids() {
    let problems = problems_of(config_with(json!([
        {"id": "s", "type": "start", "nextStepIds": {"next": "e"}},
        {"id": "e", "type": "end"},
        {"id": "e", "type": "end"},
        {"type": "end"}
    ])));
    assert!(at(&problems, "steps[2].id").message.contains("duplicate step id 'e' (first used by steps[1])"));
    assert!(at(&problems, "steps[3].id").message.contains("no id"));
}

#[test]
fn ifelse_only_after_a_conversational_step() {
    let problems = problems_of(config_with(json!([
        {"id": "s", "type": "start", "nextStepIds": {"next": "if"}},
        {"id": "if", "type": "ifelse", "conditionText": "c", "nextStepIds": {"true": "e", "false": "e"}},
        {"id": "e", "type": "end"}
    ])));
    let problem = at(&problems, "steps[0].nextStepIds.next");
    assert!(problem.message.contains("may only follow a timer, burst or opentalk step, not the start step 's'"));
    for before in ["timer", "burst", "opentalk"] {
        let problems = problems_of(config_with(json!([
            {"id": "s", "type": "start", "nextStepIds": {"next": "x"}},
            {"id": "x", "type": before, "nextStepIds": {"next": "if"}},
            {"id": "if", "type": "ifelse", "conditionText": "c", "nextStepIds": {"true": "e", "false": "e"}},
            {"id": "e", "type": "end"}
        ])));
        assert_eq!(problems, [], "{before}");
    }
}

#[test]
fn categorize_only_after_a_conversational_step() {
    let problems = problems_of(config_with(json!([
        {"id": "s", "type": "start", "nextStepIds": {"next": "w"}},
        {"id": "w", "type": "webhook", "webhookUrl": "https://example.com/h", "nextStepIds": {"next": "c"}},
        {"id": "c", "type": "categorize", "categories": ["A"], "nextStepIds": {"A": "e"}},
        {"id": "e", "type": "end"}
    ])));
    let problem = at(&problems, "steps[1].nextStepIds.next");
    assert_eq!(
        problem.message,
        "leads to categorize step 'c', which may only follow a timer, burst or opentalk step, not the webhook step 'w'"
    );
    assert_eq!(problems.len(), 1, "{problems:?}");
}

#[test]
fn branches_may_not_lead_to_start_or_another_evaluation() {
    let problems = problems_of(config_with(json!([
        {"id": "s", "type": "start", "nextStepIds": {"next": "t"}},
        {"id": "t", "type": "timer", "nextStepIds": {"next": "if"}},
        {"id": "if", "type": "ifelse", "conditionText": "c", "nextStepIds": {"true": "s", "false": "c"}},
        {"id": "c", "type": "categorize", "categories": ["A", "B"], "nextStepIds": {"A": "if", "B": "e"}},
        {"id": "e", "type": "end"}
    ])));
    assert_eq!(at(&problems, "steps[2].nextStepIds.true").message, "a branch may not lead to the start step 's'");
    assert!(at(&problems, "steps[2].nextStepIds.false").message.contains("not the ifelse step 'if'"));
    assert!(at(&problems, "steps[3].nextStepIds.A").message.contains("leads to ifelse step 'if'"));
}

#[test]
fn ifelse_needs_condition_and_both_branches() {
    let problems = problems_of(config_with(json!([
        {"id": "s", "type": "start", "nextStepIds": {"next": "t"}},
        {"id": "t", "type": "timer", "nextStepIds": {"next": "if"}},
        {"id": "if", "type": "ifelse", "conditionText": " ", "nextStepIds": {"true": "e", "maybe": "e"}},
        {"id": "e", "type": "end"}
    ])));
    at(&problems, "steps[2].conditionText");
    assert!(at(&problems, "steps[2].nextStepIds.false").message.contains("'false'"));
    assert_eq!(at(&problems, "steps[2].nextStepIds.maybe").severity, Severity::Warning);
    assert!(problems.iter().all(|p| p.path != "steps[2].nextStepIds.true"));
}

#[test]
fn categorize_needs_categories_and_a_handle_each() {
    let problems = problems_of(config_with(json!([
        {"id": "s", "type": "start", "nextStepIds": {"next": "c"}},
        {"id": "c", "type": "categorize", "categories": ["Sales", "Tech support", "Sales", ""],
         "nextStepIds": {"Sales": "e", "Other": "e"}},
        {"id": "e", "type": "end"},
        {"id": "c2", "type": "categorize"}
    ])));
    assert!(at(&problems, "steps[1].nextStepIds[\"Tech support\"]").message.contains("'Tech support'"));
    assert!(at(&problems, "steps[1].categories[2]").message.contains("duplicate"));
    at(&problems, "steps[1].categories[3]");
    assert_eq!(at(&problems, "steps[1].nextStepIds.Other").severity, Severity::Warning);
    at(&problems, "steps[3].categories");
}

#[test]
fn webhook_needs_an_http_url() {
    let hook = |url: Value| {
        problems_of(config_with(json!([
            {"id": "s", "type": "start", "nextStepIds": {"next": "w"}},
            {"id": "w", "type": "webhook", "webhookUrl": url, "nextStepIds": {"next": "e"}},
            {"id": "e", "type": "end"}
        ])))
    };
    assert_eq!(hook(json!("https://example.com/hook?x=1")), []);
    assert_eq!(hook(json!("http://10.0.0.2:8080/hook")), []);
    for bad in [json!(null), json!(""), json!("ftp://example.com/x"), json!("not a url"), json!("file:///etc/passwd")] {
        let problems = hook(bad.clone());
        assert_eq!(at(&problems, "steps[1].webhookUrl").severity, Severity::Error, "{bad}");
    }
}

#[test]
fn burst_rounds_and_timer_duration_ranges() {
    let problems = problems_of(config_with(json!([
        {"id": "s", "type": "start", "nextStepIds": {"next": "b"}},
        {"id": "b", "type": "burst", "rounds": 11, "nextStepIds": {"next": "b0"}},
        {"id": "b0", "type": "burst", "rounds": 0, "nextStepIds": {"next": "t"}},
        {"id": "t", "type": "timer", "duration": 29, "nextStepIds": {"next": "t2"}},
        {"id": "t2", "type": "timer", "duration": 1801, "nextStepIds": {"next": "ok"}},
        {"id": "ok", "type": "timer", "duration": 1800}
    ])));
    assert!(at(&problems, "steps[1].rounds").message.contains("1–10, got 11"));
    at(&problems, "steps[2].rounds");
    assert!(at(&problems, "steps[3].duration").message.contains("30–1800 seconds, got 29"));
    at(&problems, "steps[4].duration");
    assert_eq!(problems.len(), 4, "{problems:#?}");
}

#[test]
fn linear_step_with_several_handles() {
    let problems = problems_of(config_with(json!([
        {"id": "s", "type": "start", "nextStepIds": {"a": "e", "b": "e"}},
        {"id": "e", "type": "end", "nextStepIds": {"next": "s"}}
    ])));
    assert!(at(&problems, "steps[0].nextStepIds").message.contains("2 handles are set (a, b)"));
    assert_eq!(at(&problems, "steps[1].nextStepIds").severity, Severity::Warning);
}

#[test]
fn unreachable_steps_are_warnings() {
    let problems = problems_of(config_with(json!([
        {"id": "s", "type": "start", "nextStepIds": {"next": "e"}},
        {"id": "island", "type": "opentalk", "nextStepIds": {"next": "e"}},
        {"id": "e", "type": "end"}
    ])));
    let problem = at(&problems, "steps[1]");
    assert_eq!(problem.severity, Severity::Warning);
    assert!(problem.message.contains("'island'"));
    assert!(ConfigError::check(problems).is_ok());
}

#[test]
fn unknown_provider_lists_the_loaded_ones() {
    let mut config = config_with(linear());
    config["llm"]["provider"] = json!("anthropicx");
    config["stt"]["provider"] = json!("whisper");
    let problems = problems_of(config);
    assert_eq!(at(&problems, "llm.provider").message, "unknown LLM provider 'anthropicx'; loaded: openai, groq");
    assert_eq!(at(&problems, "stt.provider").message, "unknown STT provider 'whisper'; loaded: deepgram, assemblyai");
    let problems = problems_with(config_with(linear()), &StaticCatalog::default());
    assert!(at(&problems, "tts.provider").message.ends_with("none are loaded"));
}

#[test]
fn provider_may_come_from_the_model_prefix_in_any_case() {
    let mut config = config_with(linear());
    config["llm"] = json!({"model": "groq/llama-3.3-70b", "apiKey": "k"});
    config["tts"]["provider"] = json!("OpenAI");
    assert_eq!(problems_of(config), []);
}

#[test]
fn missing_api_key_names_the_variable() {
    let catalog = StaticCatalog::default()
        .with(ProviderKind::Llm, "openai", &["OPENAI_API_KEY"])
        .with(ProviderKind::Tts, "openai", &["OPENAI_API_KEY"])
        .with(ProviderKind::Stt, "deepgram", &["DEEPGRAM_API_KEY"]);
    let mut config = config_with(linear());
    config["stt"]["apiKey"] = json!("dg-key");
    let problems = problems_with(config.clone(), &catalog);
    assert_eq!(
        at(&problems, "llm.apiKey").message,
        "no API key for LLM provider 'openai': set OPENAI_API_KEY or llm.apiKey"
    );
    at(&problems, "tts.apiKey");
    assert_eq!(problems.len(), 2);
    // A compatible endpoint may need no key.
    config["llm"]["baseURL"] = json!("http://localhost:11434/v1");
    assert_eq!(at(&problems_with(config, &catalog), "llm.apiKey").severity, Severity::Warning);
    // Keyless providers and keys from the environment are fine.
    let catalog =
        catalog.with(ProviderKind::Llm, "ollama", &[]).with_env("OPENAI_API_KEY").with_env("DEEPGRAM_API_KEY");
    let mut config = config_with(linear());
    config["llm"]["provider"] = json!("ollama");
    assert_eq!(problems_with(config, &catalog), []);
}

#[test]
fn evaluation_llm_is_checked_like_the_main_one() {
    let problems = problems_of(config_with(json!([
        {"id": "s", "type": "start", "nextStepIds": {"next": "t"}},
        {"id": "t", "type": "timer", "nextStepIds": {"next": "if"}},
        {"id": "if", "type": "ifelse", "conditionText": "c", "nextStepIds": {"true": "e", "false": "e"},
         "evaluationLlm": {"model": "", "provider": "nope", "temperature": 3}},
        {"id": "e", "type": "end"}
    ])));
    at(&problems, "steps[2].evaluationLlm.model");
    at(&problems, "steps[2].evaluationLlm.provider");
    at(&problems, "steps[2].evaluationLlm.temperature");
}

#[test]
fn field_rules() {
    let mut config = config_with(linear());
    config["language"] = json!("");
    config["llm"]["maxTokens"] = json!(0);
    config["llm"]["baseURL"] = json!("localhost:11434");
    config["tts"]["stability"] = json!(1.5);
    config["stt"]["model"] = json!("");
    config["frameworkProvider"] = json!("pipecat");
    config["mcpServers"] = json!([
        {"serverUrl": "https://m.example/mcp", "authType": "bearer"},
        {"serverUrl": "ws://m.example", "authValue": "x", "selectedTools": []}
    ]);
    config["exaConfigs"] = json!([{"numResults": 0}]);
    let problems = problems_of(config);
    at(&problems, "language");
    at(&problems, "llm.maxTokens");
    at(&problems, "llm.baseURL");
    at(&problems, "tts.stability");
    at(&problems, "stt.model");
    assert_eq!(at(&problems, "frameworkProvider").severity, Severity::Warning);
    at(&problems, "mcpServers[0].authValue");
    at(&problems, "mcpServers[1].serverUrl");
    assert_eq!(at(&problems, "mcpServers[1].authValue").severity, Severity::Warning);
    assert_eq!(at(&problems, "mcpServers[1].selectedTools").severity, Severity::Warning);
    at(&problems, "exaConfigs[0].numResults");
    assert!(at(&problems, "exaConfigs[0].apiKey").message.contains("EXA_API_KEY"));
}

#[test]
fn language_tags() {
    for good in ["en", "en-US", "zh-Hant-TW", "es-419", "fil"] {
        assert!(fields::is_bcp47(good), "{good}");
    }
    for bad in ["e", "en_US", "english-", "12", "en--US"] {
        assert!(!fields::is_bcp47(bad), "{bad}");
    }
}

#[test]
fn every_problem_is_reported_at_once() {
    let mut config = config_with(json!([
        {"id": "b", "type": "burst", "rounds": 20, "nextStepIds": {"next": "nowhere"}},
        {"id": "w", "type": "webhook", "webhookUrl": "mailto:x@y.z"},
        {"id": "w", "type": "end"}
    ]));
    config["tts"]["provider"] = json!("polly");
    let error = load(&config.to_string(), &full_catalog()).unwrap_err();
    let paths: Vec<&str> = error.problems.iter().map(|p| p.path.as_str()).collect();
    for expected in
        ["steps", "steps[0].rounds", "steps[0].nextStepIds.next", "steps[1].webhookUrl", "steps[2].id", "tts.provider"]
    {
        assert!(paths.contains(&expected), "{expected} missing from {paths:?}");
    }
    let shown = error.to_string();
    assert_eq!(shown.lines().count(), error.problems.len() + 1, "{shown}");
    assert!(shown.contains("error: steps[0].rounds: burst rounds must be 1–10, got 20"), "{shown}");
}

#[test]
fn an_openai_compatible_service_named_as_provider_is_told_what_to_write() {
    let mut config = config_with(linear());
    config["llm"]["provider"] = json!("together");
    let problems = problems_of(config);
    let message = &at(&problems, "llm.provider").message;
    assert!(message.starts_with("unknown LLM provider 'together': 'together' speaks the OpenAI API"), "{message}");
    assert!(message.contains("\"baseURL\": \"https://api.together.xyz/v1\""), "{message}");
}

#[test]
fn post_call_fields_are_checked() {
    let mut config = config_with(json!([
        {"id": "s", "type": "start", "nextStepIds": {"next": "e"}},
        {"id": "e", "type": "end"}
    ]));
    config["postCall"] = json!({
        "webhookUrl": "ftp://example.com/x",
        "structuredOutput": [
            {"name": "plan", "type": "enum"},
            {"name": "plan", "type": "string"},
            {"name": " ", "type": "int", "options": ["a"]}
        ],
        "llm": {"model": "m", "provider": "nosuch"}
    });
    let problems = problems_of(config.clone());
    assert!(at(&problems, "postCall.webhookUrl").message.contains("not an http(s) URL"));
    assert!(at(&problems, "postCall.structuredOutput[0].options").message.contains("at least one option"));
    assert!(
        at(&problems, "postCall.structuredOutput[1].name")
            .message
            .contains("first used by postCall.structuredOutput[0]")
    );
    assert_eq!(at(&problems, "postCall.structuredOutput[2].name").severity, Severity::Error);
    assert_eq!(at(&problems, "postCall.structuredOutput[2].options").severity, Severity::Warning);
    assert!(problems.iter().any(|p| p.path.starts_with("postCall.llm")), "{problems:?}");

    config["postCall"] = json!({"command": "Amounts in euros."});
    let problems = problems_of(config);
    assert_eq!(at(&problems, "postCall.command").severity, Severity::Warning);
    assert_eq!(problems.len(), 1, "{problems:?}");
}

#[test]
fn turn_taking_values_are_checked() {
    let linear = json!([
        {"id": "s", "type": "start", "nextStepIds": {"next": "e"}},
        {"id": "e", "type": "end"}
    ]);
    let mut config = config_with(linear);
    config["turnTaking"] = json!({
        "minEndpointingDelay": 1.0, "maxEndpointingDelay": 0.6, "minInterruptionDuration": 0.3,
        "minInterruptionWords": 2, "falseInterruptionTimeout": 30, "backchannels": ["mm", " "]
    });
    let problems = problems_of(config.clone());
    assert!(at(&problems, "turnTaking.maxEndpointingDelay").message.contains("below minEndpointingDelay"));
    assert_eq!(at(&problems, "turnTaking.falseInterruptionTimeout").message, "must be 0.5–10 seconds, got 30");
    at(&problems, "turnTaking.backchannels[1]");
    assert_eq!(problems.len(), 3, "{problems:?}");

    config["turnTaking"] = json!({"backchannels": true, "minInterruptionDuration": 0.8});
    assert_eq!(problems_of(config.clone()), []);
    config["turnTaking"] = json!({"backchannels": "yes"});
    let error = AgentConfig::from_json(&config.to_string()).unwrap_err().to_string();
    assert!(error.contains("turnTaking.backchannels"), "{error}");
    config["turnTaking"] = json!({"turnDetection": "smart"});
    let error = AgentConfig::from_json(&config.to_string()).unwrap_err().to_string();
    assert!(error.contains("turnTaking.turnDetection") && error.contains("`vad`, `stt`, `manual`"), "{error}");
    config["turnTaking"] = json!({"vad": "webrtc"});
    let error = AgentConfig::from_json(&config.to_string()).unwrap_err().to_string();
    assert!(error.contains("turnTaking.vad") && error.contains("`earshot` or `silero`"), "{error}");
    config["turnTaking"] = json!({"turnDetection": "stt", "vad": "silero"});
    assert_eq!(problems_of(config.clone()), []);
    config["turnTaking"] = json!({"turnDetection": "manual", "preemptiveGeneration": true});
    assert_eq!(problems_of(config.clone()), []);
    config["turnTaking"] = json!({"turnDetection": "stt", "preemptiveGeneration": true});
    assert_eq!(at(&problems_of(config), "turnTaking.preemptiveGeneration").severity, Severity::Warning);
}

#[test]
fn a_transfer_needs_a_tel_or_sip_address_and_a_bare_number_gets_the_spelling() {
    let mut config = config_with(json!([
        {"id": "s", "type": "start", "nextStepIds": {"next": "e"}},
        {"id": "e", "type": "end"}
    ]));
    config["transfer"] = json!({"to": "tel:+15550100"});
    assert_eq!(problems_of(config.clone()), []);
    config["transfer"] = json!({"to": "sip:support@pbx.example.com", "playDialtone": true});
    assert_eq!(problems_of(config.clone()), []);
    config["transfer"] = json!({"to": "+15550100"});
    assert_eq!(
        at(&problems_of(config.clone()), "transfer.to").message,
        "'+15550100' is not a tel: or sip: address; for a phone number write 'tel:+15550100'"
    );
    config["transfer"] = json!({});
    assert_eq!(at(&problems_of(config), "transfer.to").message, "no number or SIP address to transfer to");
}

#[test]
fn a_transfer_step_needs_an_address_of_its_own_or_the_transfer_section() {
    let steps = |to: Value| {
        json!([
            {"id": "s", "type": "start", "nextStepIds": {"next": "t"}},
            {"id": "t", "type": "transfer", "command": "One moment.", "isLiteral": true, "transferTo": to,
             "nextStepIds": {"next": "e"}},
            {"id": "e", "type": "end"}
        ])
    };
    assert_eq!(problems_of(config_with(steps(json!("tel:+15550100")))), []);
    let message = at(&problems_of(config_with(steps(json!("5550100")))), "steps[1].transferTo").message.clone();
    assert_eq!(message, "'5550100' is not a tel: or sip: address; for a phone number write 'tel:5550100'");
    let mut config = config_with(steps(Value::Null));
    let problem = at(&problems_of(config.clone()), "steps[1].transferTo").message.clone();
    assert!(problem.contains("needs a transferTo"), "{problem}");
    config["transfer"] = json!({"to": "sip:desk@pbx.example.com"});
    assert_eq!(problems_of(config), []);
}

#[test]
fn llm_fallbacks_are_checked_like_the_llm_they_stand_in_for() {
    let mut config = config_with(linear());
    config["llm"]["fallbacks"] = json!([
        {"model": "llama-3.3-70b", "provider": "groq", "apiKey": "k"},
        {"model": "x", "provider": "anthropicx", "fallbacks": [{"model": "y", "provider": "openai"}]}
    ]);
    let problems = problems_of(config);
    assert_eq!(
        at(&problems, "llm.fallbacks[1].provider").message,
        "unknown LLM provider 'anthropicx'; loaded: openai, groq"
    );
    assert_eq!(at(&problems, "llm.fallbacks[1].fallbacks").severity, Severity::Warning);
    assert!(problems.iter().all(|p| !p.path.starts_with("llm.fallbacks[0]")), "{problems:?}");
}

#[test]
fn tts_and_stt_fallbacks_are_checked_like_the_sections_they_stand_in_for() {
    use crate::config::SttInput;
    let mut config = config_with(linear());
    config["tts"]["fallbacks"] = json!([
        {"model": "aura-2-thalia-en", "provider": "deepgramx"},
        {"model": "sonic-2", "provider": "cartesia", "fallbacks": [{"model": "tts-1", "provider": "openai"}]}
    ]);
    config["stt"]["fallbacks"] = json!([{"model": "universal", "provider": "assemblyai"}]);
    let problems = problems_of(config.clone());
    assert!(at(&problems, "tts.fallbacks[0].provider").message.starts_with("unknown TTS provider 'deepgramx'"));
    assert_eq!(at(&problems, "tts.fallbacks[1].fallbacks").severity, Severity::Warning);
    assert_eq!(problems.len(), 2, "{problems:?}");

    // A fallback STT must take the audio the main one is sent.
    let streamed = SttInput { streaming: true, sample_rate: 16_000 };
    let uploaded = SttInput { streaming: false, sample_rate: 16_000 };
    let catalog = full_catalog().with_stt_input("deepgram", streamed).with_stt_input("assemblyai", uploaded);
    let problems = problems_with(config.clone(), &catalog);
    let problem = at(&problems, "stt.fallbacks[0].provider");
    assert_eq!(
        problem.message,
        "assemblyai takes 16000 Hz audio uploaded per utterance, but stt (deepgram) takes 16000 Hz audio streamed: \
         a fallback must take the audio the main STT is sent"
    );
    let catalog = full_catalog().with_stt_input("deepgram", streamed).with_stt_input("assemblyai", streamed);
    config["tts"]["fallbacks"] = json!([]);
    assert_eq!(problems_with(config, &catalog), []);
}
