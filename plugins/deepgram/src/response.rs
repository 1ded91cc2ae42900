//! Response heads in the contract's types, read with the kit's helpers.

use voiceblox_plugin_kit::response::ResponseBody;

use crate::voiceblox::plugin::types::HttpResponse;

/// How to read the body that follows this head.
pub fn body_for(head: &HttpResponse) -> ResponseBody {
    let headers = head.headers.iter().map(|h| (h.name.as_str(), h.value.as_str()));
    ResponseBody::for_head(head.status, headers)
}
