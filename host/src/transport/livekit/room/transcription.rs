//! `lk.transcription` text streams: how LiveKit's own agents publish what the user and the agent
//! say, so stock LiveKit UIs (the agents playground, `useTranscriptions` in components-js, the
//! SDKs' `register_text_stream_handler`) show a voiceblox conversation without knowing our events.
//!
//! Each transcript goes out as one text stream on the reliable channel: a `stream_header` (topic
//! `lk.transcription`, `text/plain`, operation CREATE, the segment's attributes), its text in
//! `stream_chunk`s of at most [`MAX_CHUNK_BYTES`] cut on UTF-8 boundaries, then a
//! `stream_trailer`. The attributes, as the field has them:
//! - `lk.segment_id`: one `SG_` id per utterance; each interim of the user's utterance is a
//!   stream of its own carrying the whole text so far, with the same segment id;
//! - `lk.transcription_final`: `"false"` for interims, `"true"` for the final (the agent's
//!   stream says `"false"` in its header and `"true"` in its trailer, as a stream that was
//!   written as it was spoken does);
//! - `lk.transcribed_track_id`: the audio track the words were heard on (the user's microphone
//!   or the agent's voice).
//!
//! The user's streams carry the user's identity in the header packet (the server lets an agent
//! speak for a participant there, and marks the text as generated); the rest carry ours.

use std::collections::HashMap;

use livekit_protocol as proto;
use proto::data_stream;

pub const TRANSCRIPTION_TOPIC: &str = "lk.transcription";
pub const FINAL_ATTRIBUTE: &str = "lk.transcription_final";
pub const SEGMENT_ATTRIBUTE: &str = "lk.segment_id";
pub const TRACK_ATTRIBUTE: &str = "lk.transcribed_track_id";

/// The most text one chunk carries (the SDKs' limit, well inside a data packet).
pub const MAX_CHUNK_BYTES: usize = 15_000;

/// One data packet of a stream: its value, and whose words it carries when that is not the
/// sender (the header of a user's transcript).
#[derive(Debug, Clone, PartialEq)]
pub struct StreamPacket {
    pub on_behalf_of: Option<String>,
    pub value: proto::data_packet::Value,
}

/// Who said a transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speaker<'a> {
    /// The user `identity`, heard on `track_sid`.
    User { identity: &'a str, track_sid: Option<&'a str> },
    /// The agent, speaking on `track_sid`.
    Agent { track_sid: Option<&'a str> },
}

/// The segments in progress: the user's utterance keeps its id until its final.
#[derive(Debug, Default)]
pub struct Transcriptions {
    user_segment: Option<String>,
}

impl Transcriptions {
    /// The packets of one transcript, stamped `timestamp_ms` (milliseconds since the epoch).
    pub fn transcript(
        &mut self,
        speaker: Speaker<'_>,
        text: &str,
        r#final: bool,
        timestamp_ms: i64,
    ) -> Vec<StreamPacket> {
        let (segment, header_final, on_behalf_of, track_sid) = match speaker {
            Speaker::User { identity, track_sid } => {
                let segment = self.user_segment.get_or_insert_with(segment_id).clone();
                if r#final {
                    self.user_segment = None;
                }
                (segment, r#final, Some(identity.to_string()), track_sid)
            }
            Speaker::Agent { track_sid } => (segment_id(), false, None, track_sid),
        };
        let mut attributes = HashMap::from([
            (SEGMENT_ATTRIBUTE.to_string(), segment),
            (FINAL_ATTRIBUTE.to_string(), header_final.to_string()),
        ]);
        if let Some(track) = track_sid {
            attributes.insert(TRACK_ATTRIBUTE.to_string(), track.to_string());
        }
        let trailer = HashMap::from([(FINAL_ATTRIBUTE.to_string(), r#final.to_string())]);
        let generated = on_behalf_of.is_some();
        text_stream(text, attributes, trailer, generated, timestamp_ms, on_behalf_of)
    }
}

fn text_stream(
    text: &str,
    attributes: HashMap<String, String>,
    trailer_attributes: HashMap<String, String>,
    generated: bool,
    timestamp_ms: i64,
    on_behalf_of: Option<String>,
) -> Vec<StreamPacket> {
    use proto::data_packet::Value;
    let stream_id = stream_id();
    let header = data_stream::Header {
        stream_id: stream_id.clone(),
        timestamp: timestamp_ms,
        topic: TRANSCRIPTION_TOPIC.to_string(),
        mime_type: "text/plain".to_string(),
        total_length: Some(text.len() as u64),
        attributes,
        content_header: Some(data_stream::header::ContentHeader::TextHeader(data_stream::TextHeader {
            operation_type: data_stream::OperationType::Create as i32,
            generated,
            ..Default::default()
        })),
        ..Default::default()
    };
    let mut packets = vec![StreamPacket { on_behalf_of, value: Value::StreamHeader(header) }];
    for (index, chunk) in utf8_chunks(text, MAX_CHUNK_BYTES).enumerate() {
        let chunk = data_stream::Chunk {
            stream_id: stream_id.clone(),
            chunk_index: index as u64,
            content: chunk.as_bytes().to_vec(),
            ..Default::default()
        };
        packets.push(StreamPacket { on_behalf_of: None, value: Value::StreamChunk(chunk) });
    }
    let trailer = data_stream::Trailer { stream_id, reason: String::new(), attributes: trailer_attributes };
    packets.push(StreamPacket { on_behalf_of: None, value: Value::StreamTrailer(trailer) });
    packets
}

/// `text` in pieces of at most `max` bytes, never splitting a character.
fn utf8_chunks(text: &str, max: usize) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut end = rest.len().min(max);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (chunk, tail) = rest.split_at(end);
        rest = tail;
        Some(chunk)
    })
}

/// `SG_` and 12 hex digits, as LiveKit's agents name segments.
fn segment_id() -> String {
    format!("SG_{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff)
}

/// A random (version 4) UUID, as the SDKs name streams.
fn stream_id() -> String {
    let b: [u8; 16] = rand::random();
    let hex = |range: std::ops::Range<usize>| b[range].iter().map(|x| format!("{x:02x}")).collect::<String>();
    let version = format!("4{:01x}{:02x}", b[6] & 0x0f, b[7]);
    let variant = format!("{:02x}{:02x}", (b[8] & 0x3f) | 0x80, b[9]);
    format!("{}-{}-{version}-{variant}-{}", hex(0..4), hex(4..6), hex(10..16))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::data_packet::Value;

    fn header(packets: &[StreamPacket]) -> &data_stream::Header {
        match &packets[0].value {
            Value::StreamHeader(header) => header,
            other => panic!("not a header: {other:?}"),
        }
    }

    fn text(packets: &[StreamPacket]) -> String {
        let chunks = packets.iter().filter_map(|p| match &p.value {
            Value::StreamChunk(chunk) => Some(String::from_utf8(chunk.content.clone()).unwrap()),
            _ => None,
        });
        chunks.collect()
    }

    fn trailer(packets: &[StreamPacket]) -> &data_stream::Trailer {
        match &packets[packets.len() - 1].value {
            Value::StreamTrailer(trailer) => trailer,
            other => panic!("not a trailer: {other:?}"),
        }
    }

    #[test]
    fn a_users_utterance_is_one_segment_of_whole_text_streams_until_its_final() {
        let mut streams = Transcriptions::default();
        let user = Speaker::User { identity: "user-1", track_sid: Some("TR_mic") };
        let first = streams.transcript(user, "He did", false, 1_700_000_000_000);
        let second = streams.transcript(user, "He did not", false, 1_700_000_000_100);
        let last = streams.transcript(user, "He did not come.", true, 1_700_000_000_200);
        let next = streams.transcript(user, "Well", false, 1_700_000_001_000);

        let segment = &header(&first).attributes[SEGMENT_ATTRIBUTE];
        assert!(segment.starts_with("SG_") && segment.len() == 15, "{segment}");
        for (packets, said, r#final) in
            [(&first, "He did", "false"), (&second, "He did not", "false"), (&last, "He did not come.", "true")]
        {
            let h = header(packets);
            assert_eq!(&h.attributes[SEGMENT_ATTRIBUTE], segment);
            assert_eq!(h.attributes[FINAL_ATTRIBUTE], r#final);
            assert_eq!(h.attributes[TRACK_ATTRIBUTE], "TR_mic");
            assert_eq!((h.topic.as_str(), h.mime_type.as_str()), (TRANSCRIPTION_TOPIC, "text/plain"));
            assert_eq!(h.total_length, Some(said.len() as u64));
            let Some(data_stream::header::ContentHeader::TextHeader(t)) = &h.content_header else { panic!() };
            assert!(t.generated && t.operation_type == data_stream::OperationType::Create as i32);
            assert_eq!(text(packets), said);
            assert_eq!(trailer(packets).attributes[FINAL_ATTRIBUTE], r#final);
            assert_eq!(trailer(packets).stream_id, h.stream_id);
            // The header speaks for the user; the rest is the agent's own.
            assert_eq!(packets[0].on_behalf_of.as_deref(), Some("user-1"));
            assert!(packets[1..].iter().all(|p| p.on_behalf_of.is_none()));
        }
        assert_ne!(header(&first).stream_id, header(&second).stream_id, "a stream per interim");
        assert_ne!(&header(&next).attributes[SEGMENT_ATTRIBUTE], segment, "a new utterance, a new segment");
        assert_eq!(header(&first).timestamp, 1_700_000_000_000);
    }

    #[test]
    fn the_agents_reply_is_final_in_its_trailer_and_long_text_is_chunked_on_characters() {
        let mut streams = Transcriptions::default();
        // 30 001 bytes, every `é` (2 bytes) starting on an odd byte: the cut falls inside one.
        let reply = format!("a{}", "é".repeat(MAX_CHUNK_BYTES));
        let packets = streams.transcript(Speaker::Agent { track_sid: Some("TR_voice") }, &reply, true, 5);
        let h = header(&packets);
        assert_eq!(h.attributes[FINAL_ATTRIBUTE], "false");
        assert_eq!(h.attributes[TRACK_ATTRIBUTE], "TR_voice");
        assert_eq!(trailer(&packets).attributes[FINAL_ATTRIBUTE], "true");
        assert!(packets.iter().all(|p| p.on_behalf_of.is_none()));
        let Some(data_stream::header::ContentHeader::TextHeader(t)) = &h.content_header else { panic!() };
        assert!(!t.generated);
        let chunks: Vec<&data_stream::Chunk> = packets
            .iter()
            .filter_map(|p| match &p.value {
                Value::StreamChunk(chunk) => Some(chunk),
                _ => None,
            })
            .collect();
        assert_eq!(chunks.iter().map(|c| c.chunk_index).collect::<Vec<_>>(), [0, 1, 2]);
        assert!(chunks.iter().all(|c| c.content.len() <= MAX_CHUNK_BYTES && std::str::from_utf8(&c.content).is_ok()));
        assert_eq!(text(&packets), reply);
    }

    #[test]
    fn stream_ids_are_uuids() {
        let id = stream_id();
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [8, 4, 4, 4, 12], "{id}");
        assert!(parts[2].starts_with('4') && "89ab".contains(&parts[3][..1]), "{id}");
        assert_ne!(stream_id(), id);
    }
}
