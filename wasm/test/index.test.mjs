// index.test.mjs — the binding's lead index (docs/wasm.md "Performance") never changes an
// answer: after live `changes` frames (applied in place), stale items the engine skips, a
// `reset`, and pending ops, every preview equals the preview of a fresh portal loaded with the
// same rows (whose index is built from scratch).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { importPackage } from './support.mjs';

const { loadModule } = await importPackage();
const Module = await loadModule();
const HOUR = 3_600_000;
const NOW = Date.UTC(2024, 2, 1, 12);
const buyer = { id: 'B1', name: 'Acme', billing: 'prepaid',
                policy: { mode: 'rules', window_hours: 168,
                          rules: [{ id: 'low_rate', max_return_rate: 0.4 }] } };
const campaign = { id: 'C1', buyer_id: 'B1', vertical: 'mva', price_cents: 5000 };
const lead = (id, hash, hoursAgo, status = 'ACCEPTED') => ({
  id, buyer_id: 'B1', campaign_id: 'C1', vertical: 'mva', state: 'TX', zip: '75001',
  contact_hash: hash, price_cents: 5000, delivered_at: NOW - hoursAgo * HOUR, status });

function j(text) { return JSON.parse(text); }

function livePortal() {
  const p = new Module.Portal();
  assert.equal(j(p.open(JSON.stringify({ db: ':memory:', client_id: 'idx-live' }))).ok, true);
  assert.equal(JSON.parse(j(p.connected(NOW)).frame).type, 'hello');
  const welcome = { type: 'welcome', server_time: NOW, last_seq: 0, cursor: 0,
                    principal: { role: 'buyer', subject: 'B1', buyer_id: 'B1' } };
  assert.equal(j(p.frame(JSON.stringify(welcome), NOW)).ok, true);
  return p;
}

let v = 0;
function changes(p, rows, { stale = false } = {}) {
  const from = v;
  const items = rows.map(([entity, data]) => ({ v: stale ? 1 : ++v, entity, id: data.id, data }));
  const r = j(p.frame(JSON.stringify({ type: 'changes', from: stale ? 0 : from, to: stale ? 1 : v, items }), NOW));
  assert.equal(r.ok, true, JSON.stringify(r));
}

// The same rows in a fresh portal: the index is built from scratch there.
function reference(leads) {
  const p = new Module.Portal();
  p.open(JSON.stringify({ db: ':memory:', client_id: 'idx-ref', actor: { role: 'buyer', subject: 'B1', buyer_id: 'B1' } }));
  assert.equal(j(p.loadRows(JSON.stringify({ buyers: [buyer], campaigns: [campaign], leads }))).ok, true);
  return p;
}

function previews(p, ids) {
  return ids.flatMap((id) => ['duplicate', 'bad_contact'].map((reason) =>
    j(p.preview(JSON.stringify({ return_id: `R-${id}`, lead_id: id, reason }), NOW))));
}

test('live changes, stale items and reset keep previews identical to a fresh build', () => {
  const p = livePortal();
  const leads = new Map();
  const check = (what) => {
    const ref = reference([...leads.values()]);
    assert.deepEqual(previews(p, [...leads.keys()]), previews(ref, [...leads.keys()]), what);
    ref.delete();
  };
  changes(p, [['buyer', buyer], ['campaign', campaign], ['lead', lead('L1', 'h1', 2)]]);
  leads.set('L1', lead('L1', 'h1', 2));
  check('first batch');
  assert.equal(previews(p, ['L1'])[0].evidence.verdict, 'cannot_verify');

  changes(p, [['lead', lead('L0', 'h1', 3)]]);  // an earlier lead with the same contact
  leads.set('L0', lead('L0', 'h1', 3));
  check('a duplicate arrives');
  assert.equal(previews(p, ['L1'])[0].evidence.verdict, 'supports');

  changes(p, [['lead', lead('L0', 'other', 3)]], { stale: true });  // v <= cursor: skipped
  check('a stale item changes nothing');
  assert.equal(previews(p, ['L1'])[0].evidence.verdict, 'supports');

  assert.equal(previews(p, ['L1'])[0].evaluation.decision, 'auto_accept');
  changes(p, [['lead', lead('L0', 'h1', 3, 'RETURNED')]]);  // 1 of 2 returned: 50 % ≥ 40 %
  leads.set('L0', lead('L0', 'h1', 3, 'RETURNED'));
  check('a lead returned');
  assert.equal(previews(p, ['L1'])[0].evaluation.decision, 'manual_review');

  for (let i = 2; i < 40; i++) {
    const l = lead(`L${i}`, `h${i % 7}`, i);
    changes(p, [['lead', l]]);
    leads.set(l.id, l);
  }
  check('many single-lead frames');

  assert.equal(j(p.frame('{"type":"reset","head":0}', NOW)).ok, true);
  v = 0;
  changes(p, [['buyer', buyer], ['campaign', campaign], ['lead', lead('L1', 'h1', 2)]]);
  leads.clear();
  leads.set('L1', lead('L1', 'h1', 2));
  check('after a reset');
  p.delete();
});

test('a pending submit is reflected like a fresh build does', () => {
  v = 0;
  const p = livePortal();
  changes(p, [['buyer', buyer], ['campaign', campaign], ['lead', lead('L1', 'h1', 2)], ['lead', lead('L2', 'h2', 2)]]);
  assert.equal(j(p.enqueue('submit_return', JSON.stringify({ return_id: 'R-L1', lead_id: 'L1', reason: 'bad_contact' }), NOW)).ok, true);
  // Optimistically auto-accepted: L1 now counts as returned in the trailing rate for L2.
  const mine = previews(p, ['L2']);
  const ref = reference([lead('L1', 'h1', 2, 'RETURNED'), lead('L2', 'h2', 2)]);
  assert.deepEqual(mine, previews(ref, ['L2']));
  assert.equal(mine[0].evaluation.decision, 'manual_review', '1 of 2 returned is above 40 %');
  ref.delete();
  p.delete();
});
