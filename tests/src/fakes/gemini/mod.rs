//! Fake of the Gemini API's content generation: `POST /v1beta/models/{model}:streamGenerateContent`
//! (server-sent events with `?alt=sse`, one JSON array without) and `:generateContent`.
//!
//! ```no_run
//! # async fn demo() {
//! use voiceblox_tests::fakes::gemini::{self, GeminiScript, GenerateScript};
//! let fake = gemini::start(
//!     GeminiScript::new()
//!         .api_key("AIza-test")
//!         .generate(GenerateScript::rate_limited(1))
//!         .generate(GenerateScript::text(["Hel", "lo."]).with_usage(12, 3)),
//! );
//! // Point the adapter at fake.base_url() ("http://127.0.0.1:PORT", no version: the SDKs'
//! // base URL convention).
//! # }
//! ```
//!
//! Behaviour copied from the real service: the key (`x-goog-api-key` header or `?key=` query)
//! is checked first: a missing one is `403 PERMISSION_DENIED`, a wrong one `400
//! INVALID_ARGUMENT` with an `API_KEY_INVALID` detail. Then the model (`404 NOT_FOUND` for one
//! the service does not have), then the body: unknown field names are refused the way Google's
//! JSON parser refuses them (tool schemas included: `additionalProperties` is not a field of the
//! API's `Schema`), function responses must answer the function call turn before them part for
//! part. Every error body is a two-space-indented `google.rpc.Status`. A stream is one
//! `data: <json>\r\n\r\n` event per chunk, each a whole `GenerateContentResponse`; the last
//! carries the `finishReason` and the final usage; a failure after the stream started is an
//! `{"error": ...}` event, after which the body ends.

mod errors;
mod format;
mod generate;
mod request;
mod stream;
#[cfg(test)]
mod tests;

use axum::Router;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;

pub use errors::error_body;
pub use generate::GenerateScript;

use super::ids::Serial;
use super::server::{self, FakeServer, RecordedRequest, Shutdown};
use super::wire::{Piece, Queue, Reply, insert_header, streamed_body};

/// Where the model methods live; the model and method follow (`gemini-2.5-flash:generateContent`).
pub const MODELS_PATH: &str = "/v1beta/models/";

/// Everything the Gemini fake will answer. With nothing queued, every request gets a short text
/// reply.
#[derive(Clone, Debug, Default)]
pub struct GeminiScript {
    api_key: Option<String>,
    generate: Vec<GenerateScript>,
    models: Vec<String>,
    require_signatures: bool,
}

impl GeminiScript {
    /// No key check; every `gemini-*` model; the default script.
    pub fn new() -> Self {
        Self::default()
    }

    /// Require the key `x-goog-api-key: <key>` (or `?key=<key>`); anything else gets Google's
    /// refusal.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Queue the answer to the next generate request.
    pub fn generate(mut self, script: GenerateScript) -> Self {
        self.generate.push(script);
        self
    }

    /// The models the service has (default: any `gemini-*` name); others get `404 NOT_FOUND`.
    pub fn models<I, S>(mut self, models: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.models = models.into_iter().map(Into::into).collect();
        self
    }

    /// Refuse, as Gemini 3 models do, function calls of the current turn sent back without the
    /// `thoughtSignature` they came with.
    pub fn require_thought_signatures(mut self) -> Self {
        self.require_signatures = true;
        self
    }

    pub fn start(self) -> GeminiFake {
        GeminiFake::start(self)
    }
}

impl From<GenerateScript> for GeminiScript {
    fn from(script: GenerateScript) -> Self {
        GeminiScript::new().generate(script)
    }
}

/// Starts the fake on `127.0.0.1:0` (inside a tokio runtime).
pub fn start(script: impl Into<GeminiScript>) -> GeminiFake {
    GeminiFake::start(script)
}

/// A running Gemini fake; dropping it shuts it down.
pub struct GeminiFake {
    server: FakeServer,
}

impl GeminiFake {
    pub fn start(script: impl Into<GeminiScript>) -> Self {
        let script = script.into();
        let router = Router::new().route("/v1beta/models/{call}", post(generate::handle)).fallback(not_found);
        let (server, _) = server::start(router, |shutdown| Gemini {
            api_key: script.api_key,
            generate: Queue::new(script.generate),
            models: script.models,
            require_signatures: script.require_signatures,
            shutdown,
            requests: Serial::default(),
        });
        GeminiFake { server }
    }

    /// The base URL in the google-genai SDKs' convention (`GOOGLE_BASE_URL`), without the API
    /// version: `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        self.server.http_origin()
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.server.addr()
    }

    /// Every request to a model method, in arrival order (refused ones included).
    pub fn generate_requests(&self) -> Vec<RecordedRequest> {
        self.server.requests().into_iter().filter(|r| r.path().starts_with(MODELS_PATH)).collect()
    }

    /// Every HTTP request received, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.server.requests()
    }
}

pub(crate) struct Gemini {
    api_key: Option<String>,
    generate: Queue<GenerateScript>,
    models: Vec<String>,
    require_signatures: bool,
    shutdown: Shutdown,
    requests: Serial,
}

/// One request being answered: its number (the seed of its ids) and the headers every answer
/// to it carries.
struct Call {
    serial: u64,
    headers: Vec<(String, String)>,
}

impl Call {
    /// A JSON answer (`application/json; charset=UTF-8`, as Google labels it).
    fn json(&self, status: u16, body: String) -> Response {
        let mut reply = Reply::json(status, body);
        reply.set_header("content-type", "application/json; charset=UTF-8".into());
        reply.into_response(&self.headers)
    }
}

impl Gemini {
    fn begin(&self) -> Call {
        let serial = self.requests.next();
        let headers = vec![
            ("vary".into(), "Origin, X-Origin, Referer".into()),
            ("server".into(), "scaffolding on HTTPServer2".into()),
            ("x-content-type-options".into(), "nosniff".into()),
        ];
        Call { serial, headers }
    }

    /// The key check, made before anything else: the refusal, if any.
    fn refusal(&self, headers: &HeaderMap, query_key: Option<&str>) -> Option<(u16, String)> {
        let expected = self.api_key.as_deref()?;
        let header = headers.get("x-goog-api-key").map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
        match header.as_deref().or(query_key) {
            Some(key) if key == expected => None,
            Some(key) if !key.is_empty() => Some((400, errors::invalid_key(key))),
            _ => Some((403, errors::body(403, errors::MISSING_KEY, Vec::new()))),
        }
    }

    fn knows(&self, model: &str) -> bool {
        if self.models.is_empty() { model.starts_with("gemini-") } else { self.models.iter().any(|m| m == model) }
    }

    /// A `200` event stream of `pieces`, one chunk each.
    fn stream(&self, pieces: Vec<Piece>, call: &Call) -> Response {
        let mut response = Response::new(streamed_body(pieces, self.shutdown.clone()));
        for (name, value) in &call.headers {
            insert_header(&mut response, name, value);
        }
        insert_header(&mut response, "content-type", "text/event-stream");
        insert_header(&mut response, "content-disposition", "attachment");
        response
    }
}

/// Google's front end answers an unknown path with its HTML 404 page.
async fn not_found() -> Response {
    let mut reply = Reply::json(
        404,
        "<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n  <title>Error 404 (Not Found)!!1</title>\n  \
         <p><b>404.</b> <ins>That’s an error.</ins>\n  <p>The requested URL was not found on this server.  \
         <ins>That’s all we know.</ins>\n",
    );
    reply.set_header("content-type", "text/html; charset=UTF-8".into());
    reply.into_response(&[])
}
