//! 16-bit little-endian PCM byte handling.

/// Keeps streamed audio in whole 16-bit samples.
///
/// A chunked response body may split a sample between two chunks; emitting the odd byte would
/// shift every later sample by one byte and turn speech into noise, so it waits for its partner.
#[derive(Debug, Default, Clone)]
pub struct PcmCarry {
    odd: Option<u8>,
}

impl PcmCarry {
    /// An empty carry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The whole samples available after appending `bytes` (possibly empty).
    pub fn push(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(bytes.len() + 1);
        if let Some(first) = self.odd.take() {
            out.push(first);
        }
        out.extend_from_slice(bytes);
        if out.len() % 2 == 1 {
            self.odd = out.pop();
        }
        out
    }

    /// True when a half sample is waiting (at the end of a body: the provider sent an odd count).
    pub fn has_remainder(&self) -> bool {
        self.odd.is_some()
    }

    /// Drops any waiting half sample, for the start of the next response.
    pub fn reset(&mut self) {
        self.odd = None;
    }
}

/// Samples as little-endian bytes, the wire order of `linear16`/`pcm` audio.
pub fn samples_to_le_bytes(samples: &[i16]) -> Vec<u8> {
    samples.iter().flat_map(|s| s.to_le_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_byte_waits_for_its_partner() {
        let mut carry = PcmCarry::new();
        assert_eq!(carry.push(&[1, 2, 3]), [1, 2]);
        assert!(carry.has_remainder());
        assert_eq!(carry.push(&[]), Vec::<u8>::new());
        assert_eq!(carry.push(&[4]), [3, 4]);
        assert!(!carry.has_remainder());
        assert_eq!(carry.push(&[5]), Vec::<u8>::new());
        assert_eq!(carry.push(&[6, 7, 8]), [5, 6, 7, 8]);
    }

    #[test]
    fn any_split_reassembles_the_same_samples() {
        let bytes: Vec<u8> = (0..=40).collect();
        for cut in 0..bytes.len() {
            let mut carry = PcmCarry::new();
            let mut out = carry.push(&bytes[..cut]);
            out.extend(carry.push(&bytes[cut..]));
            assert_eq!(out, bytes[..40], "cut at {cut}");
            assert!(carry.has_remainder());
        }
    }

    #[test]
    fn reset_drops_half_sample() {
        let mut carry = PcmCarry::new();
        carry.push(&[9]);
        carry.reset();
        assert_eq!(carry.push(&[1, 2]), [1, 2]);
    }

    #[test]
    fn samples_are_little_endian() {
        assert_eq!(samples_to_le_bytes(&[1, -2, 0x1234]), [1, 0, 0xFE, 0xFF, 0x34, 0x12]);
    }
}
