//! Replaying recorded provider traffic through an adapter's state machines, in its unit tests.

use voiceblox_plugin_kit::replay;
pub use voiceblox_plugin_kit::replay::CHUNK_SIZES;

use crate::types::{Action, Header, HttpRequest, HttpResponse, Input, ProviderConfig};

/// A provider config as the host passes it: key placeholder, no prefix on the model.
pub fn config(provider: &str, model: &str, base_url: Option<&str>, options: &str) -> ProviderConfig {
    ProviderConfig {
        provider: provider.into(),
        model: model.into(),
        api_key: Some("{{api-key}}".into()),
        base_url: base_url.map(str::to_string),
        language: None,
        options: options.into(),
    }
}

/// Feeds one response (head, body in `chunk`-byte pieces, end) and collects the actions.
pub fn respond(
    handle: impl FnMut(Input) -> Vec<Action>,
    id: u32,
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
    chunk: usize,
) -> Vec<Action> {
    let headers = headers.iter().map(|(name, value)| Header { name: name.to_string(), value: value.to_string() });
    let head = HttpResponse { status, headers: headers.collect() };
    let (head, end) = (Input::HttpResponse((id, head)), Input::HttpEnd(id));
    replay::respond(handle, head, body, chunk, |bytes| Input::HttpBody((id, bytes)), end)
}

/// The single HTTP request among `actions`, with its id.
pub fn only_request(actions: &[Action]) -> (u32, HttpRequest) {
    replay::only_one(actions, "request", |action| match action {
        Action::HttpRequest((id, request)) => Some((*id, request.clone())),
        _ => None,
    })
}

/// Headers as (name, value) pairs, in order.
pub fn header_pairs(request: &HttpRequest) -> Vec<(&str, &str)> {
    request.headers.iter().map(|h| (h.name.as_str(), h.value.as_str())).collect()
}
