//! The provider APIs a flow test's scripted answers are written in: LLM replies picked by the
//! request's URL (OpenAI, Anthropic, Gemini), and Deepgram's live transcription messages.

mod anthropic;
pub mod deepgram;
mod gemini;
mod openai;

use std::time::Duration;

use super::script::{DEFAULT_FIRST_TOKEN, answer};
use super::spec::FullReply;
use crate::record::{Asked, HttpExchange};

/// Words per streamed chunk.
const WORDS_PER_CHUNK: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// `POST .../chat/completions` (OpenAI and the compatible servers).
    OpenAi,
    /// `POST .../messages` (Anthropic).
    Anthropic,
    /// `POST .../models/{model}:streamGenerateContent` (Gemini).
    Gemini,
}

impl Wire {
    /// The LLM API `asked` is a request of, if any.
    pub fn of(asked: Asked<'_>) -> Option<Self> {
        let path = asked.url.split('?').next().unwrap_or_default();
        match asked.method {
            "POST" if path.ends_with("/chat/completions") => Some(Self::OpenAi),
            "POST" if path.ends_with("/v1/messages") => Some(Self::Anthropic),
            "POST" if path.ends_with(":streamGenerateContent") => Some(Self::Gemini),
            _ => None,
        }
    }

    /// Request `number`'s answer: `reply` streamed, or its error.
    pub fn reply(self, number: usize, reply: &FullReply, asked: Asked<'_>) -> HttpExchange {
        let after = reply.delay_ms.map_or(DEFAULT_FIRST_TOKEN, Duration::from_millis);
        if let Some(status) = reply.error {
            let body = match self {
                Self::OpenAi => openai::error(status),
                Self::Anthropic => anthropic::error(status),
                Self::Gemini => gemini::error(status),
            };
            return answer(after, status, "application/json", vec![body]);
        }
        let text = reply.say.clone().unwrap_or_default();
        let pieces: Vec<String> =
            text.split_inclusive(' ').collect::<Vec<_>>().chunks(WORDS_PER_CHUNK).map(|w| w.concat()).collect();
        let chunks = match self {
            Self::OpenAi => openai::stream(number, &pieces, reply, asked),
            Self::Anthropic => anthropic::stream(number, &pieces, reply, asked),
            Self::Gemini => gemini::stream(number, &pieces, reply, asked),
        };
        answer(after, 200, "text/event-stream", chunks)
    }
}
