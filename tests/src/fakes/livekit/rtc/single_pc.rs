//! The single peer connection of `/rtc/v1` clients, as the server runs it (`transport.go`,
//! `participant_signal.go`): the client is always the offerer, with receive-only audio m-lines
//! made in advance; the server never offers. To send a track, it binds it to a free receiver
//! and asks the client to negotiate (`media_sections_requirement`, with how many receivers are
//! missing); its answer then sends on that m-line with the msid `"<participant_sid>|<track_sid>"`
//! and lists every bound m-line in `mid_to_track_id`. A receiver with nothing bound is answered
//! `inactive` (no msid, no SSRC), so the client makes no track of it.

use std::collections::{BTreeMap, HashMap};

use super::sdp::sections;

/// One track to send: its msid stream id and track sid.
type Track = (String, String);

#[derive(Debug, Default)]
pub(super) struct SinglePc {
    /// The client's receive-only audio m-lines in its latest offer.
    receivers: Vec<String>,
    /// What is sent on them: mid → track.
    bound: BTreeMap<String, Track>,
    /// Tracks waiting for a receiver.
    waiting: Vec<Track>,
}

impl SinglePc {
    pub(super) fn new(waiting: Vec<Track>) -> Self {
        Self { waiting, ..Self::default() }
    }

    /// A track to send to this client; bound at once if a receiver is free.
    pub(super) fn subscribe(&mut self, track: Track) {
        self.waiting.push(track);
        self.bind();
    }

    /// `track_sid` was unpublished: its receiver is free again (answered inactive next time).
    pub(super) fn unsubscribe(&mut self, track_sid: &str) {
        self.bound.retain(|_, (_, track)| track != track_sid);
        self.waiting.retain(|(_, track)| track != track_sid);
    }

    /// The client's offer: its receivers as they are now, the waiting tracks bound to free ones.
    pub(super) fn offered(&mut self, sdp: &str) {
        self.receivers = sections(sdp)
            .filter(|s| s.kind == "audio" && s.has("a=recvonly"))
            .filter_map(|s| s.mid().map(str::to_string))
            .collect();
        self.bound.retain(|mid, _| self.receivers.contains(mid));
        self.bind();
    }

    fn bind(&mut self) {
        while !self.waiting.is_empty() {
            let Some(free) = self.receivers.iter().find(|mid| !self.bound.contains_key(*mid)).cloned() else { return };
            let track = self.waiting.remove(0);
            self.bound.insert(free, track);
        }
    }

    /// Receivers the client must add for the tracks still waiting.
    pub(super) fn missing(&self) -> u32 {
        u32::try_from(self.waiting.len()).unwrap_or(u32::MAX)
    }

    /// The m-line `track_sid` is sent on.
    pub(super) fn mid_of(&self, track_sid: &str) -> Option<&str> {
        self.bound.iter().find(|(_, (_, track))| track == track_sid).map(|(mid, _)| mid.as_str())
    }

    /// Every bound m-line's track, for the answer's `mid_to_track_id`.
    pub(super) fn mid_to_track_id(&self) -> HashMap<String, String> {
        self.bound.iter().map(|(mid, (_, track))| (mid.clone(), track.clone())).collect()
    }

    /// The answer str0m wrote, as the server writes it: bound receivers carry their track's
    /// msid, free ones are inactive.
    pub(super) fn rewrite_answer(&self, answer: &str) -> String {
        let mut out = String::with_capacity(answer.len() + 256);
        for section in sections(answer) {
            let sending = section.kind == "audio" && section.has("a=sendonly");
            let track = section.mid().and_then(|mid| self.bound.get(mid));
            for line in &section.lines {
                let line = match (sending, track) {
                    (false, _) => Some(line.to_string()),
                    (true, Some((stream, track))) => Some(if line.starts_with("a=msid:") {
                        format!("a=msid:{stream} {track}")
                    } else if let Some((ssrc, _)) = line.strip_prefix("a=ssrc:").and_then(|r| r.split_once(" msid:")) {
                        format!("a=ssrc:{ssrc} msid:{stream} {track}")
                    } else {
                        line.to_string()
                    }),
                    (true, None) if *line == "a=sendonly" => Some("a=inactive".to_string()),
                    (true, None) if line.starts_with("a=msid:") || line.starts_with("a=ssrc") => None,
                    (true, None) => Some(line.to_string()),
                };
                if let Some(line) = line {
                    out.push_str(&line);
                    out.push_str("\r\n");
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:1\r\na=recvonly\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:2\r\na=recvonly\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:3\r\na=sendonly\r\na=msid:- mic\r\n";

    const ANSWER: &str = "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:1\r\na=sendonly\r\na=msid:x y\r\na=ssrc:11 cname:c\r\na=ssrc:11 msid:x y\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:2\r\na=sendonly\r\na=msid:z w\r\na=ssrc:22 msid:z w\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:3\r\na=recvonly\r\n";

    fn track(n: &str) -> Track {
        (format!("PA_a|TR_{n}"), format!("TR_{n}"))
    }

    #[test]
    fn tracks_take_free_receivers_and_the_answer_names_them() {
        let mut pc = SinglePc::new(vec![track("one")]);
        assert_eq!(pc.missing(), 1, "no offer yet: nothing to bind to");
        pc.offered(OFFER);
        assert_eq!((pc.missing(), pc.mid_of("TR_one")), (0, Some("1")));
        let answer = pc.rewrite_answer(ANSWER);
        assert!(answer.contains("a=mid:1\r\na=sendonly\r\na=msid:PA_a|TR_one TR_one\r\na=ssrc:11 cname:c\r\na=ssrc:11 msid:PA_a|TR_one TR_one\r\n"), "{answer}");
        // The free receiver says nothing that would make a track.
        assert!(answer.contains("a=mid:2\r\na=inactive\r\nm=audio"), "{answer}");
        assert!(!answer.contains("z w") && !answer.contains("ssrc:22"), "{answer}");
        // The client's own microphone section is left as it is.
        assert!(answer.ends_with("a=mid:3\r\na=recvonly\r\n"));
        assert_eq!(pc.mid_to_track_id(), HashMap::from([("1".to_string(), "TR_one".to_string())]));

        pc.subscribe(track("two"));
        pc.subscribe(track("three"));
        assert_eq!((pc.mid_of("TR_two"), pc.missing()), (Some("2"), 1), "a third needs a new receiver");
        let more = format!("{OFFER}m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:4\r\na=recvonly\r\n");
        pc.offered(&more);
        assert_eq!((pc.mid_of("TR_three"), pc.missing()), (Some("4"), 0));
    }
}
