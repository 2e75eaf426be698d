// persistence.mjs — where the portal's SQLite file lives and when it reaches durable storage.
//
// Browser: Emscripten IDBFS mounted at the folder of the database; the file lives in memory and
// FS.syncfs(false) copies changed files into IndexedDB. Node: NODEFS maps the folder onto a real
// directory (the stand-in the tests use); writes reach the disk directly, so a flush only waits
// for flushes already running. Either way `flush()` is debounced — many writes within `delayMs`
// share one sync — and the promise it returns resolves only once a sync that started *after* the
// call has finished, so "saved" means durable.
//
// Image ('image', the operator dashboard): the replica is SQLite's in-memory database, saved whole
// as one IndexedDB record (the database file's bytes and the client id) a little after writes
// settle and when the page goes away, and opened from that record at the next sign-in, which then
// catches up only what changed since. The record is a cache of the server's rows, so a save is
// never awaited: flush() resolves at once (see ImageFlusher).

const isNode = typeof process === 'object' && typeof process.versions?.node === 'string';

// Mounts the storage for `dir` (an absolute path inside the module's filesystem) and loads what
// was stored there. `kind`: 'idbfs' | 'nodefs' | 'memory'; 'auto' picks nodefs under Node,
// idbfs where IndexedDB exists, else memory.
// `kind` 'image' (never chosen by 'auto') needs `key` (the record's name) and an `images` store
// ({load, save, remove}; default: IndexedDB).
export async function mountStorage(Module, { dir = '/lead-returns', kind = 'auto', nodeRoot, key,
                                             images } = {}) {
  const FS = Module.FS;
  if (kind === 'auto') {
    kind = isNode ? 'nodefs' : typeof indexedDB === 'object' ? 'idbfs' : 'memory';
  }
  mkdirs(FS, dir);
  if (kind === 'image') {
    const store = images ?? new IndexedDbImages();
    const flusher = new ImageFlusher(store, key);
    flusher.loaded = await store.load(key).catch((err) => {
      flusher.lastError = err;
      return null;
    });
    return flusher;
  }
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

// Replica images in IndexedDB: one object store, one record per key.
export class IndexedDbImages {
  constructor({ indexedDB: idb = globalThis.indexedDB, name = 'lead-returns-images' } = {}) {
    if (!idb) throw new TypeError('image storage needs IndexedDB');
    this.idb = idb;
    this.name = name;
    this.db = null;
  }

  open() {
    this.db ??= new Promise((resolve, reject) => {
      const req = this.idb.open(this.name, 1);
      req.onupgradeneeded = () => req.result.createObjectStore('images');
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    return this.db;
  }

  async request(mode, fn) {
    const db = await this.open();
    return new Promise((resolve, reject) => {
      const tx = db.transaction('images', mode);
      const req = fn(tx.objectStore('images'));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
    });
  }

  async load(key) { return (await this.request('readonly', (s) => s.get(key))) ?? null; }
  save(key, record) { return this.request('readwrite', (s) => s.put(record, key)); }
  remove(key) { return this.request('readwrite', (s) => s.delete(key)); }
}

// Saves the replica's image `delayMs` after writes stop (a catch-up of many frames saves once at
// its end), and at least every `maxDelayMs` while they keep coming. `snapshot()` is set by the
// portal: the record to save, or null when there is nothing to save.
export class ImageFlusher {
  constructor(store, key, { delayMs = 1000, maxDelayMs = 10_000 } = {}) {
    if (typeof key !== 'string' || !key) throw new TypeError('image storage needs a key');
    this.kind = 'image';
    this.store = store;
    this.key = key;
    this.delayMs = delayMs;
    this.maxDelayMs = maxDelayMs;
    this.snapshot = () => null;
    this.loaded = null;      // the record found at mount, or null
    this.timer = null;
    this.firstDirty = 0;     // when the oldest unsaved write happened
    this.running = null;
    this.again = false;      // a save was asked for while one ran
    this.syncs = 0;          // completed saves (tests and benchmarks read it)
    this.lastError = null;
  }

  // Schedules a save and resolves at once: the image is a cache, never awaited by a write.
  flush() {
    const now = Date.now();
    if (!this.timer) this.firstDirty = now;
    clearTimeout(this.timer);
    const wait = Math.min(this.delayMs, Math.max(0, this.firstDirty + this.maxDelayMs - now));
    this.timer = setTimeout(() => { this.timer = null; this.run(); }, wait);
    return Promise.resolve();
  }

  // Saves now (close, pagehide); resolves when the record is stored.
  async flushNow() {
    clearTimeout(this.timer);
    this.timer = null;
    await this.run();
  }

  // One save at a time; a call while one runs makes it save once more before it resolves, so
  // whoever called last gets a record taken after their call.
  async run() {
    this.again = true;
    if (this.running) return this.running;
    this.running = (async () => {
      while (this.again) {
        this.again = false;
        try {
          const record = this.snapshot();
          if (record) {
            await this.store.save(this.key, record);
            this.syncs++;
          }
        } catch (err) {
          this.lastError = err;
        }
      }
    })();
    try {
      await this.running;
    } finally {
      this.running = null;
    }
  }

  // Forgets the stored image (it could not be opened, or the user signed out).
  async drop() {
    this.loaded = null;
    try {
      await this.store.remove(this.key);
    } catch (err) {
      this.lastError = err;
    }
  }
}
