//! Generated bindings, one module per supported contract version (Zed's `since_v0_X_Y` shape).
//!
//! [`latest`] is what the rest of the host speaks. An older version keeps its own module, bound
//! to its frozen WIT folder (`wit/v0.1.0/`), and forwards: inputs and requests are converted
//! down to its types before a call, actions and descriptions up to `latest` after it, so every
//! behaviour lives once, in the host code that speaks `latest`. Only the conversions differ per
//! version; the calls themselves are written once, in [`contract_version!`].
//!
//! To add version 0.N: copy `wit/*.wit` to `wit/v0.(N-1).0/` (frozen from then on), bump the
//! package in `wit/`, add a module here binding the frozen folder with a `forward` module of
//! conversions, and point `latest` at the new one.

use std::borrow::Cow;

use semver::Version;
use wasmtime::component::{Component, Instance, InstancePre};
use wasmtime::{AsContextMut, Store};

use super::instance::OpenRequest;
use super::store::StoreState;

pub mod v0_1_0;
pub mod v0_2_0;

pub use v0_2_0 as latest;

/// Every contract version this host loads, oldest first.
pub const SUPPORTED: [Version; 2] = [v0_1_0::VERSION, v0_2_0::VERSION];

/// `voiceblox:plugin`
pub const PACKAGE: &str = "voiceblox:plugin";

/// A plugin's exports, resolved once per plugin in the contract version it was built for.
pub enum Exports {
    V0_1_0(v0_1_0::Exports),
    V0_2_0(v0_2_0::Exports),
}

/// `voiceblox:plugin/<interface>@<version>`
pub fn interface_name(interface: &str, version: &Version) -> String {
    format!("{PACKAGE}/{interface}@{version}")
}

/// An open stream's resource, in its plugin's contract version.
pub enum Stream {
    V0_1_0(v0_1_0::Stream),
    V0_2_0(v0_2_0::Stream),
}

/// What a call into a guest returns: a trap (outer) or the guest's own answer (inner).
pub type GuestResult<T> = wasmtime::Result<T>;

impl Exports {
    /// Resolves the exports of a component already checked to speak `version`.
    pub fn locate(version: &Version, component: &Component, pre: &InstancePre<StoreState>) -> GuestResult<Self> {
        if *version == v0_1_0::VERSION {
            Ok(Self::V0_1_0(v0_1_0::Exports::locate(component, pre)?))
        } else {
            Ok(Self::V0_2_0(v0_2_0::Exports::locate(component, pre)?))
        }
    }

    /// The contract version the plugin was built for.
    pub fn version(&self) -> Version {
        match self {
            Self::V0_1_0(_) => v0_1_0::VERSION,
            Self::V0_2_0(_) => v0_2_0::VERSION,
        }
    }

    /// Whether the component exports the interface of `kind`.
    pub fn serves(&self, kind: latest::types::Kind) -> bool {
        match self {
            Self::V0_1_0(e) => e.serves(kind),
            Self::V0_2_0(e) => e.serves(kind),
        }
    }

    pub async fn describe(
        &self,
        store: &mut Store<StoreState>,
        instance: &Instance,
    ) -> GuestResult<latest::types::PluginInfo> {
        match self {
            Self::V0_1_0(e) => e.describe(store, instance).await,
            Self::V0_2_0(e) => e.describe(store, instance).await,
        }
    }

    /// Opens a stream; `None` when the component does not export the request's kind.
    pub async fn open(
        &self,
        store: &mut Store<StoreState>,
        instance: &Instance,
        config: &latest::types::ProviderConfig,
        request: &OpenRequest,
    ) -> Option<GuestResult<Result<Stream, latest::types::ProviderError>>> {
        match self {
            Self::V0_1_0(e) => Some(e.open(store, instance, config, request).await?.map(|r| r.map(Stream::V0_1_0))),
            Self::V0_2_0(e) => Some(e.open(store, instance, config, request).await?.map(|r| r.map(Stream::V0_2_0))),
        }
    }
}

impl Stream {
    pub async fn handle(
        &self,
        store: impl AsContextMut<Data = StoreState> + Send,
        input: &latest::types::Input,
    ) -> GuestResult<Vec<latest::types::Action>> {
        match self {
            Self::V0_1_0(s) => s.handle(store, input).await,
            Self::V0_2_0(s) => s.handle(store, input).await,
        }
    }
}

/// The calls every version makes the same way; `forward` (a module beside the invocation)
/// converts between the version's types and `latest`'s.
macro_rules! contract_version {
    ($wit:literal, $version:expr) => {
        wasmtime::component::bindgen!({
            path: $wit,
            world: "full-plugin",
            additional_derives: [PartialEq],
            exports: { default: async },
        });

        pub use exports::voiceblox::plugin::{llm, meta, stt, tts};
        pub use voiceblox::plugin::types;

        /// The contract version this module binds.
        pub const VERSION: semver::Version = $version;

        fn interface_name(interface: &str) -> String {
            $crate::plugin::bindings::interface_name(interface, &VERSION)
        }

        /// Export indices resolved once per plugin, reused for every instance.
        pub struct Exports {
            meta: meta::GuestIndices,
            llm: Option<llm::GuestIndices>,
            tts: Option<tts::GuestIndices>,
            stt: Option<stt::GuestIndices>,
        }

        /// An open stream: the interface it came from and the guest's resource.
        pub enum Stream {
            Llm(llm::Guest, wasmtime::component::ResourceAny),
            Tts(tts::Guest, wasmtime::component::ResourceAny),
            Stt(stt::Guest, wasmtime::component::ResourceAny),
        }

        impl Exports {
            /// `meta` is required; llm/tts/stt each optional.
            pub fn locate(
                component: &wasmtime::component::Component,
                pre: &wasmtime::component::InstancePre<$crate::plugin::store::StoreState>,
            ) -> wasmtime::Result<Self> {
                let exported = |name: &str| component.get_export_index(None, name).is_some();
                Ok(Self {
                    meta: meta::GuestIndices::new(pre)?,
                    llm: exported(&interface_name("llm")).then(|| llm::GuestIndices::new(pre)).transpose()?,
                    tts: exported(&interface_name("tts")).then(|| tts::GuestIndices::new(pre)).transpose()?,
                    stt: exported(&interface_name("stt")).then(|| stt::GuestIndices::new(pre)).transpose()?,
                })
            }

            pub fn serves(&self, kind: $crate::plugin::bindings::latest::types::Kind) -> bool {
                use $crate::plugin::bindings::latest::types::Kind;
                match kind {
                    Kind::Llm => self.llm.is_some(),
                    Kind::Tts => self.tts.is_some(),
                    Kind::Stt => self.stt.is_some(),
                }
            }

            pub async fn describe(
                &self,
                store: &mut wasmtime::Store<$crate::plugin::store::StoreState>,
                instance: &wasmtime::component::Instance,
            ) -> wasmtime::Result<$crate::plugin::bindings::latest::types::PluginInfo> {
                let meta = self.meta.load(&mut *store, instance)?;
                Ok(forward::plugin_info(meta.call_describe(&mut *store).await?))
            }

            pub async fn open(
                &self,
                store: &mut wasmtime::Store<$crate::plugin::store::StoreState>,
                instance: &wasmtime::component::Instance,
                config: &$crate::plugin::bindings::latest::types::ProviderConfig,
                request: &$crate::plugin::instance::OpenRequest,
            ) -> Option<
                wasmtime::Result<Result<Stream, $crate::plugin::bindings::latest::types::ProviderError>>,
            > {
                use $crate::plugin::instance::OpenRequest;
                let config = forward::provider_config(config);
                let opened = async {
                    Some(match request {
                        OpenRequest::Llm(req) => match self.llm.as_ref()?.load(&mut *store, instance) {
                            Ok(guest) => guest
                                .call_open(&mut *store, &config, &forward::llm_request(req))
                                .await
                                .map(|r| r.map(|res| Stream::Llm(guest, res))),
                            Err(trap) => Err(trap),
                        },
                        OpenRequest::Tts(req) => match self.tts.as_ref()?.load(&mut *store, instance) {
                            Ok(guest) => guest
                                .call_open(&mut *store, &config, &forward::tts_request(req))
                                .await
                                .map(|r| r.map(|res| Stream::Tts(guest, res))),
                            Err(trap) => Err(trap),
                        },
                        OpenRequest::Stt(req) => match self.stt.as_ref()?.load(&mut *store, instance) {
                            Ok(guest) => guest
                                .call_open(&mut *store, &config, &forward::stt_request(req))
                                .await
                                .map(|r| r.map(|res| Stream::Stt(guest, res))),
                            Err(trap) => Err(trap),
                        },
                    })
                };
                Some(opened.await?.map(|r| r.map_err(forward::provider_error)))
            }
        }

        impl Stream {
            pub async fn handle(
                &self,
                mut store: impl wasmtime::AsContextMut<Data = $crate::plugin::store::StoreState> + Send,
                input: &$crate::plugin::bindings::latest::types::Input,
            ) -> wasmtime::Result<Vec<$crate::plugin::bindings::latest::types::Action>> {
                let input = forward::input(input);
                let actions = match self {
                    Stream::Llm(guest, r) => guest.completion().call_handle(&mut store, *r, &input).await?,
                    Stream::Tts(guest, r) => guest.synthesis().call_handle(&mut store, *r, &input).await?,
                    Stream::Stt(guest, r) => guest.transcription().call_handle(&mut store, *r, &input).await?,
                };
                Ok(forward::actions(actions))
            }
        }
    };
}
pub(crate) use contract_version;

/// Borrows when the version's type is `latest`'s own, converts otherwise.
pub(crate) fn same<T: Clone>(value: &T) -> Cow<'_, T> {
    Cow::Borrowed(value)
}
