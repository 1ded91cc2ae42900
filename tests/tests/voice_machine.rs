//! The voice loop's rules on virtual time: the sans-I/O `VoiceMachine` with a recorded voice
//! at the microphone and scripted providers (`voiceblox_tests::voice_sim`). Every timing is
//! exact — tests assert frame counts and milliseconds with no slack for a slow machine — and
//! a minute of conversation runs in milliseconds. The same chain with the real plugins over
//! real sockets runs in real time in tests/voice.rs.

use std::time::Duration;

use voiceblox_host::config::{TurnDetection, TurnTakingConfig};
use voiceblox_host::events::{AgentEvent, AgentState, ErrorCode};
use voiceblox_host::voice::backchannel::Backchannels;
use voiceblox_host::voice::control::TurnControl;
use voiceblox_host::voice::machine::{ConversationAction, TICK, TtsAction, VoiceParams};
use voiceblox_host::voice::{Ending, VoiceOptions};
use voiceblox_tests::audio::{LIBRIVOX_TEXT, librivox, librivox_timeline, silence_samples};
use voiceblox_tests::voice_sim::{Record, ReplyScript, Script, SttScript, TtsScript, World, audible, ms};

use AgentState::*;

const LIMIT: Duration = Duration::from_secs(600);

fn script(mic: Vec<i16>, stt: SttScript, replies: Vec<ReplyScript>) -> Script {
    Script { params: VoiceParams::default(), mic, stt, replies, tts: TtsScript::default() }
}

/// Milliseconds of agent audio the TTS makes of these sentences (40 ms per character).
fn tts_ms(sentences: &[&str]) -> usize {
    sentences.iter().map(|s| s.len() * 40).sum()
}

/// A long literal greeting the user talks over: two sentences, 6.6 s of audio.
const LONG_GREETING: &str = "Welcome to the reading room. Today we will look at the first chapter of Sense and \
                             Sensibility, and I will ask you a few questions about the Dashwood family.";
const GREETING_FIRST: &str = "Welcome to the reading room.";

fn errors(world: &World) -> Vec<(ErrorCode, String)> {
    world
        .events()
        .into_iter()
        .filter_map(|e| match e {
            AgentEvent::Error { code, message } => Some((*code, message.clone())),
            _ => None,
        })
        .collect()
}

fn user_turns(world: &World) -> Vec<(Duration, String)> {
    world
        .conversation_actions()
        .into_iter()
        .filter_map(|(at, a)| match a {
            ConversationAction::UserTurn(text) => Some((at, text.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_spoken_turn_is_heard_answered_and_spoken_back_with_exact_timings() {
    let answer = ["That is a generous ", "way to describe him. ", "Who is he?"];
    let mut world = World::new(script(
        librivox_timeline(500, 9000),
        SttScript::default().word_ms(250).utterance_at(800, LIBRIVOX_TEXT),
        vec![ReplyScript::literal("Hello! Read me a line."), ReplyScript::text(&answer)],
    ));
    assert_eq!(world.run(LIMIT), Some(Ending::UserLeft));

    assert_eq!(world.conversation.user_turns, [LIBRIVOX_TEXT]);
    let sentences = ["Hello! Read me a line.", "That is a generous way to describe him.", "Who is he?"];
    assert_eq!(world.said(), sentences);
    assert_eq!(
        world.conversation.committed,
        ["Hello! Read me a line.", "That is a generous way to describe him. Who is he?"]
    );
    // Every millisecond synthesised is played, and nothing else.
    assert_eq!(world.audible_ms(), tts_ms(&sentences));
    assert!(world.played().iter().all(|(_, f)| f.sample_rate() == 48_000 && f.samples().len() == 960));
    assert_eq!(world.state_names(), [Initializing, Thinking, Speaking, Listening, Thinking, Speaking, Listening]);

    let metrics = world.metrics();
    assert_eq!(metrics.len(), 2);
    let greeting = metrics[0];
    // A literal line: straight to TTS (120 ms to first byte), played on the tick it arrives.
    assert_eq!((greeting.tts_ttfb_ms, greeting.response_ms, greeting.tts_characters), (Some(120.0), Some(120.0), 22));
    let reply = metrics[1];
    // The turn ends on the first tick at least 0.5 s after the VAD heard the speech end.
    let eou = reply.eou_delay_ms.unwrap();
    assert!((500.0..520.0).contains(&eou), "end-of-utterance delay {eou} ms");
    // Committed → first sentence complete (300 ms to the first piece, 20 ms to the second)
    // → 120 ms to the TTS's first byte, played at once.
    assert_eq!(reply.response_ms, Some(440.0));
    assert_eq!(reply.tts_ttfb_ms, Some(120.0));
    assert_eq!(reply.tts_characters, 49);
    assert!(!reply.interrupted);
}

#[test]
fn agent_audio_is_paced_one_frame_per_tick_never_in_bursts() {
    let mut world = World::new(script(
        silence_samples(16_000, 8000),
        SttScript::default(),
        vec![ReplyScript::literal(LONG_GREETING)],
    ));
    world.run(LIMIT);
    let played = world.played();
    assert_eq!(played.len() * 20, tts_ms(&[GREETING_FIRST, &LONG_GREETING[GREETING_FIRST.len() + 1..]]));
    // The TTS delivers much faster than real time; playout still takes one frame per 20 ms.
    for pair in played.windows(2) {
        assert_eq!(pair[1].0 - pair[0].0, TICK, "frames at {:?} and {:?}", pair[0].0, pair[1].0);
    }
    assert!(played.iter().all(|(_, f)| audible(f)));
}

#[test]
fn talking_over_the_agent_stops_its_audio_on_that_tick_and_keeps_what_was_heard() {
    let mut world = World::new(script(
        librivox_timeline(1000, 12_000),
        SttScript::default().word_ms(250).utterance_at(1300, LIBRIVOX_TEXT),
        vec![ReplyScript::literal(LONG_GREETING), ReplyScript::text(&["Go on, I'm listening."])],
    ));
    world.run(LIMIT);

    let states = world.states();
    assert_eq!(world.state_names(), [Initializing, Thinking, Speaking, Listening, Thinking, Speaking, Listening]);
    let (stopped, _) = states[3];
    let cancelled = world
        .first(|r| matches!(r, Record::Conversation(ConversationAction::Cancel)))
        .expect("the reply was cancelled");
    assert_eq!(cancelled, stopped, "cancelled on the frame that heard enough speech");
    // The user's speech started at 1.25 s of audio; 0.5 s of it interrupts, on that frame.
    assert!((1750..1800).contains(&ms(stopped)), "interrupted at {stopped:?}");
    // Not one frame of the greeting after that.
    let (answer_at, _) = states[4];
    let late = world.played().iter().filter(|(at, _)| *at >= stopped && *at < answer_at).count();
    assert_eq!(late, 0);

    // What was heard: the frames played before the interruption, as a share of the words.
    let played_ms = world.played().iter().filter(|(at, _)| *at < stopped).count() * 20;
    let heard = &world.conversation.committed[0];
    assert!(LONG_GREETING.starts_with(heard.as_str()), "heard {heard:?}");
    let second: Vec<&str> = LONG_GREETING[GREETING_FIRST.len() + 1..].split_whitespace().collect();
    let share = (played_ms - tts_ms(&[GREETING_FIRST])) as f64 / tts_ms(&[&second.join(" ")]) as f64;
    let words = (second.len() as f64 * share).round() as usize;
    assert_eq!(heard, &format!("{GREETING_FIRST} {}", second[..words].join(" ")));

    assert_eq!(user_turns(&world).iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>(), [LIBRIVOX_TEXT]);
    let metrics = world.metrics();
    assert!(metrics[0].interrupted && !metrics[1].interrupted);
}

#[test]
fn a_reply_still_streaming_is_cancelled_and_nothing_more_of_it_reaches_tts() {
    // A slow LLM: one sentence every 600 ms. The user interrupts while it is still streaming.
    let pieces: Vec<String> = (1..=12).map(|i| format!("This is sentence number {i} of a long answer. ")).collect();
    let pieces: Vec<&str> = pieces.iter().map(String::as_str).collect();
    let mut mic = silence_samples(16_000, 200);
    mic.extend(&librivox()[..16_000]);
    mic.resize(16 * 5000, 0);
    mic.extend(librivox());
    mic.resize(16 * 12_000, 0);
    let mut world = World::new(script(
        mic,
        SttScript::default().word_ms(250).utterance_at(450, "Tell me everything.").utterance_at(5250, LIBRIVOX_TEXT),
        vec![
            ReplyScript::literal("Ask away."),
            ReplyScript::text(&pieces).gap(Duration::from_millis(600)),
            ReplyScript::text(&["Sure."]),
        ],
    ));
    assert_eq!(world.run(LIMIT), Some(Ending::UserLeft));

    let long = world.said().iter().filter(|s| s.starts_with("This is sentence")).count();
    // Each piece that arrived before the cancel was sent to TTS; none after.
    let delivered_before_cancel = world.conversation.delivered - 2; // "Ask away." and "Sure."
    assert_eq!(long, delivered_before_cancel);
    assert!((1..12).contains(&long), "{long} of 12 sentences");
    assert_eq!(world.conversation.cancelled, 1);
    assert_eq!(world.tts.closes, 1, "the reply's TTS stream was dropped");
    let heard = &world.conversation.committed[1];
    assert!(heard.starts_with("This is sentence number 1 ") && !heard.contains("number 12"), "{heard}");
    let turns = user_turns(&world);
    assert_eq!(turns.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>(), ["Tell me everything.", LIBRIVOX_TEXT]);
    assert_eq!(world.said().last(), Some(&"Sure."));
}

#[test]
fn with_interruptions_disallowed_the_agent_finishes_and_the_user_is_not_heard_meanwhile() {
    let mut params = VoiceParams { allow_interruption: false, ..VoiceParams::default() };
    params.options.output_rate = 48_000;
    let mut world = World::new(Script {
        params,
        ..script(
            librivox_timeline(1000, 9000),
            SttScript::default().word_ms(250).utterance_at(1300, LIBRIVOX_TEXT),
            vec![ReplyScript::literal(LONG_GREETING)],
        )
    });
    world.run(LIMIT);
    assert_eq!(world.audible_ms(), tts_ms(&[GREETING_FIRST, &LONG_GREETING[GREETING_FIRST.len() + 1..]]));
    assert!(user_turns(&world).is_empty(), "speech during the agent's turn made no user turn");
    assert_eq!(world.state_names(), [Initializing, Thinking, Speaking, Listening]);
    let states = world.states();
    let (speaking, listening) = (world.t0 + states[2].0, world.t0 + states[3].0);
    let meanwhile = world.stt.received.iter().filter(|(at, _)| *at > speaking && *at < listening).count();
    assert_eq!(meanwhile, 0, "no audio reached the STT while the agent spoke");
    assert!(world.stt.samples > 0, "before and after, it did");
}

#[test]
fn a_noise_without_words_pauses_the_agent_which_resumes_two_seconds_later() {
    // The STT hears no words in the "noise" (the recording's first 0.75 s of speech,
    // unscripted): a false interruption.
    let mut mic = silence_samples(16_000, 1000);
    mic.extend(&librivox()[..16_000]);
    mic.resize(16 * 13_000, 0);
    let mut world = World::new(script(mic, SttScript::default(), vec![ReplyScript::literal(LONG_GREETING)]));
    world.run(LIMIT);
    assert_eq!(world.state_names(), [Initializing, Thinking, Speaking, Listening, Speaking, Listening]);
    let states = world.states();
    let paused = states[3].0;
    let resumed = states[4].0;
    // The noise was over before the 2 s timeout ran out: resumed on that very tick.
    assert_eq!(resumed - paused, Duration::from_secs(2));
    assert_eq!(world.audible_ms(), tts_ms(&[GREETING_FIRST, &LONG_GREETING[GREETING_FIRST.len() + 1..]]));
    assert_eq!(world.conversation.committed, [LONG_GREETING]);
    assert!(user_turns(&world).is_empty());
    assert!(!world.metrics()[0].interrupted, "a false interruption is no interruption");
}

/// 16 kHz: the recording's first second (speech from 0.25 s) at each of `at_ms`, silence
/// elsewhere, `total_ms` in all.
fn speech_bursts(at_ms: &[u64], total_ms: u64) -> Vec<i16> {
    let mut mic = Vec::new();
    for at in at_ms {
        mic.resize(16 * *at as usize, 0);
        mic.extend(&librivox()[..16_000]);
    }
    mic.resize(16 * total_ms as usize, 0);
    mic
}

#[test]
fn a_noise_while_the_agent_thinks_costs_the_question_nothing() {
    // The user asks; the LLM takes 2.5 s; meanwhile a noise (speech the STT finds no words
    // in) pauses the agent. The answer arrives behind the pause and is played once the
    // noise proves wordless.
    let question = "What is the first chapter about?";
    let answer = "It is about the Dashwood family.";
    let mut world = World::new(script(
        speech_bursts(&[1500, 4000], 12_000),
        SttScript::default().word_ms(100).utterance_at(1800, question),
        vec![ReplyScript::literal("Ask me anything."), ReplyScript::text(&[answer]).first(Duration::from_millis(2500))],
    ));
    assert_eq!(world.run(LIMIT), Some(Ending::UserLeft));

    assert_eq!(user_turns(&world).iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>(), [question]);
    assert_eq!(world.conversation.cancelled, 0, "the reply was never cancelled");
    assert_eq!(world.conversation.committed, ["Ask me anything.", answer]);
    assert_eq!(world.audible_ms(), tts_ms(&["Ask me anything.", answer]));
    assert_eq!(
        world.state_names(),
        [Initializing, Thinking, Speaking, Listening, Thinking, Listening, Speaking, Listening]
    );
    let states = world.states();
    let (paused, resumed) = (states[5].0, states[6].0);
    assert_eq!(resumed - paused, Duration::from_secs(2));
    let answer_ready = world.first(|r| matches!(r, Record::Tts(TtsAction::Say(s)) if s == answer)).unwrap();
    assert!(answer_ready > paused && answer_ready < resumed, "the answer was generated during the pause");
    assert!(!world.metrics()[1].interrupted);
}

#[test]
fn a_false_interruption_resumes_the_whole_reply_not_only_what_was_synthesised() {
    // A slow LLM: one sentence every 600 ms. A wordless noise pauses the agent while most of
    // the reply is still to come; the reply goes on behind the pause and is heard in full.
    let pieces: Vec<String> = (1..=8).map(|i| format!("This is sentence number {i} of a long answer. ")).collect();
    let pieces: Vec<&str> = pieces.iter().map(String::as_str).collect();
    let mut world = World::new(script(
        speech_bursts(&[200, 4000], 24_000),
        SttScript::default().word_ms(250).utterance_at(450, "Tell me everything."),
        vec![ReplyScript::literal("Ask away."), ReplyScript::text(&pieces).gap(Duration::from_millis(600))],
    ));
    assert_eq!(world.run(LIMIT), Some(Ending::UserLeft));

    let states = world.states();
    assert_eq!(
        world.state_names(),
        [Initializing, Thinking, Speaking, Listening, Thinking, Speaking, Listening, Speaking, Listening]
    );
    let (paused, resumed) = (states[6].0, states[7].0);
    let said_during_pause = world
        .log
        .iter()
        .filter(|(at, r)| *at > paused && *at < resumed && matches!(r, Record::Tts(TtsAction::Say(_))))
        .count();
    assert!(said_during_pause >= 2, "the LLM and TTS went on behind the pause ({said_during_pause} sentences)");
    assert_eq!(world.conversation.cancelled, 0);
    assert_eq!(world.said().len(), 1 + pieces.len());
    let all: Vec<&str> = pieces.iter().map(|p| p.trim()).collect();
    assert_eq!(world.conversation.committed[1], all.join(" "));
    let mut spoken = vec!["Ask away."];
    spoken.extend(&all);
    assert_eq!(world.audible_ms(), tts_ms(&spoken));
}

#[test]
fn words_while_the_agent_thinks_cancel_the_reply_and_both_turns_are_kept() {
    // The user adds to the question while the LLM is still thinking: that reply is dropped
    // and the next answers both turns.
    let mut world = World::new(script(
        speech_bursts(&[1500, 3500], 10_000),
        SttScript::default()
            .word_ms(100)
            .utterance_at(1800, "I want to book a flight.")
            .utterance_at(3800, "To Paris next Monday."),
        vec![
            ReplyScript::literal("Hello."),
            ReplyScript::text(&["Where to?"]).first(Duration::from_secs(3)),
            ReplyScript::text(&["Paris on Monday, got it."]),
        ],
    ));
    assert_eq!(world.run(LIMIT), Some(Ending::UserLeft));

    let turns: Vec<String> = user_turns(&world).into_iter().map(|(_, t)| t).collect();
    assert_eq!(turns, ["I want to book a flight.", "To Paris next Monday."]);
    assert_eq!(world.conversation.cancelled, 1);
    assert_eq!(world.said(), ["Hello.", "Paris on Monday, got it."]);
    assert_eq!(world.conversation.committed, ["Hello.", "Paris on Monday, got it."]);
}

fn with_backchannels(script: Script) -> Script {
    let mut params = script.params.clone();
    params.options.backchannels = Backchannels::english();
    Script { params, ..script }
}

/// `ms` of the recording's start (speech from 0.25 s) at `at_ms`, silence to `total_ms`.
fn short_speech(at_ms: u64, ms: u64, total_ms: u64) -> Vec<i16> {
    let mut mic = silence_samples(16_000, at_ms);
    mic.extend(&librivox()[..16 * ms as usize]);
    mic.resize(16 * total_ms as usize, 0);
    mic
}

#[test]
fn an_mm_hmm_cuts_the_agent_short_unless_backchannels_are_filtered() {
    // A short "Mm-hmm." over the greeting: without the filter its words confirm the
    // interruption (or make a turn that supersedes the greeting).
    let scripted = || {
        script(
            short_speech(2000, 600, 12_000),
            SttScript::default().word_ms(200).utterance_at(2300, "Mm-hmm."),
            vec![ReplyScript::literal(LONG_GREETING), ReplyScript::text(&["Yes?"])],
        )
    };
    let mut plain = World::new(scripted());
    plain.run(LIMIT);
    assert_eq!(user_turns(&plain).iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>(), ["Mm-hmm."]);
    assert!(plain.conversation.committed[0].len() < LONG_GREETING.len(), "the greeting was cut");

    let mut filtered = World::new(with_backchannels(scripted()));
    filtered.run(LIMIT);
    assert!(user_turns(&filtered).is_empty());
    assert_eq!(filtered.conversation.committed, [LONG_GREETING]);
    assert_eq!(filtered.audible_ms(), tts_ms(&[GREETING_FIRST, &LONG_GREETING[GREETING_FIRST.len() + 1..]]));
    assert_eq!(filtered.conversation.cancelled, 0);
}

#[test]
fn a_long_backchannel_pauses_the_agent_which_resumes_when_it_proves_to_be_one() {
    // 0.75 s of "yeah, yeah, okay" pauses the agent; its words confirm nothing, and the agent
    // goes on as soon as the turn ends, without waiting out the false-interruption timeout.
    let mut world = World::new(with_backchannels(script(
        short_speech(2000, 1000, 12_000),
        SttScript::default().word_ms(200).utterance_at(2300, "Yeah, yeah, okay."),
        vec![ReplyScript::literal(LONG_GREETING)],
    )));
    world.run(LIMIT);
    assert_eq!(world.state_names(), [Initializing, Thinking, Speaking, Listening, Speaking, Listening]);
    let states = world.states();
    let (paused, resumed) = (states[3].0, states[4].0);
    assert!(resumed - paused < Duration::from_secs(2), "resumed after {:?}", resumed - paused);
    assert!(user_turns(&world).is_empty());
    assert_eq!(world.conversation.cancelled, 0);
    assert_eq!(world.conversation.committed, [LONG_GREETING]);
    assert_eq!(world.audible_ms(), tts_ms(&[GREETING_FIRST, &LONG_GREETING[GREETING_FIRST.len() + 1..]]));
}

#[test]
fn turn_taking_settings_from_the_config_reach_the_voice_loop() {
    let config: TurnTakingConfig = serde_json::from_value(serde_json::json!({
        "minEndpointingDelay": 1.2, "falseInterruptionTimeout": 3, "backchannels": ["ouais"]
    }))
    .unwrap();
    let options = VoiceOptions::default().with_turn_taking(&config);
    assert_eq!(options.endpointing.min_delay, Duration::from_millis(1200));
    assert_eq!(options.false_interruption_timeout, Duration::from_secs(3));
    assert!(options.backchannels.only("Ouais."));
    assert_eq!(options.min_interruption, VoiceOptions::default().min_interruption);

    // The longer endpointing delay shows in the turn's timing.
    let params = VoiceParams { options, ..VoiceParams::default() };
    let mut world = World::new(Script {
        params,
        ..script(
            librivox_timeline(500, 9000),
            SttScript::default().word_ms(250).utterance_at(800, LIBRIVOX_TEXT),
            vec![ReplyScript::literal("Hello!"), ReplyScript::text(&["Go on."])],
        )
    });
    world.run(LIMIT);
    let eou = world.metrics()[1].eou_delay_ms.unwrap();
    assert!((1200.0..1220.0).contains(&eou), "end-of-utterance delay {eou} ms");
}

#[test]
fn with_stt_turn_detection_the_providers_endpointing_ends_the_turn_and_nothing_is_flushed() {
    let run = |detection: TurnDetection, endpointing_ms: u64| {
        let mut params = VoiceParams::default();
        params.options.endpointing.detection = detection;
        let mut world = World::new(Script {
            params,
            ..script(
                librivox_timeline(500, 9000),
                SttScript { endpointing_ms, ..SttScript::default().word_ms(300).utterance_at(800, LIBRIVOX_TEXT) },
                vec![ReplyScript::literal("Hello!"), ReplyScript::text(&["Go on."])],
            )
        });
        world.run(LIMIT);
        let turns = user_turns(&world);
        assert_eq!(turns.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>(), [LIBRIVOX_TEXT]);
        (turns[0].0, world.stt.flushes)
    };
    // The provider endpoints 100 ms after the last word (800 ms + 8 words × 300 ms of audio:
    // the 20 ms frame taken at 3.28 s completes it) and its final arrives 150 ms later: the
    // turn is taken on that tick, while the VAD is still in its hangover.
    let (at, flushes) = run(TurnDetection::Stt, 100);
    assert_eq!(flushes, 0, "the provider is left to endpoint");
    assert_eq!(ms(at), 3440, "turn at {at:?}");
    let (vad_at, vad_flushes) = run(TurnDetection::Vad, 100);
    assert_eq!(vad_flushes, 1);
    assert!(vad_at > at, "VAD silence ends this turn later ({vad_at:?}) than the STT ({at:?})");

    // A provider slow to endpoint holds the turn; VAD silence of maxEndpointingDelay ends it.
    let (late, _) = run(TurnDetection::Stt, 5000);
    assert!(late > vad_at + Duration::from_millis(2000), "turn at {late:?}");
}

fn preemptive(script: Script) -> Script {
    let mut params = script.params.clone();
    params.options.preemptive_generation = true;
    Script { params, ..script }
}

fn action_at(world: &World, what: impl Fn(&ConversationAction) -> bool) -> Vec<Duration> {
    world.conversation_actions().into_iter().filter(|(_, a)| what(a)).map(|(at, _)| at).collect()
}

#[test]
fn preemptive_generation_answers_sooner_by_exactly_its_head_start() {
    let scripted = || {
        script(
            librivox_timeline(500, 9000),
            SttScript::default().word_ms(250).utterance_at(800, LIBRIVOX_TEXT),
            vec![ReplyScript::literal("Hello!"), ReplyScript::text(&["That is ", "kind of you."]).first(ms_(600))],
        )
    };
    let mut plain = World::new(scripted());
    plain.run(LIMIT);
    let mut ahead = World::new(preemptive(scripted()));
    ahead.run(LIMIT);

    assert_eq!((ahead.conversation.preempts, ahead.conversation.preempts_used), (1, 1));
    assert_eq!(ahead.said(), plain.said());
    assert_eq!(user_turns(&ahead), user_turns(&plain), "the turn itself ends at the same time");
    // Started when the STT's final settled the words, before the 0.5 s of silence ran out.
    let preempted = action_at(&ahead, |a| matches!(a, ConversationAction::Preempt(t) if t == LIBRIVOX_TEXT));
    let head_start = user_turns(&ahead)[0].0 - preempted[0];
    assert!(head_start >= ms_(200), "head start {head_start:?}");
    let response = |w: &World| w.metrics()[1].response_ms.unwrap();
    assert_eq!(response(&plain) - response(&ahead), head_start.as_millis() as f64);
}

#[test]
fn a_user_who_goes_on_drops_the_early_reply_and_the_whole_turn_is_answered_once() {
    // A pause of 0.85 s inside the turn, under a 1 s endpointing delay: the words settle (the
    // STT's final is in) and a reply starts, then the user goes on.
    let mut scripted = preemptive(script(
        speech_bursts(&[1500, 3100], 9000),
        SttScript::default().word_ms(100).utterance_at(1800, "I need a table").utterance_at(3400, "for two people"),
        vec![ReplyScript::literal("Hello."), ReplyScript::text(&["A table for two, got it."])],
    ));
    scripted.params.options.endpointing.min_delay = ms_(1000);
    let mut world = World::new(scripted);
    world.run(LIMIT);

    let preempts: Vec<String> = world
        .conversation_actions()
        .into_iter()
        .filter_map(|(_, a)| match a {
            ConversationAction::Preempt(t) => Some(t.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(preempts, ["I need a table", "I need a table for two people"]);
    assert_eq!(action_at(&world, |a| matches!(a, ConversationAction::DropPreempt)).len(), 1);
    assert_eq!(world.conversation.preempts_used, 1);
    let turns: Vec<String> = user_turns(&world).into_iter().map(|(_, t)| t).collect();
    assert_eq!(turns, ["I need a table for two people"]);
    assert_eq!(world.said(), ["Hello.", "A table for two, got it."]);
}

fn ms_(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn a_sound_shorter_than_the_interruption_does_not_pause_the_agent_even_with_the_vads_hangover() {
    // 0.35 s of voice: with the VAD's 0.25 s hangover the "speech" lasts 0.6 s from its onset,
    // but only voiced audio counts towards the 0.5 s that interrupt.
    let mut world = World::new(script(
        short_speech(2000, 600, 12_000),
        SttScript::default(),
        vec![ReplyScript::literal(LONG_GREETING)],
    ));
    world.run(LIMIT);
    assert_eq!(world.state_names(), [Initializing, Thinking, Speaking, Listening]);
    assert_eq!(world.audible_ms(), tts_ms(&[GREETING_FIRST, &LONG_GREETING[GREETING_FIRST.len() + 1..]]));
    assert!(!world.metrics()[0].interrupted);
}

#[test]
fn stt_failures_are_retried_with_growing_pauses_then_the_session_gives_up() {
    let mut world = World::new(Script {
        stt: SttScript { failing_opens: 10, ..SttScript::default() },
        ..script(silence_samples(16_000, 60_000), SttScript::default(), vec![ReplyScript::literal("Hi.")])
    });
    assert_eq!(world.run(LIMIT), Some(Ending::SttFailed));
    let failures: Vec<u64> = world
        .log
        .iter()
        .filter(|(_, r)| matches!(r, Record::Event(AgentEvent::Error { code: ErrorCode::SttFailed, .. })))
        .map(|(at, _)| ms(*at))
        .collect();
    // Reopened 250, 500, 750 ms after the 1st, 2nd, 3rd failure; the 4th in a row ends it.
    assert_eq!(failures, [0, 250, 750, 1500]);
    assert_eq!(world.stt.opens, 4);
}

#[test]
fn an_stt_that_recovers_is_used_again() {
    let mut world = World::new(Script {
        stt: SttScript { failing_opens: 2, ..SttScript::default().word_ms(250).utterance_at(800, LIBRIVOX_TEXT) },
        ..script(
            librivox_timeline(500, 9000),
            SttScript::default(),
            vec![ReplyScript::literal("Hi."), ReplyScript::text(&["Hello."])],
        )
    });
    assert_eq!(world.run(LIMIT), Some(Ending::UserLeft));
    assert_eq!(errors(&world).len(), 2);
    assert_eq!(world.stt.opens, 3);
    assert_eq!(user_turns(&world).len(), 1, "heard once it opened (at 0.75 s)");
}

#[test]
fn stt_is_fed_at_the_rate_it_was_opened_with() {
    let mut params = VoiceParams { stt_rate: 8000, ..VoiceParams::default() };
    params.options.output_rate = 48_000;
    let mic = librivox_timeline(500, 6000);
    let mic_samples = mic.len();
    let mut world =
        World::new(Script { params, ..script(mic, SttScript::default(), vec![ReplyScript::literal("Hi.")]) });
    world.run(LIMIT);
    // Half as many samples as the 16 kHz microphone, less the resampler's delay (< 5 ms).
    let expected = mic_samples / 2;
    assert!(world.stt.samples <= expected && world.stt.samples >= expected - 40, "{} of {expected}", world.stt.samples);
}

#[test]
fn a_timer_step_fires_on_the_first_tick_after_its_deadline_even_minutes_away() {
    let mut world = World::new(script(
        silence_samples(16_000, 300_000),
        SttScript::default(),
        vec![
            ReplyScript::literal("Take your time.").then_timer(Duration::from_secs(120)),
            ReplyScript::literal("Still there?").ending(),
        ],
    ));
    let started = std::time::Instant::now();
    assert_eq!(world.run(LIMIT), Some(Ending::Completed));
    let expired = world
        .first(|r| matches!(r, Record::Conversation(ConversationAction::TimerExpired)))
        .expect("the timer expired");
    // The literal line's Done comes at once; the deadline is 120 s after it, on the tick grid.
    assert_eq!(expired, Duration::from_secs(120));
    assert_eq!(world.said(), ["Take your time.", "Still there?"]);
    // Five minutes of session in well under a second of real time (an unoptimised build).
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn a_tts_that_cannot_open_costs_one_sentence_and_the_session_goes_on() {
    let mut world = World::new(Script {
        tts: TtsScript { failing_opens: vec![1], ..TtsScript::default() },
        ..script(
            {
                let mut mic = librivox_timeline(500, 5000);
                mic.extend(librivox());
                mic.resize(16 * 12_000, 0);
                mic
            },
            SttScript::default().word_ms(250).utterance_at(800, LIBRIVOX_TEXT).utterance_at(5300, "Are you there?"),
            vec![ReplyScript::literal("Hi."), ReplyScript::text(&["First answer."]), ReplyScript::text(&["Second."])],
        )
    });
    assert_eq!(world.run(LIMIT), Some(Ending::UserLeft));
    let errors = errors(&world);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, ErrorCode::TtsFailed);
    assert_eq!(user_turns(&world).len(), 2);
    assert_eq!(world.audible_ms(), tts_ms(&["Hi.", "Second."]));
    // An answer nobody heard is not recorded as said.
    assert_eq!(world.conversation.committed, ["Hi.", "Second."]);
    assert!(world.log.iter().any(|(_, r)| matches!(r, Record::Tts(TtsAction::Say(s)) if s == "First answer.")));
}

fn manual(script: Script) -> Script {
    let mut params = script.params.clone();
    params.options.endpointing.detection = TurnDetection::Manual;
    Script { params, ..script }
}

#[test]
fn with_manual_turn_detection_only_the_apps_end_turn_ends_a_turn() {
    // The sentence is over (and its final in) by 3.5 s; 4 s of silence end nothing; the app's
    // end_turn at 8 s takes the turn on the spot, since every word is already final.
    let scripted = script(
        librivox_timeline(500, 12_000),
        SttScript::default().word_ms(250).utterance_at(800, LIBRIVOX_TEXT),
        vec![ReplyScript::literal("Hello!"), ReplyScript::text(&["Go on."])],
    );
    let mut world = World::new(manual(scripted)).control_at(8000, TurnControl::EndTurn);
    world.run(LIMIT);
    let turns = user_turns(&world);
    assert_eq!(turns.iter().map(|(at, t)| (ms(*at), t.as_str())).collect::<Vec<_>>(), [(8000, LIBRIVOX_TEXT)]);
    assert_eq!(world.said(), ["Hello!", "Go on."]);
}

#[test]
fn end_turn_while_the_user_still_talks_waits_for_the_words_then_takes_them_all() {
    // Released mid-sentence (2.4 s): the STT is told to finalise, its final comes 150 ms
    // later with every word heard so far, and the turn is taken then; the VAD is ignored.
    let scripted = script(
        librivox_timeline(500, 9000),
        SttScript::default().word_ms(250).utterance_at(800, LIBRIVOX_TEXT),
        vec![ReplyScript::literal("Hello!"), ReplyScript::text(&["Go on."])],
    );
    let mut world = World::new(manual(scripted)).control_at(2400, TurnControl::EndTurn);
    world.run(LIMIT);
    let first_words: Vec<&str> = LIBRIVOX_TEXT.split_whitespace().take(6).collect();
    let turns = user_turns(&world);
    assert_eq!(
        turns.iter().map(|(at, t)| (ms(*at), t.as_str())).collect::<Vec<_>>(),
        [(2560, first_words.join(" ").as_str())]
    );
    assert_eq!(world.stt.flushes, 1);
    // The rest of the sentence waits for the app to end the next turn, which it never does
    // here: silence and the VAD take nothing.
}

#[test]
fn start_turn_stops_the_agent_at_once_and_for_good_and_cancel_turn_forgets_the_words() {
    // The user presses the talk button 1 s into a long greeting, says nothing, and cancels:
    // the agent stopped on the press and stays stopped (no false-interruption resume), what
    // was heard is committed, and no turn is taken.
    let scripted = script(
        silence_samples(16_000, 9000),
        SttScript::default(),
        vec![ReplyScript::literal(LONG_GREETING), ReplyScript::text(&["Go on."])],
    );
    let mut world = World::new(manual(scripted))
        .control_at(1000, TurnControl::StartTurn)
        .control_at(1500, TurnControl::CancelTurn)
        .control_at(1600, TurnControl::EndTurn);
    world.run(LIMIT);
    let last_loud = world.played().iter().filter(|(_, f)| audible(f)).map(|(at, _)| ms(*at)).max().unwrap();
    assert!(last_loud < 1000, "agent audio until {last_loud} ms");
    assert!(user_turns(&world).is_empty(), "{:?}", user_turns(&world));
    let heard = &world.conversation.committed[0];
    assert!(LONG_GREETING.starts_with(heard.as_str()) && heard.len() < LONG_GREETING.len(), "heard {heard:?}");
    assert_eq!(world.state_names().last(), Some(&Listening));
}

#[test]
fn a_cancelled_turns_late_final_starts_nothing() {
    // Pressed, the sentence said, cancelled before the STT finalised: its final arrives later
    // and is dropped; the next end_turn (with nothing new said) takes no turn.
    let scripted = script(
        librivox_timeline(500, 9000),
        SttScript::default().word_ms(250).utterance_at(800, LIBRIVOX_TEXT),
        vec![ReplyScript::literal("Hello!"), ReplyScript::text(&["Go on."])],
    );
    let mut world = World::new(manual(scripted))
        .control_at(400, TurnControl::StartTurn)
        .control_at(3000, TurnControl::CancelTurn)
        .control_at(6000, TurnControl::EndTurn);
    world.run(LIMIT);
    assert!(user_turns(&world).is_empty(), "{:?}", user_turns(&world));
}
