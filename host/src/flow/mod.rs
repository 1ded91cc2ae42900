//! The conversation-step engine: steps, tools and post-call processing.

pub mod tools;
