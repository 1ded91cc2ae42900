"""OpenAI-compatible chat-completions adapter for voiceblox, written in Python.

World `llm-plugin` of voiceblox:plugin@0.1.0. The host performs the HTTP request this
returns and feeds the response back; the adapter only builds bytes and parses SSE.
"""

import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports import llm
from wit_world.imports import types as t

PROVIDER = "openai-compat-py"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
ROLES = {llm.Role.SYSTEM: "system", llm.Role.USER: "user",
         llm.Role.ASSISTANT: "assistant", llm.Role.TOOL: "tool"}
FINISH = {"stop": t.FinishReason.STOP, "length": t.FinishReason.LENGTH,
          "tool_calls": t.FinishReason.TOOL_CALLS, "function_call": t.FinishReason.TOOL_CALLS,
          "content_filter": t.FinishReason.CONTENT_FILTER}


class Meta(exports.Meta):
    def describe(self) -> t.PluginInfo:
        provider = t.ProviderInfo(
            id=PROVIDER, kinds=[t.Kind.LLM], hosts=["api.openai.com"], config_keys=[],
            api_key_env=["OPENAI_API_KEY"], base_url_env=["OPENAI_BASE_URL"],
            stt_mode=None, stt_sample_rate=None, tts_sample_rates=[])
        return t.PluginInfo(name="py-openai-compat", version="0.1.0", providers=[provider])


class Llm(exports.Llm):
    def open(self, config: t.ProviderConfig, request: llm.Request) -> "Completion":
        if not config.model:
            raise Err(t.ProviderError_InvalidRequest("model is empty"))
        try:
            extras = json.loads(request.extras or "{}")
            if not isinstance(extras, dict):
                raise ValueError("not an object")
            tools = [{"type": "function", "function": {
                "name": d.name, "description": d.description,
                "parameters": json.loads(d.parameters or "{}")}} for d in request.tools]
        except ValueError as e:
            raise Err(t.ProviderError_InvalidRequest(f"extras or tool parameters are not JSON objects: {e}"))
        body = {"model": config.model, "messages": [message(m) for m in request.messages],
                "stream": True, "stream_options": {"include_usage": True}}
        if tools:
            body["tools"] = tools
        if request.temperature is not None:
            body["temperature"] = round(request.temperature, 3)  # an f32
        if request.max_tokens is not None:
            body["max_tokens"] = request.max_tokens
        body.update(extras)
        headers = [t.Header("content-type", "application/json")]
        if config.api_key is not None:
            headers.append(t.Header("authorization", f"Bearer {config.api_key}"))
        url = (config.base_url or DEFAULT_BASE_URL).rstrip("/") + "/chat/completions"
        return Completion(t.HttpRequest("POST", url, headers, json.dumps(body).encode()))


def message(m: llm.Message) -> dict:
    out = {"role": ROLES[m.role], "content": m.content}
    if m.tool_calls:
        out["tool_calls"] = [{"id": c.id, "type": "function", "function": {
            "name": c.name, "arguments": c.arguments}} for c in m.tool_calls]
    if m.tool_call_id is not None:
        out["tool_call_id"] = m.tool_call_id
    return out


def emit(event: t.LlmEvent) -> t.Action:
    return t.Action_Emit(t.Event_Llm(event))


def classify(status: int, retry_after: str | None, text: str) -> t.ProviderError:
    msg = f"HTTP {status}: {text[:500]}"
    if status in (401, 403):
        return t.ProviderError_Unauthorized(msg)
    if status == 429:
        try:
            ms = int(float(retry_after) * 1000)
        except (TypeError, ValueError):
            ms = None  # absent, or an HTTP date
        return t.ProviderError_RateLimited(t.RateLimit(msg, ms))
    if status in (408, 504):
        return t.ProviderError_Timeout(msg)
    if status >= 500:
        return t.ProviderError_Unavailable(msg)
    return t.ProviderError_InvalidRequest(msg)


class Completion(llm.Completion):
    def __init__(self, request: t.HttpRequest):
        self.request = request
        self.status = 0
        self.retry_after = None
        self.buffer = b""
        self.tool_calls = {}  # index -> [id, name, arguments]
        self.finished = False  # a finish-reason was emitted
        self.done = False  # the stream is over (finish or fail returned)

    def handle(self, input: t.Input) -> list[t.Action]:
        if self.done:
            return []
        if isinstance(input, t.Input_Start):
            return [t.Action_HttpRequest((1, self.request))]
        if isinstance(input, t.Input_HttpResponse) and input.value[0] == 1:
            self.status = input.value[1].status
            for h in input.value[1].headers:
                if h.name.lower() == "retry-after":
                    self.retry_after = h.value
            return []
        if isinstance(input, t.Input_HttpBody) and input.value[0] == 1:
            self.buffer += input.value[1]
            return [] if not 200 <= self.status < 300 else self.drain()
        if isinstance(input, t.Input_HttpEnd) and input.value == 1:
            return self.end()
        return []

    def drain(self) -> list[t.Action]:
        actions = []
        while not self.done and b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            line = line.rstrip(b"\r")
            if not line.startswith(b"data:"):
                continue  # blank separators, comments, `event:` lines
            data = line[5:].strip()
            if data == b"[DONE]":
                return actions + self.finish()
            try:
                actions += self.chunk(json.loads(data))
            except (ValueError, KeyError, TypeError, IndexError) as e:
                return actions + self.fail(t.ProviderError_Protocol(f"bad SSE chunk: {e}"))
        return actions

    def chunk(self, chunk: dict) -> list[t.Action]:
        if "error" in chunk:
            return self.fail(t.ProviderError_Unavailable(json.dumps(chunk["error"])[:500]))
        actions = []
        if chunk.get("usage"):
            u = chunk["usage"]
            cached = (u.get("prompt_tokens_details") or {}).get("cached_tokens", 0)
            actions.append(emit(t.LlmEvent_Usage(t.Usage(
                u.get("prompt_tokens", 0), u.get("completion_tokens", 0), cached))))
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            if delta.get("content"):
                actions.append(emit(t.LlmEvent_TextDelta(delta["content"])))
            for tc in delta.get("tool_calls") or []:
                call = self.tool_calls.setdefault(tc.get("index", 0), ["", "", ""])
                fn = tc.get("function") or {}
                call[0] = tc.get("id") or call[0]
                call[1] = fn.get("name") or call[1]
                call[2] += fn.get("arguments") or ""
            if choice.get("finish_reason"):
                for _, (id, name, args) in sorted(self.tool_calls.items()):
                    actions.append(emit(t.LlmEvent_ToolCall(t.ToolCall(id, name, args or "{}"))))
                self.tool_calls.clear()
                actions.append(emit(t.LlmEvent_Finish(FINISH.get(choice["finish_reason"], t.FinishReason.OTHER))))
                self.finished = True
        return actions

    def end(self) -> list[t.Action]:
        if not 200 <= self.status < 300:
            return self.fail(classify(self.status, self.retry_after, self.buffer.decode("utf-8", "replace")))
        self.buffer += b"\n"  # a last line without its newline
        actions = self.drain()
        if self.done:
            return actions
        if self.finished:  # some servers omit `data: [DONE]`
            return actions + self.finish()
        return actions + self.fail(t.ProviderError_Protocol("stream ended before a finish reason"))

    def finish(self) -> list[t.Action]:
        self.done = True
        return [t.Action_Finish()]

    def fail(self, error: t.ProviderError) -> list[t.Action]:
        self.done = True
        return [t.Action_Fail(error)]
