// What both transports share: a session ends once, whoever ends it (Stop, the page going away,
// the connection dying), and ending it tells the server before letting go of the media here.

export class Session {
  constructor(config, hooks) {
    this.config = config;
    this.hooks = hooks;
    // Set once the session is over, so late callbacks do not resurrect it.
    this.closed = false;
  }

  /** One message from the agent's event channel: an event, or text that is not one. */
  deliver(text) {
    let event;
    try {
      event = JSON.parse(text);
    } catch {
      this.hooks.onRawMessage(text);
      return;
    }
    this.hooks.onEvent(event);
  }

  /** Ends the session on the server (its post-call steps run), then here. Server errors are rethrown after cleanup. */
  async stop() {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.endOnServer();
    } finally {
      await this.teardown();
      this.hooks.onEnded("stopped");
    }
  }

  /**
   * Drops the session without waiting or reporting: after a failed start, and on pagehide, where
   * a keepalive request is the only one the browser lets outlive the page.
   */
  abort({ keepalive = false } = {}) {
    if (this.closed) return;
    this.closed = true;
    this.endOnServer({ keepalive }).catch(() => {});
    this.teardown();
  }

  /** The far side ended it: clean up and say why. */
  end(reason) {
    if (this.closed) return;
    this.closed = true;
    this.teardown();
    this.hooks.onEnded(reason);
  }

  /** Tells the agent about the user's turn: "start_turn", "end_turn" or "cancel_turn". */
  control(type) {
    if (!this.closed) this.sendControl(JSON.stringify({ type }));
  }

  /** Subclasses: send a turn control message to the agent. */
  sendControl(_json) {}

  /** Subclasses: tell the server the session is over (resolve at once if it never started). */
  async endOnServer(_options) {}

  /** Subclasses: release the connection and the microphone. */
  async teardown() {}
}
