//! Names the control plane makes up: rooms and browser identities.

use std::time::{SystemTime, UNIX_EPOCH};

use rand::distr::{Alphanumeric, SampleString};

/// Every room this host creates starts with this, so rooms it owns are recognisable (and the
/// server refuses to delete any other).
pub const ROOM_PREFIX: &str = "voiceblox-";

/// Random characters after the timestamp: two sessions started in the same millisecond still
/// get different rooms (36^8 ≈ 2.8e12 names per millisecond).
const RANDOM_LEN: usize = 8;

/// `voiceblox-<unix millis>-<random>`, the shape Voiceblox apps use.
pub fn room_name() -> String {
    // A clock before 1970 is a broken host; 0 still yields a unique, valid name.
    let millis = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
    format!("{ROOM_PREFIX}{millis}-{}", random_suffix())
}

/// `user-<random>`: the browser participant's identity, unique within its room.
pub fn user_identity() -> String {
    format!("user-{}", random_suffix())
}

fn random_suffix() -> String {
    // Lowercase only: room names end up in URLs and logs, where case is easy to lose.
    Alphanumeric.sample_string(&mut rand::rng(), RANDOM_LEN).to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_names_have_the_voiceblox_shape_and_differ() {
        let (a, b) = (room_name(), room_name());
        assert_ne!(a, b);
        let rest = a.strip_prefix(ROOM_PREFIX).unwrap();
        let (millis, random) = rest.split_once('-').unwrap();
        assert!(millis.parse::<u128>().unwrap() > 1_600_000_000_000, "{a}");
        assert_eq!(random.len(), RANDOM_LEN);
        assert!(random.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()), "{a}");
    }

    #[test]
    fn identities_are_user_prefixed() {
        let id = user_identity();
        assert!(id.starts_with("user-") && id.len() == 5 + RANDOM_LEN, "{id}");
    }
}
