//! Deterministic ids and the timestamps providers put in their messages.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Numbers a fake's requests 1, 2, 3... (each number seeds that request's ids).
#[derive(Debug, Default)]
pub(crate) struct Serial(AtomicU64);

impl Serial {
    pub(crate) fn next(&self) -> u64 {
        self.0.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// A deterministic id made of `len` lowercase hex digits, distinct per `(salt, n)`.
pub(crate) fn hex_id(salt: u64, n: u64, len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut state = salt ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    while out.len() < len {
        state = splitmix(state);
        let _ = write!(out, "{state:016x}");
    }
    out.truncate(len);
    out
}

/// A deterministic alphanumeric string (OpenAI's ids and obfuscation padding use this alphabet).
pub(crate) fn alnum_id(salt: u64, n: u64, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut state = salt ^ n.wrapping_mul(0xD6E8_FEB8_6659_FD93);
    (0..len)
        .map(|_| {
            state = splitmix(state);
            ALPHABET[(state % ALPHABET.len() as u64) as usize] as char
        })
        .collect()
}

/// A version-4-shaped UUID, deterministic per `(salt, n)`.
pub(crate) fn uuid(salt: u64, n: u64) -> String {
    let hex = hex_id(salt, n, 32);
    format!("{}-{}-4{}-8{}-{}", &hex[0..8], &hex[8..12], &hex[13..16], &hex[17..20], &hex[20..32])
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

pub(crate) fn unix_seconds() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs())
}

/// `2025-10-08T17:04:31.096Z`, the form Deepgram writes its `created` timestamps in.
pub(crate) fn rfc3339_millis(time: SystemTime) -> String {
    let millis = time.duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_millis()) as i64;
    let (days, ms_of_day) = (millis.div_euclid(86_400_000), millis.rem_euclid(86_400_000));
    let (year, month, day) = civil_from_days(days);
    let secs = ms_of_day / 1000;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        ms_of_day % 1000
    )
}

/// Gregorian date of a day count since 1970-01-01 (proleptic calendar, 400-year eras).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let shifted = days + 719_468; // days since 0000-03-01
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // 0 = March
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let time = UNIX_EPOCH + Duration::from_millis(1_759_943_071_096);
        assert_eq!(rfc3339_millis(time), "2025-10-08T17:04:31.096Z");
        assert_eq!(rfc3339_millis(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339_millis(leap), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn ids_are_deterministic_and_shaped() {
        assert_eq!(hex_id(1, 2, 20), hex_id(1, 2, 20));
        assert_ne!(hex_id(1, 2, 20), hex_id(1, 3, 20));
        let id = uuid(7, 1);
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(alnum_id(1, 1, 29).chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
