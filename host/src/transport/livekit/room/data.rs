//! `DataPacket`s as LiveKit carries them on the `_reliable` and `_lossy` data channels.

use livekit_protocol as proto;
use prost::Message as _;

use super::error::RoomError;

/// LiveKit's limit for one data packet, as its SDKs enforce it before sending.
pub const MAX_DATA_PAYLOAD: usize = 64_000;

/// The data channel labels LiveKit uses on both peer connections.
pub const RELIABLE_LABEL: &str = "_reliable";
pub const LOSSY_LABEL: &str = "_lossy";

/// The publisher's data channels, as the SDKs create them: `_reliable` ordered and reliable,
/// `_lossy` unordered without retransmits.
pub fn publisher_channels() -> Vec<str0m::channel::ChannelConfig> {
    use str0m::channel::{ChannelConfig, Reliability};
    vec![
        ChannelConfig {
            label: RELIABLE_LABEL.to_string(),
            ordered: true,
            reliability: Reliability::Reliable,
            ..ChannelConfig::default()
        },
        ChannelConfig {
            label: LOSSY_LABEL.to_string(),
            ordered: false,
            reliability: Reliability::MaxRetransmits { retransmits: 0 },
            ..ChannelConfig::default()
        },
    ]
}

/// A user packet received from another participant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserData {
    pub participant_identity: String,
    pub topic: Option<String>,
    pub payload: Vec<u8>,
    pub reliable: bool,
}

/// Encodes `DataPacket { kind, participant_identity, sequence, value: user(UserPacket) }`.
/// Refuses a payload LiveKit would drop.
pub fn encode_user(
    identity: &str,
    payload: Vec<u8>,
    topic: &str,
    reliable: bool,
    sequence: u32,
) -> Result<Vec<u8>, RoomError> {
    if payload.len() >= MAX_DATA_PAYLOAD {
        return Err(RoomError::PayloadTooLarge { size: payload.len(), max: MAX_DATA_PAYLOAD });
    }
    let user = proto::UserPacket {
        payload,
        topic: (!topic.is_empty()).then(|| topic.to_string()),
        ..proto::UserPacket::default()
    };
    Ok(encode_value(identity, proto::data_packet::Value::User(user), reliable, sequence))
}

/// Encodes `DataPacket { kind, participant_identity, sequence, value }` for any value (user
/// data, a text stream's header, chunk or trailer); `sequence` is the publisher's running count.
// `kind` is deprecated upstream in favour of the channel, yet the server and SDKs still set it.
#[allow(deprecated)]
pub fn encode_value(identity: &str, value: proto::data_packet::Value, reliable: bool, sequence: u32) -> Vec<u8> {
    let kind = if reliable { proto::data_packet::Kind::Reliable } else { proto::data_packet::Kind::Lossy };
    let packet = proto::DataPacket {
        kind: kind as i32,
        participant_identity: identity.to_string(),
        // Only reliable packets are sequenced (the server uses it to deduplicate on resume).
        sequence: if reliable { sequence } else { 0 },
        value: Some(value),
        ..proto::DataPacket::default()
    };
    packet.encode_to_vec()
}

/// Decodes a packet from the subscriber's channels. `None` for packets that are not user data
/// (speaker updates, transcriptions, RPC, streams: not used here yet).
#[allow(deprecated)]
pub fn decode_user(bytes: &[u8], from_reliable_channel: bool) -> Result<Option<UserData>, RoomError> {
    let packet =
        proto::DataPacket::decode(bytes).map_err(|e| RoomError::Protocol(format!("undecodable data packet: {e}")))?;
    let Some(proto::data_packet::Value::User(user)) = packet.value else { return Ok(None) };
    // The server stamps the sender on the packet; older servers stamped only the user packet.
    let identity =
        if packet.participant_identity.is_empty() { user.participant_identity } else { packet.participant_identity };
    // The channel decides, as on the server: the deprecated `kind` field is unreliable (SDKs
    // disagree on its values).
    Ok(Some(UserData {
        participant_identity: identity,
        topic: user.topic,
        payload: user.payload,
        reliable: from_reliable_channel,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_packets_round_trip_with_topic_and_their_channel_kind() {
        let bytes = encode_user("agent-1", b"{}".to_vec(), "voiceblox.agent.events", true, 7).unwrap();
        let data = decode_user(&bytes, true).unwrap().unwrap();
        assert_eq!(
            data,
            UserData {
                participant_identity: "agent-1".into(),
                topic: Some("voiceblox.agent.events".into()),
                payload: b"{}".to_vec(),
                reliable: true,
            }
        );
        // The channel decides, whatever the deprecated `kind` field says.
        let lossy = decode_user(&encode_user("a", vec![1], "", true, 9).unwrap(), false).unwrap().unwrap();
        assert_eq!((lossy.topic, lossy.reliable), (None, false));
    }

    #[test]
    fn refuses_payloads_livekit_would_drop() {
        let error = encode_user("a", vec![0; MAX_DATA_PAYLOAD], "t", true, 1).unwrap_err();
        assert_eq!(error, RoomError::PayloadTooLarge { size: 64_000, max: 64_000 });
        assert!(encode_user("a", vec![0; MAX_DATA_PAYLOAD - 1], "t", true, 1).is_ok());
    }

    #[test]
    fn garbage_is_an_error_and_other_packets_are_skipped() {
        assert!(matches!(decode_user(&[0xff, 0xff, 0xff], true), Err(RoomError::Protocol(_))));
        let speaker = proto::DataPacket {
            value: Some(proto::data_packet::Value::RpcAck(proto::RpcAck::default())),
            ..Default::default()
        };
        assert_eq!(decode_user(&speaker.encode_to_vec(), true).unwrap(), None);
    }
}
