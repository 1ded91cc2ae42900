// The server's HTTP API, same origin. Every call either resolves with the parsed JSON body or
// throws an ApiError carrying the server's error shape, so callers handle one kind of failure.

/** A failed call: `{error: {code, message, problems?}}` from the server, or a network failure. */
export class ApiError extends Error {
  constructor(status, code, message, problems = []) {
    super(message);
    this.name = "ApiError";
    this.status = status; // 0 when the request never got an answer
    this.code = code;
    this.problems = problems;
  }
}

async function request(method, path, body, { keepalive = false } = {}) {
  const init = { method, headers: { Accept: "application/json" }, keepalive };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, "network_error", `${method} ${path} failed: ${err.message}`);
  }
  // Read as text first: a proxy or a panic may answer with something that is not JSON, and the
  // banner should then say what came back rather than "Unexpected token <".
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const detail = data && data.error;
    if (detail && typeof detail === "object") {
      throw new ApiError(response.status, detail.code || "error", detail.message || response.statusText,
        Array.isArray(detail.problems) ? detail.problems : []);
    }
    throw new ApiError(response.status, `http_${response.status}`,
      `${method} ${path}: ${response.status} ${response.statusText}${text ? ` — ${text.slice(0, 200)}` : ""}`);
  }
  return data;
}

/** `{transport: "direct"|"livekit", runtime, examples: [name, …]}` */
export function getInfo() {
  return request("GET", "/api/info");
}

/** The AgentConfig object of one bundled example. */
export function getExample(name) {
  return request("GET", `/api/examples/${encodeURIComponent(name)}`);
}

/**
 * Validate a config. Resolves `{ok, problems}` both when it is valid (warnings only) and when the
 * server refuses it as invalid_config (errors and warnings), since both are answers to show;
 * any other failure throws.
 */
export async function validate(config) {
  try {
    const data = await request("POST", "/api/validate", config);
    return { ok: data?.ok !== false, problems: data?.problems ?? [] };
  } catch (err) {
    if (err instanceof ApiError && err.code === "invalid_config") {
      return { ok: false, problems: err.problems, message: err.message };
    }
    throw err;
  }
}

/** Direct WebRTC: send the offer and the config, get `{sessionId, answer}`. */
export function startDirectSession(offerSdp, config) {
  return request("POST", "/api/direct-session", { offer: offerSdp, config });
}

/** `keepalive` lets the request outlive the page (pagehide). */
export function endDirectSession(sessionId, { keepalive = false } = {}) {
  return request("DELETE", "/api/direct-session", { sessionId }, { keepalive });
}

/** LiveKit: the server creates the room and starts the agent, we get `{token, roomName, serverUrl}`. */
export function startAgentSession(config) {
  return request("POST", "/api/agent-session", { config });
}

export function endAgentSession(roomName, { keepalive = false } = {}) {
  return request("DELETE", "/api/agent-session", { roomName }, { keepalive });
}
