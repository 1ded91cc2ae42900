"""OpenAI-compatible chat-completions adapter for voiceblox, written in Python with the SDK
(`plugins/sdk-python`, package `voiceblox_plugin`).

The host performs the HTTP request this stream asks for and feeds the response back; the
adapter only builds the request and reads the server-sent events.
"""

import json

from voiceblox_plugin import (Plugin, SseEvents, Stream, emit_llm, export, header, http_error,
                              http_request, llm, provider, refuse, types as t)
from voiceblox_plugin import Llm, Meta, Stt, Tts  # noqa: F401 (the component's exports)

PROVIDER = "openai-compat-py"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
ROLES = {llm.Role.SYSTEM: "system", llm.Role.USER: "user", llm.Role.ASSISTANT: "assistant",
         llm.Role.TOOL: "tool"}
FINISH = {"stop": t.FinishReason.STOP, "length": t.FinishReason.LENGTH,
          "tool_calls": t.FinishReason.TOOL_CALLS, "function_call": t.FinishReason.TOOL_CALLS,
          "content_filter": t.FinishReason.CONTENT_FILTER}
REQUEST = 1


class OpenAiCompat(Plugin):
    name, version = "py-openai-compat", "0.1.0"

    def providers(self):
        return [provider(PROVIDER, [t.Kind.LLM], hosts=["api.openai.com"],
                         api_key_env=["OPENAI_API_KEY"], base_url_env=["OPENAI_BASE_URL"])]

    def open_llm(self, config, request):
        if not config.model:
            refuse(t.ProviderError_InvalidRequest("model is empty"))
        try:
            extras = json.loads(request.extras or "{}")
            if not isinstance(extras, dict):
                raise ValueError("not an object")
            tools = [{"type": "function", "function": {
                "name": d.name, "description": d.description,
                "parameters": json.loads(d.parameters or "{}")}} for d in request.tools]
        except ValueError as e:
            refuse(t.ProviderError_InvalidRequest(f"extras or tool parameters are not JSON objects: {e}"))
        body = {"model": config.model, "messages": [message(m) for m in request.messages],
                "stream": True, "stream_options": {"include_usage": True}}
        if tools:
            body["tools"] = tools
        if request.temperature is not None:
            body["temperature"] = round(request.temperature, 3)  # an f32
        if request.max_tokens is not None:
            body["max_tokens"] = request.max_tokens
        body.update(extras)
        headers = [header("content-type", "application/json")]
        if config.api_key is not None:
            headers.append(header("authorization", f"Bearer {config.api_key}"))
        url = (config.base_url or DEFAULT_BASE_URL).rstrip("/") + "/chat/completions"
        return Completion(http_request(REQUEST, "POST", url, headers, body))


def message(m) -> dict:
    out = {"role": ROLES[m.role], "content": m.content}
    if m.tool_calls:
        out["tool_calls"] = [{"id": c.id, "type": "function", "function": {
            "name": c.name, "arguments": c.arguments}} for c in m.tool_calls]
    if m.tool_call_id is not None:
        out["tool_call_id"] = m.tool_call_id
    return out


class Completion(Stream):
    def __init__(self, request):
        self.request = request
        self.status = 0
        self.retry_after = None
        self.error_body = b""
        self.events = SseEvents()
        self.tool_calls = {}  # index -> [id, name, arguments]
        self.finished = False  # a finish reason was emitted
        self.done = False  # the stream is over (finish or fail returned)

    def handle(self, input):
        if self.done:
            return []
        if isinstance(input, t.Input_Start):
            return [self.request]
        if isinstance(input, t.Input_HttpResponse) and input.value[0] == REQUEST:
            self.status = input.value[1].status
            for h in input.value[1].headers:
                if h.name.lower() == "retry-after":
                    self.retry_after = h.value
            return []
        if isinstance(input, t.Input_HttpBody) and input.value[0] == REQUEST:
            if not 200 <= self.status < 300:
                self.error_body += input.value[1]
                return []
            return self.read(self.events.push(input.value[1]))
        if isinstance(input, t.Input_HttpEnd) and input.value == REQUEST:
            if not 200 <= self.status < 300:
                return self.fail(http_error(PROVIDER, self.status, self.retry_after, self.error_body))
            actions = self.read(self.events.finish())
            if self.done:
                return actions
            if self.finished:  # some servers omit `data: [DONE]`
                return actions + self.finish()
            return actions + self.fail(t.ProviderError_Protocol("stream ended before a finish reason"))
        return []

    def read(self, events):
        actions = []
        for data in events:
            if self.done:
                break
            if data.strip() == "[DONE]":
                return actions + self.finish()
            try:
                actions += self.chunk(json.loads(data))
            except (ValueError, KeyError, TypeError, IndexError) as e:
                return actions + self.fail(t.ProviderError_Protocol(f"bad SSE chunk: {e}"))
        return actions

    def chunk(self, chunk: dict):
        if "error" in chunk:
            return self.fail(t.ProviderError_Unavailable(json.dumps(chunk["error"])[:500]))
        actions = []
        if chunk.get("usage"):
            u = chunk["usage"]
            cached = (u.get("prompt_tokens_details") or {}).get("cached_tokens", 0)
            actions.append(emit_llm(t.LlmEvent_Usage(t.Usage(
                u.get("prompt_tokens", 0), u.get("completion_tokens", 0), cached))))
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            if delta.get("content"):
                actions.append(emit_llm(t.LlmEvent_TextDelta(delta["content"])))
            for tc in delta.get("tool_calls") or []:
                call = self.tool_calls.setdefault(tc.get("index", 0), ["", "", ""])
                fn = tc.get("function") or {}
                call[0] = tc.get("id") or call[0]
                call[1] = fn.get("name") or call[1]
                call[2] += fn.get("arguments") or ""
            if choice.get("finish_reason"):
                for _, (id, name, args) in sorted(self.tool_calls.items()):
                    actions.append(emit_llm(t.LlmEvent_ToolCall(t.ToolCall(id, name, args or "{}", None))))
                self.tool_calls.clear()
                actions.append(emit_llm(t.LlmEvent_Finish(FINISH.get(choice["finish_reason"], t.FinishReason.OTHER))))
                self.finished = True
        return actions

    def finish(self):
        self.done = True
        return [t.Action_Finish()]

    def fail(self, error):
        self.done = True
        return [t.Action_Fail(error)]


export(OpenAiCompat())
