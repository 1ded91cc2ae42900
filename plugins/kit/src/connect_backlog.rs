//! How much audio a transcription stream may hold while its socket opens.
//!
//! Audio keeps coming in real time during the handshake and waits for the socket (see
//! [`Socket`](crate::socket::Socket)). A handshake that takes longer than a few seconds of audio
//! has failed, and holding on would only grow the backlog the provider then refuses (or
//! transcribes late), so past a limit the stream fails instead.

use crate::failure::Failure;
use crate::status::ErrorClass;

/// The audio held before the socket opened, against its limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectBacklog {
    bytes: u64,
    max_bytes: u64,
    max_ms: u64,
}

impl ConnectBacklog {
    /// A limit of `max_ms` of 16-bit mono audio at `sample_rate`.
    pub fn new(sample_rate: u32, max_ms: u64) -> Self {
        ConnectBacklog { bytes: 0, max_bytes: u64::from(sample_rate) * 2 * max_ms / 1000, max_ms }
    }

    /// `len` more bytes wait for the socket; past the limit the stream has to fail.
    pub fn hold(&mut self, len: usize) -> Result<(), Failure> {
        self.bytes += len as u64;
        if self.bytes > self.max_bytes {
            return Err(Failure::new(
                ErrorClass::Unavailable,
                format!("the transcription socket did not open within {} s of audio", self.max_ms / 1000),
            ));
        }
        Ok(())
    }

    /// The socket opened and the audio went out: true when there was any.
    pub fn release(&mut self) -> bool {
        std::mem::take(&mut self.bytes) > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_is_in_milliseconds_of_audio() {
        // 1 s at 8 kHz is 16 000 bytes.
        let mut backlog = ConnectBacklog::new(8_000, 1_000);
        assert!(!backlog.release());
        assert_eq!(backlog.hold(16_000), Ok(()));
        assert_eq!(
            backlog.hold(1),
            Err(Failure::new(ErrorClass::Unavailable, "the transcription socket did not open within 1 s of audio"))
        );
        assert!(backlog.release());
        assert_eq!(backlog.hold(16_000), Ok(()), "the count restarts once the socket opened");
    }
}
