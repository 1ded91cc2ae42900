// Wiring: loads the server's info and examples, keeps the editor, validation and steps in step,
// starts and stops a session on the server's transport and routes its events to the view.

import * as api from "./api.js";
import { DirectSession } from "./direct.js";
import { LivekitSession } from "./livekit.js";
import { markStepProblems, renderSteps, resetActiveStep, setActiveStep } from "./steps.js";
import * as view from "./view.js";

const $ = (id) => document.getElementById(id);

// What a test (or a curious developer in the console) can read: every event of the current
// session, in arrival order, and the session state.
window.voiceblox = { events: [], state: "idle", info: null };

const meter = new view.MicMeter($("mic-level"));
let info = { transport: "direct", runtime: "unknown", examples: [] };
let session = null; // the running DirectSession or LivekitSession, null when idle

// ---------------------------------------------------------------------------------------------
// Startup

async function init() {
  // What the editor held when the page started: anything else by the time the example arrives
  // was pasted or typed meanwhile.
  const initial = $("config-editor").value;
  view.setSessionState("idle");
  wire();

  try {
    info = await api.getInfo();
    window.voiceblox.info = info;
    view.setServerInfo(info);
  } catch (err) {
    reportError(err);
    $("server-info").textContent = "server info unavailable";
  }
  fillExamples(info.examples ?? []);

  // ?example=NAME preselects an example; otherwise the first one, so the page is usable at once.
  const wanted = new URLSearchParams(location.search).get("example");
  const name = wanted || info.examples?.[0];
  // A config pasted while the page was still loading is the user's: the example does not replace it.
  if (name) await loadExample(name, { unlessChangedFrom: initial });
  else renderSteps(null);
}

function fillExamples(names) {
  const select = $("example-select");
  select.replaceChildren();
  if (names.length === 0) select.append(new Option("(no examples)", ""));
  for (const name of names) select.append(new Option(name.replaceAll("_", " "), name));
}

function wire() {
  $("example-select").addEventListener("change", (e) => {
    if (e.target.value) loadExample(e.target.value);
  });
  $("validate-button").addEventListener("click", validateEditor);
  $("test-button").addEventListener("click", startSession);
  $("stop-button").addEventListener("click", stopSession);
  wireTalkButton();
  $("error-dismiss").addEventListener("click", view.clearErrors);
  $("config-editor").addEventListener("input", onEditorInput);
  $("problems").addEventListener("click", onProblemClick);
  // Closing the tab must not leave an agent talking into an empty room.
  window.addEventListener("pagehide", () => session?.abort({ keepalive: true }));
}

// ---------------------------------------------------------------------------------------------
// Examples, editor, validation

async function loadExample(name, { unlessChangedFrom } = {}) {
  const select = $("example-select");
  const editor = $("config-editor");
  if (![...select.options].some((o) => o.value === name)) select.append(new Option(name, name));
  select.value = name;
  try {
    const config = await api.getExample(name);
    if (unlessChangedFrom !== undefined && editor.value !== unlessChangedFrom) return;
    editor.value = JSON.stringify(config, null, 2);
  } catch (err) {
    reportError(err);
    return;
  }
  // Keep the URL shareable: reloading it brings back the same example.
  const url = new URL(location.href);
  url.searchParams.set("example", name);
  history.replaceState(null, "", url);
  await validateEditor();
}

// Each validation gets a number; an answer that is not the latest one is dropped, so a slow
// response cannot overwrite the result for newer text.
let validationSeq = 0;

async function validateEditor() {
  const seq = ++validationSeq;
  const parsed = parseEditor();
  if (parsed.problem) {
    view.showProblems([parsed.problem], "error", "not valid JSON");
    markStepProblems([]);
    return;
  }
  renderSteps(parsed.config);
  view.showProblems([], "pending", "validating…");
  let outcome;
  try {
    outcome = await api.validate(parsed.config);
  } catch (err) {
    if (seq !== validationSeq) return;
    view.showProblems([], "error", "validation failed");
    reportError(err);
    return;
  }
  if (seq !== validationSeq) return;
  showValidation(outcome.ok, outcome.problems, outcome.message);
}

function showValidation(ok, problems, message) {
  const errors = problems.filter((p) => p.severity !== "warning").length;
  const warnings = problems.length - errors;
  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
  let summary;
  if (ok) summary = warnings ? `valid, ${plural(warnings, "warning")}` : "valid";
  else summary = message ?? `${plural(errors, "error")}${warnings ? `, ${plural(warnings, "warning")}` : ""}`;
  view.showProblems(problems, ok ? (warnings ? "warning" : "ok") : "error", summary);
  markStepProblems(problems);
}

// Re-render the steps as the user types (debounced); the server is asked only on Validate.
let editTimer = 0;
function onEditorInput() {
  clearTimeout(editTimer);
  editTimer = setTimeout(() => {
    validationSeq++; // an answer still in flight is about the old text
    const parsed = parseEditor();
    if (parsed.problem) {
      view.showProblems([parsed.problem], "error", "not valid JSON");
      return;
    }
    renderSteps(parsed.config);
    $("validation-summary").dataset.status = "stale";
    $("validation-summary").textContent = "edited since the last validation";
  }, 300);
}

/** A syntax problem carries the offset; clicking it puts the cursor there. */
function onProblemClick(event) {
  const li = event.target.closest("li.problem");
  if (!li?.dataset.offset) return;
  const editor = $("config-editor");
  const offset = Number(li.dataset.offset);
  editor.focus();
  editor.setSelectionRange(offset, Math.min(offset + 1, editor.value.length));
}

/** The editor's JSON as `{config}`, or `{problem}` with the line and column of a syntax error. */
function parseEditor() {
  const text = $("config-editor").value;
  let config;
  try {
    config = JSON.parse(text);
  } catch (err) {
    const offset = jsonErrorOffset(text) ?? 0;
    const { line, column } = lineColumn(text, offset);
    // V8 sometimes appends its own position (ours is given once, up front) and may quote the
    // text around the error over several lines; one line reads better.
    const reason = err.message.replace(/\s+in JSON at position \d+.*$/s, "").replace(/\s+/g, " ");
    return {
      problem: { path: "", severity: "error", offset, message: `JSON syntax error at line ${line}, column ${column}: ${reason}` },
    };
  }
  if (config === null || typeof config !== "object" || Array.isArray(config)) {
    return { problem: { path: "", severity: "error", message: "the config must be a JSON object" } };
  }
  return { config };
}

/**
 * Where JSON.parse gave up, found by a strict JSON scanner: V8's messages do not always carry a
 * position ("Unexpected token '}', ... is not valid JSON"), and the line and column are the
 * useful part. Returns null for valid JSON.
 */
function jsonErrorOffset(text) {
  let i = 0;
  const fail = () => {
    throw i;
  };
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i])) i++;
  };
  const expect = (c) => {
    if (text[i] !== c) fail();
    i++;
  };
  const number = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const string = () => {
    expect('"');
    while (i < text.length) {
      const c = text[i];
      if (c === '"') return void i++;
      if (c < " ") fail();
      if (c === "\\") {
        i++;
        if (text[i] === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail();
          i += 5;
        } else if (i < text.length && '"\\/bfnrt'.includes(text[i])) i++;
        else fail();
      } else i++;
    }
    fail();
  };
  const value = () => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      ws();
      if (text[i] === "}") return void i++;
      for (;;) {
        ws();
        string();
        ws();
        expect(":");
        value();
        ws();
        if (text[i] === ",") i++;
        else return expect("}");
      }
    }
    if (c === "[") {
      i++;
      ws();
      if (text[i] === "]") return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ",") i++;
        else return expect("]");
      }
    }
    if (c === '"') return string();
    number.lastIndex = i;
    if (number.test(text)) return void (i = number.lastIndex);
    for (const word of ["true", "false", "null"]) {
      if (text.startsWith(word, i)) return void (i += word.length);
    }
    fail();
  };
  try {
    value();
    ws();
    if (i < text.length) fail();
    return null;
  } catch (at) {
    if (typeof at === "number") return Math.min(at, text.length);
    throw at;
  }
}

function lineColumn(text, offset) {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  const column = offset - before.lastIndexOf("\n");
  return { line, column };
}

// ---------------------------------------------------------------------------------------------
// Session

async function startSession() {
  if (session) return;
  view.clearErrors();
  const parsed = parseEditor();
  if (parsed.problem) {
    view.showProblems([parsed.problem], "error", "not valid JSON");
    return;
  }
  const config = parsed.config;

  window.voiceblox.events = [];
  $("talk-button").hidden = !manualTurns(config);
  $("talk-button").disabled = true;
  view.resetSession();
  renderSteps(config);
  resetActiveStep();
  view.setSessionState("connecting");

  // Callbacks check that they come from the current session: a stopped one may still fire late.
  let current = null;
  const hooks = {
    onConnected: () => {
      if (session !== current) return;
      view.setSessionState("connected");
      $("talk-button").disabled = false;
    },
    onEnded: (reason) => {
      if (session !== current) return;
      session = null;
      meter.stop();
      $("talk-button").disabled = true;
      view.setSessionState("ended", reason);
    },
    onMicStream: (stream) => {
      if (session === current) meter.start(stream);
    },
    onEvent: (event) => {
      if (session === current) handleEvent(event);
    },
    onRawMessage: (text) => {
      if (session === current) view.logRaw(text);
    },
  };
  current = info.transport === "livekit"
    ? new LivekitSession(config, hooks, $("remote-audio"))
    : new DirectSession(config, hooks, $("agent-audio"));
  session = current;

  try {
    await current.start();
  } catch (err) {
    if (session !== current) return; // stopped meanwhile; the failure is the stop's doing
    session = null;
    current.abort();
    meter.stop();
    view.setSessionState("error", err.message);
    reportError(err);
  }
}

/**
 * The talk button of manual turn detection: pressed, the agent stops and listens; released, the
 * turn is over; Escape while holding cancels what was said.
 */
function wireTalkButton() {
  const button = $("talk-button");
  let holding = false;
  const press = (event) => {
    if (!session || holding || button.disabled) return;
    event.preventDefault();
    holding = true;
    button.dataset.holding = "true";
    session.control("start_turn");
  };
  const release = (type) => {
    if (!holding) return;
    holding = false;
    button.dataset.holding = "false";
    session?.control(type);
  };
  button.addEventListener("pointerdown", press);
  button.addEventListener("pointerup", () => release("end_turn"));
  button.addEventListener("pointerleave", () => release("end_turn"));
  button.addEventListener("keydown", (event) => {
    if (event.key === " " || event.key === "Enter") press(event);
    if (event.key === "Escape") release("cancel_turn");
  });
  button.addEventListener("keyup", (event) => {
    if (event.key === " " || event.key === "Enter") release("end_turn");
  });
}

/** Whether the config leaves ending turns to the talk button. */
function manualTurns(config) {
  return config?.turnTaking?.turnDetection === "manual";
}

async function stopSession() {
  const stopping = session;
  if (!stopping) return;
  try {
    await stopping.stop(); // reports "ended" through onEnded, even when the DELETE fails
  } catch (err) {
    reportError(err);
  }
}

function handleEvent(event) {
  window.voiceblox.events.push(event);
  view.logEvent(event);
  switch (event?.type) {
    case "step_change":
      setActiveStep(event.stepId);
      break;
    case "agent_state":
      view.setAgentState(event.state);
      break;
    case "transcript":
      view.addTranscript(event);
      break;
    case "tool_call":
      view.addToolCall(event);
      break;
    case "tool_result":
      view.addToolResult(event);
      break;
    case "metrics":
      view.addMetrics(event);
      break;
    case "error":
      view.showError(event.code ?? "error", event.message ?? "");
      break;
    default:
      // Unknown types are only logged: a newer server may send events this page predates.
      break;
  }
}

/** Any failure to the banner; a refused config also lists its problems by path. */
function reportError(err) {
  if (err instanceof api.ApiError) {
    view.showError(err.code, err.message);
    if (err.code === "invalid_config" && err.problems.length) showValidation(false, err.problems, err.message);
    return;
  }
  if (err?.name === "NotAllowedError") {
    view.showError("microphone", "microphone access was refused; allow it for this page and try again");
    return;
  }
  if (err?.name === "NotFoundError") {
    view.showError("microphone", "no microphone found");
    return;
  }
  view.showError("error", err?.message ?? String(err));
}

init();
