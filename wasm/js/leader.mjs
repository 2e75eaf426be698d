// leader.mjs — one leader tab per database (docs/wasm.md): the tab holding the Web Lock
// `lead-returns:<name>` owns the SQLite file and the sync socket; other tabs of the same profile
// are followers and forward their calls to the leader over a BroadcastChannel. Two tabs therefore
// never open the database at once (IDBFS stores whole files: two writers would overwrite each
// other) and never push the same op. When the leader tab closes, the browser releases its lock
// and the longest-waiting follower becomes the leader, opening the database from IndexedDB.
//
// Where Web Locks are missing (Node, very old browsers) the caller is the leader at once.

export class TabLeader {
  // options: name, locks (default navigator.locks), onLeader(): Promise|void — runs when the
  // lock is granted and the tab leads until stop().
  constructor({ name, locks, onLeader } = {}) {
    this.name = `lead-returns:${name}`;
    this.locks = locks === undefined ? globalThis.navigator?.locks : locks;
    this.onLeader = onLeader;
    this.isLeader = false;
    this.release = null;
    this.abort = typeof AbortController === 'function' ? new AbortController() : null;
    let resolveLeader;
    this.leading = new Promise((r) => { resolveLeader = r; });  // resolves when this tab leads
    this.resolveLeader = resolveLeader;
  }

  // Takes the lock when it is free (resolves true: this tab leads); otherwise queues for it and
  // resolves false (this tab follows; `leading` resolves if it later takes over).
  async start() {
    if (!this.locks || typeof this.locks.request !== 'function') {
      await this.becomeLeader();
      return true;
    }
    const held = new Promise((r) => { this.release = r; });
    const got = await new Promise((resolve, reject) => {
      this.locks
        .request(this.name, { mode: 'exclusive', ifAvailable: true }, async (lock) => {
          if (!lock) {
            resolve(false);
            return;
          }
          await this.becomeLeader();
          resolve(true);
          await held;  // the lock is held until stop()
        })
        .catch(reject);
    });
    if (got) return true;
    this.locks
      .request(this.name, { mode: 'exclusive', signal: this.abort?.signal }, async () => {
        await this.becomeLeader();
        await held;
      })
      .catch((err) => {
        if (err?.name !== 'AbortError') throw err;
      });
    return false;
  }

  async becomeLeader() {
    this.isLeader = true;
    await this.onLeader?.();
    this.resolveLeader();
  }

  stop() {
    this.abort?.abort();
    this.release?.();
    this.isLeader = false;
  }
}

// Request/answer over a BroadcastChannel: followers call, the leader serves.
export class LeaderChannel {
  constructor({ name, BroadcastChannel: BC = globalThis.BroadcastChannel, timeoutMs = 10_000 }) {
    this.channel = typeof BC === 'function' ? new BC(`lead-returns:${name}:rpc`) : null;
    this.timeoutMs = timeoutMs;
    this.pending = new Map();
    this.nextId = 1;
    this.tab = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
    this.server = null;
    if (this.channel) this.channel.onmessage = (ev) => this.onMessage(ev.data);
    this.channel?.unref?.();  // Node: an idle channel must not keep the process alive
  }

  // The leader answers calls with `handler(method, args)` (its result must be structured-cloneable).
  serve(handler) { this.server = handler; }

  // A follower's call; rejects with {code: 'INTERNAL'} when no leader answers in time.
  call(method, args) {
    if (!this.channel) return Promise.reject(rpcError('No leader tab to forward to.'));
    const id = `${this.tab}:${this.nextId++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(rpcError('The leader tab did not answer.'));
      }, this.timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.channel.postMessage({ kind: 'call', id, method, args });
    });
  }

  async onMessage(msg) {
    if (!msg || typeof msg !== 'object') return;
    if (msg.kind === 'call' && this.server) {
      let reply;
      try {
        reply = { kind: 'answer', id: msg.id, result: await this.server(msg.method, msg.args) };
      } catch (err) {
        reply = { kind: 'answer', id: msg.id, error: String(err?.message ?? err) };
      }
      this.channel.postMessage(reply);
    } else if (msg.kind === 'answer' && this.pending.has(msg.id)) {
      const p = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      if ('error' in msg) p.reject(rpcError(msg.error));
      else p.resolve(msg.result);
    } else if (msg.kind === 'event' && this.onEvent) {
      this.onEvent(msg.event);
    }
  }

  // The leader tells followers what happened (notices, changes).
  broadcast(event) { this.channel?.postMessage({ kind: 'event', event }); }

  close() {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(rpcError('The channel closed.'));
    }
    this.pending.clear();
    this.channel?.close();
  }
}

function rpcError(message) {
  const e = new Error(message);
  e.code = 'INTERNAL';
  return e;
}
