// e2e.test.mjs — the built package against a real returnsd (build/native/server/returnsd):
// a buyer's portal syncs, the server goes down, drafts are saved and submitted offline (and the
// page is "reloaded" from disk), one lead's return window closes meanwhile; when the server is
// back and the browser reports `online`, every op is pushed and applied exactly once, and the
// late submission comes back refused with WINDOW_CLOSED, its draft kept with that reason.
//
// Skips (with the reason) only when the returnsd binary is absent; `make test` builds it first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { RETURNSD, importPackage, tempDir, until } from './support.mjs';

const HOUR = 3_600_000;

class ReturnsServer {
  constructor(dir) {
    this.dir = dir;
    this.db = path.join(dir, 'returns.db');
    this.secret = path.join(dir, 'secret');
    this.port = 0;
    this.child = null;
  }

  tool(...args) {
    return execFileSync(RETURNSD, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  }

  token(...args) { return this.tool('token', ...args, '--ttl', '1h', '--secret-file', this.secret); }

  seed(world) {
    const file = path.join(this.dir, 'world.json');
    writeFileSync(file, JSON.stringify(world));
    this.tool('seed', '--db', this.db, '--file', file);
  }

  // Starts on the same port as before (0 the first time: the server picks one).
  async start() {
    const portFile = path.join(this.dir, `port-${Date.now()}`);
    const log = path.join(this.dir, 'server.log');
    this.child = spawn(RETURNSD, ['serve', '--listen', `127.0.0.1:${this.port}`, '--db', this.db,
                                  '--secret-file', this.secret, '--port-file', portFile],
                       { stdio: ['ignore', 'ignore', 'ignore'] });
    this.log = log;
    this.exited = new Promise((r) => this.child.once('exit', (code, sig) => r(code ?? 128 + (sig ? 15 : 0))));
    const text = await until(() => {
      if (this.child.exitCode !== null) throw new Error(`returnsd exited early; see ${log}`);
      try {
        const t = readFileSync(portFile, 'utf8');
        return t.endsWith('\n') ? t : null;
      } catch { return null; }
    }, 'returnsd to report its port');
    this.port = Number(text.trim());
  }

  async stop() {
    if (!this.child) return null;
    this.child.kill('SIGTERM');
    const code = await this.exited;
    this.child = null;
    return code;
  }

  url() { return `ws://127.0.0.1:${this.port}/v1/sync`; }

  async post(pathname, body, token) {
    const res = await fetch(`http://127.0.0.1:${this.port}${pathname}`, {
      method: 'POST', body: JSON.stringify(body),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    });
    return { status: res.status, json: await res.json() };
  }

  async metrics() {
    const text = await (await fetch(`http://127.0.0.1:${this.port}/metrics`)).text();
    const value = (name) => Number((text.match(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm')) ?? [])[1] ?? NaN);
    return {
      applied: value('returns_ops_applied_total'),
      refused: value('returns_ops_refused_total'),
      duplicate: value('returns_ops_duplicate_total'),
    };
  }
}

const world = {
  suppliers: [{ id: 'S-one', name: 'Supplyco One' }],
  buyers: [{ id: 'B-alpha', name: 'Alpha Legal', billing: 'prepaid',
             policy: { mode: 'manual', window_hours: 1 } }],
  campaigns: [{ id: 'C-alpha', buyer_id: 'B-alpha', vertical: 'mva', price_cents: 4000 }],
};

function lead(id, deliveredAt) {
  return { id, buyer_id: 'B-alpha', supplier_id: 'S-one', campaign_id: 'C-alpha', vertical: 'mva',
           state: 'TX', zip: '75001', contact_hash: `h-${id}`, price_cents: 4000, cost_cents: 2500,
           delivered_at: deliveredAt };
}

test('offline drafts reach a real returnsd exactly once; a closed window is refused and kept',
     async (t) => {
  assert.ok(existsSync(RETURNSD), `no returnsd at ${RETURNSD} (build the native tree first)`);
  const { createPortal } = await importPackage();
  const dir = tempDir(t, 'portal-e2e-');
  const serverDir = path.join(dir, 'server');
  const portalDir = path.join(dir, 'portal');
  mkdirSync(serverDir);
  mkdirSync(portalDir);
  const server = new ReturnsServer(serverDir);
  t.after(() => server.stop());

  // --- The server is up: reference data, leads, a first sync. ---------------------------
  const operatorToken = server.token('--role', 'operator', '--subject', 'e2e');
  const buyerToken = server.token('--role', 'buyer', '--buyer', 'B-alpha');
  server.seed(world);
  await server.start();
  const now = Date.now();
  // L-W's one-hour window closes 15 s from now: drafted inside it, submitted after.
  const deliveredW = now - HOUR + 15_000;
  const closesAt = deliveredW + HOUR;
  const ingest = await server.post('/v1/leads', [lead('L-1', now - 600_000), lead('L-2', now - 600_000),
                                                 lead('L-W', deliveredW)], operatorToken);
  assert.equal(ingest.status, 200, JSON.stringify(ingest.json));
  assert.equal(ingest.json.inserted, 3, JSON.stringify(ingest.json));

  const online = new EventTarget();
  // The portal's clock stops once it has synced, so the offline preview below is made at that
  // instant whatever the machine's speed (the server's clock, not this one, decides the window).
  const clock = { frozen: null };
  const options = { name: 'B-alpha', storage: 'nodefs', nodeRoot: portalDir, window: online,
                    now: () => clock.frozen ?? Date.now() };
  let portal = await createPortal({ ...options, url: server.url(), token: buyerToken });
  await until(() => portal.status().phase === 'live', 'the first sync');
  assert.equal(portal.status().principal.buyer_id, 'B-alpha');
  assert.deepEqual(portal.leads().map((l) => l.id).sort(), ['L-1', 'L-2', 'L-W']);
  assert.equal(portal.lead('L-1').cost_cents, undefined, 'a buyer never sees supplier cost');
  clock.frozen = Date.now();
  assert.ok(clock.frozen < closesAt, 'the first sync took longer than the window allows');

  // --- The server goes down; the buyer keeps working. -----------------------------------
  assert.equal(await server.stop(), 0, 'graceful shutdown');
  await until(() => portal.status().phase === 'disconnected', 'the portal to notice');
  const drafts = {
    'R-1': { return_id: 'R-1', lead_id: 'L-1', reason: 'bad_contact', note: 'Number disconnected' },
    'R-2': { return_id: 'R-2', lead_id: 'L-2', reason: 'other', note: 'Caller says never asked.' },
    'R-W': { return_id: 'R-W', lead_id: 'L-W', reason: 'tcpa_risk', note: '' },
  };
  for (const d of Object.values(drafts)) {
    assert.deepEqual(portal.validate(d).errors, [], `validate ${d.return_id}`);
    const saved = await portal.saveDraft(d);
    assert.equal(saved.ok, true, JSON.stringify(saved));
  }
  const previewW = portal.preview(drafts['R-W']);
  assert.equal(previewW.evaluation.decision, 'manual_review', 'inside the window on the local clock');
  assert.equal(previewW.evaluation.deadline, closesAt);
  assert.equal((await portal.submit('R-1')).ok, true);
  assert.equal((await portal.submit('R-W')).ok, true);
  const offlineOutbox = portal.outbox();
  assert.deepEqual(offlineOutbox.map((o) => o.op),
                   ['save_draft', 'save_draft', 'save_draft', 'submit_return', 'submit_return']);
  await portal.close();

  // --- A reload while offline: everything comes back from disk. ------------------------
  clock.frozen = null;
  portal = await createPortal({ ...options, url: server.url(), token: buyerToken });
  assert.deepEqual(portal.outbox(), offlineOutbox, 'the outbox survived the reload');
  assert.deepEqual(portal.drafts().map((d) => d.return_id), ['R-1', 'R-2', 'R-W']);
  const results = [];
  portal.on('result', (r) => results.push(r));

  // --- The window closes; the server comes back; the browser says `online`. ------------
  await until(() => Date.now() > closesAt + 300, 'the window of L-W to close', 15_000, 50);
  await server.start();
  online.dispatchEvent(new Event('online'));
  await until(() => results.length >= 5 && portal.status().phase === 'live', 'five results', 15_000)
    .catch((err) => {
      err.message += `: results ${JSON.stringify(results)}, status ${JSON.stringify(portal.status())}, ` +
        `backoff ${JSON.stringify(portal.transport?.delays)}, outbox ${portal.outbox().length}`;
      throw err;
    });

  const bySeq = new Map(results.map((r) => [r.seq, r]));
  assert.equal(bySeq.size, results.length, 'one result per seq');
  assert.deepEqual([...bySeq.keys()].sort((a, b) => a - b), offlineOutbox.map((o) => o.seq));
  const submitW = results.find((r) => r.op === 'submit_return' && r.return_id === 'R-W');
  assert.equal(submitW.applied, false);
  assert.equal(submitW.code, 'WINDOW_CLOSED');
  for (const r of results.filter((x) => x !== submitW)) assert.equal(r.applied, true, JSON.stringify(r));
  assert.deepEqual(portal.outbox(), [], 'every op answered');

  // The refused draft is kept, locally and on the server, with its reason.
  const keptW = portal.drafts().find((d) => d.return_id === 'R-W');
  assert.ok(keptW, 'R-W is still a draft');
  assert.equal(keptW.status, 'refused');
  assert.equal(keptW.refusal, 'WINDOW_CLOSED');
  await until(() => portal.row('return', 'R-W').row?.refusal === 'WINDOW_CLOSED', 'the server row of R-W');
  assert.equal(portal.row('return', 'R-W').row.state, 'draft');
  assert.equal(portal.row('return', 'R-1').row.state, 'pending');
  assert.equal(portal.row('return', 'R-2').row.state, 'draft');
  const returnsOfL1 = portal.returns().filter((r) => r.lead_id === 'L-1');
  assert.equal(returnsOfL1.length, 1, 'one return for L-1');

  // Exactly once on the server: five ops handled, none twice.
  let m = await server.metrics();
  assert.equal(m.applied + m.refused, 5, JSON.stringify(m));
  assert.equal(m.refused, 1, JSON.stringify(m));

  // A dropped connection reconnects and pushes nothing again.
  portal.transport.ws.close();
  await until(() => portal.status().phase !== 'live', 'the drop');
  await until(() => portal.status().phase === 'live', 'the reconnect', 15_000);
  await new Promise((r) => setTimeout(r, 200));
  m = await server.metrics();
  assert.equal(m.applied + m.refused, 5, `nothing pushed twice: ${JSON.stringify(m)}`);
  assert.equal(results.length, 5);
  await portal.close();
  assert.equal(await server.stop(), 0);
});
