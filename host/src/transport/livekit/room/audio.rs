//! A room's audio both ways, sans-I/O: the user's microphone in (the track listened to →
//! jitter buffer → Opus decoder → 20 ms frames at 48 kHz) and the agent's voice out (one
//! Opus packet per 20 ms, speech as it comes from the voice loop, DTX silence between).
//!
//! Which microphone: the one named in the options, else the first user (a standard
//! participant, not another agent or a recorder) in join order who has an audio track; that
//! user's newest track. A track that is unpublished, or whose owner leaves, is dropped, and
//! the choice is made again; switching tracks starts a fresh jitter buffer and decoder.
//!
//! Once a track has sent its first packet, a frame comes out every 20 ms while it is listened
//! to: its audio, concealment for a lost packet, silence while the sender pauses (DTX, mute).
//! The voice loop hears a steady stream and its VAD sees speech end.

use std::time::{Duration, Instant};

use livekit_protocol as proto;
use str0m::media::Mid;

use super::RoomError;
use super::peer::Peer;
use crate::audio::AudioFrame;
use crate::audio::jitter::{FRAME, JitterBuffer, JitterConfig, JitterStats, Payload, Slot};
use crate::audio::opus::{FRAME_SAMPLES, OPUS_RATE, OpusDecoder};
use crate::audio::outgoing::OutgoingVoice;

/// After the agent's last frame of speech, how long before silent packets fill in: one frame
/// of slack, so a voice loop a little late never gets silence spliced into its speech.
const SPEECH_GAP: Duration = Duration::from_millis(40);
/// A late session catches up on at most this much missed silence, then skips ahead.
const MAX_CATCH_UP: Duration = Duration::from_millis(200);

/// Whether a participant is someone the agent talks to: a browser or a phone caller, not
/// another agent or a recorder.
pub fn is_user(participant: &proto::ParticipantInfo) -> bool {
    use proto::participant_info::Kind;
    !matches!(Kind::try_from(participant.kind), Ok(Kind::Agent | Kind::Egress))
}

/// One audio track the subscriber carries.
#[derive(Debug, Clone)]
struct RemoteTrack {
    mid: Mid,
    participant_sid: String,
    track_sid: String,
}

/// The track listened to and its decoding state.
struct Listening {
    mid: Mid,
    track_sid: String,
    jitter: JitterBuffer,
    decoder: OpusDecoder,
    /// When the next frame is due while the jitter buffer waits (silence); `None` until the
    /// first packet.
    clock: Option<Instant>,
    undecodable: u64,
}

/// The agent's published track.
struct AgentTrack {
    cid: String,
    voice: OutgoingVoice,
    /// When the next silent packet goes out.
    next_silence: Option<Instant>,
    /// Frames refused because they were not 20 ms of 48 kHz mono.
    refused: u64,
}

/// Counters a session reports when it ends.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AudioStats {
    pub jitter: JitterStats,
    pub undecodable: u64,
    pub frames_in: u64,
    pub packets_out: u64,
}

pub(super) struct RoomAudio {
    /// Set by `start`: before it, packets are ignored and nothing is sent.
    started: bool,
    /// The identity to listen to (`None`: the first user).
    listen_to: Option<String>,
    tracks: Vec<RemoteTrack>,
    listening: Option<Listening>,
    agent: Option<AgentTrack>,
    stats: AudioStats,
}

impl RoomAudio {
    pub fn new() -> Self {
        Self {
            started: false,
            listen_to: None,
            tracks: Vec::new(),
            listening: None,
            agent: None,
            stats: AudioStats::default(),
        }
    }

    /// Starts listening (to `listen_to`, or the first user) and prepares the agent's track
    /// (`cid` is its client id in `AddTrackRequest`); `media_time` starts its RTP clock.
    pub fn start(&mut self, listen_to: Option<String>, cid: String, media_time: u64) -> Result<(), RoomError> {
        let voice = OutgoingVoice::new(media_time).map_err(|e| RoomError::WebRtc(e.to_string()))?;
        self.started = true;
        self.listen_to = listen_to;
        self.agent = Some(AgentTrack { cid, voice, next_silence: None, refused: 0 });
        Ok(())
    }

    pub fn is_started(&self) -> bool {
        self.started
    }

    /// The agent track's client id, once started.
    pub fn agent_cid(&self) -> Option<&str> {
        self.agent.as_ref().map(|a| a.cid.as_str())
    }

    pub fn stats(&self) -> AudioStats {
        let mut stats = self.stats.clone();
        if let Some(listening) = &self.listening {
            stats.jitter = listening.jitter.stats().clone();
            stats.undecodable += listening.undecodable;
        }
        stats
    }

    /// The subscriber added an audio track; `stream_id` is `"<participant_sid>|<track_sid>"`.
    pub fn track_added(&mut self, mid: Mid, stream_id: &str, remotes: &[proto::ParticipantInfo]) {
        let Some((participant_sid, track_sid)) = stream_id.split_once('|') else {
            tracing::debug!(%stream_id, "audio track without a LiveKit msid ignored");
            return;
        };
        self.tracks.retain(|t| t.mid != mid);
        self.tracks.push(RemoteTrack { mid, participant_sid: participant_sid.into(), track_sid: track_sid.into() });
        self.choose(remotes);
    }

    /// The participants changed: drop the tracks of those who left or unpublished, and choose
    /// again.
    pub fn participants_changed(&mut self, remotes: &[proto::ParticipantInfo]) {
        self.tracks.retain(|track| {
            remotes.iter().find(|p| p.sid == track.participant_sid).is_some_and(|p| {
                // A participant listing no tracks has not been told about them yet (the
                // update can come after the offer); one listing others has unpublished this.
                p.tracks.is_empty() || p.tracks.iter().any(|t| t.sid == track.track_sid)
            })
        });
        self.choose(remotes);
    }

    /// Picks the track to listen to; a change of track starts afresh.
    fn choose(&mut self, remotes: &[proto::ParticipantInfo]) {
        let user = remotes.iter().find(|p| match &self.listen_to {
            Some(identity) => &p.identity == identity,
            None => is_user(p) && self.tracks.iter().any(|t| t.participant_sid == p.sid),
        });
        let track = user.and_then(|user| self.tracks.iter().rev().find(|t| t.participant_sid == user.sid));
        let same = match (&self.listening, track) {
            (Some(listening), Some(track)) => listening.mid == track.mid,
            (None, None) => true,
            _ => false,
        };
        if same {
            return;
        }
        if let Some(old) = self.listening.take() {
            tracing::debug!(track = %old.track_sid, stats = ?old.jitter.stats(), "stopped listening");
            self.stats.undecodable += old.undecodable;
        }
        let Some(track) = track else { return };
        match OpusDecoder::new() {
            Ok(decoder) => {
                tracing::info!(track = %track.track_sid, participant = %track.participant_sid, "listening to the user's microphone");
                self.listening = Some(Listening {
                    mid: track.mid,
                    track_sid: track.track_sid.clone(),
                    jitter: JitterBuffer::new(JitterConfig::default()),
                    decoder,
                    clock: None,
                    undecodable: 0,
                });
            }
            Err(error) => tracing::warn!(%error, "no Opus decoder; the user cannot be heard"),
        }
    }

    /// An Opus packet arrived on the subscriber.
    pub fn packet(&mut self, mid: Mid, seq: u64, payload: Payload, now: Instant) {
        let Some(listening) = self.listening.as_mut().filter(|l| l.mid == mid && self.started) else { return };
        // The jitter buffer extends 16-bit sequence numbers itself.
        listening.jitter.push(seq as u16, payload, now);
        listening.clock.get_or_insert(now);
    }

    /// The microphone frames due by `now`, each handed to `emit`.
    pub fn poll_microphone(&mut self, now: Instant, mut emit: impl FnMut(AudioFrame)) {
        let Some(listening) = self.listening.as_mut() else { return };
        loop {
            if let Some(due) = listening.jitter.next_timeout().filter(|due| *due <= now) {
                let Some(slot) = listening.jitter.poll(due) else { continue };
                listening.clock = Some(due + FRAME);
                let decoded = match &slot {
                    Slot::Packet(packet) => listening.decoder.decode(packet),
                    Slot::Lost { next: Some(next) } => listening.decoder.recover(next),
                    Slot::Lost { next: None } => listening.decoder.conceal(),
                };
                let samples = match decoded {
                    Ok(samples) => samples.to_vec(),
                    Err(error) => {
                        listening.undecodable += 1;
                        if listening.undecodable % 50 == 1 {
                            tracing::warn!(%error, count = listening.undecodable, "undecodable Opus packet");
                        }
                        vec![0; FRAME_SAMPLES]
                    }
                };
                self.stats.frames_in += 1;
                if let Ok(frame) = AudioFrame::new(samples, OPUS_RATE, 1) {
                    emit(frame);
                }
                continue;
            }
            // The sender paused: silence on the same 20 ms grid until it resumes.
            let paused = listening.jitter.next_timeout().is_none();
            match listening.clock {
                Some(at) if paused && at <= now => {
                    let at = if now.saturating_duration_since(at) > MAX_CATCH_UP { now } else { at };
                    listening.clock = Some(at + FRAME);
                    self.stats.frames_in += 1;
                    if let Ok(frame) = AudioFrame::new(vec![0; FRAME_SAMPLES], OPUS_RATE, 1) {
                        emit(frame);
                    }
                }
                _ => return,
            }
        }
    }

    /// The agent's next 20 ms of speech: encoded and written at once (the voice loop paces).
    pub fn agent_frame(&mut self, frame: &AudioFrame, publisher: &mut Peer, now: Instant) -> Result<(), RoomError> {
        let Some(agent) = self.agent.as_mut() else { return Ok(()) };
        if frame.sample_rate() != OPUS_RATE || frame.channels() != 1 || frame.samples().len() != FRAME_SAMPLES {
            agent.refused += 1;
            if agent.refused % 50 == 1 {
                tracing::warn!(
                    rate = frame.sample_rate(),
                    samples = frame.samples().len(),
                    "agent audio frame is not 20 ms of 48 kHz mono; dropped"
                );
            }
            return Ok(());
        }
        agent.next_silence = Some(now + SPEECH_GAP);
        let packet = agent.voice.tick(Some(frame.samples())).map_err(|e| RoomError::WebRtc(e.to_string()))?;
        self.stats.packets_out += 1;
        publisher.write_audio(now, packet.media_time, packet.marker, packet.payload)
    }

    /// Silent packets due by `now`, once the track can send.
    pub fn poll_agent(&mut self, publisher: &mut Peer, now: Instant) -> Result<(), RoomError> {
        let Some(agent) = self.agent.as_mut() else { return Ok(()) };
        if !publisher.can_send_audio() {
            return Ok(());
        }
        let mut at = *agent.next_silence.get_or_insert(now);
        if now.saturating_duration_since(at) > MAX_CATCH_UP {
            at = now;
        }
        while at <= now {
            let packet = agent.voice.tick(None).map_err(|e| RoomError::WebRtc(e.to_string()))?;
            self.stats.packets_out += 1;
            publisher.write_audio(now, packet.media_time, packet.marker, packet.payload)?;
            at += FRAME;
        }
        agent.next_silence = Some(at);
        Ok(())
    }

    /// When audio next needs the session: a frame or a silent packet due.
    pub fn deadline(&self) -> Option<Instant> {
        let listening = self.listening.as_ref().and_then(|l| match l.jitter.next_timeout() {
            Some(due) => Some(due),
            None => l.clock,
        });
        let agent = self.agent.as_ref().and_then(|a| a.next_silence);
        [listening, agent].into_iter().flatten().min()
    }
}
