//! The forms a `POST /api/agent-session` body takes, read without losing the caller's JSON:
//! the room metadata is that JSON, keys and unknown fields included.
//!
//! - `{ "config": AgentConfig, "livekit"?: {url, apiKey, apiSecret}, "apiKeys"?: {provider: key} }`
//! - a bare AgentConfig (it may carry `livekit` and `apiKeys` too; they are taken out)
//! - Voiceblox's `{ "nodes", "edges", ... }` graph: refused until a graph compiler exists.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use voiceblox_host::config::ApiKey;

use crate::error::ApiError;
use crate::settings::LiveKitOverride;

pub struct SessionRequest {
    /// The AgentConfig exactly as sent (minus `livekit`/`apiKeys` for a bare one).
    pub config: Value,
    pub livekit: LiveKitOverride,
    /// Provider id → key; blank keys are dropped.
    pub api_keys: BTreeMap<String, ApiKey>,
    /// `"record": true`: the caller asks for this session to be recorded.
    pub record: bool,
}

pub fn parse(body: &[u8]) -> Result<SessionRequest, ApiError> {
    from_object(json_object(body)?)
}

/// `POST /api/direct-session`: `{ "offer": SDP, "config": AgentConfig, "apiKeys"? }` (or the
/// offer beside a bare AgentConfig's fields).
pub fn parse_direct(body: &[u8]) -> Result<(String, SessionRequest), ApiError> {
    let mut object = json_object(body)?;
    let offer: Option<String> = field(&mut object, "offer")?;
    let Some(offer) = offer.filter(|o| !o.trim().is_empty()) else {
        return Err(ApiError::bad_request(
            "missing_offer",
            "send {\"offer\": \"<the browser's SDP offer>\", \"config\": AgentConfig}",
        ));
    };
    Ok((offer, from_object(object)?))
}

/// `DELETE /api/direct-session`: `{ "sessionId" }`.
pub fn parse_direct_end(body: &[u8]) -> Result<String, ApiError> {
    let mut object = json_object(body)?;
    let id: Option<String> = field(&mut object, "sessionId")?;
    id.map(|id| id.trim().to_string())
        .filter(|id| !id.is_empty())
        .ok_or_else(|| ApiError::bad_request("missing_session_id", "send {\"sessionId\": \"direct-...\"}"))
}

fn from_object(mut object: Map<String, Value>) -> Result<SessionRequest, ApiError> {
    if object.contains_key("nodes") || object.contains_key("edges") {
        return Err(ApiError::bad_request(
            "graph_not_supported",
            "builder graphs ({nodes, edges}) are not supported yet: send {\"config\": AgentConfig} or a bare \
             AgentConfig",
        ));
    }
    let livekit: Option<LiveKitOverride> = field(&mut object, "livekit")?;
    let keys: Option<BTreeMap<String, Option<String>>> = field(&mut object, "apiKeys")?;
    let record: Option<bool> = field(&mut object, "record")?;
    let mut config = match object.remove("config") {
        Some(config @ Value::Object(_)) => config,
        Some(_) => return Err(ApiError::bad_request("invalid_request", "\"config\" must be an AgentConfig object")),
        None => Value::Object(object),
    };
    let record = record.unwrap_or(false);
    if let (true, Some(config)) = (record, config.as_object_mut()) {
        // The request's ask travels with the config, so a worker sees it too.
        config.insert("record".into(), Value::Bool(true));
    }
    let api_keys = keys
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(provider, key)| {
            let key = key.filter(|k| !k.trim().is_empty())?;
            Some((provider.trim().to_ascii_lowercase(), ApiKey::new(key)))
        })
        .collect();
    Ok(SessionRequest { config, livekit: livekit.unwrap_or_default(), api_keys, record })
}

/// `DELETE /api/agent-session`: `{ "roomName", "livekit"? }`.
pub struct EndRequest {
    pub room_name: String,
    pub livekit: LiveKitOverride,
}

pub fn parse_end(body: &[u8]) -> Result<EndRequest, ApiError> {
    let mut object = json_object(body)?;
    let livekit: Option<LiveKitOverride> = field(&mut object, "livekit")?;
    let room_name: Option<String> = field(&mut object, "roomName")?;
    match room_name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty()) {
        Some(room_name) => Ok(EndRequest { room_name, livekit: livekit.unwrap_or_default() }),
        None => Err(ApiError::bad_request("missing_room_name", "send {\"roomName\": \"voiceblox-...\"}")),
    }
}

fn json_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(ApiError::bad_request("invalid_request", "the body must be a JSON object")),
        Err(e) => Err(ApiError::bad_request("invalid_json", format!("the body is not valid JSON: {e}"))),
    }
}

/// Takes `name` out of the object; `null` counts as absent.
fn field<T: DeserializeOwned>(object: &mut Map<String, Value>, name: &str) -> Result<Option<T>, ApiError> {
    match object.remove(name) {
        None | Some(Value::Null) => Ok(None),
        // The message names the field and the type problem, never the value (it may be a secret).
        Some(value) => serde_json::from_value(value).map(Some).map_err(|e| {
            ApiError::bad_request("invalid_request", format!("\"{name}\" is malformed: {}", type_only(&e)))
        }),
    }
}

/// serde's message up to the value it quotes ("invalid type: string \"sk-...\", expected ...").
fn type_only(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match (text.find("invalid type:"), text.find("expected")) {
        (Some(_), Some(at)) => text[at..].to_string(),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(body: &str) -> Result<SessionRequest, ApiError> {
        parse(body.as_bytes())
    }

    #[test]
    fn wrapped_form_keeps_the_config_as_sent() {
        let body = r#"{"config": {"agentName": "a", "llm": {"apiKey": "sk-in-config"}, "extra": 1},
                       "livekit": {"url": "wss://x"}, "apiKeys": {"OpenAI": "sk-1", "deepgram": " "}}"#;
        let request = parse_str(body).unwrap();
        assert_eq!(request.config["llm"]["apiKey"], "sk-in-config");
        assert_eq!(request.config["extra"], 1);
        assert_eq!(request.livekit.url.as_deref(), Some("wss://x"));
        assert_eq!(request.api_keys.keys().collect::<Vec<_>>(), ["openai"]);
    }

    #[test]
    fn bare_form_drops_the_request_fields() {
        let request = parse_str(r#"{"agentName": "a", "apiKeys": {"openai": "sk-1"}, "livekit": null}"#).unwrap();
        assert_eq!(request.config, serde_json::json!({"agentName": "a"}));
        assert_eq!(request.api_keys.len(), 1);
    }

    #[test]
    fn refuses_graphs_non_objects_and_bad_fields() {
        let code = |body: &str| parse_str(body).err().map(|e| e.code);
        assert_eq!(code(r#"{"nodes": [], "edges": []}"#), Some("graph_not_supported"));
        assert_eq!(code("{"), Some("invalid_json"));
        assert_eq!(code("[1]"), Some("invalid_request"));
        assert_eq!(code(r#"{"config": "x"}"#), Some("invalid_request"));
        let error = parse_str(r#"{"apiKeys": {"openai": 5}, "livekit": {"apiSecret": "shh-123"}}"#).err().unwrap();
        assert_eq!(error.code, "invalid_request");
        let error = parse_str(r#"{"livekit": {"apiSecret": 7, "url": "sk-zzz"}}"#).err().unwrap();
        assert!(!error.message.contains("sk-zzz"), "{}", error.message);
    }

    #[test]
    fn direct_requests_need_an_offer_and_keep_the_config() {
        let (offer, request) = parse_direct(br#"{"offer": "v=0", "config": {"agentName": "a"}}"#).unwrap();
        assert_eq!((offer.as_str(), &request.config), ("v=0", &serde_json::json!({"agentName": "a"})));
        let (_, bare) = parse_direct(br#"{"offer": "v=0", "agentName": "b"}"#).unwrap();
        assert_eq!(bare.config, serde_json::json!({"agentName": "b"}));
        assert_eq!(parse_direct(br#"{"config": {}}"#).err().unwrap().code, "missing_offer");
        assert_eq!(parse_direct(br#"{"offer": 5}"#).err().unwrap().code, "invalid_request");
        assert_eq!(parse_direct_end(br#"{"sessionId": " direct-1 "}"#).unwrap(), "direct-1");
        assert_eq!(parse_direct_end(b"{}").err().unwrap().code, "missing_session_id");
    }

    #[test]
    fn end_needs_a_room_name() {
        assert_eq!(parse_end(br#"{"roomName": "voiceblox-1-a"}"#).unwrap().room_name, "voiceblox-1-a");
        assert_eq!(parse_end(br#"{"roomName": "  "}"#).err().unwrap().code, "missing_room_name");
        assert_eq!(parse_end(b"{}").err().unwrap().code, "missing_room_name");
    }
}
