// A session through a LiveKit room: the server creates the room with the config as its metadata
// and starts the agent; we join with the token it hands back, publish the microphone, play the
// agent's audio and read the events from the room's data packets.

import * as api from "./api.js";
import { Session } from "./session.js";

export const EVENTS_TOPIC = "voiceblox.agent.events";
/** Where the agent reads turn controls (a talk button). */
export const CONTROL_TOPIC = "voiceblox.agent.control";

// Served by the server from server/web/node_modules/livekit-client (a self-contained ES module).
const LIVEKIT_MODULE = "/vendor/livekit-client.mjs";
const MISSING_LIVEKIT = "LiveKit mode needs livekit-client: run npm ci --prefix server/web";

const CAPTURE = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

let livekitModule = null;

/** Loads livekit-client once, lazily, so direct mode never pays for its 1.4 MB. */
async function loadLivekit() {
  if (!livekitModule) {
    try {
      livekitModule = await import(LIVEKIT_MODULE);
    } catch (err) {
      throw new Error(`${MISSING_LIVEKIT} (${err.message})`);
    }
  }
  return livekitModule;
}

/**
 * hooks: {onEvent(obj), onRawMessage(text), onMicStream(stream), onConnected(), onEnded(reason)}
 * `audioContainer` receives the <audio> elements LiveKit creates for the agent's tracks.
 */
export class LivekitSession extends Session {
  constructor(config, hooks, audioContainer) {
    super(config, hooks);
    this.audioContainer = audioContainer;
    this.room = null;
    this.roomName = null;
  }

  get label() {
    return this.roomName ? `room ${this.roomName}` : "LiveKit session";
  }

  async start() {
    // Load the client before asking for a room, so a missing package does not leave a room and
    // an agent running for nobody.
    const { Room, RoomEvent, Track } = await loadLivekit();
    if (this.closed) return;

    const { token, roomName, serverUrl } = await api.startAgentSession(this.config);
    this.roomName = roomName;
    if (this.closed) {
      api.endAgentSession(roomName).catch(() => {});
      return;
    }

    const room = new Room({ audioCaptureDefaults: CAPTURE });
    this.room = room;
    const decoder = new TextDecoder();

    room.on(RoomEvent.TrackSubscribed, (track) => {
      if (track.kind !== Track.Kind.Audio) return;
      this.audioContainer.appendChild(track.attach());
    });
    room.on(RoomEvent.TrackUnsubscribed, (track) => {
      track.detach().forEach((element) => element.remove());
    });
    room.on(RoomEvent.DataReceived, (payload, _participant, _kind, topic) => {
      if (topic !== EVENTS_TOPIC) return;
      this.deliver(decoder.decode(payload));
    });
    room.on(RoomEvent.Disconnected, (reason) => {
      this.end(reason === undefined ? "disconnected from the room" : `disconnected from the room (reason ${reason})`);
    });

    await room.connect(serverUrl, token);
    if (this.closed) return;
    // Playback may need the click's user activation; Test was that click.
    room.startAudio().catch(() => {});

    const publication = await room.localParticipant.setMicrophoneEnabled(true, CAPTURE);
    const micTrack = publication?.track?.mediaStreamTrack;
    if (micTrack) this.hooks.onMicStream(new MediaStream([micTrack]));
    if (!this.closed) this.hooks.onConnected();
  }

  sendControl(json) {
    this.room?.localParticipant
      .publishData(new TextEncoder().encode(json), { reliable: true, topic: CONTROL_TOPIC })
      .catch(() => { /* the room is going away; nothing to control */ });
  }

  endOnServer({ keepalive = false } = {}) {
    return this.roomName ? api.endAgentSession(this.roomName, { keepalive }) : Promise.resolve();
  }

  async teardown() {
    const room = this.room;
    this.room = null;
    if (room) {
      room.removeAllListeners();
      await room.disconnect().catch(() => {});
    }
    this.audioContainer.replaceChildren();
  }
}
