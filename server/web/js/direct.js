// A session over one RTCPeerConnection straight to the server: the microphone goes up as an audio
// track, the agent's voice comes back on the same transceiver, events arrive on a data channel.

import * as api from "./api.js";
import { Session } from "./session.js";

export const EVENTS_CHANNEL = "voiceblox.agent.events";

const MIC_CONSTRAINTS = {
  audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
};

/**
 * hooks: {onEvent(obj), onRawMessage(text), onMicStream(stream), onConnected(), onEnded(reason)}
 * `audioElement` plays the agent's track.
 */
export class DirectSession extends Session {
  constructor(config, hooks, audioElement) {
    super(config, hooks);
    this.audioElement = audioElement;
    this.pc = null;
    this.mic = null;
    this.sessionId = null;
    this.channel = null;
  }

  get label() {
    return this.sessionId ? `direct session ${this.sessionId}` : "direct session";
  }

  async start() {
    this.mic = await navigator.mediaDevices.getUserMedia(MIC_CONSTRAINTS);
    if (this.closed) return this.releaseMic();
    this.hooks.onMicStream(this.mic);

    // No iceServers: the server is reachable on its host candidates and learns our address
    // from our connectivity checks, so STUN/TURN would only slow things down.
    const pc = new RTCPeerConnection();
    this.pc = pc;
    for (const track of this.mic.getAudioTracks()) pc.addTrack(track, this.mic);

    pc.ontrack = (event) => {
      // The server may not signal a stream id; a track on its own still plays.
      const stream = event.streams[0] ?? new MediaStream([event.track]);
      this.audioElement.srcObject = stream;
      this.audioElement.play().catch(() => { /* autoplay refused; the element keeps the stream */ });
    };

    pc.onconnectionstatechange = () => {
      const state = pc.connectionState;
      if (state === "connected") this.hooks.onConnected();
      // "disconnected" can heal by itself; failed and closed cannot.
      if (state === "failed" || state === "closed") this.end(`connection ${state}`);
    };

    // The channel must exist before the offer, or the offer carries no SCTP section and the
    // server has nowhere to send events.
    const channel = pc.createDataChannel(EVENTS_CHANNEL, { ordered: true });
    this.channel = channel;
    channel.binaryType = "arraybuffer";
    const decoder = new TextDecoder();
    channel.onmessage = (message) => {
      const text = typeof message.data === "string" ? message.data : decoder.decode(message.data);
      this.deliver(text);
    };
    // The server closes the channel when the agent ends the call; no event can arrive after it.
    channel.onclose = () => this.end("the server closed the event channel");

    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    if (this.closed) return;
    // Post at once instead of waiting for ICE gathering: the server does not need our candidates.
    const { sessionId, answer } = await api.startDirectSession(pc.localDescription.sdp, this.config);
    this.sessionId = sessionId;
    if (this.closed) {
      // Stop was pressed while the server was creating the session: release it now.
      api.endDirectSession(sessionId).catch(() => {});
      return;
    }
    await pc.setRemoteDescription({ type: "answer", sdp: answer });
  }

  /** Turn controls go to the agent on the events channel (the only messages the page sends). */
  sendControl(json) {
    if (this.channel?.readyState === "open") this.channel.send(json);
  }

  endOnServer({ keepalive = false } = {}) {
    return this.sessionId ? api.endDirectSession(this.sessionId, { keepalive }) : Promise.resolve();
  }

  teardown() {
    if (this.pc) {
      this.pc.onconnectionstatechange = null;
      this.pc.close();
    }
    this.releaseMic();
    this.audioElement.srcObject = null;
  }

  releaseMic() {
    this.mic?.getTracks().forEach((track) => track.stop());
  }
}
