//! Generated bindings, one module per supported contract version (Zed's `since_v0_X_Y` shape).
//!
//! `latest` is what the rest of the host speaks. When 0.2 exists, 0.1 keeps its own module
//! and converts into `latest` with `From` impls, so behaviour lives in one place.

pub mod v0_1_0;

pub use v0_1_0 as latest;
