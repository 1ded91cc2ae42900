//! Response heads in the contract's types, read with the kit's helpers.

use voiceblox_plugin_kit::response::ResponseBody;

use voiceblox_plugin_contract::types::HttpResponse;

/// How to read the body that follows this head.
pub fn body_for(head: &HttpResponse) -> ResponseBody {
    let headers = head.headers.iter().map(|h| (h.name.as_str(), h.value.as_str()));
    ResponseBody::for_head(head.status, headers)
}

/// A response header's value, by case-insensitive name.
pub fn header<'a>(head: &'a HttpResponse, name: &str) -> Option<&'a str> {
    head.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value.as_str())
}
