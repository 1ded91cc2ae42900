//! AgentConfigs the provider fakes can hold a conversation with.

use serde_json::{Value, json};

/// A hotel concierge: an LLM greeting, then free talk. OpenAI for everything, STT by upload, so
/// no provider stream is open while nobody speaks (and none is called before a user joins).
pub fn concierge() -> Value {
    json!({
        "agentName": "Concierge", "instructions": "You are a hotel concierge.", "language": "en-US",
        "llm": {"model": "gpt-4.1-mini", "provider": "openai"},
        "tts": {"model": "gpt-4o-mini-tts", "provider": "openai", "voiceId": "coral"},
        "stt": {"model": "gpt-4o-mini-transcribe", "provider": "openai"},
        "steps": [
            {"id": "hello", "type": "start", "command": "Greet the guest.", "nextStepIds": {"next": "talk"}},
            {"id": "talk", "type": "opentalk", "command": "Help with the stay."}
        ]
    })
}
