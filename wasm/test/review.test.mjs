// review.test.mjs — `review(returnId)` through the whole package: the operator dashboard's view of a
// submitted return (shared/core/validation.h review_return over the engine's optimistic view):
// the reason evidence the buyer's preview showed (docs/domain.md, the evidence table, the routing-filter alert
// included) and the buyer's current policy evaluated at the return's submission; who may ask;
// every bad input's typed error. And `status()`'s server clock (server_now, clock_offset_ms).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { importPackage } from './support.mjs';

const { loadModule, createPortal } = await importPackage();
const Module = await loadModule();

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2024, 2, 20, 12);  // the portal's clock (no server: offset 0)
const T0 = NOW - 3 * DAY;               // every lead's delivery
const OPERATOR = { role: 'operator', subject: 'op-alice' };
const BUYER = { role: 'buyer', subject: 'b1-user', buyer_id: 'B1' };

const policy = { mode: 'rules', window_hours: 168, min_age_hours: 0,
                 rules: [{ id: 'within_24h', max_age_hours: 24 }] };
const buyers = [
  { id: 'B1', name: 'Acme Law', billing: 'prepaid', policy, coverage: { states: ['CA'] } },
  { id: 'B2', name: 'Other', billing: 'net_terms', policy },
];
const campaigns = [{ id: 'C1', buyer_id: 'B1', vertical: 'mva', price_cents: 5000 },
                   { id: 'C2', buyer_id: 'B2', vertical: 'mva', price_cents: 5000 }];
const lead = (id, { buyer = 'B1', state = 'CA', vertical = 'mva', hash = `h-${id}`, tcpa = false,
                    delivered = T0, status = 'ACCEPTED' } = {}) => ({
  id, buyer_id: buyer, campaign_id: buyer === 'B1' ? 'C1' : 'C2', supplier_id: 'S1', vertical, state,
  zip: '90001', contact_hash: hash, tcpa_flag: tcpa, price_cents: 5000, cost_cents: 2000,
  delivered_at: delivered, status });
const leads = [
  lead('L-nv', { state: 'NV' }),                 // outside B1's coverage
  lead('L-solar', { vertical: 'solar' }),        // not the campaign's vertical
  lead('L-dup0', { hash: 'h-same', delivered: T0 - DAY }),
  lead('L-dup', { hash: 'h-same' }),             // the same contact delivered a day before
  lead('L-tcpa', { tcpa: true }),
  lead('L-auto', { status: 'RETURNED' }),
  lead('L-draft'),
  lead('M1', { buyer: 'B2' }),
];
const ret = (id, leadId, reason, state, submitted, extra = {}) => ({
  id, lead_id: leadId, buyer_id: leadId === 'M1' ? 'B2' : 'B1', reason, note: '', state,
  drafted_at: 0, submitted_at: submitted, updated_at: submitted, accept_count: 0, ...extra });
const returns = [
  ret('R-nv', 'L-nv', 'out_of_service_area', 'pending', T0 + 30 * HOUR),
  ret('R-solar', 'L-solar', 'wrong_vertical', 'discussion', T0 + 26 * HOUR),
  ret('R-dup', 'L-dup', 'duplicate', 'rejected', T0 + 40 * HOUR,
      { decision: { by: 'op-alice', at: T0 + 41 * HOUR, note: 'Reached.', credit_cents: 0 } }),
  ret('R-tcpa', 'L-tcpa', 'tcpa_risk', 'pending', T0 + 50 * HOUR),
  ret('R-auto', 'L-auto', 'bad_contact', 'accepted', T0 + 5 * HOUR,
      { accept_count: 1, decision: { by: 'auto:within_24h', at: T0 + 5 * HOUR, note: '', credit_cents: 5000 } }),
  ret('R-draft', 'L-draft', 'bad_contact', 'draft', 0, { updated_at: T0 + HOUR }),
  ret('Q1', 'M1', 'bad_contact', 'pending', T0 + 2 * HOUR),
];
const ledger = [{ id: 'R-auto#1/revenue_reversal', kind: 'revenue_reversal', return_id: 'R-auto', lead_id: 'L-auto',
                  buyer_id: 'B1', supplier_id: 'S1', amount_cents: -5000, at: T0 + 5 * HOUR }];
const world = { buyers, suppliers: [{ id: 'S1', name: 'Supplier' }], campaigns, leads, returns, ledger };

async function portalAs(t, name, actor) {
  const portal = await createPortal({ name, storage: 'memory', module: Module, leader: false,
                                      now: () => NOW, ...(actor ? { actor } : {}) });
  t.after(() => portal.close());
  const loaded = await portal.loadWorld(world);
  assert.equal(loaded.ok, true, JSON.stringify(loaded));
  return portal;
}

function assertError(result, code, field) {
  assert.ok(result && result.error, `expected ${code}, got ${JSON.stringify(result)}`);
  assert.equal(result.error.code, code, JSON.stringify(result));
  if (field !== undefined) assert.equal(result.error.field, field, JSON.stringify(result));
  assert.ok(result.error.message.length > 0);
}

test('review: the operator sees the routing-filter alert and the evaluation at submission', async (t) => {
  const portal = await portalAs(t, 'review-op', OPERATOR);
  const r = portal.review('R-nv');
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal(r.return_id, 'R-nv');
  assert.equal(r.at_submission, true);
  assert.equal(r.evaluated_at, T0 + 30 * HOUR);
  assert.deepEqual(Object.keys(r).sort(), ['at_submission', 'evaluated_at', 'evaluation', 'evidence', 'ok', 'return_id']);
  assert.equal(r.evidence.reason, 'out_of_service_area');
  assert.equal(r.evidence.verdict, 'supports');
  assert.equal(r.evidence.code, 'outside_coverage');
  assert.equal(r.evidence.routing_alert, true);
  assert.equal(r.evaluation.decision, 'manual_review');  // 30 h: past the 24 h rule
  assert.equal(r.evaluation.rule, '');
  assert.equal(r.evaluation.deadline, T0 + 168 * HOUR);
  assert.equal(r.evaluation.explanation.length, r.evaluation.checks.length);
  assert.ok(r.evaluation.explanation.some((s) => /30 h/.test(s)), JSON.stringify(r.evaluation.explanation));
});

test('review: the evidence is what the buyer preview showed, per reason', async (t) => {
  const op = await portalAs(t, 'review-op2', OPERATOR);
  const buyer = await portalAs(t, 'review-buyer', BUYER);
  const want = {
    'R-solar': ['wrong_vertical', 'supports', false],
    'R-dup': ['duplicate', 'supports', false],
    'R-tcpa': ['tcpa_risk', 'supports', false],
    'R-auto': ['bad_contact', 'none', false],
    'R-nv': ['out_of_service_area', 'supports', true],
  };
  for (const [id, [reason, verdict, alert]] of Object.entries(want)) {
    const r = op.review(id);
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.deepEqual([r.evidence.reason, r.evidence.verdict, r.evidence.routing_alert], [reason, verdict, alert], id);
    // The buyer's preview of the same lead and reason (a new draft id) shows the same evidence.
    const leadId = returns.find((x) => x.id === id).lead_id;
    const pv = buyer.preview({ return_id: `new-${id}`, lead_id: leadId, reason });
    assert.deepEqual(r.evidence, pv.evidence, id);
    // The owning buyer may review too, and sees the same answer.
    assert.deepEqual(buyer.review(id), r, id);
  }
  // The auto-accepted return: still auto-accepted at its submission, under the current policy.
  const auto = op.review('R-auto');
  assert.equal(auto.evaluation.decision, 'auto_accept');
  assert.equal(auto.evaluation.rule, 'within_24h');
  assert.equal(auto.evaluated_at, T0 + 5 * HOUR);
});

test('review: a draft is evaluated now; another buyer is FORBIDDEN; bad input is typed', async (t) => {
  const op = await portalAs(t, 'review-op3', OPERATOR);
  const d = op.review('R-draft');
  assert.equal(d.ok, true, JSON.stringify(d));
  assert.equal(d.at_submission, false);
  assert.equal(d.evaluated_at, NOW);
  assert.equal(d.evaluation.decision, 'manual_review');  // 72 h after delivery
  assertError(op.review('R-404'), 'RETURN_NOT_FOUND', 'return_id');
  assertError(op.review(''), 'INVALID_ID', 'return_id');
  assertError(op.review('bad id!'), 'INVALID_ID', 'return_id');

  const other = await portalAs(t, 'review-b2', { role: 'buyer', subject: 'b2', buyer_id: 'B2' });
  assertError(other.review('R-nv'), 'FORBIDDEN', 'return_id');
  assert.equal(other.review('Q1').ok, true);

  const nobody = await portalAs(t, 'review-nobody', null);
  assertError(nobody.review('R-nv'), 'UNAUTHORIZED', 'actor');

  // The raw module checks the clock; a closed portal answers BAD_TRANSITION.
  const raw = new Module.Portal();
  assert.equal(JSON.parse(raw.open(JSON.stringify({ db: ':memory:', client_id: 'rv-raw', actor: OPERATOR }))).ok, true);
  assertError(JSON.parse(raw.review('R-nv', Number.NaN)), 'INVALID_TIME', 'now');
  assertError(JSON.parse(raw.review('R-nv', NOW)), 'RETURN_NOT_FOUND', 'return_id');
  raw.close();
  assertError(JSON.parse(raw.review('R-nv', NOW)), 'BAD_TRANSITION');
  raw.delete();
  const closed = await createPortal({ name: 'review-closed', storage: 'memory', module: Module, leader: false,
                                      actor: OPERATOR });
  await closed.close();
  assertError(closed.review('R-nv'), 'BAD_TRANSITION');
});

test('review uses the server clock and the counts of the submission', () => {
  const p = new Module.Portal();
  const j = (text) => JSON.parse(text);
  assert.equal(j(p.open(JSON.stringify({ db: ':memory:', client_id: 'rv-clock' }))).ok, true);
  assert.equal(JSON.parse(j(p.connected(NOW)).frame).type, 'hello');
  // The device clock is 5 days behind the server: a draft is evaluated on the server's clock.
  const welcome = { type: 'welcome', server_time: NOW + 5 * DAY, last_seq: 0, cursor: 0, principal: OPERATOR };
  assert.equal(j(p.frame(JSON.stringify(welcome), NOW)).ok, true);
  assert.equal(j(p.loadWorld(JSON.stringify(world))).ok, true);
  const d = j(p.review('R-draft', NOW));
  assert.equal(d.evaluated_at, NOW + 5 * DAY);
  assert.equal(d.evaluation.decision, 'refused');
  assert.equal(d.evaluation.refusal, 'WINDOW_CLOSED');
  // A pending accept of R-nv makes L-nv RETURNED on the view; R-nv's evaluation is unchanged.
  const before = j(p.review('R-nv', NOW));
  assert.equal(j(p.enqueue('accept_return', '{"return_id":"R-nv"}', NOW)).ok, true);
  assert.deepEqual(j(p.review('R-nv', NOW)), before);
  p.delete();
});

test('status: server_now is the local clock corrected by the welcome offset', () => {
  const p = new Module.Portal();
  const j = (text) => JSON.parse(text);
  assert.equal(j(p.open(JSON.stringify({ db: ':memory:', client_id: 'st-clock' }))).ok, true);
  let st = j(p.status(NOW));
  assert.equal(st.server_now, NOW);
  assert.equal(st.clock_offset_ms, 0);
  assert.equal(j(p.connected(NOW)).ok, true);
  const welcome = { type: 'welcome', server_time: NOW + HOUR, last_seq: 0, cursor: 0, principal: OPERATOR };
  assert.equal(j(p.frame(JSON.stringify(welcome), NOW)).ok, true);
  st = j(p.status(NOW));
  assert.equal(st.clock_offset_ms, HOUR);
  assert.equal(st.server_now, NOW + HOUR);
  st = j(p.status(NOW + 1234));
  assert.equal(st.server_now, NOW + HOUR + 1234);
  // A pong refines it: sent at NOW, answered at NOW + 200 with the server at NOW + 2 h + 100.
  assert.equal(j(p.frame(JSON.stringify({ type: 'pong', t: NOW, server_time: NOW + 2 * HOUR + 100 }), NOW + 200)).ok, true);
  assert.equal(j(p.status(NOW + 200)).clock_offset_ms, 2 * HOUR);  // NOW + 2 h + 100 − (NOW + NOW + 200) / 2
  assert.equal(j(p.status(NOW + 200)).server_now, NOW + 2 * HOUR + 200);
  assertError(j(p.status(-1)), 'INVALID_TIME', 'now');
  p.delete();
});

test('status through the portal: server_now follows the portal clock', async (t) => {
  const portal = await portalAs(t, 'review-status', OPERATOR);
  const st = portal.status();
  assert.equal(st.ok, true);
  assert.equal(st.server_now, NOW);
  assert.equal(st.clock_offset_ms, 0);
});

// deadlines(leadIds): the window end of each lead from the core (return_deadline), equal to the
// deadline preview reports; null for leads the replica lacks; bad input typed.
test('deadlines: one call for a list, the same instant preview reports', async (t) => {
  const portal = await portalAs(t, 'deadlines-buyer', BUYER);
  const d = portal.deadlines(['L-nv', 'L-dup0', 'L-nowhere']);
  assert.equal(d.ok, true, JSON.stringify(d));
  assert.deepEqual(d.deadlines, { 'L-nv': T0 + 168 * HOUR, 'L-dup0': T0 - DAY + 168 * HOUR, 'L-nowhere': null });
  const p = portal.preview({ return_id: 'R-new-1', lead_id: 'L-draft', reason: 'bad_contact' });
  assert.equal(portal.deadlines(['L-draft']).deadlines['L-draft'], p.evaluation.deadline);
  assert.deepEqual(portal.deadlines([]), { ok: true, deadlines: {} });
  assertError(portal.deadlines('L-nv'), 'BAD_TYPE', 'lead_ids');
  assertError(portal.deadlines(['L-nv', 7]), 'BAD_TYPE', 'lead_ids[1]');
  const raw = new Module.Portal();
  assertError(JSON.parse(raw.deadlines('[', NOW)), 'BAD_TRANSITION');  // not open
  raw.delete();
});
