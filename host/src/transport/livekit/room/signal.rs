//! LiveKit's signalling WebSocket (`/rtc`): binary protobuf `SignalRequest` up,
//! `SignalResponse` down.

use std::net::SocketAddr;

use futures_util::{SinkExt as _, StreamExt as _};
use livekit_protocol as proto;
use prost::Message as _;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::error::RoomError;
use super::role::PeerRole;
use crate::error_text::chain;
use crate::transport::webrtc::CandidateInit;

/// The signalling protocol this client speaks: dual peer connection, subscriber primary,
/// `ping_req`/`pong_resp`.
pub const PROTOCOL_VERSION: u32 = 16;

/// LiveKit's join responses carry room and participant metadata (up to 512 KiB each).
const MAX_MESSAGE: usize = 16 * 1024 * 1024;

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// `{url}/rtc?sdk=rust&protocol=16&auto_subscribe=…&adaptive_stream=0`, from a project URL in
/// any of the forms `LIVEKIT_URL` takes (`ws(s)://` or `http(s)://`, with or without a path).
pub fn rtc_url(url: &str, auto_subscribe: bool) -> Result<url::Url, RoomError> {
    let invalid = |reason: String| RoomError::InvalidUrl { url: url.to_string(), reason };
    let mut parsed = url::Url::parse(url).map_err(|e| invalid(e.to_string()))?;
    let scheme = match parsed.scheme() {
        "ws" | "http" => "ws",
        "wss" | "https" => "wss",
        _ => return Err(invalid("the scheme must be wss, ws, https or http".into())),
    };
    parsed.set_scheme(scheme).map_err(|()| invalid("cannot use a WebSocket scheme".into()))?;
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid("no host".into()));
    }
    let path = format!("{}/rtc", parsed.path().trim_end_matches('/'));
    parsed.set_path(&path);
    parsed
        .query_pairs_mut()
        .clear()
        .append_pair("sdk", "rust")
        .append_pair("protocol", &PROTOCOL_VERSION.to_string())
        .append_pair("auto_subscribe", if auto_subscribe { "1" } else { "0" })
        .append_pair("adaptive_stream", "0");
    Ok(parsed)
}

/// Opens the WebSocket with the token as a bearer header (the server reads it before the
/// `access_token` query, and headers stay out of access logs). Returns the socket and the
/// server's address, where its media most likely lives too.
pub async fn connect(url: &url::Url, token: &str) -> Result<(Socket, SocketAddr), RoomError> {
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| RoomError::InvalidUrl { url: url.to_string(), reason: e.to_string() })?;
    let bearer = http::HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| RoomError::Refused { status: 401, message: "the token is not a valid header value".into() })?;
    request.headers_mut().insert(http::header::AUTHORIZATION, bearer);
    let host = url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']');
    let port = url.port_or_known_default().unwrap_or(443);
    let tcp = TcpStream::connect((host, port))
        .await
        .map_err(|e| RoomError::Unreachable(format!("cannot connect to {host}:{port}: {e}")))?;
    let _ = tcp.set_nodelay(true);
    let server = tcp.peer_addr().map_err(|e| RoomError::Unreachable(e.to_string()))?;
    // wss shares the host's TLS stack: rustls with ring (no second crypto provider).
    crate::egress::tls::install_crypto_provider();
    let config = tungstenite::protocol::WebSocketConfig::default().max_message_size(Some(MAX_MESSAGE));
    match tokio_tungstenite::client_async_tls_with_config(request, tcp, Some(config), None).await {
        Ok((socket, _response)) => Ok((socket, server)),
        Err(tungstenite::Error::Http(response)) => {
            let status = response.status().as_u16();
            let message = response.body().as_deref().map(String::from_utf8_lossy).unwrap_or_default();
            Err(RoomError::Refused { status, message: message.trim().to_string() })
        }
        Err(error) => Err(RoomError::Unreachable(format!("WebSocket handshake: {}", chain(&error)))),
    }
}

pub fn encode(message: proto::signal_request::Message) -> Message {
    Message::Binary(proto::SignalRequest { message: Some(message) }.encode_to_vec().into())
}

/// One frame from the server: `Ok(None)` for frames that carry no signal (WebSocket pings and
/// pongs), an error for undecodable ones and for a close.
pub fn decode(frame: Message) -> Result<Option<proto::signal_response::Message>, RoomError> {
    match frame {
        Message::Binary(bytes) => {
            let response = proto::SignalResponse::decode(bytes.as_ref())
                .map_err(|e| RoomError::Protocol(format!("undecodable signal response: {e}")))?;
            Ok(response.message)
        }
        Message::Close(frame) => Err(RoomError::Disconnected {
            reason: frame.map_or_else(
                || "the server closed the connection".to_string(),
                |f| format!("the server closed the connection: {} {}", u16::from(f.code), f.reason),
            ),
        }),
        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => Ok(None),
        Message::Text(_) => Err(RoomError::Protocol("a text frame on the signalling socket".into())),
    }
}

/// Waits for the first response, which must be `join`.
pub async fn read_join(socket: &mut Socket) -> Result<proto::JoinResponse, RoomError> {
    loop {
        let Some(frame) = socket.next().await else {
            return Err(RoomError::Disconnected { reason: "the server closed the connection before joining".into() });
        };
        let frame = frame.map_err(|e| RoomError::Unreachable(chain(&e)))?;
        match decode(frame)? {
            None => continue,
            Some(proto::signal_response::Message::Join(join)) => return Ok(join),
            Some(proto::signal_response::Message::Leave(leave)) => {
                return Err(RoomError::Disconnected { reason: leave_reason(&leave) });
            }
            Some(other) => return Err(RoomError::Protocol(format!("expected a join response first, got {other:?}"))),
        }
    }
}

pub async fn send(socket: &mut Socket, message: proto::signal_request::Message) -> Result<(), RoomError> {
    socket.send(encode(message)).await.map_err(|e| RoomError::Disconnected { reason: chain(&e) })
}

pub fn trickle(role: PeerRole, candidate: &CandidateInit) -> proto::signal_request::Message {
    proto::signal_request::Message::Trickle(proto::TrickleRequest {
        // Serialising three plain fields cannot fail.
        candidate_init: serde_json::to_string(candidate).unwrap_or_default(),
        target: role.target() as i32,
        ..proto::TrickleRequest::default()
    })
}

pub fn parse_trickle(trickle: &proto::TrickleRequest) -> Result<(PeerRole, CandidateInit), RoomError> {
    let role = match proto::SignalTarget::try_from(trickle.target) {
        Ok(proto::SignalTarget::Publisher) => PeerRole::Publisher,
        Ok(proto::SignalTarget::Subscriber) => PeerRole::Subscriber,
        Err(_) => return Err(RoomError::Protocol(format!("trickle for unknown target {}", trickle.target))),
    };
    let init = serde_json::from_str(&trickle.candidate_init)
        .map_err(|e| RoomError::Protocol(format!("bad trickled candidate {:?}: {e}", trickle.candidate_init)))?;
    Ok((role, init))
}

pub fn session_description(kind: &str, sdp: String) -> proto::SessionDescription {
    proto::SessionDescription { r#type: kind.to_string(), sdp, ..proto::SessionDescription::default() }
}

/// `CLIENT_INITIATED`, `ROOM_DELETED`, ... as LiveKit names its disconnect reasons.
pub fn leave_reason(leave: &proto::LeaveRequest) -> String {
    proto::DisconnectReason::try_from(leave.reason)
        .map_or_else(|_| format!("reason {}", leave.reason), |r| r.as_str_name().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtc_url_has_the_sdk_query_for_every_url_form() {
        let url = rtc_url("ws://127.0.0.1:7880", true).unwrap();
        assert_eq!(url.as_str(), "ws://127.0.0.1:7880/rtc?sdk=rust&protocol=16&auto_subscribe=1&adaptive_stream=0");
        assert_eq!(
            rtc_url("https://x.livekit.cloud/", false).unwrap().as_str(),
            "wss://x.livekit.cloud/rtc?sdk=rust&protocol=16&auto_subscribe=0&adaptive_stream=0"
        );
        assert!(matches!(rtc_url("ftp://x", true), Err(RoomError::InvalidUrl { .. })));
    }

    #[test]
    fn trickles_round_trip() {
        let init = CandidateInit {
            candidate: "candidate:1 1 udp 1 10.0.0.1 5 typ host".into(),
            sdp_mid: Some("0".into()),
            sdp_m_line_index: Some(0),
        };
        let proto::signal_request::Message::Trickle(request) = trickle(PeerRole::Subscriber, &init) else { panic!() };
        assert_eq!(request.target, 1);
        assert_eq!(parse_trickle(&request).unwrap(), (PeerRole::Subscriber, init));
    }

    #[test]
    fn garbage_frames_are_protocol_errors() {
        assert!(matches!(decode(Message::Binary(vec![0xff, 0xff].into())), Err(RoomError::Protocol(_))));
        assert_eq!(decode(Message::Ping(vec![].into())).unwrap(), None);
    }
}
