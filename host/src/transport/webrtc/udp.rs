//! The UDP socket of one peer connection, owned by whoever drives the peer.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use tokio::net::UdpSocket;

use super::PeerError;

/// Larger than any datagram WebRTC sends (str0m targets ~1150 bytes).
const RECV_BUFFER: usize = 2048;

pub struct PeerSocket {
    /// Receives (tokio tracks readiness).
    socket: UdpSocket,
    /// Sends: the same socket as a plain non-blocking one, so a send never depends on tokio
    /// having seen the socket writable (its `try_send_to` says `WouldBlock` until then).
    sender: std::net::UdpSocket,
    local: SocketAddr,
    buffer: Vec<u8>,
}

impl PeerSocket {
    /// Binds on the address the OS routes to `server` from (the loopback address when the
    /// server is local); that address becomes the peer's host candidate.
    pub async fn bind(server: SocketAddr) -> Result<Self, PeerError> {
        let ip = route_to(server).await;
        let udp = |e: std::io::Error| PeerError::WebRtc(format!("UDP socket on {ip}: {e}"));
        let std_socket = std::net::UdpSocket::bind(SocketAddr::new(ip, 0)).map_err(udp)?;
        std_socket.set_nonblocking(true).map_err(udp)?;
        let sender = std_socket.try_clone().map_err(udp)?;
        let socket = UdpSocket::from_std(std_socket).map_err(udp)?;
        let local = socket.local_addr().map_err(udp)?;
        Ok(Self { socket, sender, local, buffer: vec![0; RECV_BUFFER] })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    pub async fn readable(&self) -> std::io::Result<()> {
        self.socket.readable().await
    }

    /// The next datagram waiting, without blocking: `None` when there is none.
    pub fn try_receive(&mut self) -> Option<(SocketAddr, &[u8])> {
        loop {
            match self.socket.try_recv_from(&mut self.buffer) {
                Ok((len, source)) => return Some((source, &self.buffer[..len])),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return None,
                // ICMP errors (port unreachable) surface here on some systems; not fatal for ICE.
                Err(e) => tracing::debug!(error = %e, "UDP receive error"),
            }
        }
    }

    pub fn send(&self, destination: SocketAddr, bytes: &[u8]) {
        // UDP may drop; a full socket buffer is the same loss to WebRTC.
        if let Err(e) = self.sender.send_to(bytes, destination) {
            tracing::debug!(error = %e, "UDP send dropped");
        }
    }
}

/// The local address the OS would send from to reach `server` (connecting a UDP socket sends
/// nothing; it only picks the route). Loopback for a local server; unspecified if no route.
async fn route_to(server: SocketAddr) -> IpAddr {
    if server.ip().is_loopback() {
        return server.ip();
    }
    let unspecified = match server {
        SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    let Ok(probe) = UdpSocket::bind(SocketAddr::new(unspecified, 0)).await else { return unspecified };
    if probe.connect(server).await.is_err() {
        return unspecified;
    }
    probe.local_addr().map_or(unspecified, |a| a.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn loopback_servers_get_a_loopback_socket() {
        let server: SocketAddr = "127.0.0.1:7880".parse().unwrap();
        let socket = PeerSocket::bind(server).await.unwrap();
        assert!(socket.local_addr().ip().is_loopback());
    }
}
