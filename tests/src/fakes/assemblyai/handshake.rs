//! `GET /v3/ws` up to the upgrade: the query the session runs with, and the key check.
//!
//! As with the real service, the upgrade is accepted first and refusals come as close frames
//! (a wrong key: 1008 "Unauthorized Connection: ..."), so a client sees them after `open`.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::script::Options;
use super::session::StreamSession;
use super::stream::{Refusal, Session};
use super::{AssemblyAi, ENGLISH, MULTILINGUAL};
use crate::fakes::ids::uuid;
use crate::fakes::server::decode_query;
use crate::fakes::ws::Socket;

/// The handshake parameters the session runs with.
pub(super) struct Params {
    pub(super) sample_rate: u32,
    pub(super) options: Options,
}

/// The query, checked the way the service checks it; the error is the 3006 close reason.
fn parse_params(query: &[(String, String)]) -> Result<Params, String> {
    let get = |name: &str| query.iter().find_map(|(key, value)| (key == name).then_some(value.as_str()));
    let flag = |name: &str| get(name).is_some_and(|value| value.eq_ignore_ascii_case("true"));
    let number = |name: &str| -> Result<Option<f64>, String> {
        get(name)
            .map(|value| value.parse::<f64>().map_err(|_| format!("Invalid Query Parameter: {name}={value:?}")))
            .transpose()
    };
    match get("speech_model") {
        Some(ENGLISH | MULTILINGUAL) => {}
        Some(other) => return Err(format!("voiceblox fake: speech_model {other:?} is not implemented")),
        None => return Err("Invalid Query Parameter: speech_model is required".into()),
    }
    match get("encoding").unwrap_or("pcm_s16le") {
        "pcm_s16le" => {}
        other => return Err(format!("voiceblox fake: only encoding=pcm_s16le is implemented, got {other:?}")),
    }
    let sample_rate = number("sample_rate")?.unwrap_or(16_000.0);
    if sample_rate.fract() != 0.0 || !(8_000.0..=48_000.0).contains(&sample_rate) {
        return Err("Sample rate must be a positive integer".into());
    }
    if let Some(terms) = get("keyterms_prompt")
        && serde_json::from_str::<Vec<String>>(terms).is_err()
    {
        return Err(format!("Invalid Query Parameter: keyterms_prompt must be a JSON list of strings, got {terms:?}"));
    }
    let min_silence = number("min_turn_silence")?.or(number("min_end_of_turn_silence_when_confident")?);
    let inactivity = number("inactivity_timeout")?;
    if inactivity.is_some_and(|s| !(5.0..=3600.0).contains(&s)) {
        return Err("Invalid Query Parameter: inactivity_timeout must be between 5 and 3600".into());
    }
    Ok(Params {
        sample_rate: sample_rate as u32,
        options: Options {
            format_turns: flag("format_turns"),
            min_turn_silence_ms: min_silence.unwrap_or(400.0),
            language_detection: flag("language_detection"),
            inactivity_timeout: inactivity.map(Duration::from_secs_f64),
        },
    })
}

pub(super) async fn handle(
    State(api): State<Arc<AssemblyAi>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let query = decode_query(query.as_deref().unwrap_or(""));
    let id = uuid(0xa55e, api.sessions_started.next());
    let refusal = api.refusal(&headers, &query);
    let (params, refusal) = match (refusal, parse_params(&query)) {
        (Some(refusal), _) => (None, Some(refusal)),
        (None, Ok(params)) => (Some(params), None),
        (None, Err(reason)) => (None, Some(Refusal { code: 3006, reason })),
    };
    let script = api.streams.next().unwrap_or_default();
    let sample_rate = params.as_ref().map_or(16_000, |p| p.sample_rate);
    let entry = api.sessions.open(StreamSession::new(query, sample_rate, id.clone()));
    let shutdown = api.shutdown.clone();
    upgrade.on_upgrade(move |ws| async move {
        let socket = Socket::new(ws, entry, shutdown);
        Session::new(socket, script, params, id).run(refusal).await;
    })
}
