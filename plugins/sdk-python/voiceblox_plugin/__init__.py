"""Write a voiceblox provider adapter in Python (built into a component with componentize-py).

An adapter is a sans-I/O state machine: the host opens a stream with the provider's configuration
and the request, feeds it inputs (the utterance's text, audio frames, HTTP and WebSocket events,
timers) and performs the actions it returns (send this request, emit this event, set this timer).
The host holds the network, the keys (write ``{{api-key}}`` where the key goes) and the clock.

With this package an author writes a :class:`Plugin` (what it is and which providers it serves,
and ``open_llm``/``open_tts``/``open_stt`` for the kinds it serves, each returning a
:class:`Stream`), then ``export(MyPlugin())`` and re-exports the classes componentize-py looks for::

    from voiceblox_plugin import Plugin, Stream, emit_llm, export, provider, types as t
    from voiceblox_plugin import Meta, Llm, Tts, Stt  # noqa: F401 (the component's exports)

    class Echo(Stream):
        def __init__(self, request):
            self.text = request.messages[-1].content
        def handle(self, input):
            if isinstance(input, t.Input_Start):
                return [emit_llm(t.LlmEvent_TextDelta(self.text)),
                        emit_llm(t.LlmEvent_Finish(t.FinishReason.STOP)), t.Action_Finish()]
            return []

    class EchoPlugin(Plugin):
        name, version = "echo", "0.1.0"
        def providers(self):
            return [provider("echo", [t.Kind.LLM])]
        def open_llm(self, config, request):
            return Echo(request)

    export(EchoPlugin())

Build with ``componentize-py --wit-path WIT --world full-plugin componentize --python-path
SDK_DIR --python-path . app -o plugin.wasm``. Bindings: records are dataclasses, variants are
classes such as ``t.Input_HttpBody`` with a ``.value``, a ``result`` error is raised as
``Err(error)`` (:func:`refuse` does it).
"""

import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports import llm as _llm
from wit_world.exports import stt as _stt
from wit_world.exports import tts as _tts
from wit_world.imports import types

__all__ = [
    "Plugin", "Stream", "export", "provider", "refuse", "types", "llm", "tts", "stt",
    "emit_llm", "emit_tts", "emit_stt", "header", "http_request", "http_error", "HttpAnswer", "SseEvents",
    "SpeechRequests", "TranscriptionRequests", "wav_bytes", "multipart", "Meta", "Llm", "Tts", "Stt",
]

t = types
#: The interfaces' own types: ``llm.Request``, ``llm.Message``, ``llm.Role``, ``tts.Request``,
#: ``stt.Request``.
llm, tts, stt = _llm, _tts, _stt


class Stream:
    """One stream the host drives: each input in, the actions it calls for out."""

    def handle(self, input) -> list:
        raise NotImplementedError


class Plugin:
    """What the component is. Override ``providers`` and the ``open_*`` of the kinds served."""

    name = "plugin"
    version = "0.1.0"

    def providers(self) -> list:
        return []

    def open_llm(self, config, request) -> Stream:
        refuse(t.ProviderError_InvalidRequest("this plugin serves no LLM provider"))

    def open_tts(self, config, request) -> Stream:
        refuse(t.ProviderError_InvalidRequest("this plugin serves no TTS provider"))

    def open_stt(self, config, request) -> Stream:
        refuse(t.ProviderError_InvalidRequest("this plugin serves no STT provider"))


def provider(id, kinds, hosts=(), api_key_env=(), base_url_env=(), config_keys=(),
             stt_mode=None, stt_sample_rate=None, tts_sample_rates=()):
    """A provider's description for ``Plugin.providers``."""
    return t.ProviderInfo(
        id=id, kinds=list(kinds), hosts=list(hosts), config_keys=list(config_keys),
        api_key_env=list(api_key_env), base_url_env=list(base_url_env),
        stt_mode=stt_mode, stt_sample_rate=stt_sample_rate, tts_sample_rates=list(tts_sample_rates))


def refuse(error):
    """Refuse to open a stream with ``error`` (a ``t.ProviderError_*``)."""
    raise Err(error)


def emit_llm(event):
    return t.Action_Emit(t.Event_Llm(event))


def emit_tts(event):
    return t.Action_Emit(t.Event_Tts(event))


def emit_stt(event):
    return t.Action_Emit(t.Event_Stt(event))


def header(name, value):
    return t.Header(name, value)


def http_request(id, method, url, headers, body=b""):
    """The action asking the host to perform a request; its answer comes back as
    ``Input_HttpResponse``/``Input_HttpBody``/``Input_HttpEnd`` carrying ``id``."""
    if isinstance(body, str):
        body = body.encode()
    elif not isinstance(body, (bytes, bytearray)):
        body = json.dumps(body).encode()
    return t.Action_HttpRequest((id, t.HttpRequest(method, url, list(headers), bytes(body))))


def http_error(provider_id, status, retry_after, body):
    """A failed response as the typed error the host retries and falls back on: 401/403
    unauthorized, 429 rate-limited (with Retry-After in seconds), 408/504 timeout, 5xx
    unavailable, anything else an invalid request."""
    text = body.decode("utf-8", "replace") if isinstance(body, (bytes, bytearray)) else str(body)
    message = f"{provider_id}: HTTP {status}: {text.strip()[:500]}"
    if status in (401, 403):
        return t.ProviderError_Unauthorized(message)
    if status == 429:
        try:
            ms = int(float(retry_after) * 1000)
        except (TypeError, ValueError):
            ms = None  # absent, or an HTTP date
        return t.ProviderError_RateLimited(t.RateLimit(message, ms))
    if status in (408, 504):
        return t.ProviderError_Timeout(message)
    if status >= 500:
        return t.ProviderError_Unavailable(message)
    return t.ProviderError_InvalidRequest(message)


class HttpAnswer:
    """One HTTP response as it arrives: ``head`` takes its status and Retry-After, ``body``
    collects the bytes; ``ok()`` says whether it succeeded, ``error(provider_id)`` is the typed
    error of a failed one (see ``http_error``)."""

    def __init__(self):
        self.status = 0
        self.retry_after = None
        self.body = b""

    def head(self, response):
        self.status = response.status
        self.retry_after = next((h.value for h in response.headers if h.name.lower() == "retry-after"), None)

    def ok(self):
        return 200 <= self.status < 300

    def error(self, provider_id):
        return http_error(provider_id, self.status, self.retry_after, self.body)


class SseEvents:
    """Server-sent events from body chunks cut anywhere: ``push(bytes)`` returns the ``data``
    of each event completed so far, ``finish()`` the last one if the body did not end it."""

    def __init__(self):
        self._buffer = b""
        self._data = []

    def push(self, chunk) -> list:
        self._buffer += chunk
        out = []
        while b"\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\n", 1)
            self._line(line.rstrip(b"\r").decode("utf-8", "replace"), out)
        return out

    def finish(self) -> list:
        out = []
        if self._buffer:
            self._line(self._buffer.rstrip(b"\r").decode("utf-8", "replace"), out)
            self._buffer = b""
        self._line("", out)
        return out

    def _line(self, line, out):
        if not line:
            if self._data:
                out.append("\n".join(self._data))
                self._data = []
        elif line.startswith("data:"):
            self._data.append(line[5:][1:] if line[5:].startswith(" ") else line[5:])


def _answer_to(input):
    """The request id an HTTP input answers; None for other inputs."""
    if isinstance(input, (t.Input_HttpResponse, t.Input_HttpBody)):
        return input.value[0]
    if isinstance(input, t.Input_HttpEnd):
        return input.value
    return None


class SpeechRequests(Stream):
    """Text-to-speech over a REST API answering each request with raw 16-bit mono PCM: the text
    given before each ``flush`` (and before the end) becomes one request, sent one at a time in
    order; its audio is emitted as it arrives, in whole samples, then ``flushed``. A failed
    response fails the stream with its typed error. ``request(id, text)`` builds the request
    action (see ``http_request``)."""

    def __init__(self, provider_id, sample_rate, request):
        self._provider = provider_id
        self._rate = sample_rate
        self._request = request
        self._text = ""
        self._groups = []  # flushed texts waiting their turn
        self._current = None  # the request id in flight
        self._next_id = 0
        self._ended = False
        self._done = False
        self._answer = HttpAnswer()
        self._odd = b""  # a byte of a sample cut between two chunks

    def handle(self, input):
        if self._done:
            return []
        if isinstance(input, t.Input_Text):
            self._text += input.value
            return []
        if isinstance(input, t.Input_Flush):
            self._groups.append(self._text)
            self._text = ""
            return self._next()
        if isinstance(input, t.Input_End):
            self._ended = True
            if self._text.strip():
                self._groups.append(self._text)
                self._text = ""
            return self._next()
        if self._current is None or _answer_to(input) != self._current:
            return []
        if isinstance(input, t.Input_HttpResponse):
            self._answer.head(input.value[1])
            return []
        if isinstance(input, t.Input_HttpBody):
            if not self._answer.ok():
                self._answer.body += input.value[1]
                return []
            pcm = self._odd + input.value[1]
            whole = len(pcm) - len(pcm) % 2
            self._odd = pcm[whole:]
            return [emit_tts(t.TtsEvent_Audio(t.TtsAudio(pcm[:whole], self._rate)))] if whole else []
        if not self._answer.ok():
            self._done = True
            return [t.Action_Fail(self._answer.error(self._provider))]
        self._current = None
        self._odd = b""
        return [emit_tts(t.TtsEvent_Flushed())] + self._next()

    def _next(self):
        """Starts the next group's request, answering empty groups at once; finishes at the end."""
        actions = []
        while self._current is None and self._groups:
            text = self._groups.pop(0).strip()
            if not text:
                actions.append(emit_tts(t.TtsEvent_Flushed()))
                continue
            self._next_id += 1
            self._current, self._answer = self._next_id, HttpAnswer()
            actions.append(self._request(self._current, text))
        if self._current is None and self._ended:
            self._done = True
            actions.append(t.Action_Finish())
        return actions


def wav_bytes(samples, sample_rate) -> bytes:
    """16-bit mono PCM ``samples`` as a WAV file."""
    data = b"".join(s.to_bytes(2, "little", signed=True) for s in samples)

    def le(value, size):
        return value.to_bytes(size, "little")

    return (b"RIFF" + le(36 + len(data), 4) + b"WAVEfmt " + le(16, 4) + le(1, 2) + le(1, 2)
            + le(sample_rate, 4) + le(sample_rate * 2, 4) + le(2, 2) + le(16, 2)
            + b"data" + le(len(data), 4) + data)


def multipart(boundary, fields, file_field, file_name, file_type, file_bytes) -> bytes:
    """A ``multipart/form-data`` body: the text ``fields`` (a dict), then one file."""
    out = b""
    for name, value in fields.items():
        out += (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{value}\r\n").encode()
    out += (f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; '
            f'filename="{file_name}"\r\nContent-Type: {file_type}\r\n\r\n').encode()
    return out + bytes(file_bytes) + f"\r\n--{boundary}--\r\n".encode()


class TranscriptionRequests(Stream):
    """Batch speech-to-text over a REST API: audio frames are buffered into utterances (each
    ``flush``, and the end, closes one), each uploaded once, one at a time in order; ``read(body)``
    turns an answer into the utterance's text, which becomes one final transcript with its
    offsets in the stream. A failed response fails the stream with its typed error.
    ``request(id, samples)`` builds the upload action (see ``http_request``, ``wav_bytes`` and
    ``multipart``)."""

    MAX_ANSWER = 1 << 20

    def __init__(self, provider_id, sample_rate, request, read):
        self._provider = provider_id
        self._rate = sample_rate
        self._request = request
        self._read = read
        self._samples = []
        self._sent = 0  # samples already handed to uploads
        self._queue = []  # (samples, start_ms, end_ms) waiting their turn
        self._current = None  # (id, start_ms, end_ms) in flight
        self._next_id = 0
        self._ended = False
        self._done = False
        self._answer = HttpAnswer()

    def handle(self, input):
        if self._done:
            return []
        if isinstance(input, t.Input_Audio):
            self._samples.extend(input.value)
            return []
        if isinstance(input, t.Input_Flush):
            self._take()
            return self._next()
        if isinstance(input, t.Input_End):
            self._ended = True
            self._take()
            return self._next()
        if self._current is None or _answer_to(input) != self._current[0]:
            return []
        if isinstance(input, t.Input_HttpResponse):
            self._answer.head(input.value[1])
            return []
        if isinstance(input, t.Input_HttpBody):
            self._answer.body += input.value[1]
            if len(self._answer.body) > self.MAX_ANSWER:
                return self._fail(t.ProviderError_Protocol("the transcription answer is larger than 1 MiB"))
            return []
        if not self._answer.ok():
            return self._fail(self._answer.error(self._provider))
        try:
            text = self._read(self._answer.body).strip()
        except (ValueError, KeyError, TypeError) as e:
            return self._fail(t.ProviderError_Protocol(f"unreadable transcription answer: {e}"))
        _, start_ms, end_ms = self._current
        self._current = None
        final = t.Transcript(text=text, words=[], confidence=1.0, language=None, start_ms=start_ms,
                             end_ms=end_ms, speech_final=True)
        return [emit_stt(t.SttEvent_Final(final))] + self._next()

    def _take(self):
        if not self._samples:
            return
        ms = lambda n: n * 1000 // self._rate  # noqa: E731
        start = self._sent
        self._sent += len(self._samples)
        self._queue.append((self._samples, ms(start), ms(self._sent)))
        self._samples = []

    def _next(self):
        actions = []
        if self._current is None and self._queue:
            samples, start_ms, end_ms = self._queue.pop(0)
            self._next_id += 1
            self._current, self._answer = (self._next_id, start_ms, end_ms), HttpAnswer()
            actions.append(self._request(self._next_id, samples))
        if self._current is None and self._ended:
            self._done = True
            actions.append(t.Action_Finish())
        return actions

    def _fail(self, error):
        self._done = True
        return [t.Action_Fail(error)]


# ---- the component's exports, delegating to the exported plugin

_plugin = Plugin()


def export(plugin: Plugin):
    """Makes ``plugin`` the component's: describe() and every open go to it."""
    global _plugin
    _plugin = plugin


class Meta(exports.Meta):
    def describe(self):
        return t.PluginInfo(_plugin.name, _plugin.version, _plugin.providers())


class Completion(_llm.Completion):
    def __init__(self, stream):
        self._stream = stream

    def handle(self, input):
        return self._stream.handle(input)


class Synthesis(_tts.Synthesis):
    def __init__(self, stream):
        self._stream = stream

    def handle(self, input):
        return self._stream.handle(input)


class Transcription(_stt.Transcription):
    def __init__(self, stream):
        self._stream = stream

    def handle(self, input):
        return self._stream.handle(input)


class Llm(exports.Llm):
    def open(self, config, request):
        return Completion(_plugin.open_llm(config, request))


class Tts(exports.Tts):
    def open(self, config, request):
        return Synthesis(_plugin.open_tts(config, request))


class Stt(exports.Stt):
    def open(self, config, request):
        return Transcription(_plugin.open_stt(config, request))
