//! What the user's app may say about turns besides the audio: a talk button (hold to talk,
//! release to send, or cancel) and the manual turn detection it drives. The messages are JSON
//! objects with a `type`, sent on the LiveKit data topic [`CONTROL_TOPIC`] (reliable) or, in a
//! direct call, on the browser's data channel:
//!
//! - `{"type":"start_turn"}`: the user starts talking; an agent that is speaking or thinking
//!   stops at once (no false-interruption wait: the user said so), and the turn starts afresh;
//! - `{"type":"end_turn"}`: the turn is over; the STT is asked to finalise and the turn is
//!   taken with every word once its transcript is final (at most `maxEndpointingDelay` later);
//! - `{"type":"cancel_turn"}`: forget what was said since the turn started.
//!
//! They work in every turn detection mode; with `turnDetection: "manual"` they are the only
//! way a turn ends.

use serde::Deserialize;

/// The data topic turn controls come on in a LiveKit room.
pub const CONTROL_TOPIC: &str = "voiceblox.agent.control";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TurnControl {
    StartTurn,
    EndTurn,
    CancelTurn,
}

/// A control message that is not one.
#[derive(Debug, thiserror::Error)]
#[error("not a turn control (expected {{\"type\": \"start_turn\" | \"end_turn\" | \"cancel_turn\"}}): {0}")]
pub struct ControlError(#[from] serde_json::Error);

impl TurnControl {
    pub fn parse(bytes: &[u8]) -> Result<Self, ControlError> {
        Ok(serde_json::from_slice(bytes)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_controls_parse_and_anything_else_says_what_is_expected() {
        assert_eq!(TurnControl::parse(br#"{"type":"start_turn"}"#).unwrap(), TurnControl::StartTurn);
        assert_eq!(TurnControl::parse(br#"{"type":"end_turn","at":3}"#).unwrap(), TurnControl::EndTurn);
        assert_eq!(TurnControl::parse(br#"{"type":"cancel_turn"}"#).unwrap(), TurnControl::CancelTurn);
        let error = TurnControl::parse(br#"{"type":"hang_up"}"#).unwrap_err().to_string();
        assert!(error.contains("start_turn") && error.contains("hang_up"), "{error}");
        assert!(TurnControl::parse(b"not json").is_err());
    }
}
