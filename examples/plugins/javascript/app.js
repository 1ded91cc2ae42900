// OpenAI-compatible chat-completions adapter for voiceblox, written in JavaScript with the SDK
// (`plugins/sdk-js/voiceblox-plugin.js`).
//
// The host performs the HTTP request this stream asks for and feeds the response back; the
// adapter only builds the request and reads the server-sent events.

import { Plugin, SseEvents, Stream, emitLlm, exportPlugin, header, httpError, httpRequest, provider }
  from "./voiceblox-plugin.js"; // plugins/sdk-js, copied in by build.sh

const PROVIDER = "openai-compat-js";
const DEFAULT_BASE_URL = "https://api.openai.com/v1";
const FINISH = { stop: "stop", length: "length", tool_calls: "tool-calls",
  function_call: "tool-calls", content_filter: "content-filter" };
const REQUEST = 1;

class OpenAiCompat extends Plugin {
  constructor() {
    super();
    this.name = "js-openai-compat";
    this.version = "0.1.0";
  }

  providers() {
    return [provider({ id: PROVIDER, kinds: ["llm"], hosts: ["api.openai.com"],
      apiKeyEnv: ["OPENAI_API_KEY"], baseUrlEnv: ["OPENAI_BASE_URL"] })];
  }

  openLlm(config, request) {
    if (!config.model) throw { tag: "invalid-request", val: "model is empty" };
    let extras, tools;
    try {
      extras = JSON.parse(request.extras || "{}");
      if (typeof extras !== "object" || extras === null || Array.isArray(extras)) throw "not an object";
      tools = request.tools.map((d) => ({ type: "function", function: {
        name: d.name, description: d.description, parameters: JSON.parse(d.parameters || "{}") } }));
    } catch (e) {
      throw { tag: "invalid-request", val: `extras or tool parameters are not JSON objects: ${e}` };
    }
    const body = { model: config.model, messages: request.messages.map(message),
      stream: true, stream_options: { include_usage: true } };
    if (tools.length) body.tools = tools;
    if (request.temperature !== undefined) body.temperature = Math.round(request.temperature * 1000) / 1000; // an f32
    if (request.maxTokens !== undefined) body.max_tokens = request.maxTokens;
    Object.assign(body, extras);
    const headers = [header("content-type", "application/json")];
    if (config.apiKey !== undefined) headers.push(header("authorization", `Bearer ${config.apiKey}`));
    const url = `${(config.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, "")}/chat/completions`;
    return new Completion(httpRequest(REQUEST, "POST", url, headers, body));
  }
}

const message = (m) => {
  const out = { role: m.role, content: m.content };
  if (m.toolCalls.length) {
    out.tool_calls = m.toolCalls.map((c) => ({ id: c.id, type: "function",
      function: { name: c.name, arguments: c.arguments } }));
  }
  if (m.toolCallId !== undefined) out.tool_call_id = m.toolCallId;
  return out;
};

class Completion extends Stream {
  constructor(request) {
    super();
    this.request = request;
    this.status = 0;
    this.retryAfter = undefined;
    this.errorText = "";
    this.errorDecoder = new TextDecoder();
    this.events = new SseEvents();
    this.toolCalls = new Map(); // index -> { id, name, arguments }
    this.finished = false; // a finish reason was emitted
    this.done = false; // the stream is over (finish or fail returned)
  }

  handle(input) {
    if (this.done) return [];
    switch (input.tag) {
      case "start":
        return [this.request];
      case "http-response":
        if (input.val[0] !== REQUEST) return [];
        this.status = input.val[1].status;
        for (const h of input.val[1].headers) {
          if (h.name.toLowerCase() === "retry-after") this.retryAfter = h.value;
        }
        return [];
      case "http-body":
        if (input.val[0] !== REQUEST) return [];
        if (!this.ok()) {
          this.errorText += this.errorDecoder.decode(input.val[1], { stream: true });
          return [];
        }
        return this.read(this.events.push(input.val[1]));
      case "http-end":
        return input.val === REQUEST ? this.end() : [];
      default:
        return [];
    }
  }

  ok() { return this.status >= 200 && this.status < 300; }

  read(events) {
    const actions = [];
    for (const data of events) {
      if (this.done) break;
      if (data.trim() === "[DONE]") return actions.concat(this.finish());
      try {
        actions.push(...this.chunk(JSON.parse(data)));
      } catch (e) {
        return actions.concat(this.fail({ tag: "protocol", val: `bad SSE chunk: ${e}` }));
      }
    }
    return actions;
  }

  chunk(chunk) {
    if (chunk.error) return this.fail({ tag: "unavailable", val: JSON.stringify(chunk.error).slice(0, 500) });
    const actions = [];
    if (chunk.usage) {
      const u = chunk.usage;
      actions.push(emitLlm({ tag: "usage", val: { promptTokens: u.prompt_tokens ?? 0,
        completionTokens: u.completion_tokens ?? 0,
        cachedPromptTokens: u.prompt_tokens_details?.cached_tokens ?? 0 } }));
    }
    for (const choice of chunk.choices ?? []) {
      const delta = choice.delta ?? {};
      if (delta.content) actions.push(emitLlm({ tag: "text-delta", val: delta.content }));
      for (const tc of delta.tool_calls ?? []) {
        const index = tc.index ?? 0;
        const call = this.toolCalls.get(index) ?? { id: "", name: "", arguments: "" };
        call.id = tc.id || call.id;
        call.name = tc.function?.name || call.name;
        call.arguments += tc.function?.arguments ?? "";
        this.toolCalls.set(index, call);
      }
      if (choice.finish_reason) {
        for (const [, c] of [...this.toolCalls].sort((a, b) => a[0] - b[0])) {
          actions.push(emitLlm({ tag: "tool-call", val: { ...c, arguments: c.arguments || "{}" } }));
        }
        this.toolCalls.clear();
        actions.push(emitLlm({ tag: "finish", val: FINISH[choice.finish_reason] ?? "other" }));
        this.finished = true;
      }
    }
    return actions;
  }

  end() {
    if (!this.ok()) {
      const text = this.errorText + this.errorDecoder.decode();
      return this.fail(httpError(PROVIDER, this.status, this.retryAfter, text));
    }
    const actions = this.read(this.events.finish());
    if (this.done) return actions;
    if (this.finished) return actions.concat(this.finish()); // some servers omit `data: [DONE]`
    return actions.concat(this.fail({ tag: "protocol", val: "stream ended before a finish reason" }));
  }

  finish() { this.done = true; return [{ tag: "finish" }]; }

  fail(error) { this.done = true; return [{ tag: "fail", val: error }]; }
}

export const { meta, llm, tts, stt } = exportPlugin(new OpenAiCompat());
