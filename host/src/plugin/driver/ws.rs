//! The stream's WebSocket: connect to a vetted address, then relay frames both ways.

use futures_util::{SinkExt, StreamExt};
use http::HeaderMap;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};

use super::super::bindings::latest::types::{Input, ProviderError, WsClose, WsMessage};
use super::super::error::StreamError;
use super::http::{HttpIo, StreamErrorKind, from_status, resolve_vetted, retry_after_ms};
use super::{IoEvent, ws_closed, ws_message_input};
use crate::egress::policy::Target;
use crate::egress::secret::{Secret, placement};
use crate::error_text::chain;

/// What the driver asks of the WebSocket task.
#[derive(Debug)]
pub enum Command {
    Send(WsMessage),
    Close(WsClose),
}

/// Largest message accepted from a provider.
const MAX_MESSAGE: usize = 16 << 20;

pub(super) async fn run(
    io: HttpIo,
    handshake: Handshake,
    secret: Option<Secret>,
    provider: String,
    events: mpsc::Sender<IoEvent>,
    mut commands: mpsc::Receiver<Command>,
) {
    let fail = |error: ProviderError| IoEvent::Failed(StreamError::Provider { provider: provider.clone(), error });
    let connect = connect(&io, handshake, secret.as_ref(), &provider);
    let mut socket = match tokio::time::timeout(io.timeouts().connect, connect).await {
        Ok(Ok(socket)) => socket,
        Ok(Err(event)) => {
            let _ = events.send(event).await;
            return;
        }
        Err(_) => {
            let message = format!("WebSocket not open within {} s", io.timeouts().connect.as_secs());
            let _ = events.send(fail(ProviderError::Timeout(message))).await;
            return;
        }
    };
    if events.send(IoEvent::Input(Input::WsOpen)).await.is_err() {
        return;
    }
    let mut closing = false;
    let mut first_text = true;
    loop {
        tokio::select! {
            frame = socket.next() => {
                // What the provider sends may reflect the key: scrubbed before the plugin sees it.
                let input = match frame {
                    Some(Ok(Message::Text(text))) => ws_message_input(WsMessage::Text(Secret::scrub(secret.as_ref(), &text))),
                    Some(Ok(Message::Binary(bytes))) => {
                        let scrubbed = secret.as_ref().and_then(|s| s.scrub_bytes(&bytes));
                        ws_message_input(WsMessage::Binary(scrubbed.unwrap_or_else(|| bytes.to_vec())))
                    }
                    Some(Ok(Message::Close(frame))) => {
                        let (code, reason) = frame.map_or((1005, String::new()), |f| (u16::from(f.code), Secret::scrub(secret.as_ref(), &f.reason)));
                        let _ = events.send(IoEvent::Input(ws_closed(code, reason))).await;
                        return;
                    }
                    Some(Ok(_)) => continue, // ping/pong are answered by tungstenite
                    Some(Err(error)) => {
                        let reason = Secret::scrub(secret.as_ref(), &chain(&error));
                        let _ = events.send(IoEvent::Input(ws_closed(1006, reason))).await;
                        return;
                    }
                    None => {
                        let _ = events.send(IoEvent::Input(ws_closed(1006, "connection closed without a close frame".into()))).await;
                        return;
                    }
                };
                if events.send(IoEvent::Input(input)).await.is_err() {
                    return;
                }
            }
            command = commands.recv(), if !closing => {
                let result = match command {
                    Some(Command::Send(WsMessage::Text(text))) => {
                        let text = placement::fill_ws_text(secret.as_ref(), text, std::mem::take(&mut first_text));
                        socket.send(Message::Text(text.into())).await
                    }
                    Some(Command::Send(WsMessage::Binary(bytes))) => socket.send(Message::Binary(bytes.into())).await,
                    Some(Command::Close(close)) => {
                        closing = true;
                        let frame = CloseFrame { code: CloseCode::from(close.code), reason: close.reason.into() };
                        socket.close(Some(frame)).await
                    }
                    // The driver is gone: close politely and stop.
                    None => {
                        let _ = socket.close(None).await;
                        return;
                    }
                };
                if let Err(error) = result {
                    let reason = Secret::scrub(secret.as_ref(), &chain(&error));
                    let _ = events.send(IoEvent::Input(ws_closed(1006, reason))).await;
                    return;
                }
            }
        }
    }
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// A connection that passed the policy: where to, and the handshake's URL and headers with the
/// key already filled in where it may stand.
pub(super) struct Handshake {
    pub target: Target,
    pub url: String,
    pub headers: HeaderMap,
}

async fn connect(
    io: &HttpIo,
    Handshake { target, url, headers }: Handshake,
    secret: Option<&Secret>,
    provider: &str,
) -> Result<Socket, IoEvent> {
    let fail = |error: ProviderError| IoEvent::Failed(StreamError::Provider { provider: provider.to_string(), error });
    let target = &target;
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| fail(ProviderError::InvalidRequest(Secret::scrub(secret, &e.to_string()))))?;
    request.headers_mut().extend(headers);
    let addrs = resolve_vetted(io.policy(), target).await.map_err(|kind| match kind {
        StreamErrorKind::Denied(source) => {
            IoEvent::Failed(StreamError::Denied { plugin: provider.to_string(), source })
        }
        StreamErrorKind::Connect(message) => fail(ProviderError::Unavailable(message)),
    })?;
    let tcp = TcpStream::connect(&addrs[..])
        .await
        .map_err(|e| fail(ProviderError::Unavailable(format!("could not connect to {}: {e}", target.host))))?;
    let _ = tcp.set_nodelay(true);
    let config = tungstenite::protocol::WebSocketConfig::default().max_message_size(Some(MAX_MESSAGE));
    match tokio_tungstenite::client_async_tls_with_config(request, tcp, Some(config), None).await {
        Ok((socket, _response)) => Ok(socket),
        Err(tungstenite::Error::Http(response)) => {
            let status = response.status().as_u16();
            let retry = retry_after_ms(response.headers().get("retry-after").and_then(|v| v.to_str().ok()));
            let body = response.body().as_deref().map(String::from_utf8_lossy).unwrap_or_default();
            let body = Secret::scrub(secret, &body);
            Err(fail(from_status(status, retry, &body)))
        }
        Err(error) => Err(fail(ProviderError::Unavailable(Secret::scrub(
            secret,
            &format!("WebSocket handshake: {}", chain(&error)),
        )))),
    }
}
