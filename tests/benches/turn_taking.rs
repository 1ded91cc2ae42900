//! Turn-taking modes on real speech, on virtual time: the LibriVox sentence said twenty times
//! (every fourth time with a 0.45 s pause in the middle), answered by scripted providers with
//! realistic latencies (STT final 150 ms after the audio, LLM first token 600 ms, TTS first
//! audio 120 ms). For each mode: end of user speech → first agent audio (median, p95), user
//! turns taken (a split sentence taken as two turns is a premature end), replies started ahead
//! and how many were wasted, and the CPU the session took per minute of audio.
//!
//! Virtual time makes the latencies exact and repeatable; CPU is this process's real CPU
//! (with the end-of-turn model, its decisions included). The "silero" rows hear with the Silero
//! VAD instead of earshot.
//!
//! A second table puts noise in while the agent speaks: ten answered turns, each reply followed
//! by a burst of wordless sound (a piece of the recording the STT hears nothing in), 0.3 s (a
//! cough: must not pause the agent) and 0.9 s (a noise long enough to pause it: the agent must
//! resume and finish) in turn. Counted: pauses, replies cancelled, replies heard whole, turns.
//! Run: `cargo bench -p voiceblox-tests --bench turn_taking`.

use std::time::Duration;

use voiceblox_host::audio::SileroVad;
use voiceblox_host::config::TurnDetection;
use voiceblox_host::events::AgentState;
use voiceblox_host::voice::machine::{ConversationAction, VoiceParams};
use voiceblox_tests::audio::{LIBRIVOX_TEXT, librivox};
use voiceblox_tests::measure::cpu_time;
use voiceblox_tests::voice_sim::{ReplyScript, Script, SttScript, TtsScript, World};
use voiceblox_turn::{SileroModel, SmartTurn, wheel};

const TURNS: usize = 20;
const PERIOD_MS: u64 = 8000;
const SPLIT_AT_MS: u64 = 1200;
const PAUSE_MS: u64 = 450;

struct Figures {
    median_ms: f64,
    p95_ms: f64,
    turns: usize,
    preempts: u32,
    used: u32,
    cpu_ms_per_audio_min: f64,
}

fn session(
    detection: TurnDetection,
    preemptive: bool,
    model: Option<&SmartTurn>,
    silero: Option<&SileroModel>,
) -> Figures {
    let speech = librivox();
    let mut mic = Vec::new();
    // 300 ms a word: the sentence's eight words over its 2.6 s of speech.
    let mut stt = SttScript { latency: Duration::from_millis(150), ..SttScript::default() }.word_ms(300);
    for turn in 0..TURNS {
        let at = 1000 + turn as u64 * PERIOD_MS;
        mic.resize(16 * at as usize, 0);
        if turn % 4 == 3 {
            let split = 16 * SPLIT_AT_MS as usize;
            mic.extend(&speech[..split]);
            mic.resize(mic.len() + 16 * PAUSE_MS as usize, 0);
            mic.extend(&speech[split..]);
            stt = stt.utterance_at(at + 300, "He was not an");
            stt = stt.utterance_at(at + SPLIT_AT_MS + PAUSE_MS + 50, "ill disposed young man.");
        } else {
            mic.extend(&speech);
            stt = stt.utterance_at(at + 300, LIBRIVOX_TEXT);
        }
    }
    let total_ms = 1000 + TURNS as u64 * PERIOD_MS;
    mic.resize(16 * total_ms as usize, 0);
    let mut params = VoiceParams::default();
    params.options.endpointing.detection = detection;
    params.options.preemptive_generation = preemptive;
    let mut replies = vec![ReplyScript::literal("Hello!")];
    replies.extend((0..2 * TURNS).map(|_| ReplyScript::text(&["Okay, ", "go on."]).first(Duration::from_millis(600))));
    let script = Script { params, mic, stt, replies, tts: TtsScript::default() };
    let mut world = match silero {
        Some(silero) => {
            let vad = SileroVad::new(silero, script.params.options.vad.clone()).expect("the Silero VAD");
            World::with_vad(script, Box::new(vad))
        }
        None => World::new(script),
    };
    world.turn_model = model.cloned();
    let cpu = cpu_time();
    world.run(Duration::from_millis(total_ms + 10_000));
    let cpu = cpu_time() - cpu;

    let mut waits: Vec<f64> =
        world.metrics().iter().skip(1).filter_map(|m| Some(m.eou_delay_ms? + m.response_ms?)).collect();
    waits.sort_by(f64::total_cmp);
    let pick = |q: f64| waits.get(((waits.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(f64::NAN);
    let turns =
        world.conversation_actions().iter().filter(|(_, a)| matches!(a, ConversationAction::UserTurn(_))).count();
    Figures {
        median_ms: pick(0.5),
        p95_ms: pick(0.95),
        turns,
        preempts: world.conversation.preempts,
        used: world.conversation.preempts_used,
        cpu_ms_per_audio_min: cpu * 1000.0 / (total_ms as f64 / 60_000.0),
    }
}

fn main() {
    let modes = [
        ("vad (baseline)", TurnDetection::Vad, false, false),
        ("vad + preemptive", TurnDetection::Vad, true, false),
        ("vad, silero", TurnDetection::Vad, false, true),
        ("vad + pre., silero", TurnDetection::Vad, true, true),
        ("stt", TurnDetection::Stt, false, false),
        ("stt + preemptive", TurnDetection::Stt, true, false),
        ("model", TurnDetection::Model, false, false),
        ("model + preemptive", TurnDetection::Model, true, false),
    ];
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let path = runtime.block_on(voiceblox_tests::models::fetched(&wheel::SMART_TURN));
    let model = SmartTurn::load(&path).expect("loading the end-of-turn model");
    let path = runtime.block_on(voiceblox_tests::models::fetched(&wheel::SILERO_VAD));
    let silero = SileroModel::load(&path).expect("loading the Silero VAD");
    println!("{TURNS} sentences of LibriVox speech, every 4th with a {PAUSE_MS} ms pause inside; virtual time");
    println!(
        "{:<20} {:>12} {:>10} {:>9} {:>12} {:>9} {:>10} {:>16}",
        "mode", "median (ms)", "p95 (ms)", "vs base", "user turns", "ahead", "wasted", "CPU ms/audio-min"
    );
    let mut baseline = None;
    for (name, detection, preemptive, with_silero) in modes {
        let f = session(detection, preemptive, Some(&model), with_silero.then_some(&silero));
        let base = *baseline.get_or_insert(f.median_ms);
        let wasted = f.preempts - f.used;
        let wasted_rate = if f.preempts > 0 {
            format!("{} ({:.0}%)", wasted, 100.0 * wasted as f64 / f.preempts as f64)
        } else {
            "-".into()
        };
        println!(
            "{:<20} {:>12.0} {:>10.0} {:>8.2}x {:>12} {:>9} {:>10} {:>16.1}",
            name,
            f.median_ms,
            f.p95_ms,
            f.median_ms / base,
            format!("{}/{TURNS}", f.turns),
            f.preempts,
            wasted_rate,
            f.cpu_ms_per_audio_min
        );
    }
    noise_table(&silero);
}

const NOISY_TURNS: usize = 10;
const NOISY_PERIOD_MS: u64 = 12_000;
const REPLY: &str = "Okay, I understand what you mean, and I will look into it right away for you.";

struct NoiseFigures {
    paused: usize,
    cancelled: u32,
    whole: usize,
    turns: usize,
}

fn noisy_session(silero: Option<&SileroModel>) -> NoiseFigures {
    let speech = librivox();
    let mut mic = Vec::new();
    let mut stt = SttScript { latency: Duration::from_millis(150), ..SttScript::default() }.word_ms(300);
    for turn in 0..NOISY_TURNS {
        let at = 1000 + turn as u64 * NOISY_PERIOD_MS;
        mic.resize(16 * at as usize, 0);
        mic.extend(&speech);
        stt = stt.utterance_at(at + 300, LIBRIVOX_TEXT);
        // The reply starts about 1.2 s after the speech ends (2.8 s in): noise 1 s into it.
        let noise_at = at + 5_000;
        let noise_ms = if turn % 2 == 0 { 300 } else { 900 };
        mic.resize(16 * noise_at as usize, 0);
        mic.extend(&speech[16 * 500..16 * (500 + noise_ms)]);
    }
    let total_ms = 1000 + NOISY_TURNS as u64 * NOISY_PERIOD_MS;
    mic.resize(16 * total_ms as usize, 0);
    let mut replies = vec![ReplyScript::literal("Hello!")];
    replies.extend((0..NOISY_TURNS).map(|_| ReplyScript::text(&[REPLY])));
    let script = Script { params: VoiceParams::default(), mic, stt, replies, tts: TtsScript::default() };
    let mut world = match silero {
        Some(silero) => {
            let vad = SileroVad::new(silero, script.params.options.vad.clone()).expect("the Silero VAD");
            World::with_vad(script, Box::new(vad))
        }
        None => World::new(script),
    };
    world.run(Duration::from_millis(total_ms + 10_000));
    let states = world.state_names();
    // A pause: speaking, then listening, then speaking again with no user turn between.
    let paused =
        states.windows(3).filter(|w| w == &[AgentState::Speaking, AgentState::Listening, AgentState::Speaking]).count();
    let turns =
        world.conversation_actions().iter().filter(|(_, a)| matches!(a, ConversationAction::UserTurn(_))).count();
    NoiseFigures {
        paused,
        cancelled: world.conversation.cancelled,
        whole: world.conversation.committed.iter().filter(|c| c.as_str() == REPLY).count(),
        turns,
    }
}

fn noise_table(silero: &SileroModel) {
    println!();
    println!("noise while the agent speaks: {NOISY_TURNS} replies, a 0.3 s or 0.9 s wordless burst 1 s into each");
    println!("{:<20} {:>8} {:>10} {:>14} {:>12}", "VAD", "paused", "cancelled", "heard whole", "user turns");
    for (name, model) in [("earshot", None), ("silero", Some(silero))] {
        let f = noisy_session(model);
        println!(
            "{:<20} {:>8} {:>10} {:>14} {:>12}",
            name,
            f.paused,
            f.cancelled,
            format!("{}/{NOISY_TURNS}", f.whole),
            format!("{}/{NOISY_TURNS}", f.turns)
        );
    }
}
