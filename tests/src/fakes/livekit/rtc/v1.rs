//! `/rtc/v1`: the join parameters travel as one protobuf, `join_request` = URL-safe base64 of
//! a `WrappedJoinRequest` (its `JoinRequest` gzipped by browsers), and the connection is the
//! single peer connection of current SDKs (see `single_pc.rs`). Refusals are the server's
//! (`rtcservice.go`): plain-text 400s naming what was wrong.

use std::collections::HashMap;
use std::io::Read as _;

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use livekit_protocol as proto;
use prost::Message as _;

use super::Refusal;

/// The most a decompressed join request may hold (the server's limit).
const MAX_JOIN_REQUEST: u64 = 1 << 20;

fn bad(message: &str) -> Refusal {
    Refusal(StatusCode::BAD_REQUEST, message.into())
}

/// The `JoinRequest` of a `/rtc/v1` query.
pub(super) fn join_request(query: &HashMap<String, String>) -> Result<proto::JoinRequest, Refusal> {
    let encoded = query.get("join_request").filter(|v| !v.is_empty()).ok_or_else(|| bad("join_request is required"))?;
    let wrapped = URL_SAFE
        .decode(encoded)
        .or_else(|_| URL_SAFE_NO_PAD.decode(encoded.trim_end_matches('=')))
        .map_err(|_| bad("cannot base64 decode wrapped join request"))?;
    let wrapped =
        proto::WrappedJoinRequest::decode(&wrapped[..]).map_err(|_| bad("cannot unmarshal wrapped join request"))?;
    let bytes = match proto::wrapped_join_request::Compression::try_from(wrapped.compression) {
        Ok(proto::wrapped_join_request::Compression::None) => wrapped.join_request,
        Ok(proto::wrapped_join_request::Compression::Gzip) => {
            let mut bytes = Vec::new();
            let mut decoder = flate2::read::GzDecoder::new(&wrapped.join_request[..]).take(MAX_JOIN_REQUEST + 1);
            decoder.read_to_end(&mut bytes).map_err(|_| bad("cannot decompress join request"))?;
            if bytes.len() as u64 > MAX_JOIN_REQUEST {
                return Err(bad("join request too large"));
            }
            bytes
        }
        Err(_) => return Err(bad("unknown join request compression")),
    };
    proto::JoinRequest::decode(&bytes[..]).map_err(|_| bad("cannot unmarshal join request"))
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn query(join: &proto::JoinRequest, gzip: bool, padded: bool) -> HashMap<String, String> {
        let mut bytes = join.encode_to_vec();
        if gzip {
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(&bytes).unwrap();
            bytes = encoder.finish().unwrap();
        }
        let compression = if gzip { 1 } else { 0 };
        let wrapped = proto::WrappedJoinRequest { compression, join_request: bytes }.encode_to_vec();
        let encoded = if padded { URL_SAFE.encode(wrapped) } else { URL_SAFE_NO_PAD.encode(wrapped) };
        HashMap::from([("join_request".to_string(), encoded)])
    }

    #[test]
    fn browsers_gzip_and_native_sdks_may_not() {
        let join = proto::JoinRequest {
            client_info: Some(proto::ClientInfo { protocol: 16, ..Default::default() }),
            publisher_offer: Some(proto::SessionDescription {
                r#type: "offer".into(),
                sdp: "v=0".into(),
                id: 1,
                ..Default::default()
            }),
            ..Default::default()
        };
        for (gzip, padded) in [(true, true), (false, true), (false, false)] {
            let decoded = join_request(&query(&join, gzip, padded)).map_err(|r| r.1).unwrap();
            assert_eq!(decoded, join);
        }
    }

    #[test]
    fn refusals_say_what_was_wrong() {
        let refused = |q: HashMap<String, String>| join_request(&q).map(|_| ()).map_err(|r| (r.0, r.1));
        assert_eq!(refused(HashMap::new()), Err((StatusCode::BAD_REQUEST, "join_request is required".into())));
        let garbage = HashMap::from([("join_request".to_string(), "!!!".to_string())]);
        assert_eq!(refused(garbage).unwrap_err().1, "cannot base64 decode wrapped join request");
        let not_proto = HashMap::from([("join_request".to_string(), URL_SAFE.encode([0xff, 0xff, 0xff]))]);
        assert_eq!(refused(not_proto).unwrap_err().1, "cannot unmarshal wrapped join request");
        let wrapped = proto::WrappedJoinRequest { compression: 1, join_request: b"not gzip".to_vec() };
        let not_gzip = HashMap::from([("join_request".to_string(), URL_SAFE.encode(wrapped.encode_to_vec()))]);
        assert_eq!(refused(not_gzip).unwrap_err().1, "cannot decompress join request");
    }
}
