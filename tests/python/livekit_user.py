#!/usr/bin/env python3
"""A LiveKit room participant that plays the *browser user*, built on the official SDK.

Joins a room, optionally speaks a WAV file as its microphone, records the first remote audio
track it is subscribed to, logs the agent's events (data packets on `voiceblox.agent.events`)
and `lk.agent.state` attribute changes, then leaves and prints one JSON summary line on stdout.

Dependencies: the Python standard library, `livekit` (rtc) and `livekit-api` (tokens). No numpy.

Exit codes: 0 ok; 2 bad arguments or input file; 3 connect failed; 4 publish failed or timed
out; 5 the room disconnected us before the end; 1 anything else.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import json
import logging
import math
import os
import signal
import sys
import time
import wave

from livekit import rtc

EVENTS_TOPIC = "voiceblox.agent.events"
TRANSCRIPTION_TOPIC = "lk.transcription"
STATE_ATTRIBUTE = "lk.agent.state"
RATE = 48000
FRAME_MS = 20
FRAME_SAMPLES = RATE * FRAME_MS // 1000
# A 20 ms window whose RMS exceeds this (int16 units, ~ -42 dBFS) counts as "active" audio.
ACTIVE_RMS = 250.0

log = logging.getLogger("livekit_user")


class Failure(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class SdkLogCounter(logging.Handler):
    """Counts (and keeps) the SDK's warnings and errors for the summary."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.levelname}: {record.getMessage()}")


# ---------------------------------------------------------------- audio helpers


def load_wav_48k(path: str) -> array.array:
    """A mono 16-bit WAV of any rate, as int16 samples at 48 kHz (linear interpolation)."""
    try:
        with wave.open(path, "rb") as w:
            channels, width, rate, count = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
            raw = w.readframes(count)
    except (OSError, wave.Error, EOFError) as e:
        raise Failure(2, f"cannot read {path} as a WAV file: {type(e).__name__}: {e}") from e
    if channels != 1 or width != 2:
        raise Failure(2, f"{path}: need mono 16-bit PCM, got {channels} channel(s) of {8 * width} bits")
    samples = array.array("h")
    samples.frombytes(raw[: len(raw) // 2 * 2])
    if sys.byteorder == "big":
        samples.byteswap()
    if rate == RATE or len(samples) < 2:
        return samples
    n_out = int(len(samples) * RATE / rate)
    step = rate / RATE
    last = len(samples) - 1
    out = array.array("h", bytes(2 * n_out))
    for i in range(n_out):
        pos = i * step
        j = int(pos)
        if j >= last:
            out[i] = samples[last]
            continue
        frac = pos - j
        a = samples[j]
        out[i] = int(round(a + (samples[j + 1] - a) * frac))
    return out


def frame_of(samples: array.array) -> rtc.AudioFrame:
    data = samples.tobytes() if sys.byteorder == "little" else _swapped(samples)
    return rtc.AudioFrame(data, RATE, 1, len(samples))


def _swapped(samples: array.array) -> bytes:
    copy = array.array("h", samples)
    copy.byteswap()
    return copy.tobytes()


# ---------------------------------------------------------------- the participant


class User:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.room = rtc.Room()
        self.stop = asyncio.Event()
        self.disconnected_reason: str | None = None
        self.published_track_sid: str | None = None
        self.subscribed: list[dict] = []
        self.events = 0
        self.states = 0
        self.events_file = open(args.events, "w", encoding="utf-8") if args.events else None
        # recording
        self.recording_track: str | None = None
        self.record_task: asyncio.Task | None = None
        self.frames_recorded = 0
        self.samples_recorded = 0
        self.sum_squares = 0.0
        self.peak = 0
        self.active_windows = 0
        self.first_frame_at: float | None = None
        self.first_active_at: float | None = None
        self.last_active_at: float | None = None
        self.started = time.monotonic()
        self.speech_started_at: float | None = None
        self.speech_ended_at: float | None = None
        self.tasks: list[asyncio.Task] = []
        self.source: rtc.AudioSource | None = None
        self.microphone: rtc.LocalAudioTrack | None = None
        self.published_tracks: list[str] = []
        self.mutes: list[dict] = []
        self.register()

    def t(self) -> float:
        return round(time.monotonic() - self.started, 3)

    # ---------------------------------------------------------------- room events

    def register(self) -> None:
        room = self.room

        @room.on("track_subscribed")
        def _subscribed(track: rtc.Track, publication: rtc.RemoteTrackPublication, participant: rtc.RemoteParticipant):
            kind = "audio" if track.kind == rtc.TrackKind.KIND_AUDIO else "video"
            log.info("t=%.3f subscribed to %s track %s of %s", self.t(), kind, publication.sid, participant.identity)
            self.subscribed.append({"sid": publication.sid, "participant": participant.identity, "kind": kind})
            if kind == "audio" and self.args.record and self.recording_track is None:
                self.recording_track = publication.sid
                self.record_task = asyncio.ensure_future(self.record(track))

        @room.on("track_unsubscribed")
        def _unsubscribed(track: rtc.Track, publication: rtc.RemoteTrackPublication, participant: rtc.RemoteParticipant):
            log.info("t=%.3f unsubscribed from %s of %s", self.t(), publication.sid, participant.identity)

        @room.on("track_published")
        def _published(publication: rtc.RemoteTrackPublication, participant: rtc.RemoteParticipant):
            log.info("t=%.3f %s published track %s", self.t(), participant.identity, publication.sid)

        @room.on("track_subscription_failed")
        def _sub_failed(participant: rtc.RemoteParticipant, track_sid: str, error: str):
            log.warning("t=%.3f subscription to %s of %s failed: %s", self.t(), track_sid, participant.identity, error)

        @room.on("participant_connected")
        def _joined(participant: rtc.RemoteParticipant):
            log.info("t=%.3f participant joined: %s", self.t(), participant.identity)
            self.note_state(participant, participant.attributes.get(STATE_ATTRIBUTE))

        @room.on("participant_disconnected")
        def _left(participant: rtc.RemoteParticipant):
            log.info("t=%.3f participant left: %s", self.t(), participant.identity)

        @room.on("data_received")
        def _data(packet: rtc.DataPacket):
            if packet.topic != EVENTS_TOPIC:
                return
            sender = packet.participant.identity if packet.participant else None
            try:
                event = json.loads(packet.data.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as e:
                log.warning("t=%.3f undecodable event from %s: %s", self.t(), sender, e)
                self.write_event({"from": sender, "raw": packet.data.decode("utf-8", "replace"), "error": str(e)})
                return
            self.events += 1
            self.write_event({"from": sender, "event": event})
            kind = event.get("type") if isinstance(event, dict) else None
            if self.args.until_event and kind == self.args.until_event:
                log.info("t=%.3f got %r; leaving in %.1f s", self.t(), kind, self.args.linger)
                asyncio.get_event_loop().call_later(self.args.linger, self.stop.set)

        def _transcription(reader: rtc.TextStreamReader, sender: str):
            # The stock way LiveKit UIs show a conversation: lk.transcription text streams.
            async def read() -> None:
                text = await reader.read_all()
                attributes = dict(reader.info.attributes or {})
                log.info("t=%.3f transcription from %s: %r %s", self.t(), sender, text, attributes)
                self.write_event({"from": sender, "transcription": {"text": text, "attributes": attributes}})

            self.tasks.append(asyncio.ensure_future(read()))

        room.register_text_stream_handler(TRANSCRIPTION_TOPIC, _transcription)

        @room.on("participant_attributes_changed")
        def _attributes(changed: dict, participant: rtc.Participant):
            if STATE_ATTRIBUTE in changed:
                self.note_state(participant, changed[STATE_ATTRIBUTE])

        @room.on("disconnected")
        def _disconnected(reason):
            try:
                name = rtc.DisconnectReason.Name(reason)
            except Exception:  # noqa: BLE001 - an int the enum does not know
                name = str(reason)
            self.disconnected_reason = name
            log.info("t=%.3f disconnected: %s", self.t(), name)
            self.stop.set()

        @room.on("connection_state_changed")
        def _state(state):
            log.info("t=%.3f connection state: %s", self.t(), rtc.ConnectionState.Name(state))

    def note_state(self, participant: rtc.Participant, value: str | None) -> None:
        if value is None:
            return
        self.states += 1
        self.write_event({"from": participant.identity, "state": value})

    def write_event(self, line: dict) -> None:
        if self.events_file:
            self.events_file.write(json.dumps(line) + "\n")
            self.events_file.flush()

    # ---------------------------------------------------------------- run

    async def connect(self) -> None:
        options = rtc.RoomOptions(auto_subscribe=True, connect_timeout=self.args.connect_timeout)
        if self.args.single_pc is not None:
            options.single_peer_connection = self.args.single_pc
        log.info("connecting to %s", self.args.url)
        try:
            await asyncio.wait_for(self.room.connect(self.args.url, self.args.token, options), self.args.connect_timeout * 3)
        except rtc.ConnectError as e:
            raise Failure(3, f"could not connect to {self.args.url}: {e.message}") from e
        except asyncio.TimeoutError as e:
            raise Failure(3, f"could not connect to {self.args.url}: no answer within {self.args.connect_timeout * 3:.0f} s") from e
        me = self.room.local_participant
        log.info("t=%.3f connected to room %r as %s (%s); others: %s", self.t(), self.room.name, me.identity, me.sid,
                 [p.identity for p in self.room.remote_participants.values()])
        for participant in self.room.remote_participants.values():
            self.note_state(participant, participant.attributes.get(STATE_ATTRIBUTE))

    async def publish(self) -> None:
        await self.publish_microphone()
        self.tasks.append(asyncio.ensure_future(self.speak(self.args.speak_samples)))

    async def publish_microphone(self) -> None:
        self.source = rtc.AudioSource(RATE, 1)
        track = rtc.LocalAudioTrack.create_audio_track("microphone", self.source)
        options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        started = time.monotonic()
        try:
            publication = await asyncio.wait_for(
                self.room.local_participant.publish_track(track, options), self.args.publish_timeout
            )
        except asyncio.TimeoutError as e:
            raise Failure(4, f"publishing the microphone timed out after {self.args.publish_timeout:.0f} s") from e
        except rtc.participant.PublishTrackError as e:
            raise Failure(4, f"publishing the microphone failed: {e.message}") from e
        self.published_track_sid = publication.sid
        self.published_tracks.append(publication.sid)
        self.microphone = track
        log.info("t=%.3f published microphone %s in %.3f s", self.t(), publication.sid, time.monotonic() - started)

    async def republish(self) -> None:
        """Unpublishes the microphone and publishes a new one (a device switch, as apps do it)."""
        assert self.source is not None and self.published_track_sid is not None
        log.info("t=%.3f unpublishing microphone %s", self.t(), self.published_track_sid)
        await self.room.local_participant.unpublish_track(self.published_track_sid)
        await self.source.aclose()
        await self.publish_microphone()

    async def silence(self, until: float | None) -> None:
        """Silence frames until `until` (monotonic) or the end, keeping the source's queue shallow
        (capture_frame only waits once its 1 s queue is full, and speech queued behind a full
        queue of silence would come out a second late)."""
        assert self.source is not None
        frame = frame_of(array.array("h", bytes(2 * FRAME_SAMPLES)))
        while not self.stop.is_set() and (until is None or time.monotonic() < until):
            if self.source.queued_duration > 2 * FRAME_MS / 1000:
                await asyncio.sleep(FRAME_MS / 2000)
                continue
            await self.source.capture_frame(frame)

    async def speak(self, samples: array.array) -> None:
        assert self.source is not None
        # Silence while waiting, so the track is live from the start.
        await self.silence(time.monotonic() + self.args.speak_after)
        if self.stop.is_set():
            return
        self.speech_started_at = self.t()
        began = time.monotonic()
        if self.args.mute:
            self.tasks.append(asyncio.ensure_future(self.mute_between(began, *self.args.mute)))
        await self.say(samples)
        self.speech_ended_at = self.t()
        if self.args.repeat_after is not None:
            log.info("t=%.3f done speaking; silence until the repeat", self.t())
            await self.silence(began + self.args.repeat_after)
            if self.stop.is_set():
                return
            if self.args.republish:
                await self.republish()
            await self.say(samples)
        log.info("t=%.3f done speaking; sending silence", self.t())
        await self.silence(None)

    async def say(self, samples: array.array) -> None:
        assert self.source is not None
        log.info("t=%.3f speaking %s (%.2f s)", self.t(), self.args.speak, len(samples) / RATE)
        for i in range(0, len(samples), FRAME_SAMPLES):
            if self.stop.is_set():
                return
            chunk = samples[i : i + FRAME_SAMPLES]
            if len(chunk) < FRAME_SAMPLES:
                chunk.extend([0] * (FRAME_SAMPLES - len(chunk)))
            await self.source.capture_frame(frame_of(chunk))
        await self.source.wait_for_playout()

    async def mute_between(self, began: float, start: float, end: float) -> None:
        """Mutes the microphone (the SDK's own mute: the track stops sending and the server is
        told) from `start` to `end` seconds after the speech began, while it keeps speaking."""
        assert self.microphone is not None
        for at, muted in ((start, True), (end, False)):
            await asyncio.sleep(max(0.0, began + at - time.monotonic()))
            if self.stop.is_set():
                return
            if muted:
                self.microphone.mute()
            else:
                self.microphone.unmute()
            self.mutes.append({"at": self.t(), "muted": muted})
            log.info("t=%.3f microphone %s", self.t(), "muted" if muted else "unmuted")

    async def record(self, track: rtc.Track) -> None:
        stream = rtc.AudioStream(track, sample_rate=RATE, num_channels=1)
        out = wave.open(self.args.record, "wb")
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        window = array.array("h")
        try:
            async for event in stream:
                frame = event.frame
                data = bytes(frame.data.cast("B")) if isinstance(frame.data, memoryview) else bytes(frame.data)
                out.writeframes(data)
                samples = array.array("h")
                samples.frombytes(data)
                if sys.byteorder == "big":
                    samples.byteswap()
                if self.first_frame_at is None:
                    self.first_frame_at = self.t()
                    log.info("t=%.3f first audio frame (%d samples @ %d Hz)", self.t(),
                             frame.samples_per_channel, frame.sample_rate)
                self.frames_recorded += 1
                self.samples_recorded += len(samples)
                for s in samples:
                    self.sum_squares += s * s
                    if abs(s) > self.peak:
                        self.peak = abs(s)
                window.extend(samples)
                while len(window) >= FRAME_SAMPLES:
                    w = window[:FRAME_SAMPLES]
                    del window[:FRAME_SAMPLES]
                    rms = math.sqrt(sum(s * s for s in w) / FRAME_SAMPLES)
                    if rms > ACTIVE_RMS:
                        self.active_windows += 1
                        now = self.t()
                        if self.first_active_at is None:
                            self.first_active_at = now
                            log.info("t=%.3f first non-silent audio received", now)
                        self.last_active_at = now
        except asyncio.CancelledError:
            pass
        finally:
            out.close()
            try:
                await stream.aclose()
            except Exception:  # noqa: BLE001
                pass

    async def close(self) -> None:
        self.stop.set()
        # Let the speaker finish its current capture_frame (cancelling one mid-flight leaves an
        # FFI callback that arrives after shutdown: "[AUDIO_CAPTURE] Failed to send callback").
        if self.tasks:
            _, pending = await asyncio.wait(self.tasks, timeout=2)
            for task in pending:
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)
        # Close the media before leaving: the recorder's stream, then the microphone's source.
        if self.record_task:
            self.record_task.cancel()
            await asyncio.gather(self.record_task, return_exceptions=True)
        if self.room.isconnected():
            try:
                await asyncio.wait_for(self.room.disconnect(), 10)
            except asyncio.TimeoutError:
                log.warning("disconnect did not finish within 10 s")
        if self.source:
            await self.source.aclose()
        if self.events_file:
            self.events_file.close()

    def summary(self, connected: bool, sdk_log: SdkLogCounter) -> dict:
        rms = math.sqrt(self.sum_squares / self.samples_recorded) if self.samples_recorded else 0.0
        return {
            "connected": connected,
            "published_track_sid": self.published_track_sid,
            "published_tracks": self.published_tracks,
            "subscribed_tracks": self.subscribed,
            "frames_recorded": self.frames_recorded,
            "recorded_rms": round(rms, 1),
            "events": self.events,
            # extras for judging a recording
            "recorded_seconds": round(self.samples_recorded / RATE, 3),
            "recorded_active_seconds": round(self.active_windows * FRAME_MS / 1000, 3),
            "recorded_peak": self.peak,
            "first_frame_at": self.first_frame_at,
            "first_active_at": self.first_active_at,
            "last_active_at": self.last_active_at,
            "speech_started_at": self.speech_started_at,
            "speech_ended_at": self.speech_ended_at,
            "mutes": self.mutes,
            "states": self.states,
            "disconnected_reason": self.disconnected_reason,
            "sdk_warnings": len(sdk_log.messages),
            "sdk_warning_messages": sorted(set(sdk_log.messages)),
        }


# ---------------------------------------------------------------- command line


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", default=os.environ.get("LIVEKIT_URL"), help="ws://host:port (default: $LIVEKIT_URL)")
    p.add_argument("--token", help="an access token; else one is minted from the options below")
    p.add_argument("--api-key", default=os.environ.get("LIVEKIT_API_KEY"))
    p.add_argument("--api-secret", default=os.environ.get("LIVEKIT_API_SECRET"))
    p.add_argument("--room")
    p.add_argument("--identity", default="user")
    p.add_argument("--speak", metavar="WAV", help="mono 16-bit WAV to publish as the microphone")
    p.add_argument("--speak-after", type=float, default=0.0, metavar="SECONDS", help="silence before speaking")
    p.add_argument("--mute", type=seconds_range, metavar="FROM:TO",
                   help="mute the microphone from FROM to TO seconds after the speech began")
    p.add_argument("--repeat-after", type=float, metavar="SECONDS",
                   help="say the WAV again this long after the speech first began")
    p.add_argument("--republish", action="store_true",
                   help="with --repeat-after: unpublish the microphone and publish a new one before the repeat")
    p.add_argument("--record", metavar="WAV", help="write the first remote audio track here (48 kHz mono)")
    p.add_argument("--events", metavar="JSONL", help=f"write {EVENTS_TOPIC} data and {STATE_ATTRIBUTE} changes here")
    p.add_argument("--duration", type=float, default=10.0, metavar="SECONDS", help="stay this long (default 10)")
    p.add_argument("--until-event", metavar="TYPE", help="leave early after an event of this type")
    p.add_argument("--linger", type=float, default=0.0, metavar="SECONDS", help="stay this long after --until-event")
    p.add_argument("--connect-timeout", type=float, default=10.0, metavar="SECONDS")
    p.add_argument("--publish-timeout", type=float, default=15.0, metavar="SECONDS")
    p.add_argument("--single-pc", dest="single_pc", action="store_true", default=None,
                   help="force the SDK's single peer connection mode (default: the SDK's choice)")
    p.add_argument("--dual-pc", dest="single_pc", action="store_false",
                   help="force the SDK's two peer connections (publisher + subscriber)")
    p.add_argument("-v", "--verbose", action="count", default=0,
                   help="-v: SDK debug logs of Python; -vv: also the Rust SDK's (LIVEKIT_RTC_DEBUG)")
    args = p.parse_args(argv)
    if not args.url:
        p.error("--url (or $LIVEKIT_URL) is required")
    if not args.token:
        missing = [n for n in ("api_key", "api_secret", "room") if not getattr(args, n)]
        if missing:
            p.error("without --token, need " + ", ".join("--" + m.replace("_", "-") for m in missing))
        args.token = mint_token(args)
    return args


def seconds_range(text: str) -> tuple[float, float]:
    start, _, end = text.partition(":")
    try:
        span = (float(start), float(end))
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"{text!r} is not FROM:TO in seconds") from e
    if not 0 <= span[0] < span[1]:
        raise argparse.ArgumentTypeError(f"{text!r}: FROM must be before TO")
    return span


def mint_token(args: argparse.Namespace) -> str:
    import warnings

    from livekit import api

    # PyJWT warns about short HMAC keys (the dev fake's secret is "secret"); not our concern here.
    warnings.filterwarnings("ignore", message="The HMAC key is")

    grants = api.VideoGrants(
        room_join=True, room=args.room, can_publish=True, can_subscribe=True, can_publish_data=True
    )
    return (
        api.AccessToken(args.api_key, args.api_secret)
        .with_identity(args.identity)
        .with_name(args.identity)
        .with_grants(grants)
        .to_jwt()
    )


async def amain(args: argparse.Namespace, sdk_log: SdkLogCounter) -> int:
    user = User(args)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, user.stop.set)
    code = 0
    connected = False
    try:
        await user.connect()
        connected = True
        if args.speak:
            await user.publish()
        try:
            await asyncio.wait_for(user.stop.wait(), args.duration)
        except asyncio.TimeoutError:
            pass
        if user.disconnected_reason is not None:
            code = 5
            print(f"error: the room disconnected us: {user.disconnected_reason}", file=sys.stderr)
    except Failure as e:
        code = e.code
        print(f"error: {e}", file=sys.stderr)
    finally:
        await user.close()
    print(json.dumps(user.summary(connected, sdk_log)), flush=True)
    return code


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.verbose >= 2:
        os.environ["LIVEKIT_RTC_DEBUG"] = "1"
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s.%(msecs)03d %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    sdk_log = SdkLogCounter()
    logging.getLogger("livekit").addHandler(sdk_log)
    try:
        if args.speak:
            args.speak_samples = load_wav_48k(args.speak)  # fail before joining on a bad file
        return asyncio.run(amain(args, sdk_log))
    except Failure as e:
        print(f"error: {e}", file=sys.stderr)
        return e.code


if __name__ == "__main__":
    code = main()
    # The room is left and the summary printed. Skip the interpreter's teardown: the SDK's atexit
    # disposal of its native runtime sometimes aborts the process ("panic in a function that
    # cannot unwind", exit 134) after an otherwise clean run.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
