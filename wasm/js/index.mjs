// index.mjs — the Client Portal package: loads the wasm core, opens the buyer's SQLite replica
// on persistent storage, and drives the sync engine over a WebSocket from the leader tab.
//
//   import { createPortal } from '@lead-returns/portal';
//   const portal = await createPortal({ name: 'B-ACME', url: 'wss://…/v1/sync', token });
//   portal.preview({ return_id, lead_id, reason: 'duplicate' });   // instant, from the replica
//   await portal.saveDraft({ return_id, lead_id, reason, note });  // durable when it resolves
//   await portal.submit(return_id);                                // outbox → server, once
//   portal.on('result', (r) => …);                                 // the server's answer
//
// Every call returns the wasm boundary's JSON parsed: a result, or {error: {code, field,
// message}} with a code of docs/errors.md — never a throw (docs/wasm.md).
import createReturnsModule from './returns_core.mjs';
import { mountStorage } from './persistence.mjs';
import { SocketTransport, backoffDelay } from './transport.mjs';
import { TabLeader, LeaderChannel } from './leader.mjs';

export { SocketTransport, backoffDelay, TabLeader, LeaderChannel, mountStorage };

const isNode = typeof process === 'object' && typeof process.versions?.node === 'string';

// Loads and instantiates the wasm module once per call (each portal owns one instance).
// options: wasmBinary (bytes), locateFile (path → URL, browsers).
export async function loadModule(options = {}) {
  const overrides = {};
  if (options.locateFile) overrides.locateFile = options.locateFile;
  if (options.wasmBinary) overrides.wasmBinary = options.wasmBinary;
  if (!isNode) return createReturnsModule(overrides);
  // Emscripten 3.1.6's ES module still reaches for CommonJS `require`/`__dirname` under Node,
  // and its loader would fetch() the .wasm by path (Emscripten 3.1.6 under Node 20): give it both, and
  // the bytes, for the duration of the instantiation.
  const { createRequire } = await import('node:module');
  const { fileURLToPath } = await import('node:url');
  const path = await import('node:path');
  const here = path.dirname(fileURLToPath(import.meta.url));
  if (!overrides.wasmBinary) {
    const { readFile } = await import('node:fs/promises');
    overrides.wasmBinary = await readFile(path.join(here, 'returns_core.wasm'));
  }
  const saved = { require: globalThis.require, __dirname: globalThis.__dirname };
  globalThis.require = createRequire(import.meta.url);
  globalThis.__dirname = here;
  try {
    return await createReturnsModule(overrides);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete globalThis[k];
      else globalThis[k] = v;
    }
  }
}

// What a token says — {ok, role, buyer_id?, subject, expires_at} or a typed UNAUTHORIZED error —
// read by the core without its signature (only the server can check that): which buyer's
// database to open before the first connection.
export async function tokenClaims(token, module) {
  const m = module ?? await loadModule();
  return JSON.parse(m.tokenClaims(String(token)));
}

// True for an answer that is a typed error ({error: {code, field, message}}).
export function isError(x) {
  return !!x && typeof x === 'object' && !Array.isArray(x) && typeof x.error === 'object' && x.error !== null;
}

function parse(text) {
  try {
    return JSON.parse(text);
  } catch {
    return { error: { code: 'INTERNAL', field: '', message: 'The core returned text that is not JSON.' } };
  }
}

function toText(value) {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value ?? null);
  } catch {
    return '';  // circular or BigInt: the core answers BAD_JSON
  }
}

// The wasm core aborts only on a bug (out of memory, a trap): report it as INTERNAL.
const utf8 = new TextEncoder();

function guard(fn) {
  try {
    return parse(fn());
  } catch (err) {
    return { error: { code: 'INTERNAL', field: '', message: `The core failed: ${err?.message ?? err}` } };
  }
}

function randomId() {
  const bytes = new Uint8Array(12);
  globalThis.crypto.getRandomValues(bytes);
  return 'portal-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

// A fresh return id (UUID v4) for a new draft.
export function newReturnId() {
  if (typeof globalThis.crypto?.randomUUID === 'function') return globalThis.crypto.randomUUID();
  const b = new Uint8Array(16);
  globalThis.crypto.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// options (all optional but `name`):
//   name        the database name, one per signed-in buyer (file <dir>/<name>.db)
//   url, token  the sync endpoint (ws:// or wss://…/v1/sync) and bearer token; without a url
//               the portal works offline until connect() is called
//   actor       {role, subject, buyer_id}: who validates and previews before the first welcome
//   clientId    stable id of this browser profile (default: made once, stored beside the db)
//   storage     'auto' | 'idbfs' | 'nodefs' | 'memory' | 'image'; nodeRoot: the directory for
//               'nodefs'; images: where 'image' keeps its records ({load, save, remove};
//               default IndexedDB). 'image' is for one tab (leader: false): see persistence.mjs
//   dir         folder inside the module's filesystem (default '/lead-returns')
//   leader      'auto' (Web Locks when present) | false (always lead: one tab, tests)
//   now         clock (default Date.now); WebSocket, window, document: for tests
//   wasmBinary, locateFile: passed to the module loader; module: an instance from loadModule()
//               to share (tests, benchmarks: many portals, one module)
export async function createPortal(options) {
  const portal = new ReturnsPortal(options);
  await portal.init();
  return portal;
}

export class ReturnsPortal {
  constructor(options = {}) {
    if (typeof options.name !== 'string') throw new TypeError('createPortal: options.name is required');
    this.options = options;
    this.now = options.now ?? Date.now;
    this.dir = options.dir ?? '/lead-returns';
    this.dbPath = `${this.dir}/${options.name}.db`;
    this.listeners = new Map();
    this.transport = null;
    this.tickTimer = null;
    this.role = 'leader';
    this.imageDropped = null;  // image storage: why the stored image could not be opened
  }

  async init() {
    const o = this.options;
    this.Module = o.module ?? await loadModule(o);
    // The core's id rule (1–64 characters of [A-Za-z0-9._:-]) names the database file.
    if (!this.Module.isValidId(o.name)) {
      throw new TypeError('createPortal: options.name must be a valid id (1-64 characters of letters, digits and . _ : -)');
    }
    this.flusher = await mountStorage(this.Module, { dir: this.dir, kind: o.storage ?? 'auto',
                                                     nodeRoot: o.nodeRoot, key: o.name,
                                                     images: o.images });
    // An image carries the client id its outbox and cursor belong to.
    this.clientId = o.clientId ?? this.imageClientId() ?? this.storedClientId();
    this.channel = new LeaderChannel({ name: o.name, BroadcastChannel: o.BroadcastChannel });
    this.leader = new TabLeader({ name: o.name, locks: o.leader === false ? null : o.locks,
                                  onLeader: () => this.takeLead() });
    const leads = await this.leader.start();
    if (!leads) await this.follow();
  }

  // --- Roles ------------------------------------------------------------------------------

  async takeLead() {
    if (this.core) await this.closeCore();
    if (this.role === 'follower') await this.reloadStorage();
    this.role = 'leader';
    const opened = this.openCore();
    if (opened.error) throw Object.assign(new Error(opened.error.message), opened.error);
    this.channel.serve((method, args) => this.serveFollower(method, args));
    this.channel.onEvent = null;
    if (this.options.url) this.connect(this.options.url, this.options.token);
    this.emit('role', { role: 'leader' });
  }

  async follow() {
    this.role = 'follower';
    const opened = this.openCore();
    if (opened.error) throw Object.assign(new Error(opened.error.message), opened.error);
    this.channel.onEvent = (ev) => this.onLeaderEvent(ev);
    this.emit('role', { role: 'follower' });
  }

  openCore() {
    this.core = new this.Module.Portal();
    // A memory replica is SQLite's own in-memory database: no file, no journal file. (A file in
    // Emscripten's memory file system is copied whole each time it grows, and every transaction
    // writes its journal there: most of an operator's first sign-in went to that.)
    const kind = this.flusher.kind;
    const db = kind === 'memory' || kind === 'image' ? ':memory:' : this.dbPath;
    const config = () => {
      const c = { db, client_id: this.clientId };
      if (this.options.token) c.token = this.options.token;
      if (this.options.actor) c.actor = this.options.actor;
      return JSON.stringify(c);
    };
    if (kind !== 'image') return guard(() => this.core.open(config()));
    this.flusher.snapshot = () => this.imageRecord();
    const stored = this.flusher.loaded;
    this.flusher.loaded = null;
    if (stored && stored.clientId === this.clientId) {
      const opened = guard(() => {
        this.core.imageBuffer(stored.bytes.length).set(stored.bytes);
        return this.core.openImage(config());
      });
      if (!opened.error) return opened;
      // Unreadable (another version's schema, cut short): start empty under a new client id, so
      // the server does not take the empty outbox's first seq for one it already answered.
      this.imageDropped = opened.error;
      this.emit('storage', { dropped: true, error: opened.error });
      this.flusher.drop();
      this.core.delete();
      this.core = new this.Module.Portal();
      this.clientId = randomId();
    }
    return guard(() => this.core.open(config()));
  }

  // The client id of the image found at mount, if it can be used.
  imageClientId() {
    const id = this.flusher.loaded?.clientId;
    return typeof id === 'string' && this.Module.isValidId(id) ? id : null;
  }

  // What image storage saves: the replica's bytes and the client id they belong to.
  imageRecord() {
    const bytes = this.core ? this.core.image() : null;
    return bytes ? { clientId: this.clientId, bytes, savedAt: Date.now() } : null;
  }

  // Image storage: saves the replica now (e.g. on pagehide); other kinds: waits for their flush.
  persist() {
    return this.flusher.flushNow();
  }

  async closeCore() {
    if (!this.core) return;
    guard(() => this.core.close());
    this.core.delete();
    this.core = null;
  }

  // Followers read a snapshot: reload it from durable storage when the leader wrote.
  async reloadStorage() {
    if (this.flusher.kind === 'idbfs') {
      await new Promise((resolve, reject) =>
        this.Module.FS.syncfs(true, (err) => (err ? reject(err) : resolve())));
    }
  }

  async onLeaderEvent(ev) {
    if (ev?.type === 'changed' && this.role === 'follower') {
      await this.closeCore();
      await this.reloadStorage();
      this.openCore();
      this.emit('change', { source: 'leader' });
    } else if (ev?.type === 'notice') {
      this.dispatchNotice(ev.notice);
    }
  }

  async serveFollower(method, args) {
    const allowed = ['saveDraft', 'discardDraft', 'submit', 'enqueue', 'connect', 'status'];
    if (!allowed.includes(method)) {
      return { error: { code: 'UNKNOWN_OP', field: '', message: `Not forwarded: ${method}` } };
    }
    return this[method](...args);
  }

  storedClientId() {
    const FS = this.Module.FS;
    const file = `${this.dir}/${this.options.name}.client`;
    try {
      const id = FS.readFile(file, { encoding: 'utf8' }).trim();
      if (this.Module.isValidId(id)) return id;
    } catch { /* first start */ }
    const id = randomId();
    FS.writeFile(file, id);
    return id;
  }

  // --- Events -----------------------------------------------------------------------------

  // Events: 'result' (an op answered), 'error' (an error frame), 'alert', 'reset', 'synced',
  // 'change' (the replica changed), 'status' (connection state), 'role'. Returns an unsubscribe.
  on(event, fn) {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event).add(fn);
    return () => this.listeners.get(event)?.delete(fn);
  }

  emit(event, payload) {
    for (const fn of this.listeners.get(event) ?? []) {
      try { fn(payload); } catch (err) { queueMicrotask(() => { throw err; }); }
    }
  }

  dispatchNotice(n) {
    const event = n.kind === 'op_result' ? 'result' : n.kind;
    this.emit(event, n);
  }

  // --- Reads: synchronous, from the local replica ------------------------------------------

  validate(draft) { return this.call('validate', toText(draft), this.now()); }
  preview(draft) { return this.call('preview', toText(draft), this.now()); }
  status() { return this.call('status', this.now()); }
  // Who validates and previews until the server's welcome names the principal.
  setActor(actor) { return this.call('setActor', toText(actor)); }
  drafts() { return this.call('drafts'); }
  outbox() { return this.call('outbox'); }
  pending() { return this.call('pending', this.now()); }
  row(entity, id) { return this.call('row', String(entity), String(id), this.now()); }
  rows(entity) { return this.call('rows', String(entity), this.now()); }
  leads() { return this.rows('lead'); }
  // An array of ids (a lone string is refused with BAD_TYPE, not read as JSON text).
  deadlines(leadIds) {
    return this.call('deadlines', typeof leadIds === 'string' ? JSON.stringify(leadIds) : toText(leadIds), this.now());
  }
  returns() { return this.rows('return'); }
  lead(id) { return this.row('lead', id).row ?? null; }
  // Operator dashboard. A dry run of enqueue(op, args): {ok: true}, or the core's typed refusal on
  // the optimistic view, as the principal; nothing is queued or written.
  checkOp(op, args) { return this.call('checkOp', String(op), toText(args), this.now()); }
  // How the buyer's returns of the last `days` days (default 30) would have been decided under
  // `policy`: {ok, buyer_id, days, current_policy, report: {items, summary}}.
  whatIf(buyerId, policy, days) {
    const request = { buyer_id: buyerId, policy };
    if (days !== undefined) request.days = days;
    return this.call('whatIf', toText(request), this.now());
  }

  // Operator dashboard (or the owning buyer): a submitted return's reason evidence and the buyer's
  // current policy evaluated at its submission: {ok, return_id, evaluated_at, at_submission,
  // evidence?, evaluation}. A read: followers answer from their own copy, like preview.
  review(returnId) { return this.call('review', String(returnId), this.now()); }
  /** The core's fixed rules a page shows: reasons, open states, text limits, bands, … */
  constants() { return this.call('constants'); }
  /** The ops the principal may send to this return now (the core's transition table). */
  allowedOps(returnId) { return this.call('allowedOps', String(returnId), this.now()); }
  explainDecision(previewFacts, decision) {
    return this.call('explainDecision', toText(previewFacts), toText(decision));
  }

  call(method, ...args) {
    if (!this.core) return { error: { code: 'BAD_TRANSITION', field: '', message: 'The portal is closed.' } };
    return guard(() => this.core[method](...args));
  }

  // A server frame into the core: the browser's encoder writes its UTF-8 straight into the
  // module's memory (a string argument is copied byte by byte in JavaScript). At most 3 bytes
  // per UTF-16 unit, so the buffer always holds it.
  frame(text, now) {
    if (!this.core) return { error: { code: 'BAD_TRANSITION', field: '', message: 'The portal is closed.' } };
    return guard(() => {
      const { read, written } = utf8.encodeInto(text, this.core.frameBuffer(text.length * 3));
      if (read !== text.length) throw new Error('the frame buffer was too small');
      return this.core.frameInBuffer(written, now);
    });
  }

  // --- Writes: one replica transaction each, durable when the promise resolves ------------

  saveDraft(draft) { return this.write('saveDraft', [draft], () => this.call('saveDraft', toText(draft), this.now())); }
  discardDraft(returnId) { return this.write('discardDraft', [returnId], () => this.call('discardDraft', String(returnId), this.now())); }
  submit(returnId) { return this.write('submit', [returnId], () => this.call('submit', String(returnId), this.now())); }
  enqueue(op, args) { return this.write('enqueue', [op, args], () => this.call('enqueue', String(op), toText(args), this.now())); }

  async write(method, args, run) {
    if (this.role === 'follower') {
      try {
        return await this.channel.call(method, args);
      } catch (err) {
        return { error: { code: err.code ?? 'INTERNAL', field: '', message: err.message } };
      }
    }
    const result = run();
    if (result.error) return result;
    this.pump();
    await this.flushed();
    this.emit('change', { source: method });
    return result;
  }

  // Resolves when everything written so far is durable; tells follower tabs to reload.
  async flushed() {
    await this.flusher.flush();
    this.channel?.broadcast({ type: 'changed' });
  }

  // Writes rows straight into the replica (tests, benchmarks, demos without a server).
  async loadRows(world) {
    const r = this.call('loadRows', toText(world));
    if (!r.error) await this.flushed();
    return r;
  }

  // A world (buyers, leads, returns, …) as a server holding it would ship it: the core derives
  // the lead flags and the decision-facts rows (tests and demos without a server).
  async loadWorld(world) {
    const r = this.call('loadWorld', toText(world));
    if (!r.error) await this.flushed();
    return r;
  }

  // --- Sync ---------------------------------------------------------------------------------

  // Starts syncing (leader only; followers ask the leader). Safe to call again with a new token.
  connect(url, token) {
    if (this.role === 'follower') return this.channel.call('connect', [url, token]);
    if (token) this.call('setToken', String(token));
    if (this.transport) {
      if (this.transport.url === url) {
        this.transport.reconnectNow('connect');
        return { ok: true };
      }
      this.transport.stop();
    }
    const o = this.options;
    this.transport = new SocketTransport({
      url, WebSocket: o.WebSocket, window: o.window, document: o.document, random: o.random,
      handlers: {
        open: () => {
          const r = this.call('connected', this.now());
          if (r.frame) this.transport.send(r.frame);
          this.pump();
          this.emit('status', { connected: true });
        },
        frame: (text) => {
          const r = this.frame(text, this.now());
          if (r.error) this.emit('error', { kind: 'error', local: true, ...r.error });
          this.pump();
          this.flushed().then(() => this.emit('change', { source: 'server' }), () => {});
        },
        closed: (info) => {
          this.call('disconnected');
          this.pump();
          this.emit('status', { connected: false, ...info });
        },
      },
    });
    this.transport.start();
    return { ok: true };
  }

  disconnect() {
    this.transport?.stop();
    this.transport = null;
    if (this.tickTimer) clearTimeout(this.tickTimer);
    this.tickTimer = null;
  }

  // Sends what the engine queued, hands notices to listeners, and wakes the engine when due.
  pump() {
    if (!this.core) return;
    const out = this.call('takeOutgoing');
    if (Array.isArray(out) && this.transport) for (const f of out) this.transport.send(f);
    const notices = this.call('takeNotices');
    if (Array.isArray(notices)) {
      for (const n of notices) {
        if (n.kind === 'synced') this.transport?.resetBackoff();
        this.dispatchNotice(n);
        this.channel?.broadcast({ type: 'notice', notice: n });
      }
    }
    const st = this.call('status', this.now());
    if (st.phase === 'stopped' && this.transport) {
      // UNAUTHORIZED, TOKEN_EXPIRED, UNSUPPORTED_PROTO, FORBIDDEN: reconnecting cannot help.
      this.disconnect();
      this.emit('status', { connected: false, stopped: true });
    }
    const wake = this.call('nextWakeup');
    if (this.tickTimer) clearTimeout(this.tickTimer);
    this.tickTimer = null;
    if (typeof wake.at === 'number') {
      this.tickTimer = setTimeout(() => {
        this.tickTimer = null;
        this.call('tick', this.now());
        this.pump();
      }, Math.max(0, wake.at - this.now()));
    }
  }

  // Stops syncing, closes the database and flushes it. The portal cannot be used afterwards.
  // forget: true (signing out) deletes a stored image instead of saving it.
  async close({ forget = false } = {}) {
    this.disconnect();
    if (forget && this.flusher.kind === 'image') {
      await this.closeCore();
      await this.flusher.drop();
      this.channel?.close();
      return;
    }
    if (this.role === 'leader') await this.flusher.flushNow();
    await this.closeCore();
    if (this.role === 'leader') await this.flusher.flushNow();
    this.leader?.stop();
    this.channel?.close();
  }
}
