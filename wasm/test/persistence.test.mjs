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
const { Flusher } = await import(pathToFileURL(path.join(PKG_DIR, 'persistence.mjs')).href);

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

test('loadModule instances are independent', async () => {
  const [a, b] = await Promise.all([loadModule(), loadModule()]);
  assert.notEqual(a, b);
  assert.equal(typeof a.Portal, 'function');
});
