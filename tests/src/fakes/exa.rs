//! Fake of Exa's search API: `POST /search`.
//!
//! Behaviour copied from the real service: the `x-api-key` check comes first (a missing or
//! wrong key gets `401` with `{"requestId", "error", "tag"}`); the body must be JSON with a
//! string `query` (else `400`, tag `INVALID_REQUEST_BODY`); a success is
//! `{"requestId", "resolvedSearchType", "results": [{id, title, url, publishedDate, author,
//! text?, image?, favicon?}], "searchTime", "costDollars": {"total", ...}}` with at most
//! `numResults` results (default 10) and each `text` cut to `contents.text.maxCharacters`.
//!
//! ```no_run
//! # async fn demo() {
//! use voiceblox_tests::fakes::exa::{ExaFake, ExaPage};
//! let fake = ExaFake::start(Some("exa-key"), vec![ExaPage::new("Rust", "https://www.rust-lang.org/", "A language…")]);
//! // Point the client at fake.base_url() ("http://127.0.0.1:PORT").
//! # }
//! ```

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};

use super::ids::{Serial, hex_id};
use super::server::{self, FakeServer, RecordedRequest};
use super::wire::Reply;

pub const SEARCH_PATH: &str = "/search";

/// One page the fake's index holds; every search returns the index in order.
#[derive(Clone, Debug)]
pub struct ExaPage {
    pub title: Option<String>,
    pub url: String,
    pub published_date: Option<String>,
    pub author: Option<String>,
    pub text: String,
}

impl ExaPage {
    pub fn new(title: &str, url: &str, text: &str) -> Self {
        Self {
            title: Some(title.into()),
            url: url.into(),
            published_date: Some("2025-01-15T00:00:00.000Z".into()),
            author: None,
            text: text.into(),
        }
    }
}

/// A running Exa fake; dropping it shuts it down.
pub struct ExaFake {
    server: FakeServer,
}

struct Exa {
    api_key: Option<String>,
    pages: Vec<ExaPage>,
    requests: Serial,
}

impl ExaFake {
    /// Starts the fake on `127.0.0.1:0`. With `api_key`, requests must present it.
    pub fn start(api_key: Option<&str>, pages: Vec<ExaPage>) -> Self {
        let router = Router::new().route(SEARCH_PATH, post(search));
        let (server, _) =
            server::start(router, |_| Exa { api_key: api_key.map(str::to_owned), pages, requests: Serial::default() });
        ExaFake { server }
    }

    /// The origin in Exa's SDK convention (`baseURL`): `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        self.server.http_origin()
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.server.addr()
    }

    pub fn search_requests(&self) -> Vec<RecordedRequest> {
        self.server.requests_to(SEARCH_PATH)
    }
}

fn error(status: u16, request_id: &str, message: &str, tag: &str) -> Response {
    Reply::json(status, json!({"requestId": request_id, "error": message, "tag": tag}).to_string()).into_response(&[])
}

async fn search(State(exa): State<Arc<Exa>>, headers: HeaderMap, body: Bytes) -> Response {
    let n = exa.requests.next();
    let request_id = hex_id(0xe8a, n, 32);
    if let Some(expected) = &exa.api_key {
        match headers.get("x-api-key").and_then(|value| value.to_str().ok()) {
            None => {
                return error(
                    401,
                    &request_id,
                    "Missing API key. Provide it in the x-api-key header.",
                    "MISSING_API_KEY",
                );
            }
            Some(key) if key != expected => return error(401, &request_id, "Invalid API key", "INVALID_API_KEY"),
            Some(_) => {}
        }
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return error(400, &request_id, "Request body is not valid JSON", "INVALID_REQUEST_BODY");
    };
    let Some(query) = request.get("query").and_then(Value::as_str) else {
        return error(400, &request_id, "Invalid request body: query is required", "INVALID_REQUEST_BODY");
    };
    let num_results = request.get("numResults").and_then(Value::as_u64).unwrap_or(10) as usize;
    let text = &request["contents"]["text"];
    let max_characters = text.get("maxCharacters").and_then(Value::as_u64).map(|max| max as usize);
    let wants_text = !text.is_null() && text != &Value::Bool(false);
    let results: Vec<Value> = exa
        .pages
        .iter()
        .take(num_results)
        .map(|page| {
            let mut result = json!({
                "id": page.url,
                "title": page.title,
                "url": page.url,
                "publishedDate": page.published_date,
                "author": page.author,
            });
            if wants_text {
                let cut: String = match max_characters {
                    Some(max) => page.text.chars().take(max).collect(),
                    None => page.text.clone(),
                };
                result["text"] = Value::String(cut);
            }
            result
        })
        .collect();
    let contents_cost = if wants_text { 0.001 * results.len() as f64 } else { 0.0 };
    let body = json!({
        "requestId": request_id,
        "resolvedSearchType": if query.split_whitespace().count() > 3 { "neural" } else { "keyword" },
        "results": results,
        "searchTime": 412.5,
        "costDollars": {
            "total": 0.005 + contents_cost,
            "search": {"neural": 0.005},
            "contents": {"text": contents_cost},
        },
    });
    Reply::json(200, body.to_string()).into_response(&[])
}
