// voiceblox-plugin: write a voiceblox provider adapter in JavaScript (built into a component with
// componentize-js, world `full-plugin` of voiceblox:plugin@0.2.0).
//
// An adapter is a sans-I/O state machine: the host opens a stream with the provider's
// configuration and the request, feeds it inputs (text, audio, HTTP and WebSocket events, timers)
// and performs the actions it returns. The host holds the network, the keys (write `{{api-key}}`
// where the key goes) and the clock.
//
// The author extends `Plugin` (name, version, `providers()`, and `openLlm`/`openTts`/`openStt`
// for the kinds served, each returning a `Stream` with `handle(input)` → actions), then exports
// the component's interfaces from the app module:
//
//     export const { meta, llm, tts, stt } = exportPlugin(new MyPlugin());
//
// Bindings (componentize-js): records are objects with camelCase fields, variants `{ tag, val }`,
// enums strings, list<u8> a Uint8Array; a thrown value is a `result`'s error.

/** One stream the host drives: each input in, the actions it calls for out. */
export class Stream {
  handle(_input) {
    return [];
  }
}

/** What the component is. Override `providers` and the `open*` of the kinds served. */
export class Plugin {
  constructor() {
    this.name = "plugin";
    this.version = "0.1.0";
  }

  providers() {
    return [];
  }

  openLlm(_config, _request) {
    throw refusal("LLM");
  }

  openTts(_config, _request) {
    throw refusal("TTS");
  }

  openStt(_config, _request) {
    throw refusal("STT");
  }
}

const refusal = (kind) => ({ tag: "invalid-request", val: `this plugin serves no ${kind} provider` });

/** A provider's description for `Plugin.providers`. */
export function provider({ id, kinds, hosts = [], apiKeyEnv = [], baseUrlEnv = [], configKeys = [],
  sttMode = undefined, sttSampleRate = undefined, ttsSampleRates = [] }) {
  return { id, kinds, hosts, configKeys, apiKeyEnv, baseUrlEnv, sttMode, sttSampleRate, ttsSampleRates };
}

export const header = (name, value) => ({ name, value });

const encoder = new TextEncoder();

/** The action asking the host for a request; its answer comes back as `http-response`,
 * `http-body` and `http-end` inputs carrying `id`. A body that is not bytes or text is sent
 * as JSON. */
export function httpRequest(id, method, url, headers, body = new Uint8Array()) {
  const bytes = body instanceof Uint8Array ? body
    : encoder.encode(typeof body === "string" ? body : JSON.stringify(body));
  return { tag: "http-request", val: [id, { method, url, headers, body: bytes }] };
}

export const emitLlm = (event) => ({ tag: "emit", val: { tag: "llm", val: event } });
export const emitTts = (event) => ({ tag: "emit", val: { tag: "tts", val: event } });
export const emitStt = (event) => ({ tag: "emit", val: { tag: "stt", val: event } });

/** A failed response as the typed error the host retries and falls back on: 401/403
 * unauthorized, 429 rate-limited (Retry-After in seconds), 408/504 timeout, 5xx unavailable,
 * anything else an invalid request. */
export function httpError(providerId, status, retryAfter, text) {
  const message = `${providerId}: HTTP ${status}: ${String(text).trim().slice(0, 500)}`;
  if (status === 401 || status === 403) return { tag: "unauthorized", val: message };
  if (status === 429) {
    const secs = Number(retryAfter); // absent or an HTTP date: NaN
    const retryAfterMs = retryAfter && Number.isFinite(secs) ? Math.round(secs * 1000) : undefined;
    return { tag: "rate-limited", val: { message, retryAfterMs } };
  }
  if (status === 408 || status === 504) return { tag: "timeout", val: message };
  if (status >= 500) return { tag: "unavailable", val: message };
  return { tag: "invalid-request", val: message };
}

/** Server-sent events from body chunks cut anywhere (even inside a UTF-8 sequence): `push`
 * returns the `data` of each event completed so far, `finish` the last one if the body did
 * not end it. */
export class SseEvents {
  constructor() {
    this.decoder = new TextDecoder();
    this.buffer = "";
    this.data = [];
  }

  push(bytes) {
    this.buffer += this.decoder.decode(bytes, { stream: true });
    const out = [];
    let nl;
    while ((nl = this.buffer.indexOf("\n")) >= 0) {
      this.line(this.buffer.slice(0, nl).replace(/\r$/, ""), out);
      this.buffer = this.buffer.slice(nl + 1);
    }
    return out;
  }

  finish() {
    const out = [];
    this.buffer += this.decoder.decode();
    if (this.buffer) this.line(this.buffer.replace(/\r$/, ""), out);
    this.buffer = "";
    this.line("", out);
    return out;
  }

  line(line, out) {
    if (!line) {
      if (this.data.length) out.push(this.data.join("\n"));
      this.data = [];
    } else if (line.startsWith("data:")) {
      this.data.push(line.slice(line.startsWith("data: ") ? 6 : 5));
    }
  }
}

/** The component's interfaces, delegating to `plugin`. */
export function exportPlugin(plugin) {
  class Completion {
    constructor(stream) { this.stream = stream; }
    handle(input) { return this.stream.handle(input); }
  }
  class Synthesis {
    constructor(stream) { this.stream = stream; }
    handle(input) { return this.stream.handle(input); }
  }
  class Transcription {
    constructor(stream) { this.stream = stream; }
    handle(input) { return this.stream.handle(input); }
  }
  return {
    meta: { describe: () => ({ name: plugin.name, version: plugin.version, providers: plugin.providers() }) },
    llm: { Completion, open: (config, request) => new Completion(plugin.openLlm(config, request)) },
    tts: { Synthesis, open: (config, request) => new Synthesis(plugin.openTts(config, request)) },
    stt: { Transcription, open: (config, request) => new Transcription(plugin.openStt(config, request)) },
  };
}
