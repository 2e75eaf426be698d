// persistence.mjs — where the portal's SQLite file lives and when it reaches durable storage.
//
// Browser: Emscripten IDBFS mounted at the folder of the database; the file lives in memory and
// FS.syncfs(false) copies changed files into IndexedDB. Node: NODEFS maps the folder onto a real
// directory (the stand-in the tests use); writes reach the disk directly, so a flush only waits
// for flushes already running. Either way `flush()` is debounced — many writes within `delayMs`
// share one sync — and the promise it returns resolves only once a sync that started *after* the
// call has finished, so "saved" means durable.

const isNode = typeof process === 'object' && typeof process.versions?.node === 'string';

// Mounts the storage for `dir` (an absolute path inside the module's filesystem) and loads what
// was stored there. `kind`: 'idbfs' | 'nodefs' | 'memory'; 'auto' picks nodefs under Node,
// idbfs where IndexedDB exists, else memory.
export async function mountStorage(Module, { dir = '/lead-returns', kind = 'auto', nodeRoot } = {}) {
  const FS = Module.FS;
  if (kind === 'auto') {
    kind = isNode ? 'nodefs' : typeof indexedDB === 'object' ? 'idbfs' : 'memory';
  }
  mkdirs(FS, dir);
  if (kind === 'nodefs') {
    if (!nodeRoot) throw new TypeError('nodefs storage needs nodeRoot (a directory on disk)');
    FS.mount(Module.NODEFS, { root: nodeRoot }, dir);
  } else if (kind === 'idbfs') {
    FS.mount(Module.IDBFS, {}, dir);
    await syncfs(FS, true);  // IndexedDB → memory
  } else if (kind !== 'memory') {
    throw new TypeError(`unknown storage kind ${kind}`);
  }
  return new Flusher(FS, kind);
}

function mkdirs(FS, dir) {
  let path = '';
  for (const part of dir.split('/').filter(Boolean)) {
    path += '/' + part;
    try {
      FS.mkdir(path);
    } catch (e) {
      if (!(e && e.errno === 20)) throw e;  // EEXIST is fine
    }
  }
}

function syncfs(FS, populate) {
  return new Promise((resolve, reject) => {
    FS.syncfs(populate, (err) => (err ? reject(err) : resolve()));
  });
}

// Debounced memory → IndexedDB syncs. One sync runs at a time; writes that land while one runs
// are covered by the next.
export class Flusher {
  constructor(FS, kind, { delayMs = 30 } = {}) {
    this.FS = FS;
    this.kind = kind;
    this.delayMs = delayMs;
    this.timer = null;
    this.waiters = [];     // resolved by the next sync to start
    this.running = null;   // the sync in progress
    this.syncs = 0;        // completed syncs (tests and benchmarks read it)
    this.lastError = null;
  }

  // Resolves once everything written before this call is durable.
  flush() {
    if (this.kind !== 'idbfs') return this.running ? this.running.then(() => {}) : Promise.resolve();
    const p = new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (!this.timer) this.timer = setTimeout(() => this.run(), this.delayMs);
    return p;
  }

  async run() {
    this.timer = null;
    if (this.running) {
      // A sync is in flight and may have missed the latest writes: start another after it.
      await this.running.catch(() => {});
      if (this.timer || this.running) return;
    }
    const waiters = this.waiters;
    this.waiters = [];
    if (waiters.length === 0) return;
    this.running = syncfs(this.FS, false);
    try {
      await this.running;
      this.syncs++;
      for (const w of waiters) w.resolve();
    } catch (err) {
      this.lastError = err;
      for (const w of waiters) w.reject(err);
    } finally {
      this.running = null;
      if (this.waiters.length && !this.timer) this.timer = setTimeout(() => this.run(), this.delayMs);
    }
  }

  // Flushes now (e.g. on pagehide) without waiting for the debounce.
  async flushNow() {
    if (this.kind !== 'idbfs') return;
    const p = this.flush();
    clearTimeout(this.timer);
    this.timer = null;
    this.run();
    return p;
  }
}
