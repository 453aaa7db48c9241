// SMTPS connections that are not sessions yet: a client that connects and never finishes its
// TLS handshake, or leaves before it, has no session to time it out or close it (the
// listener keeps connections half open), so it is closed when the session timeout passes.

import type { Socket } from "node:net";

/** The accepted SMTPS connections still waiting for their handshake. */
export class PendingHandshakes {
  #timeoutMs: number;
  #timers = new Map<Socket, ReturnType<typeof setTimeout>>();
  #unmapped = false;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  /** A connection was accepted: it has the timeout to become a session. */
  add(raw: Socket): void {
    if (this.#unmapped) return;
    const timer = setTimeout(() => {
      this.#timers.delete(raw);
      raw.destroy();
    }, this.#timeoutMs);
    this.#timers.set(raw, timer);
    raw.once("close", () => this.#clear(raw));
  }

  /** The handshake is done and the session starts on `secure`. */
  started(secure: Socket): void {
    // node:tls keeps the TCP socket under the TLS one as `_parent`.
    const raw = (secure as Socket & { _parent?: Socket })._parent;
    if (raw && this.#timers.has(raw)) return this.#clear(raw);
    // No way to tell which connection became the session: never close one on a timer.
    this.#unmapped = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }

  #clear(raw: Socket): void {
    const timer = this.#timers.get(raw);
    if (timer !== undefined) clearTimeout(timer);
    this.#timers.delete(raw);
  }
}
