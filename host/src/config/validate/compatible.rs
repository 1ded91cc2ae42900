//! Provider ids users type for services that speak the OpenAI API. They are not adapters of
//! their own: the `openai` adapter serves them through a base URL, and the refusal says exactly
//! what to write instead.

use crate::config::ProviderKind;

/// `(id, OpenAI-compatible base URL, where its key comes from)`.
const SERVICES: &[(&str, &str, &str)] = &[
    ("groq", "https://api.groq.com/openai/v1", "your Groq key (GROQ_API_KEY)"),
    ("together", "https://api.together.xyz/v1", "your Together key (TOGETHER_API_KEY)"),
    ("openrouter", "https://openrouter.ai/api/v1", "your OpenRouter key (OPENROUTER_API_KEY)"),
    ("ollama", "http://127.0.0.1:11434/v1", "any placeholder (Ollama takes none)"),
    ("vllm", "http://127.0.0.1:8000/v1", "the key the server was started with, if any"),
    ("lmstudio", "http://127.0.0.1:1234/v1", "any placeholder (LM Studio takes none)"),
];

/// What to write instead of `provider`, if it names an OpenAI-compatible service and `openai`
/// is loaded for `kind`.
pub fn instead(kind: ProviderKind, provider: &str, path: &str, openai_loaded: bool) -> Option<String> {
    let (id, url, key) = SERVICES.iter().find(|(id, ..)| id.eq_ignore_ascii_case(provider.trim()))?;
    if !openai_loaded {
        return None;
    }
    let local = url.starts_with("http://127.0.0.1");
    let allow = if local { "; the server must allow the address (--allow-host 127.0.0.1:PORT)" } else { "" };
    Some(match kind {
        ProviderKind::Llm => format!(
            "'{id}' speaks the OpenAI API: write \"provider\": \"openai\", \"baseURL\": \"{url}\" and {key} as \
             {path}.apiKey{allow}"
        ),
        ProviderKind::Tts | ProviderKind::Stt => format!(
            "'{id}' speaks the OpenAI API: write \"provider\": \"openai\" and run the server with \
             OPENAI_BASE_URL={url} and {key} as OPENAI_API_KEY{allow}"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_services_get_the_openai_adapter_with_their_url() {
        let llm = instead(ProviderKind::Llm, "Groq", "llm", true).unwrap();
        assert!(llm.contains("\"provider\": \"openai\", \"baseURL\": \"https://api.groq.com/openai/v1\""), "{llm}");
        assert!(llm.contains("llm.apiKey"), "{llm}");
        let stt = instead(ProviderKind::Stt, "ollama", "stt", true).unwrap();
        assert!(stt.contains("OPENAI_BASE_URL=http://127.0.0.1:11434/v1") && stt.contains("--allow-host"), "{stt}");
        assert_eq!(instead(ProviderKind::Llm, "groq", "llm", false), None, "no openai adapter to point at");
        assert_eq!(instead(ProviderKind::Llm, "whisper", "llm", true), None);
    }
}
