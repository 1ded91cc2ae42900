//! The voice loop end to end: real speech in (a LibriVox recording), the real Deepgram (STT)
//! and OpenAI (LLM, TTS) plugins against their faithful fakes, the real step engine, the
//! agent's audio out — in real time, as a transport would run it. These tests assert outcomes;
//! the loop's timings (interruptions, pauses, pacing) are checked exactly on virtual time in
//! tests/voice_machine.rs.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::mpsc;
use voiceblox_host::audio::AudioIo;
use voiceblox_host::audio::{AudioFrame, FramePeriod};
use voiceblox_host::config::AgentConfig;
use voiceblox_host::events::{AgentEvent, AgentState, EventSink, Role};
use voiceblox_host::flow::{FlowContext, Toolbox};
use voiceblox_host::voice::Ending;
use voiceblox_host::voice::{self, VoiceOptions};
use voiceblox_tests::audio::{
    LIBRIVOX_TEXT as SPEECH_TEXT, librivox as speech, librivox_timeline as timeline, silence_samples,
};
use voiceblox_tests::fakes::deepgram::{self, DeepgramScript, ListenScript};
use voiceblox_tests::fakes::openai::{self, ChatScript, OpenAiScript, SpeechScript};

const OPENAI_KEY: &str = "sk-voice-test-77";
const DEEPGRAM_KEY: &str = "dg-voice-test-88";

/// Events with the time they were emitted.
#[derive(Clone, Default)]
struct TimedSink(Arc<Mutex<Vec<(Instant, AgentEvent)>>>);

impl EventSink for TimedSink {
    fn emit(&self, event: AgentEvent) {
        self.0.lock().unwrap().push((Instant::now(), event));
    }
}

impl TimedSink {
    fn events(&self) -> Vec<AgentEvent> {
        self.0.lock().unwrap().iter().map(|(_, e)| e.clone()).collect()
    }

    fn states(&self) -> Vec<(Instant, AgentState)> {
        let events = self.0.lock().unwrap();
        events
            .iter()
            .filter_map(|(at, e)| match e {
                AgentEvent::AgentState { state } => Some((*at, *state)),
                _ => None,
            })
            .collect()
    }
}

struct Fakes {
    openai: openai::OpenAiFake,
    deepgram: deepgram::DeepgramFake,
}

struct Run {
    ending: Ending,
    sink: TimedSink,
    /// Agent audio frames with the time each was received.
    frames: Vec<(Instant, AudioFrame)>,
}

fn config(fakes: &Fakes, steps: Value, allow_interruption: bool) -> AgentConfig {
    let json = json!({
        "agentName": "Voice test",
        "instructions": "You are a literature tutor.",
        "allowInterruption": allow_interruption,
        "llm": {"model": "gpt-4.1-mini", "provider": "openai", "baseURL": fakes.openai.base_url()},
        "tts": {"model": "gpt-4o-mini-tts", "provider": "openai", "voiceId": "alloy"},
        "stt": {"model": "nova-3", "provider": "deepgram"},
        "steps": steps,
    });
    AgentConfig::from_json(&json.to_string()).unwrap()
}

/// Runs a session: `input` (16 kHz) is played in real time, then the input closes.
async fn run(fakes: &Fakes, config: AgentConfig, input: Vec<i16>) -> Run {
    let env = [
        ("OPENAI_API_KEY", OPENAI_KEY),
        ("OPENAI_BASE_URL", &fakes.openai.base_url()),
        ("DEEPGRAM_API_KEY", DEEPGRAM_KEY),
        ("DEEPGRAM_BASE_URL", &fakes.deepgram.base_url()),
    ];
    let (runtime, _dir) = common::runtime(&["127.0.0.1"], &env).await;
    let sink = TimedSink::default();
    let ctx = Arc::new(FlowContext::new(Arc::new(config), runtime, Toolbox::default(), Arc::new(sink.clone())));
    let (input_tx, input_rx) = mpsc::channel(8);
    let (output_tx, mut output_rx) = mpsc::channel(64);
    let recorder = tokio::spawn(async move {
        let mut frames = Vec::new();
        while let Some(frame) = output_rx.recv().await {
            frames.push((Instant::now(), frame));
        }
        frames
    });
    let feeder = tokio::spawn(async move {
        let mut tick = tokio::time::interval(FramePeriod::Ms20.duration());
        for chunk in input.chunks(320) {
            tick.tick().await;
            let frame = AudioFrame::new(chunk.to_vec(), 16_000, 1).unwrap();
            if input_tx.send(frame).await.is_err() {
                return;
            }
        }
    });
    let session = voice::run(
        ctx,
        VoiceOptions::default(),
        AudioIo { input: input_rx, output: output_tx },
        mpsc::channel(1).1,
        Default::default(),
    );
    let ending = tokio::time::timeout(Duration::from_secs(60), session).await.expect("session did not end");
    feeder.abort();
    let frames = recorder.await.unwrap();
    Run { ending, sink, frames }
}

fn audible(frame: &AudioFrame) -> bool {
    frame.samples().iter().any(|s| s.unsigned_abs() > 100)
}

fn llm_requests(fakes: &Fakes) -> Vec<Value> {
    fakes.openai.chat_requests().iter().map(|r| r.json().unwrap()).collect()
}

fn speech_inputs(fakes: &Fakes) -> Vec<String> {
    fakes.openai.speech_requests().iter().map(|r| r.json().unwrap()["input"].as_str().unwrap().to_string()).collect()
}

/// Deepgram hearing the sentence's words, timed over the speech in the input (0.5 s + 0.25…2.77 s).
fn hears_the_sentence() -> deepgram::DeepgramFake {
    DeepgramScript::new()
        .api_key(DEEPGRAM_KEY)
        .listen(ListenScript::new().word_ms(300).utterance_at(800, SPEECH_TEXT))
        .start()
}

/// A literal greeting asking for a line, then an opentalk about it.
fn read_me_a_line() -> Value {
    json!([
        {"id": "s", "type": "start", "command": "Hello! Read me a line.", "isLiteral": true, "nextStepIds": {"next": "o"}},
        {"id": "o", "type": "opentalk", "command": "Discuss the line."}
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spoken_turn_is_transcribed_answered_and_spoken_back() {
    let fakes = Fakes {
        openai: OpenAiScript::new()
            .api_key(OPENAI_KEY)
            .chat(ChatScript::text(["That is a generous ", "way to describe him. ", "Who is he?"]).with_usage(80, 12))
            .start(),
        deepgram: hears_the_sentence(),
    };
    let run = run(&fakes, config(&fakes, read_me_a_line(), true), timeline(500, 9000)).await;
    assert_eq!(run.ending, Ending::UserLeft);

    let events = run.sink.events();
    let user_final = events.iter().find_map(|e| match e {
        AgentEvent::Transcript { role: Role::User, text, r#final: true } => Some(text.clone()),
        _ => None,
    });
    assert_eq!(user_final.as_deref(), Some(SPEECH_TEXT));
    // The LLM got the transcript; TTS got the reply sentence by sentence, markdown-free.
    let requests = llm_requests(&fakes);
    assert_eq!(requests.len(), 1);
    let messages = requests[0]["messages"].as_array().unwrap();
    assert_eq!(messages[1], json!({"role": "assistant", "content": "Hello! Read me a line."}));
    assert_eq!(messages[2], json!({"role": "user", "content": SPEECH_TEXT}));
    assert_eq!(
        speech_inputs(&fakes),
        ["Hello! Read me a line.", "That is a generous way to describe him.", "Who is he?"]
    );

    // Two stretches of agent audio: the greeting, then the answer.
    let audible_frames = run.frames.iter().filter(|(_, f)| audible(f)).count();
    let expected_ms =
        40 * ("Hello! Read me a line.".len() + "That is a generous way to describe him.".len() + "Who is he?".len());
    let played_ms = audible_frames * 20;
    assert!(played_ms.abs_diff(expected_ms) <= 80, "played {played_ms} ms, synthesised {expected_ms} ms");
    assert!(run.frames.iter().all(|(_, f)| f.sample_rate() == 48_000 && f.is_period(FramePeriod::Ms20)));

    let states: Vec<AgentState> = run.sink.states().into_iter().map(|(_, s)| s).collect();
    use AgentState::*;
    assert_eq!(states, [Initializing, Thinking, Speaking, Listening, Thinking, Speaking, Listening]);

    let metrics: Vec<Value> = events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::Metrics(m) => Some(serde_json::to_value(m).unwrap()),
            _ => None,
        })
        .collect();
    assert_eq!(metrics.len(), 2);
    let answer = &metrics[1];
    // Never before the endpointing delay (exact timings: tests/voice_machine.rs).
    assert!(answer["eouDelayMs"].as_f64().unwrap() >= 500.0);
    assert!(answer["llmTtftMs"].as_f64().unwrap() > 0.0);
    assert!(answer["ttsTtfbMs"].as_f64().unwrap() > 0.0);
    assert_eq!(answer["promptTokens"], 80);
    assert_eq!(answer["interrupted"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_stt_turn_detection_deepgrams_endpointing_ends_the_turn_without_a_finalize() {
    let fakes = Fakes {
        openai: OpenAiScript::new().api_key(OPENAI_KEY).chat(ChatScript::text(["Who is he?"])).start(),
        deepgram: hears_the_sentence(),
    };
    let mut config = config(&fakes, read_me_a_line(), true);
    config.turn_taking = Some(serde_json::from_value(json!({"turnDetection": "stt"})).unwrap());
    let run = run(&fakes, config, timeline(500, 9000)).await;
    assert_eq!(run.ending, Ending::UserLeft);

    // The turn was taken on Deepgram's own endpointing (a speech_final result): the host never
    // asked it to finalise, and the sentence was answered once.
    let sessions = fakes.deepgram.sessions();
    assert_eq!(sessions.iter().map(|s| s.finalizes).sum::<usize>(), 0);
    assert!(sessions.iter().any(|s| s.sent_of_type("Results").iter().any(|r| r["speech_final"] == true)));
    let turns: Vec<String> = run
        .sink
        .events()
        .into_iter()
        .filter_map(|e| match e {
            AgentEvent::Transcript { role: Role::User, text, r#final: true } => Some(text),
            _ => None,
        })
        .collect();
    assert_eq!(turns, [SPEECH_TEXT]);
    assert_eq!(llm_requests(&fakes).len(), 1);
    assert_eq!(speech_inputs(&fakes), ["Hello! Read me a line.", "Who is he?"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_is_cancelled_mid_stream_when_the_user_interrupts() {
    // A slow LLM: one sentence every 600 ms. The user interrupts while it is still streaming.
    let pieces: Vec<String> = (1..=12).map(|i| format!("This is sentence number {i} of a long answer. ")).collect();
    let fakes = Fakes {
        openai: OpenAiScript::new()
            .chat(ChatScript::text(pieces.clone()).chunk_delay(Duration::from_millis(600)))
            .chat(ChatScript::text(["Sure."]))
            .speech(SpeechScript::tone().ms_per_char(25))
            .start(),
        deepgram: DeepgramScript::new()
            .listen(
                ListenScript::new()
                    .word_ms(250)
                    .utterance_at(450, "Tell me everything.")
                    .utterance_at(5250, SPEECH_TEXT),
            )
            .start(),
    };
    let steps = json!([
        {"id": "s", "type": "start", "command": "Ask away.", "isLiteral": true, "nextStepIds": {"next": "o"}},
        {"id": "o", "type": "opentalk", "command": "Answer questions."}
    ]);
    // A short first turn (the recording's first second), then the whole sentence at 5 s.
    let mut input = silence_samples(16_000, 200);
    input.extend(&speech()[..16_000]);
    input.resize(16 * 5000, 0);
    input.extend(speech());
    input.resize(16 * 12_000, 0);
    let run = run(&fakes, config(&fakes, steps, true), input).await;
    let spoken = speech_inputs(&fakes);
    let long_sentences = spoken.iter().filter(|s| s.starts_with("This is sentence")).count();
    assert!(long_sentences >= 1, "{spoken:?}");
    assert!(long_sentences < 12, "the LLM stream was cancelled: {long_sentences} of 12 sentences reached TTS");
    let requests = llm_requests(&fakes);
    assert_eq!(requests.len(), 2);
    let history = requests[1]["messages"].as_array().unwrap();
    let said = history[3]["content"].as_str().unwrap();
    assert!(said.starts_with("This is sentence number 1") && !said.contains("number 12"), "{said}");
    assert_eq!(run.ending, Ending::UserLeft);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_stt_gets_each_utterance_from_its_onset_and_a_tts_failure_does_not_end_the_session() {
    use voiceblox_tests::fakes::openai::TranscriptionScript;
    let fakes = Fakes {
        openai: OpenAiScript::new()
            .transcription(TranscriptionScript::text(SPEECH_TEXT))
            .chat(ChatScript::text(["First answer."]))
            .chat(ChatScript::text(["Second answer."]))
            // The greeting speaks; the first answer's synthesis fails; the second speaks.
            .speech(SpeechScript::tone())
            .speech(SpeechScript::error(500))
            .speech(SpeechScript::tone())
            .start(),
        deepgram: DeepgramScript::new().start(),
    };
    let steps = json!([
        {"id": "s", "type": "start", "command": "Hi.", "isLiteral": true, "nextStepIds": {"next": "o"}},
        {"id": "o", "type": "opentalk", "command": "Discuss."}
    ]);
    let mut config = config(&fakes, steps, true);
    config.stt.provider = "openai".into();
    config.stt.model = "whisper-1".into();
    // Two utterances: at 0.5 s and at 5 s.
    let mut input = timeline(500, 5000);
    input.extend(speech());
    input.resize(16 * 10_000, 0);
    let run = run(&fakes, config, input).await;

    // One upload per utterance, each holding the speech from before its onset (prefix padding)
    // to its end: about the recording's 2.5 s of speech plus padding, never the silences.
    let uploads = fakes.openai.transcriptions();
    assert_eq!(uploads.len(), 2, "one transcription per utterance");
    for upload in &uploads {
        let ms = upload.duration_ms();
        assert!((2500.0..3600.0).contains(&ms), "uploaded {ms} ms");
    }
    let errors: Vec<String> = run
        .sink
        .events()
        .into_iter()
        .filter_map(|e| match e {
            AgentEvent::Error { code, message } => Some(format!("{code:?}: {message}")),
            _ => None,
        })
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].starts_with("TtsFailed"), "{errors:?}");
    // The session went on: the second turn was answered and spoken.
    assert_eq!(llm_requests(&fakes).len(), 2);
    assert_eq!(speech_inputs(&fakes), ["Hi.", "First answer.", "Second answer."]);
    let second = llm_requests(&fakes)[1]["messages"].as_array().unwrap().clone();
    assert!(!second.iter().any(|m| m["content"] == "First answer."), "an answer nobody heard is not in the history");
}

/// The session's `provider_switch` events as (kind, from, to).
fn switches(run: &Run) -> Vec<(String, String, String)> {
    run.sink
        .events()
        .into_iter()
        .filter_map(|e| match e {
            AgentEvent::ProviderSwitch { kind, from, to, .. } => Some((kind, from, to)),
            _ => None,
        })
        .collect()
}

fn errors(run: &Run) -> Vec<String> {
    run.sink
        .events()
        .into_iter()
        .filter_map(|e| match e {
            AgentEvent::Error { code, message } => Some(format!("{code:?}: {message}")),
            _ => None,
        })
        .collect()
}

fn switch(kind: &str, from: &str, to: &str) -> (String, String, String) {
    (kind.into(), from.into(), to.into())
}

/// OpenAI's speech endpoint answers 503 to the greeting: Deepgram's voice, the fallback, says
/// it (and, with OpenAI cooling down, the answer too); nobody hears a failure. The cool-down is
/// set long, so a slow machine cannot outlast it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tts_outage_hands_the_utterance_to_the_fallback_voice() {
    let (fakes, run) = greeting_voice_fails(Some(600), SpeechScript::error(503)).await;
    assert_eq!(speech_inputs(&fakes), ["Hello! Read me a line."], "OpenAI was tried once, then left to cool");
    assert_eq!(deepgram_spoke(&fakes), ["Hello! Read me a line.", "That is a generous way to describe him."]);
    // Both were heard: the greeting before the user spoke, the answer after.
    let audible_ms = run.frames.iter().filter(|(_, f)| audible(f)).count() * 20;
    assert!(audible_ms >= 1000, "only {audible_ms} ms of the agent heard");
}

/// With `fallbackCoolDownSecs: 0` the failed voice is not passed over: the answer goes to
/// OpenAI first again, which speaks it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_cool_down_the_main_voice_is_tried_first_again() {
    let (fakes, _) = greeting_voice_fails(Some(0), SpeechScript::tone()).await;
    assert_eq!(speech_inputs(&fakes), ["Hello! Read me a line.", "That is a generous way to describe him."]);
    assert_eq!(deepgram_spoke(&fakes), ["Hello! Read me a line."]);
}

/// A session whose OpenAI voice answers the greeting with 503 and the next request with
/// `then`, Deepgram's voice its fallback; only the greeting's switch is reported, and no error.
async fn greeting_voice_fails(cool_down_secs: Option<u32>, then: SpeechScript) -> (Fakes, Run) {
    let fakes = Fakes {
        openai: OpenAiScript::new()
            .api_key(OPENAI_KEY)
            .chat(ChatScript::text(["That is a generous ", "way to describe him."]))
            .speech(SpeechScript::error(503))
            .speech(then)
            .start(),
        deepgram: hears_the_sentence(),
    };
    let mut config = config(&fakes, read_me_a_line(), true);
    let spare = json!({"provider": "deepgram", "model": "aura-2-thalia-en"});
    config.tts.fallbacks = vec![serde_json::from_value(spare).unwrap()];
    config.tts.fallback_cool_down_secs = cool_down_secs;
    let run = run(&fakes, config, timeline(500, 9000)).await;

    assert_eq!(errors(&run), Vec::<String>::new());
    assert_eq!(switches(&run), [switch("tts", "openai/gpt-4o-mini-tts", "deepgram/aura-2-thalia-en")]);
    assert_eq!(llm_requests(&fakes).len(), 1);
    (fakes, run)
}

fn deepgram_spoke(fakes: &Fakes) -> Vec<String> {
    let requests = fakes.deepgram.speak_requests();
    requests.iter().map(|r| r.json().unwrap()["text"].as_str().unwrap().to_string()).collect()
}

/// Deepgram's first connection dies mid-sentence (1011): the next STT of the chain is opened
/// and given the utterance so far, so the whole sentence is transcribed and answered, and the
/// voice loop never saw a failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_stt_outage_mid_sentence_moves_to_the_fallback_without_losing_the_words() {
    let fakes = Fakes {
        openai: OpenAiScript::new().api_key(OPENAI_KEY).chat(ChatScript::text(["He was indeed."])).start(),
        deepgram: DeepgramScript::new()
            .api_key(DEEPGRAM_KEY)
            // The speech is at 0.75-3.27 s of the input; the socket dies at 2 s.
            .listen(ListenScript::new().word_ms(300).utterance_at(800, SPEECH_TEXT).close_at(2000, 1011, "internal"))
            .listen(ListenScript::new().word_ms(300).utterance_at(800, SPEECH_TEXT))
            .start(),
    };
    let mut config = config(&fakes, read_me_a_line(), true);
    let spare = json!({"provider": "deepgram", "model": "nova-2"});
    config.stt.fallbacks = vec![serde_json::from_value(spare).unwrap()];
    let run = run(&fakes, config, timeline(500, 9000)).await;

    assert_eq!(errors(&run), Vec::<String>::new());
    assert_eq!(switches(&run), [switch("stt", "deepgram/nova-3", "deepgram/nova-2")]);
    let sessions = fakes.deepgram.sessions();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions[1].query_param("model"), Some("nova-2"));
    // The fallback heard the sentence from its start: the audio the first connection had
    // taken was replayed to it before the live audio went on.
    // The replay holds what the voice loop sent, even frames the dying socket never took.
    let (first, second, input) = (sessions[0].samples().unwrap(), sessions[1].samples().unwrap(), timeline(500, 9000));
    assert!(first.len() >= 16 * 2000, "the first connection took {} samples", first.len());
    assert_eq!(&second[..first.len()], &input[..first.len()], "the fallback starts from the session's start");
    assert!(sessions[1].audio_ms() >= 8500.0, "the fallback heard {} ms of 9000", sessions[1].audio_ms());
    let user_final = run.sink.events().into_iter().find_map(|e| match e {
        AgentEvent::Transcript { role: Role::User, text, r#final: true } => Some(text),
        _ => None,
    });
    assert_eq!(user_final.as_deref(), Some(SPEECH_TEXT));
    let requests = llm_requests(&fakes);
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["messages"][2], json!({"role": "user", "content": SPEECH_TEXT}));
}
