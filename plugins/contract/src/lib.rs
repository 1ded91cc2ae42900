//! The contract's shared `types` interface (`voiceblox:plugin/types`), generated once. Every
//! Rust adapter generates its own exports with `with: {"voiceblox:plugin/types@0.2.0":
//! voiceblox_plugin_contract::types}`, so all adapters and the kit's conversions share these
//! types instead of each crate converting its own copy.

wit_bindgen::generate!({
    path: "../../wit",
    inline: "package voiceblox:contract; world types { import voiceblox:plugin/types@0.2.0; }",
    world: "voiceblox:contract/types",
    additional_derives: [PartialEq],
    generate_all,
});

pub use voiceblox::plugin::types;

mod conversions;
pub use conversions::drive_sse;
pub mod errors;
mod socket_stream;
pub use socket_stream::{SocketStream, close_overdue, drive_socket};
#[cfg(feature = "test-support")]
pub mod test_support;
