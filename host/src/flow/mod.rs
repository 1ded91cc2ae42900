//! The conversation-step engine: steps, tools and post-call processing
//! (spec: `reference/voiceblox.md`, "Conversation steps").
//!
//! - [`watcher::StepWatcher`]: where the conversation is in the step graph; burst rounds,
//!   timer deadlines (pure, time passed in).
//! - [`turn`]: one agent turn as a cancellable task — advancing through branches
//!   ([`prompt`] evaluations with the step's `evaluationLlm`), webhooks and the end step, then
//!   the LLM reply with tool calls (MCP, Exa, `step_complete`) under a step limit.
//! - [`conversation::Conversation`]: owns the state and history and runs the turns; the voice
//!   loop and the text console drive it.
//! - [`postcall`]: Structured Output and the post-call webhook ([`webhook`]).

pub mod context;
pub mod conversation;
pub mod history;
pub mod postcall;
pub mod prompt;
pub mod setup;
pub mod toolbox;
pub mod tools;
pub mod turn;
pub mod watcher;
pub mod webhook;

pub use self::context::FlowContext;
pub use self::conversation::{Conversation, LlmFigures, Output, SpeculationStats};
pub use self::toolbox::{ToolProvider, Toolbox};
