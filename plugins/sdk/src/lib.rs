//! Write a voiceblox provider adapter as plain Rust.
//!
//! An adapter is a sans-I/O state machine: the host opens a stream with the provider's
//! configuration and the request, feeds it [`Input`]s (the utterance's text, audio frames, HTTP
//! and WebSocket events, timers) and performs the [`Action`]s it returns (send this request,
//! emit this event, set this timer). The host holds the network, the keys (the adapter writes
//! `{{api-key}}` where the key goes) and the clock, so an adapter is only wire formats.
//!
//! With this crate an author writes:
//! - one [`Plugin`] (what the component is and which providers it serves; [`single_provider`]
//!   writes it from a static [`ProviderSpec`]),
//! - for each kind it serves, a provider implementing [`LlmProvider`], [`TtsProvider`] or
//!   [`SttProvider`], whose `open` returns a [`Stream`],
//! - and one line, [`export!`], that makes it a component.
//!
//! Everything else is here: the contract's types ([`types`], generated once from `wit/`), the
//! kit's helpers ([`kit`]: SSE parsing, JSON options, PCM and WAV, error classification,
//! `Retry-After`, serial requests), and the conversions between them.
//! Build with `cargo build --release --target wasm32-wasip2`; the `.wasm` is the plugin.
//!
//! ```
//! use voiceblox_plugin_sdk::types::{
//!     Action, Event, Input, Kind, PluginInfo, ProviderConfig, ProviderError, ProviderInfo, TtsAudio, TtsEvent,
//! };
//! use voiceblox_plugin_sdk::{Plugin, Stream, TtsProvider, tts};
//!
//! /// A "provider" that answers every sentence with a beep, without the network.
//! struct Beeper;
//!
//! impl Plugin for Beeper {
//!     fn describe() -> PluginInfo {
//!         PluginInfo {
//!             name: "beeper".into(),
//!             version: "0.1.0".into(),
//!             providers: vec![ProviderInfo {
//!                 tts_sample_rates: vec![16_000],
//!                 ..voiceblox_plugin_sdk::provider("beeper", &[Kind::Tts])
//!             }],
//!         }
//!     }
//! }
//!
//! struct Beeps;
//!
//! impl TtsProvider for Beeper {
//!     type Stream = Beeps;
//!     fn open(_config: ProviderConfig, _request: tts::Request) -> Result<Beeps, ProviderError> {
//!         Ok(Beeps)
//!     }
//! }
//!
//! impl Stream for Beeps {
//!     fn handle(&mut self, input: Input) -> Vec<Action> {
//!         let beep = |ms: usize| {
//!             let pcm = (0..16 * ms).flat_map(|i| (((i % 32) as i16 - 16) * 1000).to_le_bytes()).collect();
//!             Action::Emit(Event::Tts(TtsEvent::Audio(TtsAudio { pcm, sample_rate: 16_000 })))
//!         };
//!         match input {
//!             Input::Flush => vec![beep(200), Action::Emit(Event::Tts(TtsEvent::Flushed))],
//!             Input::End => vec![Action::Finish],
//!             _ => Vec::new(),
//!         }
//!     }
//! }
//!
//! voiceblox_plugin_sdk::export!(Beeper, tts = Beeper);
//!
//! # fn main() {
//! // Plain Rust: the stream can be driven and tested natively.
//! let mut stream = <Beeper as TtsProvider>::open(voiceblox_plugin_sdk::test_config(), tts::Request {
//!     voice: None, sample_rate: None, options: "{}".into(),
//! }).unwrap();
//! assert_eq!(stream.handle(Input::Flush).len(), 2);
//! assert_eq!(stream.handle(Input::End), vec![Action::Finish]);
//! # }
//! ```

use std::cell::RefCell;

/// JSON, the format most provider APIs speak (the version the kit uses).
pub use serde_json;
pub use voiceblox_plugin_contract::{errors, types};
pub use voiceblox_plugin_kit as kit;

use types::{Action, Input, Kind, ProviderConfig, ProviderError, ProviderInfo};

mod describe;
pub use describe::{ProviderSpec, single_provider};
#[cfg(feature = "test-support")]
pub mod test_support;

/// The contract's bindings for a component serving every kind; [`export!`] exports them.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "full-plugin",
        additional_derives: [PartialEq],
        with: { "voiceblox:plugin/types@0.2.0": voiceblox_plugin_contract::types },
        pub_export_macro: true,
        export_macro_name: "export_full_plugin",
        default_bindings_module: "voiceblox_plugin_sdk::bindings",
    });
}

/// The LLM interface's request and message types.
pub use bindings::exports::voiceblox::plugin::llm;
/// The STT interface's request type.
pub use bindings::exports::voiceblox::plugin::stt;
/// The TTS interface's request type.
pub use bindings::exports::voiceblox::plugin::tts;

/// What the component is: its name, version and the providers it serves.
pub trait Plugin {
    fn describe() -> types::PluginInfo;
}

/// One stream the host drives: each input in, the actions it calls for out.
pub trait Stream: 'static {
    fn handle(&mut self, input: Input) -> Vec<Action>;
}

/// A provider of chat completions.
pub trait LlmProvider {
    type Stream: Stream;
    fn open(config: ProviderConfig, request: llm::Request) -> Result<Self::Stream, ProviderError>;
}

/// A provider of speech from text.
pub trait TtsProvider {
    type Stream: Stream;
    fn open(config: ProviderConfig, request: tts::Request) -> Result<Self::Stream, ProviderError>;
}

/// A provider of transcripts from audio.
pub trait SttProvider {
    type Stream: Stream;
    fn open(config: ProviderConfig, request: stt::Request) -> Result<Self::Stream, ProviderError>;
}

/// A provider's description with everything but its id and kinds empty, to fill in with
/// struct update syntax.
pub fn provider(id: &str, kinds: &[Kind]) -> ProviderInfo {
    ProviderInfo {
        id: id.into(),
        kinds: kinds.to_vec(),
        hosts: Vec::new(),
        config_keys: Vec::new(),
        api_key_env: Vec::new(),
        base_url_env: Vec::new(),
        stt_mode: None,
        stt_sample_rate: None,
        tts_sample_rates: Vec::new(),
    }
}

/// A provider config as the host passes it, for native tests of a stream: the key placeholder,
/// model `test`, no base URL, no options.
pub fn test_config() -> ProviderConfig {
    ProviderConfig {
        provider: "test".into(),
        model: "test".into(),
        api_key: Some("{{api-key}}".into()),
        base_url: None,
        language: None,
        options: "{}".into(),
    }
}

/// A stream the host holds as a resource. WIT resources are called through `&self`; a
/// component instance is single-threaded and the host never re-enters a stream, so the
/// borrow never fails.
#[doc(hidden)]
pub struct HostedStream(RefCell<Box<dyn Stream>>);

impl HostedStream {
    pub fn new(stream: impl Stream) -> Self {
        Self(RefCell::new(Box::new(stream)))
    }

    fn handle(&self, input: Input) -> Vec<Action> {
        self.0.borrow_mut().handle(input)
    }
}

impl llm::GuestCompletion for HostedStream {
    fn handle(&self, input: Input) -> Vec<Action> {
        HostedStream::handle(self, input)
    }
}

impl tts::GuestSynthesis for HostedStream {
    fn handle(&self, input: Input) -> Vec<Action> {
        HostedStream::handle(self, input)
    }
}

impl stt::GuestTranscription for HostedStream {
    fn handle(&self, input: Input) -> Vec<Action> {
        HostedStream::handle(self, input)
    }
}

/// The error a kind the plugin does not serve answers with.
#[doc(hidden)]
pub fn not_served(kind: &str) -> ProviderError {
    ProviderError::InvalidRequest(format!("this plugin serves no {kind} provider"))
}

/// Makes `Plugin` a component: `export!(MyPlugin, llm = MyLlm, tts = MyTts, stt = MyStt)`,
/// naming the provider type of each kind served (any of them may be left out, in this order).
/// Kinds left out answer "this plugin serves no ... provider".
///
/// The component's exports exist only in the wasm build; natively (unit tests, docs) the
/// providers are plain Rust.
#[macro_export]
macro_rules! export {
    ($plugin:ty $(, llm = $llm:ty)? $(, tts = $tts:ty)? $(, stt = $stt:ty)? $(,)?) => {
        const _: () = {
            use $crate::bindings::exports::voiceblox::plugin as __exports;
            use $crate::types::{PluginInfo, ProviderConfig, ProviderError};

            struct __Component;

            impl __exports::meta::Guest for __Component {
                fn describe() -> PluginInfo {
                    <$plugin as $crate::Plugin>::describe()
                }
            }

            impl __exports::llm::Guest for __Component {
                type Completion = $crate::HostedStream;
                fn open(
                    config: ProviderConfig,
                    request: __exports::llm::Request,
                ) -> Result<__exports::llm::Completion, ProviderError> {
                    $crate::__open!(llm, Completion, LlmProvider, "LLM", config, request $(, $llm)?)
                }
            }

            impl __exports::tts::Guest for __Component {
                type Synthesis = $crate::HostedStream;
                fn open(
                    config: ProviderConfig,
                    request: __exports::tts::Request,
                ) -> Result<__exports::tts::Synthesis, ProviderError> {
                    $crate::__open!(tts, Synthesis, TtsProvider, "TTS", config, request $(, $tts)?)
                }
            }

            impl __exports::stt::Guest for __Component {
                type Transcription = $crate::HostedStream;
                fn open(
                    config: ProviderConfig,
                    request: __exports::stt::Request,
                ) -> Result<__exports::stt::Transcription, ProviderError> {
                    $crate::__open!(stt, Transcription, SttProvider, "STT", config, request $(, $stt)?)
                }
            }

            #[cfg(target_arch = "wasm32")]
            $crate::bindings::export_full_plugin!(__Component with_types_in $crate::bindings);
        };
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __open {
    ($kind:ident, $resource:ident, $provider:ident, $name:literal, $config:ident, $request:ident, $ty:ty) => {{
        let stream = <$ty as $crate::$provider>::open($config, $request)?;
        Ok(__exports::$kind::$resource::new($crate::HostedStream::new(stream)))
    }};
    ($kind:ident, $resource:ident, $provider:ident, $name:literal, $config:ident, $request:ident) => {{
        let _ = ($config, $request);
        Err($crate::not_served($name))
    }};
}
