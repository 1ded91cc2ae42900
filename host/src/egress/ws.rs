//! WebSocket connections through the egress: resolved and vetted like HTTP, and the key
//! filled into the first text frame when the caller wrote `{{api-key}}` there.

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message};

use super::Egress;
use super::policy::PolicyError;
use super::request::Authorized;
use super::resolver::{ResolveError, resolve_vetted};
use super::secret::{Secret, placement};
use crate::error_text::chain;

/// Largest message accepted from a server.
const MAX_MESSAGE: usize = 16 << 20;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// Why a WebSocket did not open. Messages may quote the server; the caller scrubs them.
#[derive(Debug)]
pub enum WsConnectError {
    Denied(PolicyError),
    /// Not reachable: no address, refused, reset, TLS.
    Unavailable(String),
    /// The server answered the upgrade with an HTTP status.
    Refused {
        status: u16,
        retry_after: Option<String>,
        body: String,
    },
    /// The request is not a valid WebSocket request.
    Invalid(String),
}

/// An open WebSocket.
pub struct WsSocket {
    socket: Socket,
    secret: Option<Secret>,
    first_text: bool,
}

impl WsSocket {
    pub async fn next(&mut self) -> Option<Result<Message, tungstenite::Error>> {
        self.socket.next().await
    }

    /// Sends a message; the connection's first text frame gets the key filled in.
    pub async fn send(&mut self, message: Message) -> Result<(), tungstenite::Error> {
        let message = match message {
            Message::Text(text) => {
                let first = std::mem::take(&mut self.first_text);
                Message::Text(placement::fill_ws_text(self.secret.as_ref(), text.to_string(), first).into())
            }
            other => other,
        };
        self.socket.send(message).await
    }

    pub async fn close(&mut self, frame: Option<CloseFrame>) -> Result<(), tungstenite::Error> {
        self.socket.close(frame).await
    }
}

impl Egress {
    /// Opens an authorized WebSocket (`ws`/`wss` URL, `GET`).
    pub async fn connect(&self, request: Authorized) -> Result<WsSocket, WsConnectError> {
        let Authorized { url, headers, target, secret, .. } = request;
        let mut handshake = url.as_str().into_client_request().map_err(|e| WsConnectError::Invalid(e.to_string()))?;
        handshake.headers_mut().extend(headers);
        let addrs = resolve_vetted(self.policy(), &target).await.map_err(|error| match error {
            ResolveError::Denied(source) => WsConnectError::Denied(source),
            ResolveError::Unresolved(message) => WsConnectError::Unavailable(message),
        })?;
        let tcp = TcpStream::connect(&addrs[..])
            .await
            .map_err(|e| WsConnectError::Unavailable(format!("could not connect to {}: {e}", target.host)))?;
        let _ = tcp.set_nodelay(true);
        let config = tungstenite::protocol::WebSocketConfig::default().max_message_size(Some(MAX_MESSAGE));
        match tokio_tungstenite::client_async_tls_with_config(handshake, tcp, Some(config), None).await {
            Ok((socket, _response)) => Ok(WsSocket { socket, secret, first_text: true }),
            Err(tungstenite::Error::Http(response)) => Err(WsConnectError::Refused {
                status: response.status().as_u16(),
                retry_after: response.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(String::from),
                body: response.body().as_deref().map(String::from_utf8_lossy).unwrap_or_default().into_owned(),
            }),
            Err(error) => Err(WsConnectError::Unavailable(format!("WebSocket handshake: {}", chain(&error)))),
        }
    }
}
