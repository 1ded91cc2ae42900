//! The session's one clock. Everything a session decides on time reads it here: tokio's clock,
//! which tests, replays and flow tests pause and advance (virtual time), so a timer of minutes
//! passes in microseconds and the same input gives the same output.

use std::sync::OnceLock;
use std::time::{Instant, SystemTime};

/// Now, on the session's clock.
pub fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// Wall-clock time on the session's clock: the real time at the first call, advanced by the
/// session clock since. Live, that is the real time; on a paused clock it moves only as virtual
/// time does, so timestamps written on virtual time are reproducible.
pub fn wall_now() -> SystemTime {
    static ORIGIN: OnceLock<(SystemTime, Instant)> = OnceLock::new();
    let (wall, at) = *ORIGIN.get_or_init(|| (SystemTime::now(), now()));
    wall + now().saturating_duration_since(at)
}
