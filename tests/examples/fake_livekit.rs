//! The fake LiveKit (Twirp, `/agent`, `/rtc`) as a standalone server, for trying the server and
//! the worker without a LiveKit install, and for pointing the opt-in live tests at it:
//!
//! ```sh
//! cargo run -p voiceblox-tests --example fake_livekit
//! ```
//!
//! It prints the `LIVEKIT_*` variables to use and serves until Ctrl-C. Rooms live in memory.

use voiceblox_tests::fakes::livekit::{DEV_API_KEY, DEV_API_SECRET, FakeLiveKit};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let livekit = FakeLiveKit::start(DEV_API_KEY, DEV_API_SECRET);
    println!("LIVEKIT_URL={} LIVEKIT_API_KEY={DEV_API_KEY} LIVEKIT_API_SECRET={DEV_API_SECRET}", livekit.url());
    tokio::signal::ctrl_c().await?;
    Ok(())
}
