//! Streams that talk to their provider over one WebSocket: which host input goes where, and what
//! an error does to the stream.
//!
//! Every such stream reads its inputs the same way (the host's audio or text, its flush and end,
//! then the socket's open, messages and close, and its own timers) and fails the same way: the
//! error is reported once and nothing follows. [`drive_socket`] does that; a stream supplies what
//! each input means through [`SocketStream`] and keeps its socket's lifecycle in a kit
//! [`Socket`].

use voiceblox_plugin_kit::socket::{Phase, Socket};

use crate::types::{Action, Input, ProviderError, WsClose, WsConnect, WsMessage};

/// The provider-specific half of a stream over one WebSocket. Inputs the stream has no hook for
/// (and binary messages: no provider sends any that a stream reads) are ignored.
pub trait SocketStream {
    /// What the stream sends: text frames (`String`) or any message.
    type Frame;

    /// The stream's socket; once it is done, every input is ignored.
    fn socket(&mut self) -> &mut Socket<WsConnect, Self::Frame>;

    /// `start`: connects, once.
    fn on_start(&mut self, out: &mut Vec<Action>) {
        out.extend(self.socket().connect().map(Action::WsConnect));
    }

    /// A chunk of text to speak.
    fn on_text(&mut self, text: &str, out: &mut Vec<Action>) -> Result<(), ProviderError> {
        let _ = (text, out);
        Ok(())
    }

    /// A frame of audio to transcribe.
    fn on_audio(&mut self, frame: &[i16], out: &mut Vec<Action>) -> Result<(), ProviderError> {
        let _ = (frame, out);
        Ok(())
    }

    /// `flush`.
    fn on_flush(&mut self, out: &mut Vec<Action>) -> Result<(), ProviderError>;

    /// `end`: no more input will come.
    fn on_end(&mut self, out: &mut Vec<Action>);

    /// The socket opened.
    fn on_open(&mut self, out: &mut Vec<Action>);

    /// A text message from the provider.
    fn on_message(&mut self, text: &str, out: &mut Vec<Action>) -> Result<(), ProviderError>;

    /// The socket closed.
    fn on_closed(&mut self, close: &WsClose, out: &mut Vec<Action>) -> Result<(), ProviderError>;

    /// A timer the stream set fired.
    fn on_timer(&mut self, id: u32, out: &mut Vec<Action>) -> Result<(), ProviderError>;

    /// The error the stream fails with, from the one a hook returned (to add what only the stream
    /// knows, such as a session id).
    fn failed(&mut self, error: ProviderError) -> ProviderError {
        error
    }
}

/// Advances `stream` by one host input: the hook for it runs, and an error it returns fails the
/// stream after the actions the hook already took.
pub fn drive_socket<S: SocketStream>(stream: &mut S, input: Input) -> Vec<Action> {
    if stream.socket().is_done() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let result = match input {
        Input::Start => {
            stream.on_start(&mut out);
            Ok(())
        }
        Input::Text(text) => stream.on_text(&text, &mut out),
        Input::Audio(frame) => stream.on_audio(&frame, &mut out),
        Input::Flush => stream.on_flush(&mut out),
        Input::End => {
            stream.on_end(&mut out);
            Ok(())
        }
        Input::WsOpen => {
            stream.on_open(&mut out);
            Ok(())
        }
        Input::WsMessage(WsMessage::Text(text)) => stream.on_message(&text, &mut out),
        Input::WsClosed(close) => stream.on_closed(&close, &mut out),
        Input::Timer(id) => stream.on_timer(id, &mut out),
        Input::WsMessage(WsMessage::Binary(_)) | Input::HttpResponse(_) | Input::HttpBody(_) | Input::HttpEnd(_) => {
            Ok(())
        }
    };
    if let Err(error) = result {
        let error = stream.failed(error);
        out.push(Action::Fail(error));
        stream.socket().done();
    }
    out
}

/// The provider did not close within the grace period the stream gave it after its end of input
/// (a timer it set when it began closing). The stream closes the socket itself; if everything was
/// already `delivered` (the provider's last message came, only its close was slow) the stream is
/// complete, otherwise it fails with a timeout that says what was `late`. Out of turn (the socket
/// is not closing), nothing happens.
pub fn close_overdue<F>(
    socket: &mut Socket<WsConnect, F>,
    delivered: bool,
    late: impl FnOnce() -> String,
    out: &mut Vec<Action>,
) -> Result<(), ProviderError> {
    if socket.phase() != Phase::Closing {
        return Ok(());
    }
    out.push(Action::WsClose(WsClose { code: 1000, reason: String::new() }));
    if delivered {
        socket.done();
        out.push(Action::Finish);
        return Ok(());
    }
    Err(ProviderError::Timeout(late()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Echoes text and messages, says `bad` by failing, ends at once.
    struct Echo {
        socket: Socket<WsConnect, String>,
    }

    impl SocketStream for Echo {
        type Frame = String;

        fn socket(&mut self) -> &mut Socket<WsConnect, String> {
            &mut self.socket
        }

        fn on_text(&mut self, text: &str, out: &mut Vec<Action>) -> Result<(), ProviderError> {
            out.extend(self.socket.send(text.to_string()).map(|text| Action::WsSend(WsMessage::Text(text))));
            Ok(())
        }

        fn on_flush(&mut self, _out: &mut Vec<Action>) -> Result<(), ProviderError> {
            Ok(())
        }

        fn on_end(&mut self, out: &mut Vec<Action>) {
            self.socket.done();
            out.push(Action::Finish);
        }

        fn on_open(&mut self, out: &mut Vec<Action>) {
            let pending = self.socket.open().unwrap_or_default();
            out.extend(pending.into_iter().map(|text| Action::WsSend(WsMessage::Text(text))));
        }

        fn on_message(&mut self, text: &str, out: &mut Vec<Action>) -> Result<(), ProviderError> {
            out.push(Action::SetTimer((1, 10)));
            match text {
                "bad" => Err(ProviderError::Protocol("bad".into())),
                _ => Ok(()),
            }
        }

        fn on_closed(&mut self, close: &WsClose, _out: &mut Vec<Action>) -> Result<(), ProviderError> {
            Err(ProviderError::Unavailable(format!("closed {}", close.code)))
        }

        fn on_timer(&mut self, _id: u32, _out: &mut Vec<Action>) -> Result<(), ProviderError> {
            Ok(())
        }

        fn failed(&mut self, error: ProviderError) -> ProviderError {
            match error {
                ProviderError::Protocol(message) => ProviderError::Protocol(format!("{message} (session 7)")),
                other => other,
            }
        }
    }

    fn echo() -> Echo {
        Echo { socket: Socket::new(WsConnect { url: "wss://x.test".into(), headers: Vec::new() }) }
    }

    #[test]
    fn inputs_reach_their_hooks() {
        let mut stream = echo();
        assert_eq!(drive_socket(&mut stream, Input::Text("a".into())), []);
        let connect = WsConnect { url: "wss://x.test".into(), headers: Vec::new() };
        assert_eq!(drive_socket(&mut stream, Input::Start), [Action::WsConnect(connect)]);
        assert_eq!(drive_socket(&mut stream, Input::Start), [], "connects once");
        assert_eq!(drive_socket(&mut stream, Input::WsOpen), [Action::WsSend(WsMessage::Text("a".into()))]);
        assert_eq!(drive_socket(&mut stream, Input::WsMessage(WsMessage::Binary(vec![1]))), []);
        assert_eq!(drive_socket(&mut stream, Input::Audio(vec![1])), []);
        assert_eq!(drive_socket(&mut stream, Input::End), [Action::Finish]);
        assert_eq!(drive_socket(&mut stream, Input::Text("late".into())), [], "nothing after the end");
    }

    #[test]
    fn an_error_fails_the_stream_after_the_actions_before_it() {
        let mut stream = echo();
        drive_socket(&mut stream, Input::Start);
        assert_eq!(
            drive_socket(&mut stream, Input::WsMessage(WsMessage::Text("bad".into()))),
            [Action::SetTimer((1, 10)), Action::Fail(ProviderError::Protocol("bad (session 7)".into()))]
        );
        assert!(stream.socket.is_done());
        assert_eq!(drive_socket(&mut stream, Input::WsClosed(WsClose { code: 1011, reason: String::new() })), []);
    }

    #[test]
    fn an_overdue_close_closes_the_socket_and_finishes_only_when_all_was_delivered() {
        let late = || "late".to_string();
        let close = Action::WsClose(WsClose { code: 1000, reason: String::new() });
        let mut open = echo().socket;
        open.connect();
        open.open();
        let mut out = Vec::new();
        assert_eq!(close_overdue(&mut open, false, late, &mut out), Ok(()), "not closing: out of turn");
        assert_eq!(out, []);

        open.closing();
        let mut closing = open;
        assert_eq!(close_overdue(&mut closing, false, late, &mut out), Err(ProviderError::Timeout("late".into())));
        assert_eq!(out, std::slice::from_ref(&close));

        closing.closing();
        out.clear();
        assert_eq!(close_overdue(&mut closing, true, late, &mut out), Ok(()));
        assert_eq!(out, [close, Action::Finish]);
        assert!(closing.is_done());
    }
}
