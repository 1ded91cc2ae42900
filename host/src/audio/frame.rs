//! [`AudioFrame`]: interleaved signed 16-bit PCM with its rate and channel count.
//!
//! A frame is validated once, when it is built, so everything downstream (resampler, VAD) can rely
//! on `samples.len()` being a whole number of sample frames at a non-zero rate.

use std::time::Duration;

use super::FramePool;

/// Why a buffer is not a valid [`AudioFrame`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The sample rate is zero, so no duration can be computed.
    #[error("sample rate is zero")]
    ZeroSampleRate,
    /// The channel count is zero.
    #[error("channel count is zero")]
    ZeroChannels,
    /// The interleaved sample count is not a multiple of the channel count.
    #[error("{samples} samples do not divide into {channels} channels")]
    RaggedChannels {
        /// Interleaved samples given.
        samples: usize,
        /// Channels declared.
        channels: u16,
    },
    /// A little-endian byte buffer has an odd length, so it holds half a sample.
    #[error("{0} bytes is not a whole number of 16-bit samples")]
    OddByteCount(usize),
    /// The requested period is not a whole number of samples at this rate (e.g. 10 ms at 22.05 kHz).
    #[error("{period_ms} ms is not a whole number of samples at {sample_rate} Hz")]
    FractionalPeriod {
        /// Sample rate asked about.
        sample_rate: u32,
        /// Period asked about.
        period_ms: u32,
    },
}

/// The two frame periods real-time audio moves in (WebRTC and LiveKit use 10 ms; many STT/TTS APIs 20 ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FramePeriod {
    /// 10 ms.
    Ms10,
    /// 20 ms.
    Ms20,
}

impl FramePeriod {
    /// The period in milliseconds.
    pub fn millis(self) -> u32 {
        match self {
            Self::Ms10 => 10,
            Self::Ms20 => 20,
        }
    }

    /// The period as a [`Duration`].
    pub fn duration(self) -> Duration {
        Duration::from_millis(u64::from(self.millis()))
    }

    /// Samples per channel in one period at `sample_rate`, or an error if that is not a whole number.
    pub fn samples_per_channel(self, sample_rate: u32) -> Result<usize, FrameError> {
        if sample_rate == 0 {
            return Err(FrameError::ZeroSampleRate);
        }
        let scaled = u64::from(sample_rate) * u64::from(self.millis());
        if !scaled.is_multiple_of(1000) {
            return Err(FrameError::FractionalPeriod { sample_rate, period_ms: self.millis() });
        }
        // At most u32::MAX * 20 / 1000, which fits usize on every supported (>= 32-bit) target.
        Ok((scaled / 1000) as usize)
    }
}

/// Interleaved s16 PCM: `samples[frame * channels + channel]`.
#[derive(Debug)]
pub struct AudioFrame {
    samples: Vec<i16>,
    sample_rate: u32,
    channels: u16,
    /// Where the buffer goes when the frame is dropped (frames a transport makes per packet).
    home: Option<FramePool>,
}

impl Clone for AudioFrame {
    /// A copy of the samples that is the caller's own (it does not go back to a pool).
    fn clone(&self) -> Self {
        Self { samples: self.samples.clone(), sample_rate: self.sample_rate, channels: self.channels, home: None }
    }
}

impl PartialEq for AudioFrame {
    fn eq(&self, other: &Self) -> bool {
        self.samples == other.samples && self.sample_rate == other.sample_rate && self.channels == other.channels
    }
}

impl Eq for AudioFrame {}

impl Drop for AudioFrame {
    fn drop(&mut self) {
        if let Some(home) = self.home.take()
            && self.samples.capacity() > 0
        {
            home.give_back(std::mem::take(&mut self.samples));
        }
    }
}

impl AudioFrame {
    /// Wraps interleaved samples, checking the rate, channel count and that the length divides evenly.
    pub fn new(samples: Vec<i16>, sample_rate: u32, channels: u16) -> Result<Self, FrameError> {
        if sample_rate == 0 {
            return Err(FrameError::ZeroSampleRate);
        }
        if channels == 0 {
            return Err(FrameError::ZeroChannels);
        }
        if !samples.len().is_multiple_of(usize::from(channels)) {
            return Err(FrameError::RaggedChannels { samples: samples.len(), channels });
        }
        Ok(Self { samples, sample_rate, channels, home: None })
    }

    /// Parses little-endian s16 bytes (the wire format of LiveKit, WebSocket STT/TTS and WAV data).
    pub fn from_le_bytes(bytes: &[u8], sample_rate: u32, channels: u16) -> Result<Self, FrameError> {
        if !bytes.len().is_multiple_of(2) {
            return Err(FrameError::OddByteCount(bytes.len()));
        }
        let samples = bytes.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect();
        Self::new(samples, sample_rate, channels)
    }

    /// Digital silence lasting `period`.
    pub fn silence(sample_rate: u32, channels: u16, period: FramePeriod) -> Result<Self, FrameError> {
        let per_channel = period.samples_per_channel(sample_rate)?;
        Self::new(vec![0; per_channel * usize::from(channels)], sample_rate, channels)
    }

    /// The samples as little-endian bytes.
    pub fn to_le_bytes(&self) -> Vec<u8> {
        self.samples.iter().flat_map(|s| s.to_le_bytes()).collect()
    }

    /// Interleaved samples.
    pub fn samples(&self) -> &[i16] {
        &self.samples
    }

    /// Takes the interleaved samples out (they are the caller's from then on, not a pool's).
    pub fn into_samples(mut self) -> Vec<i16> {
        self.home = None;
        std::mem::take(&mut self.samples)
    }

    /// The frame, its buffer going back to `pool` when it is dropped.
    pub(super) fn returning_to(mut self, pool: FramePool) -> Self {
        self.home = Some(pool);
        self
    }

    /// Samples per second per channel.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Channel count.
    pub fn channels(&self) -> u16 {
        self.channels
    }

    /// Samples per channel (sample frames).
    pub fn samples_per_channel(&self) -> usize {
        self.samples.len() / usize::from(self.channels)
    }

    /// True when the frame holds no samples.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Play-out time of the frame.
    pub fn duration(&self) -> Duration {
        let per_channel = self.samples_per_channel() as u64;
        // Nanosecond arithmetic in u128 so long buffers cannot overflow.
        let nanos = u128::from(per_channel) * 1_000_000_000 / u128::from(self.sample_rate);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// True when the frame lasts exactly `period`.
    pub fn is_period(&self, period: FramePeriod) -> bool {
        period.samples_per_channel(self.sample_rate).is_ok_and(|n| n == self.samples_per_channel())
    }

    /// Mono by averaging the channels (the frame itself when already mono).
    pub fn into_mono(self) -> AudioFrame {
        if self.channels == 1 {
            return self;
        }
        self.to_mono()
    }

    /// Mono by averaging the channels (a copy when already mono).
    pub fn to_mono(&self) -> AudioFrame {
        if self.channels == 1 {
            return self.clone();
        }
        let channels = usize::from(self.channels);
        let samples = self
            .samples
            .chunks_exact(channels)
            // The mean of i16 values always fits i16; summing in i32 avoids overflow on the way.
            .map(|f| (f.iter().map(|&s| i32::from(s)).sum::<i32>() / channels as i32) as i16)
            .collect();
        AudioFrame { samples, sample_rate: self.sample_rate, channels: 1, home: None }
    }

    /// Splits into consecutive frames of `period`; the last one may be shorter.
    pub fn chunks(&self, period: FramePeriod) -> Result<Vec<AudioFrame>, FrameError> {
        let per_chunk = period.samples_per_channel(self.sample_rate)? * usize::from(self.channels);
        Ok(self
            .samples
            .chunks(per_chunk.max(1))
            .map(|c| AudioFrame {
                samples: c.to_vec(),
                sample_rate: self.sample_rate,
                channels: self.channels,
                home: None,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_invalid_shapes() {
        assert_eq!(AudioFrame::new(vec![0; 4], 0, 1), Err(FrameError::ZeroSampleRate));
        assert_eq!(AudioFrame::new(vec![0; 4], 16_000, 0), Err(FrameError::ZeroChannels));
        assert_eq!(AudioFrame::new(vec![0; 3], 16_000, 2), Err(FrameError::RaggedChannels { samples: 3, channels: 2 }));
        assert_eq!(AudioFrame::from_le_bytes(&[0; 3], 16_000, 1), Err(FrameError::OddByteCount(3)));
        assert_eq!(
            FramePeriod::Ms10.samples_per_channel(22_050),
            Err(FrameError::FractionalPeriod { sample_rate: 22_050, period_ms: 10 })
        );
    }

    #[test]
    fn durations_and_periods() {
        assert_eq!(FramePeriod::Ms10.samples_per_channel(48_000), Ok(480));
        assert_eq!(FramePeriod::Ms20.samples_per_channel(16_000), Ok(320));
        assert_eq!(FramePeriod::Ms20.samples_per_channel(44_100), Ok(882));
        let f = AudioFrame::silence(48_000, 2, FramePeriod::Ms20).unwrap();
        assert_eq!(f.samples().len(), 1920);
        assert_eq!(f.duration(), Duration::from_millis(20));
        assert!(f.is_period(FramePeriod::Ms20));
        assert!(!f.is_period(FramePeriod::Ms10));
        let chunks = f.chunks(FramePeriod::Ms10).unwrap();
        assert_eq!(chunks.len(), 2);
        assert!(chunks.iter().all(|c| c.is_period(FramePeriod::Ms10)));
    }

    #[test]
    fn bytes_round_trip_and_downmix() {
        let f = AudioFrame::new(vec![100, -100, i16::MAX, i16::MAX, i16::MIN, i16::MIN], 8_000, 2).unwrap();
        assert_eq!(AudioFrame::from_le_bytes(&f.to_le_bytes(), 8_000, 2).unwrap(), f);
        let mono = f.to_mono();
        assert_eq!(mono.channels(), 1);
        assert_eq!(mono.samples(), &[0, i16::MAX, i16::MIN]);
        assert_eq!(mono.duration(), f.duration());
    }
}
