//! Bindings for `voiceblox:plugin@0.1.0`.
//!
//! Generated from the `full-plugin` world; interfaces are looked up one by one
//! ([`Exports::locate`]) so a component may export any subset of llm/tts/stt.

use semver::Version;
use wasmtime::component::{Component, InstancePre};

use super::super::store::StoreState;

wasmtime::component::bindgen!({
    path: "../wit",
    world: "full-plugin",
    additional_derives: [PartialEq],
    exports: { default: async },
});

pub use exports::voiceblox::plugin::{llm, meta, stt, tts};
pub use voiceblox::plugin::types;

/// The contract version this module binds.
pub const VERSION: Version = Version::new(0, 1, 0);

/// Export indices resolved once per plugin, reused for every instance.
pub struct Exports {
    pub meta: meta::GuestIndices,
    pub llm: Option<llm::GuestIndices>,
    pub tts: Option<tts::GuestIndices>,
    pub stt: Option<stt::GuestIndices>,
}

impl Exports {
    /// Resolves the interfaces `component` exports; `meta` is required, the rest optional.
    pub fn locate(component: &Component, pre: &InstancePre<StoreState>) -> wasmtime::Result<Self> {
        let exported = |name: &str| component.get_export_index(None, name).is_some();
        Ok(Self {
            meta: meta::GuestIndices::new(pre)?,
            llm: exported(&interface_name("llm")).then(|| llm::GuestIndices::new(pre)).transpose()?,
            tts: exported(&interface_name("tts")).then(|| tts::GuestIndices::new(pre)).transpose()?,
            stt: exported(&interface_name("stt")).then(|| stt::GuestIndices::new(pre)).transpose()?,
        })
    }
}

/// `voiceblox:plugin/<interface>@0.1.0`
pub fn interface_name(interface: &str) -> String {
    format!("voiceblox:plugin/{interface}@{VERSION}")
}
