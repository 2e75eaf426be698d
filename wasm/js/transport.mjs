// transport.mjs — a thin WebSocket transport for the sync engine: connects, hands frames both
// ways, and reconnects with jittered exponential backoff (docs/protocol.md "Reconnecting"). It
// knows nothing of the protocol beyond the heartbeat `ping` (the server answers `pong`); the
// engine in the wasm module decides what every frame means.
//
// Backoff: the n-th consecutive failed attempt waits min(30 s, 100 ms · 2ⁿ) times a random
// factor in [0.5, 1.5), capped at 30 s. `resetBackoff()` (called once the session reached
// `synced`) starts over from 100 ms. The browser's `online` event and the page becoming visible
// reconnect at once. Every environment hook (WebSocket, timers, random, event targets) is an
// option, so tests drive it deterministically.

export const BACKOFF_INITIAL_MS = 100;
export const BACKOFF_MAX_MS = 30_000;

// The delay before reconnect attempt `attempt` (0 = the first after a loss).
export function backoffDelay(attempt, { initialMs = BACKOFF_INITIAL_MS, maxMs = BACKOFF_MAX_MS,
                                        random = Math.random } = {}) {
  const base = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.min(maxMs, Math.round(base * (0.5 + random())));
}

export class SocketTransport {
  // options: url (ws:// or wss://), handlers {open(): void, frame(text): void, closed(info): void},
  // WebSocket (default globalThis.WebSocket), random, setTimeout/clearTimeout, now,
  // window (EventTarget for `online`; default globalThis.window), document (for
  // `visibilitychange`), pingEveryMs (25 s), pongTimeoutMs (10 s).
  constructor(options) {
    this.url = options.url;
    this.handlers = options.handlers;
    this.WebSocket = options.WebSocket !== undefined ? options.WebSocket : globalThis.WebSocket;
    if (typeof this.WebSocket !== 'function') {
      throw new TypeError('no WebSocket implementation (under Node 20: node --experimental-websocket)');
    }
    this.random = options.random ?? Math.random;
    this.setTimeout = options.setTimeout ?? globalThis.setTimeout.bind(globalThis);
    this.clearTimeout = options.clearTimeout ?? globalThis.clearTimeout.bind(globalThis);
    this.now = options.now ?? Date.now;
    this.window = options.window ?? (typeof window === 'object' ? window : null);
    this.document = options.document ?? (typeof document === 'object' ? document : null);
    this.pingEveryMs = options.pingEveryMs ?? 25_000;
    this.pongTimeoutMs = options.pongTimeoutMs ?? 10_000;
    this.initialMs = options.initialMs ?? BACKOFF_INITIAL_MS;
    this.maxMs = options.maxMs ?? BACKOFF_MAX_MS;

    this.ws = null;
    this.open = false;
    this.running = false;
    this.attempt = 0;        // consecutive failed attempts
    this.retryTimer = null;
    this.pingTimer = null;
    this.pongTimer = null;
    this.delays = [];        // every backoff delay chosen (tests and diagnostics)
    this.onOnline = () => this.reconnectNow('online');
    this.onVisible = () => {
      if (!this.document || this.document.visibilityState === 'visible') this.reconnectNow('visible');
    };
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.window?.addEventListener?.('online', this.onOnline);
    this.document?.addEventListener?.('visibilitychange', this.onVisible);
    this.connect();
  }

  stop() {
    this.running = false;
    this.window?.removeEventListener?.('online', this.onOnline);
    this.document?.removeEventListener?.('visibilitychange', this.onVisible);
    this.clearTimers();
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      detach(ws);
      try { ws.close(1000, 'stopped'); } catch { /* already closed */ }
    }
    if (this.open) {
      this.open = false;
      this.handlers.closed?.({ code: 1000, reason: 'stopped', stopped: true });
    }
  }

  // False when there is no open socket (the engine keeps the op in its outbox meanwhile).
  send(text) {
    if (!this.open || !this.ws) return false;
    try {
      this.ws.send(text);
      return true;
    } catch {
      return false;
    }
  }

  // The session reached `synced`: the next loss starts again from the shortest delay.
  resetBackoff() { this.attempt = 0; }

  // Connects now unless connected or connecting (the `online` / visible handlers).
  reconnectNow(why = 'manual') {
    if (!this.running || this.ws) return;
    this.lastReconnectReason = why;
    if (this.retryTimer) this.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.connect();
  }

  connect() {
    this.retryTimer = null;
    if (!this.running || this.ws) return;
    let ws;
    try {
      ws = new this.WebSocket(this.url);
    } catch (err) {
      this.lost({ code: 0, reason: String(err?.message ?? err) });
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.open = true;
      this.schedulePing();
      this.handlers.open?.();
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      this.alive();
      if (typeof ev.data === 'string') this.handlers.frame?.(ev.data);
    };
    // Browsers follow an error with a close event; Node 20's WebSocket does not after a failed
    // connect (it stays CONNECTING), so an error alone counts as the loss.
    ws.onerror = () => {
      if (this.ws === ws) this.lost({ code: 0, reason: 'error' });
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.lost({ code: ev?.code ?? 0, reason: ev?.reason ?? '' });
    };
  }

  // The socket is gone (closed, failed, or silent): tell the engine, then retry after a delay.
  lost(info) {
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      detach(ws);
      try { ws.close(); } catch { /* ignore */ }
    }
    const wasOpen = this.open;
    this.open = false;
    this.clearTimers();
    if (wasOpen || info) this.handlers.closed?.({ ...info, wasOpen });
    if (!this.running) return;
    const delay = backoffDelay(this.attempt, { initialMs: this.initialMs, maxMs: this.maxMs,
                                               random: this.random });
    this.attempt++;
    this.delays.push(delay);
    this.retryTimer = this.setTimeout(() => this.connect(), delay);
  }

  // Heartbeat: a ping every pingEveryMs; no frame at all within pongTimeoutMs after it = lost.
  schedulePing() {
    if (this.pingTimer) this.clearTimeout(this.pingTimer);
    this.pingTimer = this.setTimeout(() => {
      this.pingTimer = null;
      if (!this.send(JSON.stringify({ type: 'ping', t: this.now() }))) return;
      this.pongTimer = this.setTimeout(() => this.lost({ code: 0, reason: 'no pong' }),
                                       this.pongTimeoutMs);
    }, this.pingEveryMs);
  }

  alive() {
    if (this.pongTimer) this.clearTimeout(this.pongTimer);
    this.pongTimer = null;
    if (this.open) this.schedulePing();
  }

  clearTimers() {
    for (const t of ['retryTimer', 'pingTimer', 'pongTimer']) {
      if (this[t]) this.clearTimeout(this[t]);
      this[t] = null;
    }
  }
}

function detach(ws) {
  ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
}
