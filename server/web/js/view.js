// Everything the page shows, as plain DOM updates. No state here beyond what rendering needs
// (the open interim line per speaker); main.js decides what happened, this module draws it.

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------------------------------------
// Session and agent state

export const SESSION_STATES = ["idle", "connecting", "connected", "ended", "error"];

/** One place for the session state: the badge, body[data-session-state] and window.voiceblox. */
export function setSessionState(state, detail = "") {
  const badge = $("session-status");
  badge.dataset.state = state;
  badge.textContent = state;
  badge.title = detail;
  document.body.dataset.sessionState = state;
  window.voiceblox.state = state;

  const busy = state === "connecting" || state === "connected";
  $("test-button").disabled = busy;
  $("stop-button").disabled = !busy;
  // The config a session runs is the one it started with; editing mid-call would only mislead.
  $("config-editor").readOnly = busy;
  $("example-select").disabled = busy;
}

export function setAgentState(state) {
  const badge = $("agent-state");
  badge.dataset.state = state ?? "";
  badge.textContent = state ?? "—";
}

export function setServerInfo(info) {
  $("server-info").textContent = `transport: ${info.transport} · runtime: ${info.runtime}`;
}

// ---------------------------------------------------------------------------------------------
// Validation problems

/**
 * problems: [{path, message, severity, offset?}]; `offset` (a character index in the editor) is
 * set for JSON syntax errors so a click can jump there.
 * status: "ok" | "warning" | "error" | "pending" | "stale", summary: the line above the list.
 */
export function showProblems(problems, status, summary) {
  const el = $("validation-summary");
  el.dataset.status = status;
  el.textContent = summary;

  const ul = $("problems");
  ul.replaceChildren();
  for (const problem of problems) {
    const li = document.createElement("li");
    li.className = `problem ${problem.severity === "warning" ? "warning" : "error"}`;
    li.setAttribute("data-path", problem.path ?? "");
    if (problem.offset !== undefined) li.dataset.offset = String(problem.offset);
    const path = document.createElement("code");
    path.className = "problem-path";
    path.textContent = problem.path || "(config)";
    const message = document.createElement("span");
    message.className = "problem-message";
    message.textContent = problem.message;
    li.append(path, " ", message);
    ul.append(li);
  }
}

// ---------------------------------------------------------------------------------------------
// Error banner

const MAX_ERRORS = 6;

export function showError(code, message) {
  const list = $("error-list");
  const li = document.createElement("li");
  const codeEl = document.createElement("code");
  codeEl.textContent = code;
  li.append(codeEl, " ", message);
  list.append(li);
  // Keep the newest few: a provider outage can repeat the same error every turn.
  while (list.children.length > MAX_ERRORS) list.firstElementChild.remove();
  $("error-banner").hidden = false;
}

export function clearErrors() {
  $("error-list").replaceChildren();
  $("error-banner").hidden = true;
}

// ---------------------------------------------------------------------------------------------
// Session panels

// The line each speaker is still speaking (an interim), replaced in place until it turns final.
const openLine = { user: null, assistant: null };

/** Empties the panels of the previous session. */
export function resetSession() {
  openLine.user = null;
  openLine.assistant = null;
  $("transcript").replaceChildren();
  $("tools").replaceChildren();
  $("metrics").tBodies[0].replaceChildren();
  $("events").replaceChildren();
  $("event-count").textContent = "0";
  setAgentState(null);
}

/**
 * transcript {role, text, final}: an interim updates the speaker's open line (in italics); a final
 * settles it; the next interim after a final opens a new line.
 */
export function addTranscript({ role, text, final }) {
  const speaker = role === "user" ? "user" : "assistant";
  let line = openLine[speaker];
  if (!line) {
    line = document.createElement("div");
    line.className = `utterance ${speaker}`;
    const who = document.createElement("span");
    who.className = "speaker";
    who.textContent = speaker === "user" ? "you" : "agent";
    const said = document.createElement("span");
    said.className = "text";
    line.append(who, said);
    $("transcript").append(line);
  }
  line.querySelector(".text").textContent = text;
  line.classList.toggle("interim", !final);
  openLine[speaker] = final ? null : line;
  scrollToEnd($("transcript"));
}

/** tool_call: a pending entry, completed by the tool_result with the same callId. */
export function addToolCall({ callId, toolName, source, arguments: args }) {
  const li = toolEntry(callId);
  li.querySelector(".tool-name").textContent = toolName;
  li.querySelector(".tool-source").textContent = source ?? "";
  setClipped(li.querySelector(".tool-args"), args === undefined ? "" : JSON.stringify(args));
  scrollToEnd($("tools"));
}

export function addToolResult({ callId, toolName, ok, result, error }) {
  const li = toolEntry(callId);
  // A result whose call we missed still says which tool it was.
  const name = li.querySelector(".tool-name");
  if (!name.textContent) name.textContent = toolName;
  li.classList.remove("pending");
  li.classList.add(ok ? "ok" : "failed");
  setClipped(li.querySelector(".tool-result"), ok ? (result ?? "(no result)") : `failed: ${error ?? "(no reason given)"}`);
}

function toolEntry(callId) {
  const id = String(callId);
  const existing = [...$("tools").children].find((li) => li.dataset.callId === id);
  if (existing) return existing;
  const li = document.createElement("li");
  li.className = "tool pending";
  li.dataset.callId = id;
  li.innerHTML = `<div class="tool-head"><span class="tool-name"></span><span class="tool-source"></span></div>
    <code class="tool-args"></code><div class="tool-result"></div>`;
  $("tools").append(li);
  return li;
}

/** Long tool payloads (search results) would swamp the panel: show the start, keep all in the tooltip. */
function setClipped(element, text) {
  const limit = 400;
  element.textContent = text.length > limit ? `${text.slice(0, limit)}…` : text;
  element.title = text.length > limit ? text : "";
}

/** metrics: one row per event; an absent timing did not apply to the turn (a literal line has no LLM). */
export function addMetrics(m) {
  const ms = (value) => (typeof value === "number" ? `${Math.round(value)} ms` : "–");
  const row = $("metrics").tBodies[0].insertRow();
  if (m.interrupted) {
    row.classList.add("interrupted");
    row.title = "interrupted by the user";
  }
  const cells = [
    m.turn ?? "?",
    ms(m.eouDelayMs),
    ms(m.sttDelayMs),
    ms(m.llmTtftMs),
    ms(m.ttsTtfbMs),
    ms(m.responseMs),
    `${m.promptTokens ?? 0} / ${m.completionTokens ?? 0}${m.cachedPromptTokens ? ` (${m.cachedPromptTokens} cached)` : ""}`,
    m.ttsCharacters ?? 0,
  ];
  for (const value of cells) row.insertCell().textContent = String(value);
  scrollToEnd(row.closest(".table-wrap"));
}

// ---------------------------------------------------------------------------------------------
// Raw event log

/**
 * One <pre> per event whose text is exactly the JSON, so a reader can parse it back; the arrival
 * time is drawn from data-time by CSS.
 */
export function logEvent(event) {
  appendLogLine(JSON.stringify(event), event?.type ?? "");
}

/** A data message that was not JSON: shown, but not an event. */
export function logRaw(text) {
  appendLogLine(text, "unparsable");
}

function appendLogLine(text, type) {
  const pre = document.createElement("pre");
  pre.className = `event type-${type}`;
  pre.dataset.time = new Date().toISOString().slice(11, 23);
  pre.textContent = text;
  const log = $("events");
  log.append(pre);
  $("event-count").textContent = String(log.children.length);
  scrollToEnd(log);
}

function scrollToEnd(element) {
  if (element) element.scrollTop = element.scrollHeight;
}

// ---------------------------------------------------------------------------------------------
// Microphone level

/**
 * The microphone's loudness: RMS of the waveform per animation frame. #mic-level keeps the raw
 * RMS (0..1) in data-level for tests; the bar is scaled up because speech RMS rarely passes 0.3.
 */
export class MicMeter {
  constructor(element) {
    this.element = element;
    this.context = null;
    this.source = null;
    this.frame = 0;
  }

  start(stream) {
    this.stop();
    // One AudioContext for the page's life: Chromium caps how many may exist.
    this.context ??= new AudioContext();
    this.context.resume().catch(() => {});
    this.source = this.context.createMediaStreamSource(stream);
    const analyser = this.context.createAnalyser();
    analyser.fftSize = 1024;
    // An analyser is pulled by the graph without reaching the destination, so the mic is
    // measured without being played back into the room.
    this.source.connect(analyser);
    const samples = new Float32Array(analyser.fftSize);

    const tick = () => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += s * s;
      this.show(Math.sqrt(sum / samples.length));
      this.frame = requestAnimationFrame(tick);
    };
    this.frame = requestAnimationFrame(tick);
  }

  stop() {
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.source?.disconnect();
    this.source = null;
    this.show(0);
  }

  show(rms) {
    const level = Math.min(1, Math.max(0, rms));
    this.element.dataset.level = String(Number(level.toFixed(4)));
    this.element.value = Math.min(1, level * 4);
  }
}
