//! The jitter buffer between the network and the Opus decoder, sans-I/O: packets go in with
//! their RTP sequence number and arrival time; every 20 ms one frame's worth comes out, in
//! order, a fixed playout delay after the first packet.
//!
//! - Reordering within the delay is undone; a packet arriving after its slot was played is
//!   dropped (counted as late).
//! - A missing packet comes out as [`Slot::Lost`], with the packet after it when that one is
//!   here already, so the decoder can rebuild the frame from its in-band FEC.
//! - The delay is bounded: when more than `max_delay` is queued (a burst after a stall), the
//!   oldest packets are dropped (counted) so the user's voice is never heard late.
//! - Silence (DTX, a muted microphone) is not concealed forever: after `max_conceal` of lost
//!   frames with nothing queued, nothing comes out until packets resume, and the clock
//!   restarts with them.

use std::sync::Arc;
use std::time::{Duration, Instant};

/// A packet's payload, shared with the WebRTC stack that received it (no copy per packet).
pub type Payload = Arc<[u8]>;

/// One 20 ms frame.
pub const FRAME: Duration = Duration::from_millis(20);

#[derive(Debug, Clone, PartialEq)]
pub struct JitterConfig {
    /// How long after the first packet playout starts: the reordering the buffer absorbs.
    pub delay: Duration,
    /// The most audio queued before the oldest is dropped.
    pub max_delay: Duration,
    /// Lost frames concealed in a row before the stream counts as paused.
    pub max_conceal: Duration,
}

impl Default for JitterConfig {
    fn default() -> Self {
        Self {
            delay: Duration::from_millis(60),
            max_delay: Duration::from_millis(200),
            max_conceal: Duration::from_millis(100),
        }
    }
}

/// What one 20 ms slot holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    Packet(Payload),
    /// The packet is missing; `next` is the following packet if it has arrived (for FEC).
    Lost {
        next: Option<Payload>,
    },
}

/// Counters, for logs and metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JitterStats {
    pub received: u64,
    pub late: u64,
    pub duplicates: u64,
    pub lost: u64,
    /// Dropped to keep the delay bounded.
    pub overflow: u64,
}

#[derive(Debug)]
pub struct JitterBuffer {
    config: JitterConfig,
    /// The queued packets by extended sequence number, in a ring of `max_delay` slots: the
    /// delay bound keeps every queued number within one ring of the next to play, so slots
    /// never collide and a call in steady state allocates nothing.
    ring: Vec<Option<(u64, Payload)>>,
    /// Extended sequence number of the next slot to play.
    next: Option<u64>,
    /// The newest extended sequence number seen (for unwrapping).
    newest: Option<u64>,
    /// When the next slot is due.
    due: Option<Instant>,
    /// Lost slots in a row.
    concealed: u32,
    stats: JitterStats,
}

impl JitterBuffer {
    pub fn new(config: JitterConfig) -> Self {
        let slots = (config.max_delay.as_millis() / FRAME.as_millis()).max(1) as usize;
        Self {
            config,
            ring: vec![None; slots],
            next: None,
            newest: None,
            due: None,
            concealed: 0,
            stats: JitterStats::default(),
        }
    }

    pub fn stats(&self) -> &JitterStats {
        &self.stats
    }

    /// A packet arrived at `now`.
    pub fn push(&mut self, seq: u16, payload: Payload, now: Instant) {
        let seq = self.extend(seq);
        self.stats.received += 1;
        if self.next.is_some_and(|next| seq < next) {
            self.stats.late += 1;
            return;
        }
        if self.get(seq).is_some() {
            self.stats.duplicates += 1;
            return;
        }
        // Room first, so the new packet lands in a free slot.
        self.bound();
        let slot = self.slot(seq);
        self.ring[slot] = Some((seq, payload));
        if self.next.is_none() || self.due.is_none() {
            // The first packet, or the first after a pause: playout starts a delay later.
            self.next = self.ring.iter().flatten().map(|(queued, _)| *queued).min();
            self.due = Some(now + self.config.delay);
            self.concealed = 0;
        }
    }

    fn slot(&self, seq: u64) -> usize {
        (seq % self.ring.len() as u64) as usize
    }

    fn get(&self, seq: u64) -> Option<&Payload> {
        self.ring[self.slot(seq)].as_ref().filter(|(queued, _)| *queued == seq).map(|(_, payload)| payload)
    }

    fn remove(&mut self, seq: u64) -> Option<Payload> {
        let slot = self.slot(seq);
        match &self.ring[slot] {
            Some((queued, _)) if *queued == seq => self.ring[slot].take().map(|(_, payload)| payload),
            _ => None,
        }
    }

    fn is_empty(&self) -> bool {
        self.ring.iter().all(Option::is_none)
    }

    /// When [`Self::poll`] has a slot due.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.due
    }

    /// The slot due at `now`, if one is.
    pub fn poll(&mut self, now: Instant) -> Option<Slot> {
        let due = self.due?;
        let next = self.next?;
        if now < due {
            return None;
        }
        self.due = Some(due + FRAME);
        self.next = Some(next + 1);
        if let Some(payload) = self.remove(next) {
            self.concealed = 0;
            return Some(Slot::Packet(payload));
        }
        self.stats.lost += 1;
        self.concealed += 1;
        if self.is_empty() && FRAME * self.concealed > self.config.max_conceal {
            // Nothing is coming: the sender paused (DTX, mute), and sequence numbers do not
            // advance in a pause. The concealed slots were not losses: the next packet expected
            // is still the one after the last played, and playout waits for it.
            self.next = Some(next + 1 - u64::from(self.concealed));
            self.stats.lost -= u64::from(self.concealed);
            self.due = None;
            self.concealed = 0;
            return None;
        }
        Some(Slot::Lost { next: self.get(next + 1).cloned() })
    }

    /// Drops the oldest packets while the newest is more than the delay bound ahead.
    fn bound(&mut self) {
        let max = self.ring.len() as u64;
        while let (Some(next), Some(newest)) = (self.next, self.newest) {
            if newest < next + max {
                return;
            }
            if self.remove(next).is_some() {
                self.stats.overflow += 1;
            }
            self.next = Some(next + 1);
        }
    }

    /// The 16-bit sequence number as a 64-bit one, continuing across wrap-around.
    fn extend(&mut self, seq: u16) -> u64 {
        let Some(newest) = self.newest else {
            let extended = u64::from(seq) + (1 << 16);
            self.newest = Some(extended);
            return extended;
        };
        let base = newest & !0xffff;
        let candidates = [base.wrapping_sub(1 << 16), base, base + (1 << 16)].map(|b| b + u64::from(seq));
        let extended = candidates.into_iter().min_by_key(|c| c.abs_diff(newest)).unwrap_or(newest);
        self.newest = Some(newest.max(extended));
        extended
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Runs the buffer to `until`, collecting (time since t0 in ms, slot).
    fn drain(buffer: &mut JitterBuffer, t0: Instant, until: Duration) -> Vec<(u64, Slot)> {
        let mut out = Vec::new();
        while let Some(at) = buffer.next_timeout().filter(|at| *at <= t0 + until) {
            if let Some(slot) = buffer.poll(at) {
                out.push(((at - t0).as_millis() as u64, slot));
            }
        }
        out
    }

    fn packet(n: u8) -> Payload {
        Payload::from([n])
    }

    #[test]
    fn reordered_packets_play_in_order_a_fixed_delay_after_the_first() {
        let t0 = Instant::now();
        let mut buffer = JitterBuffer::new(JitterConfig::default());
        for (seq, at) in [(10u16, 0), (12, 21), (11, 25), (13, 60)] {
            buffer.push(seq, packet(seq as u8), t0 + ms(at));
        }
        let out = drain(&mut buffer, t0, ms(120));
        let slots: Vec<(u64, Slot)> =
            (10u8..=13).map(|n| (60 + 20 * u64::from(n - 10), Slot::Packet(packet(n)))).collect();
        assert_eq!(out, slots);
    }

    #[test]
    fn a_missing_packet_is_lost_with_its_successor_for_fec_and_a_late_one_is_dropped() {
        let t0 = Instant::now();
        let mut buffer = JitterBuffer::new(JitterConfig::default());
        buffer.push(1, packet(1), t0);
        buffer.push(3, packet(3), t0 + ms(40));
        let out = drain(&mut buffer, t0, ms(100));
        assert_eq!(
            out,
            [(60, Slot::Packet(packet(1))), (80, Slot::Lost { next: Some(packet(3)) }), (100, Slot::Packet(packet(3))),]
        );
        buffer.push(2, packet(2), t0 + ms(101));
        assert_eq!(buffer.stats().late, 1);
        assert_eq!(buffer.stats().lost, 1);
    }

    #[test]
    fn sequence_numbers_wrap_around() {
        let t0 = Instant::now();
        let mut buffer = JitterBuffer::new(JitterConfig::default());
        for (i, seq) in [65534u16, 65535, 0, 1].into_iter().enumerate() {
            buffer.push(seq, packet(i as u8), t0 + ms(20 * i as u64));
        }
        let out: Vec<Slot> = drain(&mut buffer, t0, ms(120)).into_iter().map(|(_, s)| s).collect();
        assert_eq!(out, (0..4).map(|i| Slot::Packet(packet(i))).collect::<Vec<_>>());
    }

    #[test]
    fn a_burst_after_a_stall_is_cut_to_the_delay_bound() {
        let t0 = Instant::now();
        let mut buffer = JitterBuffer::new(JitterConfig::default());
        // 30 packets (600 ms of audio) arrive at once.
        for seq in 0..30u16 {
            buffer.push(seq, packet(seq as u8), t0);
        }
        assert_eq!(buffer.stats().overflow, 20, "only 200 ms kept");
        let out = drain(&mut buffer, t0, ms(1000));
        let played: Vec<&Slot> = out.iter().map(|(_, s)| s).filter(|s| matches!(s, Slot::Packet(_))).collect();
        assert_eq!(played.len(), 10);
        assert_eq!(out[0], (60, Slot::Packet(packet(20))));
    }

    #[test]
    fn a_paused_sender_is_concealed_briefly_then_waited_for() {
        let t0 = Instant::now();
        let mut buffer = JitterBuffer::new(JitterConfig::default());
        buffer.push(0, packet(0), t0);
        let out = drain(&mut buffer, t0, ms(2000));
        // The packet, then 100 ms (5 frames) concealed, then nothing.
        assert_eq!(out.len(), 6, "{out:?}");
        assert!(buffer.next_timeout().is_none());
        // The sender resumes a second later (DTX): playout restarts a delay after it.
        buffer.push(50, packet(50), t0 + ms(1000));
        assert_eq!(drain(&mut buffer, t0, ms(1060)), [(1060, Slot::Packet(packet(50)))]);
    }
}
