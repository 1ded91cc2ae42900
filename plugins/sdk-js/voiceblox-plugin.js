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

/** One HTTP response as it arrives: `head` takes its status and Retry-After, `add` the body's
 * bytes (decoded as UTF-8 even when a chunk ends inside a character); `ok()` says whether it
 * succeeded, `text()` is the whole body so far, `error(providerId)` the typed error of a failed
 * one (see `httpError`). */
export class HttpAnswer {
  constructor() {
    this.status = 0;
    this.retryAfter = undefined;
    this.body = "";
    this.decoder = new TextDecoder();
  }

  head(response) {
    this.status = response.status;
    this.retryAfter = response.headers.find((h) => h.name.toLowerCase() === "retry-after")?.value;
  }

  ok() { return this.status >= 200 && this.status < 300; }

  add(bytes) { this.body += this.decoder.decode(bytes, { stream: true }); }

  text() {
    this.body += this.decoder.decode();
    return this.body;
  }

  error(providerId) { return httpError(providerId, this.status, this.retryAfter, this.text()); }
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

/** Text-to-speech over a REST API answering each request with raw 16-bit mono PCM: the text
 * given before each `flush` (and before the end) becomes one request, sent one at a time in
 * order; its audio is emitted as it arrives, in whole samples, then `flushed`. A failed response
 * fails the stream with its typed error. `request(id, text)` builds the request action (see
 * `httpRequest`). */
export class SpeechRequests extends Stream {
  constructor(providerId, sampleRate, request) {
    super();
    this.providerId = providerId;
    this.sampleRate = sampleRate;
    this.request = request;
    this.text = "";
    this.groups = []; // flushed texts waiting their turn
    this.current = undefined; // the request id in flight
    this.nextId = 0;
    this.ended = false;
    this.done = false;
    this.answer = new HttpAnswer();
    this.odd = new Uint8Array(); // a byte of a sample cut between two chunks
  }

  handle(input) {
    if (this.done) return [];
    switch (input.tag) {
      case "text":
        this.text += input.val;
        return [];
      case "flush":
        this.groups.push(this.text);
        this.text = "";
        return this.next();
      case "end":
        this.ended = true;
        if (this.text.trim()) this.groups.push(this.text);
        this.text = "";
        return this.next();
      case "http-response":
        if (input.val[0] === this.current) this.answer.head(input.val[1]);
        return [];
      case "http-body":
        return input.val[0] === this.current ? this.body(input.val[1]) : [];
      case "http-end":
        return input.val === this.current ? this.end() : [];
      default:
        return [];
    }
  }

  body(bytes) {
    if (!this.answer.ok()) {
      this.answer.add(bytes);
      return [];
    }
    const pcm = new Uint8Array(this.odd.length + bytes.length);
    pcm.set(this.odd);
    pcm.set(bytes, this.odd.length);
    const whole = pcm.length - (pcm.length % 2);
    this.odd = pcm.slice(whole);
    if (!whole) return [];
    return [emitTts({ tag: "audio", val: { pcm: pcm.slice(0, whole), sampleRate: this.sampleRate } })];
  }

  end() {
    if (!this.answer.ok()) {
      this.done = true;
      return [{ tag: "fail", val: this.answer.error(this.providerId) }];
    }
    this.current = undefined;
    this.odd = new Uint8Array();
    return [emitTts({ tag: "flushed" })].concat(this.next());
  }

  /** Starts the next group's request, answering empty groups at once; finishes at the end. */
  next() {
    const actions = [];
    while (this.current === undefined && this.groups.length) {
      const text = this.groups.shift().trim();
      if (!text) {
        actions.push(emitTts({ tag: "flushed" }));
        continue;
      }
      this.current = ++this.nextId;
      this.answer = new HttpAnswer();
      actions.push(this.request(this.current, text));
    }
    if (this.current === undefined && this.ended) {
      this.done = true;
      actions.push({ tag: "finish" });
    }
    return actions;
  }
}

/** 16-bit mono PCM `samples` (an array of numbers or an Int16Array) as a WAV file. */
export function wavBytes(samples, sampleRate) {
  const out = new Uint8Array(44 + samples.length * 2);
  const view = new DataView(out.buffer);
  const ascii = (at, text) => [...text].forEach((c, i) => view.setUint8(at + i, c.charCodeAt(0)));
  ascii(0, "RIFF");
  view.setUint32(4, 36 + samples.length * 2, true);
  ascii(8, "WAVEfmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  ascii(36, "data");
  view.setUint32(40, samples.length * 2, true);
  samples.forEach((sample, i) => view.setInt16(44 + i * 2, sample, true));
  return out;
}

/** A `multipart/form-data` body: the text `fields` (an object), then one file. */
export function multipart(boundary, fields, fileField, fileName, fileType, fileBytes) {
  let head = "";
  for (const [name, value] of Object.entries(fields)) {
    head += `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  }
  head += `--${boundary}\r\nContent-Disposition: form-data; name="${fileField}"; filename="${fileName}"\r\n`
    + `Content-Type: ${fileType}\r\n\r\n`;
  const parts = [encoder.encode(head), fileBytes, encoder.encode(`\r\n--${boundary}--\r\n`)];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Batch speech-to-text over a REST API: audio frames are buffered into utterances (each
 * `flush`, and the end, closes one), each uploaded once, one at a time in order; `read(text)`
 * turns an answer's body into the utterance's text, which becomes one final transcript with its
 * offsets in the stream. A failed response fails the stream with its typed error.
 * `request(id, samples)` builds the upload action (see `httpRequest`, `wavBytes`, `multipart`). */
export class TranscriptionRequests extends Stream {
  constructor(providerId, sampleRate, request, read) {
    super();
    this.providerId = providerId;
    this.sampleRate = sampleRate;
    this.request = request;
    this.read = read;
    this.samples = [];
    this.sent = 0; // samples already handed to uploads
    this.queue = []; // { samples, startMs, endMs } waiting their turn
    this.current = undefined; // { id, startMs, endMs } in flight
    this.nextId = 0;
    this.ended = false;
    this.done = false;
    this.answer = new HttpAnswer();
  }

  handle(input) {
    if (this.done) return [];
    switch (input.tag) {
      case "audio":
        for (const sample of input.val) this.samples.push(sample);
        return [];
      case "flush":
        this.take();
        return this.next();
      case "end":
        this.ended = true;
        this.take();
        return this.next();
      case "http-response":
        if (input.val[0] === this.current?.id) this.answer.head(input.val[1]);
        return [];
      case "http-body":
        if (input.val[0] !== this.current?.id) return [];
        this.answer.add(input.val[1]);
        if (this.answer.body.length > 1 << 20) return this.fail({ tag: "protocol", val: "the transcription answer is larger than 1 MiB" });
        return [];
      case "http-end":
        return input.val === this.current?.id ? this.end() : [];
      default:
        return [];
    }
  }

  end() {
    if (!this.answer.ok()) return this.fail(this.answer.error(this.providerId));
    let text;
    try {
      text = String(this.read(this.answer.text())).trim();
    } catch (e) {
      return this.fail({ tag: "protocol", val: `unreadable transcription answer: ${e}` });
    }
    const { startMs, endMs } = this.current;
    this.current = undefined;
    const final = { text, words: [], confidence: 1, language: undefined, startMs, endMs, speechFinal: true };
    return [emitStt({ tag: "final", val: final })].concat(this.next());
  }

  take() {
    if (!this.samples.length) return;
    const ms = (n) => Math.floor((n * 1000) / this.sampleRate);
    const start = this.sent;
    this.sent += this.samples.length;
    this.queue.push({ samples: this.samples, startMs: ms(start), endMs: ms(this.sent) });
    this.samples = [];
  }

  next() {
    const actions = [];
    if (this.current === undefined && this.queue.length) {
      const { samples, startMs, endMs } = this.queue.shift();
      this.current = { id: ++this.nextId, startMs, endMs };
      this.answer = new HttpAnswer();
      actions.push(this.request(this.current.id, samples));
    }
    if (this.current === undefined && this.ended) {
      this.done = true;
      actions.push({ tag: "finish" });
    }
    return actions;
  }

  fail(error) {
    this.done = true;
    return [{ tag: "fail", val: error }];
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
