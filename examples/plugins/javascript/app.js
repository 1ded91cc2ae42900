// OpenAI-compatible chat-completions adapter for voiceblox, written in JavaScript.
//
// World `llm-plugin` of voiceblox:plugin@0.1.0. The host performs the HTTP request this
// returns and feeds the response back; the adapter only builds bytes and parses SSE.
// Bindings (componentize-js): records are objects with camelCase fields, variants are
// `{ tag, val }`, enums are strings, list<u8> is a Uint8Array, a thrown value is the `err`.

const PROVIDER = "openai-compat-js";
const DEFAULT_BASE_URL = "https://api.openai.com/v1";
const FINISH = { stop: "stop", length: "length", tool_calls: "tool-calls",
  function_call: "tool-calls", content_filter: "content-filter" };
const encoder = new TextEncoder();

export const meta = {
  describe() {
    return { name: "js-openai-compat", version: "0.1.0", providers: [{
      id: PROVIDER, kinds: ["llm"], hosts: ["api.openai.com"], configKeys: [],
      apiKeyEnv: ["OPENAI_API_KEY"], baseUrlEnv: ["OPENAI_BASE_URL"],
      sttMode: undefined, sttSampleRate: undefined, ttsSampleRates: [] }] };
  },
};

const message = (m) => {
  const out = { role: m.role, content: m.content };
  if (m.toolCalls.length) {
    out.tool_calls = m.toolCalls.map((c) => ({ id: c.id, type: "function",
      function: { name: c.name, arguments: c.arguments } }));
  }
  if (m.toolCallId !== undefined) out.tool_call_id = m.toolCallId;
  return out;
};

const emit = (event) => ({ tag: "emit", val: { tag: "llm", val: event } });

function classify(status, retryAfter, text) {
  const msg = `HTTP ${status}: ${text.slice(0, 500)}`;
  if (status === 401 || status === 403) return { tag: "unauthorized", val: msg };
  if (status === 429) {
    const secs = Number(retryAfter); // absent or an HTTP date: NaN
    const retryAfterMs = retryAfter && Number.isFinite(secs) ? Math.round(secs * 1000) : undefined;
    return { tag: "rate-limited", val: { message: msg, retryAfterMs } };
  }
  if (status === 408 || status === 504) return { tag: "timeout", val: msg };
  if (status >= 500) return { tag: "unavailable", val: msg };
  return { tag: "invalid-request", val: msg };
}

class Completion {
  constructor(request) {
    this.request = request;
    this.status = 0;
    this.retryAfter = undefined;
    this.buffer = "";
    this.decoder = new TextDecoder(); // streaming: a UTF-8 sequence may span chunks
    this.toolCalls = new Map(); // index -> { id, name, arguments }
    this.finished = false; // a finish-reason was emitted
    this.done = false; // the stream is over (finish or fail returned)
  }

  handle(input) {
    if (this.done) return [];
    switch (input.tag) {
      case "start":
        return [{ tag: "http-request", val: [1, this.request] }];
      case "http-response":
        if (input.val[0] !== 1) return [];
        this.status = input.val[1].status;
        for (const h of input.val[1].headers) {
          if (h.name.toLowerCase() === "retry-after") this.retryAfter = h.value;
        }
        return [];
      case "http-body":
        if (input.val[0] !== 1) return [];
        this.buffer += this.decoder.decode(input.val[1], { stream: true });
        return this.ok() ? this.drain() : [];
      case "http-end":
        return input.val === 1 ? this.end() : [];
      default:
        return [];
    }
  }

  ok() { return this.status >= 200 && this.status < 300; }

  drain() {
    const actions = [];
    let nl;
    while (!this.done && (nl = this.buffer.indexOf("\n")) >= 0) {
      const line = this.buffer.slice(0, nl).replace(/\r$/, "");
      this.buffer = this.buffer.slice(nl + 1);
      if (!line.startsWith("data:")) continue; // blank separators, comments, `event:` lines
      const data = line.slice(5).trim();
      if (data === "[DONE]") return actions.concat(this.finish());
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
      actions.push(emit({ tag: "usage", val: { promptTokens: u.prompt_tokens ?? 0,
        completionTokens: u.completion_tokens ?? 0,
        cachedPromptTokens: u.prompt_tokens_details?.cached_tokens ?? 0 } }));
    }
    for (const choice of chunk.choices ?? []) {
      const delta = choice.delta ?? {};
      if (delta.content) actions.push(emit({ tag: "text-delta", val: delta.content }));
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
          actions.push(emit({ tag: "tool-call", val: { ...c, arguments: c.arguments || "{}" } }));
        }
        this.toolCalls.clear();
        actions.push(emit({ tag: "finish", val: FINISH[choice.finish_reason] ?? "other" }));
        this.finished = true;
      }
    }
    return actions;
  }

  end() {
    this.buffer += this.decoder.decode() + "\n"; // a last line without its newline
    if (!this.ok()) return this.fail(classify(this.status, this.retryAfter, this.buffer.trim()));
    const actions = this.drain();
    if (this.done) return actions;
    if (this.finished) return actions.concat(this.finish()); // some servers omit `data: [DONE]`
    return actions.concat(this.fail({ tag: "protocol", val: "stream ended before a finish reason" }));
  }

  finish() { this.done = true; return [{ tag: "finish" }]; }

  fail(error) { this.done = true; return [{ tag: "fail", val: error }]; }
}

export const llm = {
  Completion,
  open(config, request) {
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
    const headers = [{ name: "content-type", value: "application/json" }];
    if (config.apiKey !== undefined) headers.push({ name: "authorization", value: `Bearer ${config.apiKey}` });
    const url = `${(config.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, "")}/chat/completions`;
    return new Completion({ method: "POST", url, headers, body: encoder.encode(JSON.stringify(body)) });
  },
};
