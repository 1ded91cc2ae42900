//! Just enough SDP reading for the fake SFU: media sections, their mids and directions.

/// The session part of an SDP (kind empty) and each media section.
pub(super) struct Section<'a> {
    pub(super) kind: &'a str,
    pub(super) lines: Vec<&'a str>,
}

impl<'a> Section<'a> {
    pub(super) fn has(&self, line: &str) -> bool {
        self.lines.contains(&line)
    }

    pub(super) fn mid(&self) -> Option<&'a str> {
        self.lines.iter().find_map(|l| l.strip_prefix("a=mid:"))
    }

    /// Whether the offerer sends on this m-line (sendrecv or sendonly, and not stopped).
    pub(super) fn sends(&self) -> bool {
        let stopped = self.lines.first().is_some_and(|m| m.split(' ').nth(1) == Some("0"));
        !stopped && !self.has("a=inactive") && !self.has("a=recvonly")
    }
}

pub(super) fn sections(sdp: &str) -> impl Iterator<Item = Section<'_>> {
    let mut sections = vec![Section { kind: "", lines: Vec::new() }];
    for line in sdp.lines().map(str::trim_end).filter(|l| !l.is_empty()) {
        if let Some(media) = line.strip_prefix("m=") {
            sections.push(Section { kind: media.split(' ').next().unwrap_or_default(), lines: Vec::new() });
        }
        if let Some(section) = sections.last_mut() {
            section.lines.push(line);
        }
    }
    sections.into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_know_their_mid_and_whether_the_offerer_sends() {
        let sdp = "v=0\r\nm=audio 9 RTP 111\r\na=mid:0\r\na=sendonly\r\nm=audio 9 RTP 111\r\na=mid:1\r\na=inactive\r\n\
                   m=audio 0 RTP 111\r\na=mid:2\r\nm=audio 9 RTP 111\r\na=mid:3\r\na=recvonly\r\n";
        let found: Vec<(Option<&str>, bool)> = sections(sdp).skip(1).map(|s| (s.mid(), s.sends())).collect();
        assert_eq!(found, [(Some("0"), true), (Some("1"), false), (Some("2"), false), (Some("3"), false)]);
    }
}
