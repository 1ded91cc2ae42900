//! The connection half of a stream that talks to its provider over one WebSocket.
//!
//! The host opens the socket when the stream asks (`start`), and the stream's input keeps coming
//! while the handshake runs: what the stream sends before the socket is open waits, in order,
//! and goes out the moment it opens. Once the stream is closing (its end-of-input message sent),
//! nothing more goes out. [`Socket`] holds that lifecycle; the stream decides what to send and
//! when to close, and turns what [`Socket`] hands back into its actions.

/// Where a socket is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Not asked to connect yet.
    Idle,
    /// The connection was requested; messages wait for it.
    Connecting,
    /// Messages go out as they are sent.
    Open,
    /// The stream's last message is out; waiting for the provider to close.
    Closing,
    /// Finished or failed; nothing follows.
    Done,
}

/// One WebSocket: `C` is the connection request, `M` a message.
#[derive(Debug)]
pub struct Socket<C, M> {
    phase: Phase,
    connect: Option<C>,
    /// Messages sent before the socket opened, in order.
    pending: Vec<M>,
}

impl<C, M> Socket<C, M> {
    /// A socket that connects with `connect` when asked.
    pub fn new(connect: C) -> Self {
        Socket { phase: Phase::Idle, connect: Some(connect), pending: Vec::new() }
    }

    /// Where the socket is.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// True once the stream finished or failed.
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// True before the socket opened, while messages wait for it.
    pub fn is_waiting(&self) -> bool {
        matches!(self.phase, Phase::Idle | Phase::Connecting)
    }

    /// The connection request, once: the socket is connecting from now on.
    pub fn connect(&mut self) -> Option<C> {
        if self.phase != Phase::Idle {
            return None;
        }
        let connect = self.connect.take()?;
        self.phase = Phase::Connecting;
        Some(connect)
    }

    /// The message to send now: before the socket opened it waits instead, and once the socket is
    /// closing it is dropped.
    pub fn send(&mut self, message: M) -> Option<M> {
        match self.phase {
            Phase::Idle | Phase::Connecting => {
                self.pending.push(message);
                None
            }
            Phase::Open => Some(message),
            Phase::Closing | Phase::Done => None,
        }
    }

    /// Puts a message ahead of every waiting one: a handshake message that must come first even
    /// when the stream had something to send before it connected.
    pub fn send_first(&mut self, message: M) {
        if self.is_waiting() {
            self.pending.insert(0, message);
        }
    }

    /// The socket opened: the waiting messages, to send now in order. `None` when the socket
    /// was not connecting (an open out of turn changes nothing).
    pub fn open(&mut self) -> Option<Vec<M>> {
        if self.phase != Phase::Connecting {
            return None;
        }
        self.phase = Phase::Open;
        Some(std::mem::take(&mut self.pending))
    }

    /// The stream's last message is out: only the provider's close is awaited.
    pub fn closing(&mut self) {
        self.phase = Phase::Closing;
    }

    /// The stream finished or failed.
    pub fn done(&mut self) {
        self.phase = Phase::Done;
    }

    /// A close with `code` is the provider's answer to our end of input: a normal close (1000),
    /// or one without a status (1005), while closing.
    pub fn closed_normally(&self, code: u16) -> bool {
        self.phase == Phase::Closing && matches!(code, 1000 | 1005)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_wait_for_the_socket_then_go_out_in_order() {
        let mut socket = Socket::new("url");
        assert_eq!(socket.send("a"), None);
        assert_eq!(socket.open(), None, "not connecting yet");
        assert_eq!(socket.connect(), Some("url"));
        assert_eq!(socket.connect(), None, "connects once");
        assert_eq!(socket.send("b"), None);
        socket.send_first("hello");
        assert!(socket.is_waiting());
        assert_eq!(socket.open(), Some(vec!["hello", "a", "b"]));
        assert_eq!(socket.open(), None);
        assert_eq!(socket.send("c"), Some("c"));
        socket.send_first("late");
        assert_eq!(socket.phase(), Phase::Open);
    }

    #[test]
    fn nothing_goes_out_once_closing() {
        let mut socket: Socket<(), &str> = Socket::new(());
        socket.connect();
        socket.open();
        assert!(!socket.closed_normally(1000), "not closing yet");
        socket.closing();
        assert_eq!(socket.send("late"), None);
        assert!(socket.closed_normally(1000));
        assert!(socket.closed_normally(1005));
        assert!(!socket.closed_normally(1011));
        socket.done();
        assert!(socket.is_done());
        assert_eq!(socket.open(), None);
    }
}
