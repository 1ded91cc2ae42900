//! Bindings for `voiceblox:plugin@0.1.0` (frozen in `wit/v0.1.0/`), forwarded to `latest`.
//!
//! What changed in 0.2.0: `tool-call` gained `provider-data`. A 0.1.0 plugin's calls come up
//! with none, and calls it is handed lose theirs (it could not have written any). Everything
//! else is the same shape under another package version, converted field by field.

super::contract_version!("../wit/v0.1.0", semver::Version::new(0, 1, 0));

mod forward {
    use std::borrow::Cow;

    use super::super::latest;
    use super::{llm, stt, tts, types};

    /// `From` for records whose fields carry over one to one: converted with `Into`, or with
    /// [`Reach`] where marked `: reach` (lists, options, tuples of converted types).
    macro_rules! records {
        ($($from:path => $to:path { $($field:ident $(: $reach:ident)?),* $(,)? })*) => {$(
            impl From<$from> for $to {
                fn from(value: $from) -> Self {
                    Self { $($field: convert!(value.$field $(, $reach)?)),* }
                }
            }
        )*};
    }
    macro_rules! convert {
        ($value:expr) => {
            $value.into()
        };
        ($value:expr, reach) => {
            $value.reach()
        };
    }

    /// `From` for enums and variants whose cases carry over one to one.
    macro_rules! cases {
        ($($from:path => $to:path { $($case:ident $(($payload:ident))?),* $(,)? })*) => {$(
            impl From<$from> for $to {
                fn from(value: $from) -> Self {
                    use $from as F;
                    match value {
                        $(F::$case $(($payload))? => Self::$case $(($payload.into()))?),*
                    }
                }
            }
        )*};
    }

    /// `Into` through the containers the contract uses.
    trait Reach<T> {
        fn reach(self) -> T;
    }
    impl<A: Into<B>, B> Reach<Vec<B>> for Vec<A> {
        fn reach(self) -> Vec<B> {
            self.into_iter().map(Into::into).collect()
        }
    }
    impl<A: Into<B>, B> Reach<Option<B>> for Option<A> {
        fn reach(self) -> Option<B> {
            self.map(Into::into)
        }
    }
    impl<A: Into<B>, B> Reach<(u32, B)> for (u32, A) {
        fn reach(self) -> (u32, B) {
            (self.0, self.1.into())
        }
    }

    // Down: what the host hands a 0.1.0 plugin.
    records! {
        latest::types::ProviderConfig => types::ProviderConfig { provider, model, api_key, base_url, language, options }
        latest::types::HttpResponse => types::HttpResponse { status, headers: reach }
        latest::types::Header => types::Header { name, value }
        latest::types::WsClose => types::WsClose { code, reason }
        latest::llm::ToolDefinition => llm::ToolDefinition { name, description, parameters }
        latest::tts::Request => tts::Request { voice, sample_rate, options }
        latest::stt::Request => stt::Request {
            sample_rate, interim_results, detect_language, diarization, keyterms, endpointing_ms, options
        }
    }
    cases! {
        latest::types::WsMessage => types::WsMessage { Text(t), Binary(b) }
        latest::llm::Role => llm::Role { System, User, Assistant, Tool }
    }

    impl From<latest::types::ToolCall> for types::ToolCall {
        fn from(call: latest::types::ToolCall) -> Self {
            Self { id: call.id, name: call.name, arguments: call.arguments }
        }
    }

    impl From<latest::llm::Message> for llm::Message {
        fn from(m: latest::llm::Message) -> Self {
            Self {
                role: m.role.into(),
                content: m.content,
                tool_calls: m.tool_calls.reach(),
                tool_call_id: m.tool_call_id,
            }
        }
    }

    impl From<latest::llm::Request> for llm::Request {
        fn from(r: latest::llm::Request) -> Self {
            Self {
                messages: r.messages.reach(),
                tools: r.tools.reach(),
                temperature: r.temperature,
                max_tokens: r.max_tokens,
                extras: r.extras,
            }
        }
    }

    impl From<latest::types::Input> for types::Input {
        fn from(input: latest::types::Input) -> Self {
            use latest::types::Input as I;
            match input {
                I::Start => Self::Start,
                I::Audio(frame) => Self::Audio(frame),
                I::Text(text) => Self::Text(text),
                I::Flush => Self::Flush,
                I::End => Self::End,
                I::HttpResponse(head) => Self::HttpResponse(head.reach()),
                I::HttpBody(body) => Self::HttpBody(body),
                I::HttpEnd(id) => Self::HttpEnd(id),
                I::WsOpen => Self::WsOpen,
                I::WsMessage(message) => Self::WsMessage(message.into()),
                I::WsClosed(close) => Self::WsClosed(close.into()),
                I::Timer(id) => Self::Timer(id),
            }
        }
    }

    // Up: what a 0.1.0 plugin hands the host.
    records! {
        types::HttpRequest => latest::types::HttpRequest { method, url, headers: reach, body }
        types::Header => latest::types::Header { name, value }
        types::WsConnect => latest::types::WsConnect { url, headers: reach }
        types::WsClose => latest::types::WsClose { code, reason }
        types::RateLimit => latest::types::RateLimit { message, retry_after_ms }
        types::Usage => latest::types::Usage { prompt_tokens, completion_tokens, cached_prompt_tokens }
        types::Word => latest::types::Word { text, start_ms, end_ms, confidence, speaker }
        types::TtsAudio => latest::types::TtsAudio { pcm, sample_rate }
    }
    cases! {
        types::WsMessage => latest::types::WsMessage { Text(t), Binary(b) }
        types::Kind => latest::types::Kind { Llm, Tts, Stt }
        types::SttMode => latest::types::SttMode { Streaming, Batch }
        types::FinishReason => latest::types::FinishReason { Stop, Length, ToolCalls, ContentFilter, Other }
        types::TtsEvent => latest::types::TtsEvent { Audio(a), Flushed }
        types::SttEvent => latest::types::SttEvent { Interim(t), Final(t), SpeechStarted(at), SpeechEnded(at) }
        types::LlmEvent => latest::types::LlmEvent { TextDelta(t), ToolCall(c), Usage(u), Finish(f) }
        types::Event => latest::types::Event { Llm(e), Stt(e), Tts(e) }
        types::ProviderError => latest::types::ProviderError {
            Unauthorized(m), RateLimited(r), InvalidRequest(m), Unavailable(m), Timeout(m), Protocol(m), Internal(m)
        }
    }

    impl From<types::ToolCall> for latest::types::ToolCall {
        fn from(call: types::ToolCall) -> Self {
            Self { id: call.id, name: call.name, arguments: call.arguments, provider_data: None }
        }
    }

    impl From<types::Transcript> for latest::types::Transcript {
        fn from(t: types::Transcript) -> Self {
            Self {
                text: t.text,
                words: t.words.reach(),
                confidence: t.confidence,
                language: t.language,
                start_ms: t.start_ms,
                end_ms: t.end_ms,
                speech_final: t.speech_final,
            }
        }
    }

    impl From<types::ProviderInfo> for latest::types::ProviderInfo {
        fn from(p: types::ProviderInfo) -> Self {
            Self {
                id: p.id,
                kinds: p.kinds.reach(),
                hosts: p.hosts,
                config_keys: p.config_keys,
                api_key_env: p.api_key_env,
                base_url_env: p.base_url_env,
                stt_mode: p.stt_mode.reach(),
                stt_sample_rate: p.stt_sample_rate,
                tts_sample_rates: p.tts_sample_rates,
            }
        }
    }

    impl From<types::Action> for latest::types::Action {
        fn from(action: types::Action) -> Self {
            use types::Action as A;
            match action {
                A::HttpRequest(request) => Self::HttpRequest(request.reach()),
                A::WsConnect(connect) => Self::WsConnect(connect.into()),
                A::WsSend(message) => Self::WsSend(message.into()),
                A::WsClose(close) => Self::WsClose(close.into()),
                A::SetTimer(timer) => Self::SetTimer(timer),
                A::Emit(event) => Self::Emit(event.into()),
                A::Finish => Self::Finish,
                A::Fail(error) => Self::Fail(error.into()),
            }
        }
    }

    // The hooks `contract_version!` calls.
    pub fn input(input: &latest::types::Input) -> Cow<'_, types::Input> {
        Cow::Owned(input.clone().into())
    }
    pub fn provider_config(config: &latest::types::ProviderConfig) -> Cow<'_, types::ProviderConfig> {
        Cow::Owned(config.clone().into())
    }
    pub fn llm_request(request: &latest::llm::Request) -> Cow<'_, llm::Request> {
        Cow::Owned(request.clone().into())
    }
    pub fn tts_request(request: &latest::tts::Request) -> Cow<'_, tts::Request> {
        Cow::Owned(request.clone().into())
    }
    pub fn stt_request(request: &latest::stt::Request) -> Cow<'_, stt::Request> {
        Cow::Owned(request.clone().into())
    }
    pub fn actions(actions: Vec<types::Action>) -> Vec<latest::types::Action> {
        actions.reach()
    }
    pub fn provider_error(error: types::ProviderError) -> latest::types::ProviderError {
        error.into()
    }
    pub fn plugin_info(info: types::PluginInfo) -> latest::types::PluginInfo {
        latest::types::PluginInfo { name: info.name, version: info.version, providers: info.providers.reach() }
    }
}
