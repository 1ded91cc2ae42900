//! A room's audio both ways, sans-I/O: the user's microphone in (the track listened to →
//! jitter buffer → Opus decoder → 20 ms frames at 48 kHz) and the agent's voice out (one
//! Opus packet per 20 ms of speech as it comes from the voice loop; silence goes over to DTX
//! and then nothing is sent until the agent speaks again).
//!
//! Which microphone: the one named in the options, else the first user (a standard
//! participant, not another agent or a recorder) in join order who has an audio track; that
//! user's newest track. A track that is unpublished, or whose owner leaves, is dropped, and
//! the choice is made again; switching tracks starts a fresh jitter buffer and decoder.
//!
//! Decoding is [`IncomingVoice`]'s (a frame every 20 ms once the first packet is in, silence
//! while the sender pauses), sending [`PacedVoice`]'s.

use std::time::Instant;

use livekit_protocol as proto;
use str0m::media::Mid;

use super::RoomError;
use crate::audio::AudioFrame;
use crate::audio::incoming::IncomingVoice;
use crate::audio::jitter::{JitterStats, Payload};
use crate::audio::paced::{PacedVoice, SendStats};
use crate::transport::webrtc::Peer;

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
    participant_sid: String,
    track_sid: String,
    voice: IncomingVoice,
}

/// The agent's published track.
struct AgentTrack {
    cid: String,
    /// The server's id for it, once `track_published` came.
    sid: Option<String>,
    voice: PacedVoice,
}

/// Counters a session reports when it ends.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AudioStats {
    pub jitter: JitterStats,
    pub undecodable: u64,
    pub frames_in: u64,
    pub sent: SendStats,
}

pub(super) struct RoomAudio {
    /// The identity to listen to (`None`: the first user).
    listen_to: Option<String>,
    tracks: Vec<RemoteTrack>,
    listening: Option<Listening>,
    agent: Option<AgentTrack>,
    /// What tracks no longer listened to counted.
    stats: AudioStats,
}

impl RoomAudio {
    pub fn new() -> Self {
        Self { listen_to: None, tracks: Vec::new(), listening: None, agent: None, stats: AudioStats::default() }
    }

    /// Starts listening (to `listen_to`, or the first user) and prepares the agent's track
    /// (`cid` is its client id in `AddTrackRequest`); `media_time` starts its RTP clock.
    pub fn start(&mut self, listen_to: Option<String>, cid: String, media_time: u64) -> Result<(), RoomError> {
        let voice = PacedVoice::new(media_time).map_err(|e| RoomError::WebRtc(e.to_string()))?;
        self.listen_to = listen_to;
        self.agent = Some(AgentTrack { cid, sid: None, voice });
        Ok(())
    }

    /// Whether `start` was called: before it, packets are ignored and nothing is sent.
    pub fn is_started(&self) -> bool {
        self.agent.is_some()
    }

    /// The agent track's client id, once started.
    pub fn agent_cid(&self) -> Option<&str> {
        self.agent.as_ref().map(|a| a.cid.as_str())
    }

    /// The server published the agent's track as `sid`.
    pub fn agent_published(&mut self, sid: String) {
        if let Some(agent) = self.agent.as_mut() {
            agent.sid = Some(sid);
        }
    }

    /// The agent's track sid, once published.
    pub fn agent_track_sid(&self) -> Option<&str> {
        self.agent.as_ref().and_then(|a| a.sid.as_deref())
    }

    /// Whose microphone is heard, and on which track: (participant sid, track sid).
    pub fn heard_participant(&self) -> Option<(&str, &str)> {
        self.listening.as_ref().map(|l| (l.participant_sid.as_str(), l.track_sid.as_str()))
    }

    pub fn stats(&self) -> AudioStats {
        let mut stats = self.stats.clone();
        if let Some(listening) = &self.listening {
            stats.jitter = listening.voice.jitter_stats().clone();
            stats.undecodable += listening.voice.undecodable();
            stats.frames_in += listening.voice.frames();
        }
        if let Some(agent) = &self.agent {
            stats.sent = agent.voice.stats();
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
            tracing::debug!(track = %old.track_sid, stats = ?old.voice.jitter_stats(), "stopped listening");
            self.stats.undecodable += old.voice.undecodable();
            self.stats.frames_in += old.voice.frames();
        }
        let Some(track) = track else { return };
        match IncomingVoice::new() {
            Ok(voice) => {
                tracing::info!(track = %track.track_sid, participant = %track.participant_sid, "listening to the user's microphone");
                self.listening = Some(Listening {
                    mid: track.mid,
                    participant_sid: track.participant_sid.clone(),
                    track_sid: track.track_sid.clone(),
                    voice,
                });
            }
            Err(error) => tracing::warn!(%error, "no Opus decoder; the user cannot be heard"),
        }
    }

    /// An Opus packet arrived on the subscriber.
    pub fn packet(&mut self, mid: Mid, seq: u64, payload: Payload, now: Instant) {
        let started = self.is_started();
        let Some(listening) = self.listening.as_mut().filter(|l| l.mid == mid && started) else { return };
        listening.voice.push(seq, payload, now);
    }

    /// The microphone frames due by `now`, each handed to `emit`.
    pub fn poll_microphone(&mut self, now: Instant, emit: impl FnMut(AudioFrame)) {
        if let Some(listening) = self.listening.as_mut() {
            listening.voice.poll(now, emit);
        }
    }

    /// The agent's next 20 ms of speech: encoded and written at once (the voice loop paces).
    pub fn agent_frame(&mut self, frame: &AudioFrame, publisher: &mut Peer, now: Instant) {
        if let Some(agent) = self.agent.as_mut() {
            agent.voice.speech(frame, now, |packet| publisher.write_audio(now, packet));
        }
    }

    /// Silent packets due by `now`, once the track can send, until the encoder pauses in DTX
    /// (then nothing is scheduled until the agent speaks again).
    pub fn poll_agent(&mut self, publisher: &mut Peer, now: Instant) {
        if let Some(agent) = self.agent.as_mut() {
            let can_send = publisher.can_send_audio();
            agent.voice.poll(now, can_send, |packet| publisher.write_audio(now, packet));
        }
    }

    /// When audio next needs the session: a frame or a silent packet due.
    pub fn deadline(&self) -> Option<Instant> {
        let listening = self.listening.as_ref().and_then(|l| l.voice.deadline());
        let agent = self.agent.as_ref().and_then(|a| a.voice.deadline());
        [listening, agent].into_iter().flatten().min()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::audio::opus::{FRAME_SAMPLES, OpusEncoder};

    fn participant(sid: &str, identity: &str, kind: proto::participant_info::Kind) -> proto::ParticipantInfo {
        proto::ParticipantInfo { sid: sid.into(), identity: identity.into(), kind: kind as i32, ..Default::default() }
    }

    fn started(listen_to: Option<&str>) -> RoomAudio {
        let mut audio = RoomAudio::new();
        audio.start(listen_to.map(String::from), "cid".into(), 0).unwrap();
        audio
    }

    fn listened(audio: &RoomAudio) -> Option<&str> {
        audio.listening.as_ref().map(|l| l.track_sid.as_str())
    }

    #[test]
    fn the_first_user_with_a_track_is_heard_and_agents_are_not() {
        use proto::participant_info::Kind;
        let mut remotes = vec![
            participant("PA_bot", "other-agent", Kind::Agent),
            participant("PA_u1", "user-1", Kind::Standard),
            participant("PA_u2", "user-2", Kind::Standard),
        ];
        let mut audio = started(None);
        audio.track_added(Mid::from("1"), "PA_bot|TR_bot", &remotes);
        assert_eq!(listened(&audio), None, "another agent is not the user");
        audio.track_added(Mid::from("2"), "PA_u2|TR_u2", &remotes);
        assert_eq!(listened(&audio), Some("TR_u2"));
        // user-1 joined first: once it has a track, it is the one heard.
        audio.track_added(Mid::from("3"), "PA_u1|TR_u1", &remotes);
        assert_eq!(listened(&audio), Some("TR_u1"));
        // It republishes: the newest track is heard.
        remotes[1].tracks = vec![proto::TrackInfo { sid: "TR_u1b".into(), ..Default::default() }];
        audio.track_added(Mid::from("4"), "PA_u1|TR_u1b", &remotes);
        audio.participants_changed(&remotes);
        assert_eq!(listened(&audio), Some("TR_u1b"));
        // It leaves: the next user is heard.
        remotes.remove(1);
        audio.participants_changed(&remotes);
        assert_eq!(listened(&audio), Some("TR_u2"));
        assert!(audio.tracks.iter().all(|t| t.participant_sid != "PA_u1"));
    }

    #[test]
    fn a_named_participant_is_heard_even_if_it_is_an_agent() {
        use proto::participant_info::Kind;
        let remotes = [participant("PA_u1", "user-1", Kind::Standard), participant("PA_ag", "agent-AJ_1", Kind::Agent)];
        let mut audio = started(Some("agent-AJ_1"));
        audio.track_added(Mid::from("1"), "PA_u1|TR_u1", &remotes);
        assert_eq!(listened(&audio), None);
        audio.track_added(Mid::from("2"), "PA_ag|TR_ag", &remotes);
        assert_eq!(listened(&audio), Some("TR_ag"));
    }

    #[test]
    fn frames_come_every_20_ms_from_the_first_packet_with_silence_while_the_sender_pauses() {
        use proto::participant_info::Kind;
        let remotes = [participant("PA_u1", "user-1", Kind::Standard)];
        let mut audio = started(None);
        let mid = Mid::from("1");
        audio.track_added(mid, "PA_u1|TR_u1", &remotes);
        let mut encoder = OpusEncoder::voice(32_000).unwrap();
        let tone: Vec<i16> = (0..FRAME_SAMPLES).map(|i| if i % 40 < 20 { 8000 } else { -8000 }).collect();
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        assert_eq!(audio.deadline(), None, "nothing is due before the first packet");
        // 10 packets at 20 ms, then the sender pauses for a second, then 5 more.
        let mut sent = Vec::new();
        for (i, at) in (0..10).map(|i| (i, 20 * i)).chain((10..15).map(|i| (i, 1200 + 20 * (i - 10)))) {
            sent.push((ms(at), i, Payload::from(encoder.encode(&tone).unwrap())));
        }
        let mut frames = Vec::new();
        let mut now = t0;
        let mut next = sent.into_iter().peekable();
        while now <= ms(1500) {
            while let Some((_, seq, payload)) = next.next_if(|(at, ..)| *at <= now) {
                audio.packet(mid, seq, payload, now);
            }
            audio.poll_microphone(now, |frame| frames.push((now.duration_since(t0).as_millis() as u64, rms(&frame))));
            let wake = [audio.deadline(), next.peek().map(|p| p.0)].into_iter().flatten().min();
            now = wake.unwrap_or(ms(1501)).max(now + Duration::from_micros(1));
        }
        let times: Vec<u64> = frames.iter().map(|f| f.0).collect();
        // Frames start with the first packet (silence while the jitter buffer fills, audio 60 ms
        // after it) and keep a 20 ms grid throughout, the pause included; the resumed packets
        // play 60 ms after they arrive.
        assert_eq!(times[..4], [0, 20, 40, 60]);
        assert!(times.windows(2).all(|w| w[1] - w[0] <= 20), "{times:?}");
        let loud: Vec<u64> = frames.iter().filter(|f| f.1 > 1000.0).map(|f| f.0).collect();
        // The 10 packets, a little concealment as the pause starts, then the 5 after it: with
        // sequence numbers that did not advance in the pause, none is taken for late.
        assert_eq!(&loud[..10], &[60, 80, 100, 120, 140, 160, 180, 200, 220, 240]);
        let resumed: Vec<u64> = loud.iter().filter(|t| **t >= 1200).copied().take(5).collect();
        assert_eq!(resumed, [1260, 1280, 1300, 1320, 1340]);
        assert_eq!(audio.stats().jitter.late, 0);
        // After 100 ms of concealment the pause is silence, frame by frame.
        let pause: Vec<f64> = frames.iter().filter(|f| (400..1200).contains(&f.0)).map(|f| f.1).collect();
        assert_eq!(pause, [0.0; 40]);
    }

    fn rms(frame: &AudioFrame) -> f64 {
        let samples = frame.samples();
        (samples.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / samples.len() as f64).sqrt()
    }
}
