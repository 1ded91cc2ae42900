//! The turn-taking section: every delay within what a conversation can bear.

use crate::config::error::Problem;
use crate::config::{BackchannelSetting, TurnDetection, TurnTakingConfig};

pub(super) fn check(config: &TurnTakingConfig, out: &mut Vec<Problem>) {
    let seconds = [
        ("minEndpointingDelay", config.min_endpointing_delay, 0.1, 5.0),
        ("maxEndpointingDelay", config.max_endpointing_delay, 0.1, 10.0),
        ("minInterruptionDuration", config.min_interruption_duration, 0.05, 5.0),
        ("falseInterruptionTimeout", config.false_interruption_timeout, 0.5, 10.0),
    ];
    for (name, value, low, high) in seconds {
        if let Some(v) = value
            && !(low..=high).contains(&v)
        {
            out.push(Problem::error(format!("turnTaking.{name}"), format!("must be {low}–{high} seconds, got {v}")));
        }
    }
    if let (Some(min), Some(max)) = (config.min_endpointing_delay, config.max_endpointing_delay)
        && max < min
    {
        out.push(Problem::error(
            "turnTaking.maxEndpointingDelay",
            format!("must not be below minEndpointingDelay ({min} s), got {max}"),
        ));
    }
    if let Some(words) = config.min_interruption_words
        && words > 10
    {
        out.push(Problem::error("turnTaking.minInterruptionWords", format!("must be 0–10, got {words}")));
    }
    if config.preemptive_generation == Some(true) && config.turn_detection == Some(TurnDetection::Stt) {
        out.push(Problem::warning(
            "turnTaking.preemptiveGeneration",
            "no effect with turnDetection 'stt': the STT's endpoint settles the words and ends the turn at once",
        ));
    }
    if let BackchannelSetting::Words(words) = &config.backchannels {
        if words.is_empty() {
            out.push(Problem::warning("turnTaking.backchannels", "an empty list turns the filter off; write false"));
        }
        for (i, word) in words.iter().enumerate().filter(|(_, w)| w.trim().is_empty()) {
            out.push(Problem::error(format!("turnTaking.backchannels[{i}]"), format!("empty phrase '{word}'")));
        }
    }
}
