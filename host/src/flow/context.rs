//! What every turn of one session shares: the config, the providers, the tools, the sink.

use std::sync::Arc;

use super::toolbox::Toolbox;
use crate::config::{AgentConfig, ConversationStep, LLMConfig};
use crate::events::{AgentEvent, EventSink};
use crate::plugin::PluginRuntime;
use crate::providers::chain::cool_down;
use crate::providers::{ChatLlm, settings};
use crate::record::Recorder;
use crate::transport::UserLink;

pub struct FlowContext {
    pub config: Arc<AgentConfig>,
    pub runtime: PluginRuntime,
    pub llm: ChatLlm,
    pub tools: Toolbox,
    pub sink: Arc<dyn EventSink>,
    /// The user's side, for what goes through it besides events (a transfer step's call
    /// transfer); none in text sessions and tests.
    pub link: Option<Arc<dyn UserLink>>,
    /// The session's recording, for what only the transports see (the user's audio or text).
    pub recording: Option<Recorder>,
}

impl FlowContext {
    pub fn new(config: Arc<AgentConfig>, runtime: PluginRuntime, tools: Toolbox, sink: Arc<dyn EventSink>) -> Self {
        let llm = chat_llm(&runtime, &config.llm, &config.language).reporting_to(sink.clone());
        Self { config, runtime, llm, tools, sink, link: None, recording: None }
    }

    /// Recording into `recorder` (the runtime and sink should already be recording into it).
    pub fn with_recording(mut self, recorder: Option<Recorder>) -> Self {
        self.recording = recorder;
        self
    }

    /// With the user's side a transfer step hands the call over through.
    pub fn with_link(mut self, link: Arc<dyn UserLink>) -> Self {
        self.link = Some(link);
        self
    }

    /// Hands the user over to `to` (a transfer step): only a phone caller on a user side that
    /// can transfer; the error says why not.
    pub async fn transfer(&self, to: &str, play_dialtone: bool) -> Result<(), String> {
        let link = self.link.as_ref().ok_or("there is no call to transfer in a text session")?;
        link.transfer(to, play_dialtone).await.map_err(|e| e.to_string())
    }

    /// The LLM judging a step's branch: its `evaluationLlm`, else the main one.
    pub fn evaluation_llm(&self, step: &ConversationStep) -> ChatLlm {
        match &step.evaluation_llm {
            Some(config) => chat_llm(&self.runtime, config, &self.config.language).reporting_to(self.sink.clone()),
            None => self.llm.clone(),
        }
    }

    /// The LLM extracting Structured Output.
    pub fn post_call_llm(&self) -> ChatLlm {
        match self.config.post_call.as_ref().and_then(|p| p.llm.as_ref()) {
            Some(config) => chat_llm(&self.runtime, config, &self.config.language).reporting_to(self.sink.clone()),
            None => self.llm.clone(),
        }
    }

    /// The same context sending its events elsewhere (a transport adding its own listener).
    pub fn with_sink(&self, sink: Arc<dyn EventSink>) -> Self {
        Self {
            config: self.config.clone(),
            runtime: self.runtime.clone(),
            llm: self.llm.clone().reporting_to(sink.clone()),
            tools: self.tools.clone(),
            sink,
            link: self.link.clone(),
            recording: self.recording.clone(),
        }
    }

    pub fn emit(&self, event: AgentEvent) {
        self.sink.emit(event);
    }
}

/// The LLM of `config`, followed by its fallbacks.
fn chat_llm(runtime: &PluginRuntime, config: &LLMConfig, language: &str) -> ChatLlm {
    let one = |config: &LLMConfig| {
        ChatLlm::new(runtime.clone(), settings::llm(config, language), config.temperature, config.max_tokens)
    };
    one(config)
        .with_fallbacks(config.fallbacks.iter().map(one))
        .with_cool_down(cool_down(config.fallback_cool_down_secs))
}
