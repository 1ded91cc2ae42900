//! The stream's WebSocket: opened through the egress, then frames relayed both ways with the
//! key scrubbed from everything the plugin sees.

use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::super::bindings::latest::types::{Input, ProviderError, WsClose, WsMessage};
use super::super::error::StreamError;
use super::http::{from_status, retry_after_ms};
use super::{IoEvent, ws_closed, ws_message_input};
use crate::egress::secret::Secret;
use crate::egress::{Authorized, Egress, WsConnectError, WsSocket};
use crate::error_text::chain;

/// What the driver asks of the WebSocket task.
#[derive(Debug)]
pub enum Command {
    Send(WsMessage),
    Close(WsClose),
}

pub(super) async fn run(
    io: Egress,
    request: Authorized,
    provider: String,
    events: mpsc::Sender<IoEvent>,
    mut commands: mpsc::Receiver<Command>,
) {
    let fail = |error: ProviderError| IoEvent::Failed(StreamError::Provider { provider: provider.clone(), error });
    let secret = request.secret().cloned();
    let connect = connect(&io, request, secret.as_ref(), &provider);
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
                    Some(Command::Send(WsMessage::Text(text))) => socket.send(Message::Text(text.into())).await,
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

async fn connect(
    io: &Egress,
    request: Authorized,
    secret: Option<&Secret>,
    provider: &str,
) -> Result<WsSocket, IoEvent> {
    let fail = |error: ProviderError| IoEvent::Failed(StreamError::Provider { provider: provider.to_string(), error });
    io.connect(request).await.map_err(|error| match error {
        WsConnectError::Denied(source) => IoEvent::Failed(StreamError::Denied { plugin: provider.to_string(), source }),
        WsConnectError::Unavailable(message) => fail(ProviderError::Unavailable(Secret::scrub(secret, &message))),
        WsConnectError::Invalid(message) => fail(ProviderError::InvalidRequest(Secret::scrub(secret, &message))),
        WsConnectError::Refused { status, retry_after, body } => {
            let retry = retry_after_ms(retry_after.as_deref());
            fail(from_status(status, retry, &Secret::scrub(secret, &body)))
        }
    })
}
