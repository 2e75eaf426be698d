// persistence.test.mjs — drafts and the outbox survive module reloads (NODEFS on a temporary
// directory stands in for IDBFS: the same SQLite file, the same code path), the outbox and the
// draft change of one op are one transaction, and the debounced flusher (the IDBFS path) only
// reports "saved" after a sync that started after the write.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PKG_DIR, importPackage, tempDir } from './support.mjs';

const { createPortal, loadModule } = await importPackage();
const { Flusher, ImageFlusher } =
  await import(pathToFileURL(path.join(PKG_DIR, 'persistence.mjs')).href);

const actor = { role: 'buyer', subject: 'B1', buyer_id: 'B1' };
const world = {
  buyers: [{ id: 'B1', name: 'Acme', billing: 'prepaid' }],
  campaigns: [{ id: 'C1', buyer_id: 'B1', vertical: 'mva', price_cents: 5000 }],
  leads: [{ id: 'L1', buyer_id: 'B1', campaign_id: 'C1', vertical: 'solar', state: 'TX', zip: '75001',
            contact_hash: 'h1', price_cents: 5000, delivered_at: Date.now() - 3_600_000 }],
};

test('drafts, outbox, client id and replica rows survive a module reload', async (t) => {
  const dir = tempDir(t);
  const open = async () => createPortal({ name: 'B1', storage: 'nodefs', nodeRoot: dir, actor });
  let p = await open();
  assert.equal((await p.loadRows(world)).ok, true);
  const clientId = p.clientId;
  const d1 = { return_id: 'R1', lead_id: 'L1', reason: 'wrong_vertical', note: 'solar, not mva' };
  const d2 = { return_id: 'R2', lead_id: 'L1', reason: 'other', note: 'will discard this one' };
  assert.deepEqual(await p.saveDraft(d1), { ok: true, seq: 1 });
  assert.deepEqual(await p.saveDraft(d2), { ok: true, seq: 2 });
  assert.deepEqual(await p.discardDraft('R2'), { ok: true, seq: 3 });
  assert.ok(existsSync(path.join(dir, 'B1.db')), 'the database file is on disk');
  const before = { drafts: p.drafts(), outbox: p.outbox(), preview: p.preview(d1) };
  await p.close();

  // A brand-new module instance (a page reload) over the same storage.
  p = await open();
  assert.equal(p.clientId, clientId, 'the client id is stable per profile');
  assert.deepEqual(p.drafts(), before.drafts);
  assert.deepEqual(p.drafts().map((d) => d.return_id), ['R1']);
  assert.equal(p.drafts()[0].draft.note, 'solar, not mva');
  assert.deepEqual(p.outbox().map((o) => [o.seq, o.op]),
                   [[1, 'save_draft'], [2, 'save_draft'], [3, 'discard_draft']]);
  assert.deepEqual(p.outbox(), before.outbox);
  assert.equal(p.status().next_seq, 4, 'seqs continue after a reload');
  assert.deepEqual(p.preview(d1).evidence, before.preview.evidence, 'the replica rows are back');
  assert.equal(p.preview(d1).evidence.verdict, 'supports');
  assert.deepEqual(await p.saveDraft({ ...d1, note: 'edited after reload' }), { ok: true, seq: 4 });
  await p.close();

  p = await open();
  assert.equal(p.drafts()[0].draft.note, 'edited after reload');
  assert.equal(p.outbox().length, 4);
  await p.close();
});

test('a refused write changes neither drafts nor outbox (one transaction)', async (t) => {
  const dir = tempDir(t);
  const p = await createPortal({ name: 'B1', storage: 'nodefs', nodeRoot: dir, actor });
  await p.loadRows(world);
  assert.equal((await p.saveDraft({ return_id: 'R1', lead_id: 'L1' })).ok, true);
  const before = { drafts: p.drafts(), outbox: p.outbox() };
  assert.ok((await p.saveDraft({ return_id: 'R1' })).error);
  assert.ok((await p.enqueue('submit_return', { return_id: 'R1', lead_id: 7 })).error);
  assert.deepEqual(p.drafts(), before.drafts);
  assert.deepEqual(p.outbox(), before.outbox);
  await p.close();
});

test('separate databases per name do not mix', async (t) => {
  const dir = tempDir(t);
  const a = await createPortal({ name: 'B1', storage: 'nodefs', nodeRoot: dir, actor });
  await a.saveDraft({ return_id: 'R1', lead_id: 'L1' });
  await a.close();
  const b = await createPortal({ name: 'B2', storage: 'nodefs', nodeRoot: dir,
                                 actor: { ...actor, buyer_id: 'B2' } });
  assert.deepEqual(b.drafts(), []);
  assert.notEqual(b.clientId, a.clientId);
  await b.close();
});

// A fake FS whose syncfs takes `ms` and counts calls, for the IDBFS debounce logic.
function fakeFS(ms = 20) {
  const fs = { syncs: 0, populate: 0, failNext: false };
  fs.syncfs = (populate, cb) => {
    if (populate) fs.populate++;
    else fs.syncs++;
    const fail = fs.failNext;
    fs.failNext = false;
    setTimeout(() => cb(fail ? new Error('quota') : null), ms);
  };
  return fs;
}

test('flush: many writes inside the debounce share one IndexedDB sync', async () => {
  const fs = fakeFS();
  const f = new Flusher(fs, 'idbfs', { delayMs: 15 });
  const all = Array.from({ length: 10 }, () => f.flush());
  await Promise.all(all);
  assert.equal(fs.syncs, 1);
  await f.flush();
  assert.equal(fs.syncs, 2);
});

test('flush: a write during a running sync waits for the next one', async () => {
  const fs = fakeFS(40);
  const f = new Flusher(fs, 'idbfs', { delayMs: 5 });
  const first = f.flush();
  await new Promise((r) => setTimeout(r, 15));  // the first sync is running now
  assert.ok(f.running, 'a sync is in flight');
  let secondDone = false;
  const second = f.flush().then(() => { secondDone = true; });
  await first;
  assert.equal(secondDone, false, 'not saved by a sync that started before the write');
  await second;
  assert.equal(fs.syncs, 2);
});

test('flush: a failed sync rejects the waiters, the next one succeeds', async () => {
  const fs = fakeFS(5);
  const f = new Flusher(fs, 'idbfs', { delayMs: 1 });
  fs.failNext = true;
  await assert.rejects(f.flush(), /quota/);
  await f.flush();
  assert.equal(fs.syncs, 2);
  assert.match(String(f.lastError), /quota/);
});

test('flush on NODEFS/memory resolves without syncing', async () => {
  const fs = fakeFS();
  for (const kind of ['nodefs', 'memory']) await new Flusher(fs, kind).flush();
  assert.equal(fs.syncs, 0);
});

// Image storage (the operator's replica): records kept by a Map instead of IndexedDB, the same
// code path otherwise. `failSave` makes the next save throw (quota).
function mapImages() {
  const records = new Map();
  return {
    records, saves: 0, failSave: false,
    async load(key) { return records.get(key) ?? null; },
    async save(key, record) {
      if (this.failSave) { this.failSave = false; throw new Error('quota exceeded'); }
      this.saves++;
      records.set(key, { ...record, bytes: record.bytes.slice() });
    },
    async remove(key) { records.delete(key); },
  };
}

test('image storage: rows, drafts, outbox, cursor and client id come back from the image', async () => {
  const images = mapImages();
  const open = () => createPortal({ name: 'op-1', storage: 'image', images, actor, leader: false });
  let p = await open();
  assert.equal((await p.loadRows(world)).ok, true);
  const d1 = { return_id: 'R1', lead_id: 'L1', reason: 'wrong_vertical', note: 'solar, not mva' };
  assert.deepEqual(await p.saveDraft(d1), { ok: true, seq: 1 });
  const clientId = p.clientId;
  const before = { drafts: p.drafts(), outbox: p.outbox(), preview: p.preview(d1),
                   rows: p.status().rows };
  await p.close();
  assert.equal(images.records.size, 1, 'one record per name');
  const record = images.records.get('op-1');
  assert.equal(record.clientId, clientId);
  assert.ok(record.bytes instanceof Uint8Array && record.bytes.length > 0);

  p = await open();
  assert.equal(p.clientId, clientId, 'the image keeps its client id');
  assert.deepEqual(p.drafts(), before.drafts);
  assert.deepEqual(p.outbox(), before.outbox);
  assert.equal(p.status().next_seq, 2);
  assert.equal(p.status().rows, before.rows);
  assert.deepEqual(p.preview(d1).evidence, before.preview.evidence);
  assert.deepEqual(await p.saveDraft({ ...d1, note: 'edited after reload' }), { ok: true, seq: 2 });
  await p.close();

  // Signing out forgets the image: the next start is empty, under a new client id.
  p = await open();
  assert.equal(p.outbox().length, 2);
  await p.close({ forget: true });
  assert.equal(images.records.size, 0);
  p = await open();
  assert.notEqual(p.clientId, clientId);
  assert.equal(p.status().rows, 0);
  await p.close();
});

test('image storage: an unreadable image is dropped and the portal starts empty, new client id', async () => {
  const images = mapImages();
  let p = await createPortal({ name: 'op-2', storage: 'image', images, actor, leader: false });
  assert.equal((await p.loadRows(world)).ok, true);
  await p.close();
  const good = images.records.get('op-2');
  for (const bytes of [good.bytes.slice(0, good.bytes.length - 512), new TextEncoder().encode('junk')]) {
    images.records.set('op-2', { ...good, bytes });
    p = await createPortal({ name: 'op-2', storage: 'image', images, actor, leader: false });
    assert.equal(p.imageDropped?.field, 'image', 'the portal says why it started empty');
    assert.equal(p.status().rows, 0, 'nothing read from a bad image');
    assert.notEqual(p.clientId, good.clientId, 'a fresh replica never reuses the old client id');
    assert.equal(p.status().next_seq, 1);
    await p.close();
    assert.equal(images.records.get('op-2')?.clientId, p.clientId, 'the new replica was saved');
  }
});

test('image flusher: writes in a burst share one save, a save failure is kept and the next succeeds', async () => {
  const images = mapImages();
  const f = new ImageFlusher(images, 'k', { delayMs: 10, maxDelayMs: 1000 });
  let n = 0;
  f.snapshot = () => ({ clientId: 'c', bytes: new Uint8Array([++n]) });
  for (let i = 0; i < 20; ++i) await f.flush();   // resolves at once
  assert.equal(images.saves, 0, 'nothing saved inside the debounce');
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(images.saves, 1);
  assert.equal(f.syncs, 1);
  images.failSave = true;
  await f.flushNow();
  assert.match(String(f.lastError), /quota/);
  assert.equal(images.saves, 1);
  await f.flushNow();
  assert.equal(images.saves, 2);
  assert.deepEqual([...images.records.get('k').bytes], [n], 'the latest snapshot was saved');
});

test('image flusher: a save asked for during a running save is taken after it', async () => {
  const images = mapImages();
  let release;
  const slow = { ...images, async save(key, record) { await new Promise((r) => { release = r; });
                                                        return images.save(key, record); } };
  const f = new ImageFlusher(slow, 'k', { delayMs: 1 });
  let n = 0;
  f.snapshot = () => ({ clientId: 'c', bytes: new Uint8Array([++n]) });
  const first = f.flushNow();
  await new Promise((r) => setTimeout(r, 5));
  const second = f.flushNow();   // while the first save waits
  release();
  await new Promise((r) => setTimeout(r, 5));
  release();
  await Promise.all([first, second]);
  assert.deepEqual([...images.records.get('k').bytes], [2], 'the second call got a later snapshot');
});

test('image flusher: a steady stream of writes still saves every maxDelayMs', async () => {
  const images = mapImages();
  const f = new ImageFlusher(images, 'k', { delayMs: 30, maxDelayMs: 60 });
  f.snapshot = () => ({ clientId: 'c', bytes: new Uint8Array([1]) });
  const until = Date.now() + 200;
  while (Date.now() < until) {
    f.flush();
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.ok(images.saves >= 1, `saved while writes kept coming (${images.saves})`);
  await f.flushNow();
});

test('loadModule instances are independent', async () => {
  const [a, b] = await Promise.all([loadModule(), loadModule()]);
  assert.notEqual(a, b);
  assert.equal(typeof a.Portal, 'function');
});
