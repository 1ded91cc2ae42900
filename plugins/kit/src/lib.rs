//! Helpers shared by voiceblox provider adapters.
//!
//! Adapters are sans-I/O state machines (DESIGN decision 1): the host performs every request and
//! feeds the bytes back. What is left for an adapter is parsing and building wire formats, and
//! most of that is the same for every provider. This crate holds those pieces as plain Rust with
//! no WIT bindings, so each is unit-tested on its own and every adapter gets the same behaviour.
//!
//! 1. Responses: [`sse::SseParser`] turns body chunks cut at arbitrary byte boundaries into
//!    server-sent events; [`status::classify_status`], [`retry_after::retry_after_ms`] and
//!    [`error_body::ErrorCollector`] turn a failed response into an [`error_body::HttpFailure`]
//!    the adapter maps onto its typed `provider-error`; [`response::ResponseBody`] tracks which
//!    of the two a body is.
//! 2. Audio: [`pcm::PcmCarry`] keeps 16-bit samples whole across chunks; [`wav::wav_s16le_mono`]
//!    wraps PCM for upload APIs.
//! 3. Requests: [`url`] joins base URLs, maps schemes and encodes query strings; [`json`] parses
//!    option objects and merges request extras; [`text::split_text`] keeps text under a
//!    provider's per-request limit.
//! 4. Ordering: [`queue::SerialQueue`] runs one request at a time in submission order, the shape
//!    of every "flush → request → result" adapter.
//! 5. Streams: [`requests::SerialRequests`] is the HTTP half of every request-per-job stream (send
//!    a job's request, read its response, fail on an error response), [`speech::SpeechStream`]
//!    a whole REST text-to-speech stream and [`sse_request::SseRequest`] one request answered
//!    with server-sent events (a streamed chat completion). They are generic over the adapter's
//!    request and event types and read and return plain-Rust [`requests::Input`],
//!    [`requests::Output`] and [`failure::Failure`] values; each adapter converts those to and
//!    from its generated contract types in one module. [`config`] reads the parts of a provider
//!    config every adapter reads alike.
//! 6. WebSockets: [`socket::Socket`] holds a socket's lifecycle (what the stream sends while it
//!    connects waits for it, nothing goes out once it is closing),
//!    [`connect_backlog::ConnectBacklog`] bounds the audio that waits, and [`ws_close`] reads the
//!    close frame of a socket that closed too early.
//!
//! With the `test-support` feature, `replay` has the helpers adapters' unit tests replay
//! recorded traffic with.
//!
//! ```
//! use voiceblox_plugin_kit::sse::SseParser;
//!
//! let mut parser = SseParser::new();
//! assert!(parser.push(b"data: {\"a\"").unwrap().is_empty());
//! let events = parser.push(b":1}\r\n\r\n").unwrap();
//! assert_eq!(events[0].data, "{\"a\":1}");
//! ```

#![deny(missing_docs)]

pub mod config;
pub mod connect_backlog;
pub mod error_body;
pub mod failure;
pub mod json;
pub mod pcm;
pub mod queue;
#[cfg(any(test, feature = "test-support"))]
pub mod replay;
pub mod requests;
pub mod response;
pub mod retry_after;
pub mod socket;
pub mod speech;
pub mod sse;
pub mod sse_request;
pub mod status;
pub mod text;
pub mod url;
pub mod wav;
pub mod ws_close;
