// index.test.mjs — the engine's lead index (docs/sync-engine.md "Lead index") never changes an
// answer the portal gives: after live `changes` frames (applied in place), stale items the engine
// skips, deletions, leads moving buyer, a `reset`, and pending ops, every preview's trailing
// return rate and duplicate verdict equal a brute-force recount over the view's lead rows, and
// equal the preview of a fresh portal loaded with the same rows (whose index is built from scratch).
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

// The two lead questions recounted from the optimistic lead rows, the way the core's CaseView
// contract states them (core/lifecycle.h trailing_counts, core/evidence.h delivered_before), in
// the shape answered() reads them from a preview: the 30-day counts show in the low_rate rule's
// sentence when the rule does not apply (rate ≥ 40 %); when it applies, only that fact shows.
const DAY = 24 * HOUR;
function bruteForce(p, id) {
  const rows = j(p.rows('lead', NOW));
  const me = rows.find((l) => l.id === id);
  const last = Math.floor(NOW / DAY);
  const mine = rows.filter((l) => l.buyer_id === me.buyer_id);
  const recent = mine.filter((l) => Math.floor(l.delivered_at / DAY) > last - 30);
  const returned = recent.filter((l) => l.status === 'RETURNED').length;
  const earlier = mine.some((l) => l.id !== id && l.contact_hash === me.contact_hash &&
    (l.delivered_at < me.delivered_at || (l.delivered_at === me.delivered_at && l.id < id)));
  const below = returned * 10 < recent.length * 4;
  return { below, counts: below ? null : `${returned} of ${recent.length}`,
           duplicate: earlier ? 'supports' : 'cannot_verify' };
}

// What the portal's preview says about the same two questions (null: the preview does not say,
// e.g. the lead already has a return).
let countsSeen = 0;
function answered(p, id) {
  const dup = j(p.preview(JSON.stringify({ return_id: `R-${id}`, lead_id: id, reason: 'duplicate' }), NOW));
  const rule = dup.evaluation?.checks.find((c) => c.check === 'rule:low_rate');
  if (!rule || !dup.evidence) return null;
  const m = /\((\d+ of \d+)\)/.exec(rule.sentence);
  assert.equal(Boolean(m), !rule.passed, rule.sentence);
  if (m) countsSeen++;
  return { below: rule.passed, counts: m ? m[1] : null, duplicate: dup.evidence.verdict };
}

function assertRecount(p, ids, what) {
  for (const id of ids) {
    const got = answered(p, id);
    if (got) assert.deepEqual(got, bruteForce(p, id), `${what}: ${id}`);
  }
}

test('live changes, stale items and reset keep previews identical to a fresh build', () => {
  const p = livePortal();
  const leads = new Map();
  const check = (what) => {
    const ref = reference([...leads.values()]);
    assert.deepEqual(previews(p, [...leads.keys()]), previews(ref, [...leads.keys()]), what);
    assertRecount(p, [...leads.keys()], what);
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
  assertRecount(p, ['L1', 'L2'], 'a submit pending');
  assert.equal(mine[0].evaluation.decision, 'manual_review', '1 of 2 returned is above 40 %');
  ref.delete();
  p.delete();
});

test('random frames, resets and pending submits: answers equal a brute-force recount', () => {
  let seed = 20261127;
  const rand = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
  v = 0;
  const p = livePortal();
  changes(p, [['buyer', buyer], ['campaign', campaign], ['buyer', { ...buyer, id: 'B2' }]]);
  const live = new Set();
  let submits = 0;
  countsSeen = 0;
  for (let step = 0; step < 120; step++) {
    const r = rand(10);
    const id = `L${rand(25)}`;
    if (r < 5) {
      // A new or changed lead: within the window, sometimes a day-boundary neighbour, sometimes
      // another buyer's, sometimes returned.
      const hours = rand(4) === 0 ? 12 + rand(3) : 1 + rand(150);
      const l = { ...lead(id, `h${rand(5)}`, hours, rand(2) === 0 ? 'RETURNED' : 'ACCEPTED'),
                  buyer_id: rand(6) === 0 ? 'B2' : 'B1' };
      changes(p, [['lead', l]]);
      if (l.buyer_id === 'B1') live.add(id); else live.delete(id);
    } else if (r === 5) {
      changes(p, [['lead', { id, deleted: true }]]);
      live.delete(id);
    } else if (r === 6) {
      changes(p, [['lead', lead(id, 'stale', 1)]], { stale: true });  // skipped: v <= cursor
    } else if (r === 7 && live.size > 0) {
      const target = [...live][rand(live.size)];
      const res = j(p.enqueue('submit_return', JSON.stringify(
        { return_id: `RS-${++submits}`, lead_id: target, reason: 'bad_contact' }), NOW));
      assert.equal(res.ok, true, JSON.stringify(res));
    } else if (r === 8 && rand(4) === 0) {
      assert.equal(j(p.frame('{"type":"reset","head":0}', NOW)).ok, true);
      v = 0;
      changes(p, [['buyer', buyer], ['campaign', campaign], ['buyer', { ...buyer, id: 'B2' }]]);
      live.clear();
    }
    const ids = j(p.rows('lead', NOW)).filter((l) => l.buyer_id === 'B1').map((l) => l.id);
    assertRecount(p, ids.slice(0, 6), `step ${step}`);
  }
  assert.ok(countsSeen > 100, `exact counts compared ${countsSeen} times`);
  p.delete();
});
