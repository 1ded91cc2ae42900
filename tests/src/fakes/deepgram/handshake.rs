//! `GET /v1/listen` up to the upgrade: the key, the query, the scripted refusal.

use std::sync::Arc;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::listen::Session;
use super::messages::Formatting;
use super::session::ListenSession;
use super::timeline::Options;
use super::{Deepgram, bad_request};
use crate::fakes::server::decode_query;
use crate::fakes::wire::insert_header;
use crate::fakes::ws::Socket;

/// The handshake parameters the session runs with.
pub(super) struct Params {
    pub(super) sample_rate: u32,
    pub(super) channels: u32,
    pub(super) model: String,
    pub(super) options: Options,
}

fn parse_params(query: &[(String, String)]) -> Result<Params, String> {
    let get = |name: &str| query.iter().find_map(|(key, value)| (key == name).then_some(value.as_str()));
    let flag = |name: &str| get(name).is_some_and(|value| value == "true");
    let number = |name: &str| -> Result<Option<u64>, String> {
        get(name)
            .map(|value| {
                value.parse::<u64>().map_err(|_| format!("Bad Request: invalid value for `{name}`: {value:?}"))
            })
            .transpose()
    };
    match get("encoding") {
        Some("linear16") => {}
        Some(other) => {
            return Err(format!("voiceblox fake: only encoding=linear16 is implemented, got {other:?}"));
        }
        None => {
            return Err("voiceblox fake: only raw audio is implemented; set encoding=linear16".into());
        }
    }
    let sample_rate = number("sample_rate")?.ok_or("Bad Request: sample_rate is required when encoding is set")?;
    let sample_rate = u32::try_from(sample_rate)
        .ok()
        .filter(|rate| (8_000..=48_000).contains(rate))
        .ok_or_else(|| format!("Bad Request: unsupported sample_rate {sample_rate}"))?;
    let channels = number("channels")?.unwrap_or(1);
    if channels != 1 {
        return Err(format!("voiceblox fake: only channels=1 is implemented, got {channels}"));
    }
    let endpointing_ms = match get("endpointing") {
        Some("false") => None,
        Some("true") => Some(10),
        Some(_) => number("endpointing")?,
        None => Some(10),
    };
    let interim_results = flag("interim_results");
    let utterance_end_ms = number("utterance_end_ms")?;
    if utterance_end_ms.is_some() && !interim_results {
        return Err("Bad Request: utterance_end_ms requires interim_results=true".into());
    }
    Ok(Params {
        sample_rate,
        channels: 1,
        model: get("model").unwrap_or("nova-3").to_owned(),
        options: Options {
            interim_results,
            vad_events: flag("vad_events"),
            utterance_end_ms,
            endpointing_ms,
            formatting: Formatting {
                punctuate: flag("punctuate") || flag("smart_format"),
                diarize: flag("diarize"),
                // Filled from the script: the language the "speaker" talks.
                language: (get("language") == Some("multi") || flag("detect_language")).then(String::new),
            },
        },
    })
}

pub(super) async fn handle(
    State(api): State<Arc<Deepgram>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let request_id = api.next_request_id();
    if let Some(response) = api.unauthorized(&headers, &request_id) {
        return response;
    }
    let query = decode_query(query.as_deref().unwrap_or(""));
    let params = match parse_params(&query) {
        Ok(params) => params,
        Err(message) => return bad_request(&message, &request_id),
    };
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => {
            let message = format!("Bad Request: not a WebSocket upgrade ({rejection})");
            return bad_request(&message, &request_id);
        }
    };
    let script = api.listen.next().unwrap_or_default();
    if let Some(reply) = script.reject.clone() {
        let headers = [("dg-request-id".to_owned(), request_id)];
        return reply.into_response(&headers);
    }
    let entry = api.sessions.open(ListenSession::new(query, params.sample_rate, request_id.clone()));
    let header_id = request_id.clone();
    let shutdown = api.shutdown.clone();
    let mut response = upgrade.on_upgrade(move |ws| async move {
        let socket = Socket::new(ws, entry, shutdown);
        Session::new(socket, script, params, request_id).run().await;
    });
    insert_header(&mut response, "dg-request-id", &header_id);
    response
}
