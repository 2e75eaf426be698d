// whatif.test.mjs — the operator dashboard's two calls through the whole package: whatIf (a
// buyer's past returns, rebuilt from the replica by shared/core/return_history, replayed by the
// core's what_if under an edited policy) and checkOp (a dry run of enqueue on the optimistic
// view). A hand-built history with every kind of past return — auto-accepted, accepted by an
// operator with partial credit, auto-accepted then reopened, rejected, withdrawn, refused with
// WINDOW_CLOSED and kept as a draft, never submitted, older than the period, another buyer's —
// and exact expected decisions and counts; then every bad input's typed error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { importPackage } from './support.mjs';

const { loadModule, createPortal } = await importPackage();
const Module = await loadModule();

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2024, 2, 20, 12);  // the portal's clock (no server: offset 0)
const at = (days, hours = 0) => NOW - days * DAY + hours * HOUR;
const OPERATOR = { role: 'operator', subject: 'op-alice' };

const currentPolicy = { mode: 'rules', window_hours: 168, min_age_hours: 0,
                        rules: [{ id: 'within_24h', max_age_hours: 24 }] };
const buyers = [
  { id: 'B1', name: 'Acme Law', billing: 'prepaid', policy: currentPolicy },
  { id: 'B2', name: 'Other', billing: 'net_terms' },
];
const campaigns = [{ id: 'C1', buyer_id: 'B1', vertical: 'mva', price_cents: 5000 },
                   { id: 'C2', buyer_id: 'B2', vertical: 'mva', price_cents: 5000 }];
const lead = (id, delivered, { buyer = 'B1', price = 5000, status = 'ACCEPTED' } = {}) => ({
  id, buyer_id: buyer, campaign_id: buyer === 'B1' ? 'C1' : 'C2', supplier_id: 'S1', vertical: 'mva',
  state: 'TX', zip: '75001', contact_hash: `h-${id}`, price_cents: price, cost_cents: 2000,
  delivered_at: delivered, status });
const leads = [
  lead('L6', at(40), { status: 'RETURNED' }),
  lead('L7', at(20)),
  lead('L1', at(10), { status: 'RETURNED' }),
  lead('L2', at(11, 1), { status: 'RETURNED' }),
  lead('L3', at(9)),
  lead('L4', at(5), { price: 8000 }),
  lead('L5', at(3)),
  lead('M1', at(2), { buyer: 'B2' }),
];
const ret = (id, leadId, state, extra = {}) => ({
  id, lead_id: leadId, buyer_id: leadId === 'M1' ? 'B2' : 'B1', reason: 'bad_contact', note: '', state,
  drafted_at: 0, updated_at: extra.submitted_at ?? 0, accept_count: 0, ...extra });
const decision = (by, when, credit = 0) => ({ by, at: when, note: '', credit_cents: credit });
const returns = [
  // Auto-accepted 5 h after delivery.
  ret('R1', 'L1', 'accepted', { submitted_at: at(10, 5), accept_count: 1,
                                 decision: decision('auto:within_24h', at(10, 5), 5000) }),
  // 30 h after delivery: manual review, accepted by an operator with partial credit.
  ret('R2', 'L2', 'accepted', { submitted_at: at(10, 7), accept_count: 1,
                                 decision: decision('op-alice', at(8), 2000) }),
  // Auto-accepted 2 h after delivery, reopened an hour later: pending, no decision any more.
  ret('R3', 'L3', 'pending', { submitted_at: at(9, 2), updated_at: at(9, 3), accept_count: 1 }),
  // 50 h after delivery: manual review, rejected.
  ret('R4', 'L4', 'rejected', { submitted_at: at(3, 2), decision: decision('op-alice', at(2)) }),
  // Submitted 8 days after delivery: WINDOW_CLOSED, kept as a draft (refused at updated_at).
  ret('R5', 'L7', 'draft', { updated_at: at(12), refusal: 'WINDOW_CLOSED',
                             refusal_message: 'The return window closed.' }),
  // A draft never submitted.
  ret('R6', 'L4', 'draft', { updated_at: at(1) }),
  // 30 h after delivery: manual review, withdrawn by the buyer.
  ret('R8', 'L5', 'withdrawn', { submitted_at: at(2, 6), updated_at: at(1) }),
  // Auto-accepted 40 days ago: outside the default 30-day period.
  ret('R7', 'L6', 'accepted', { submitted_at: at(40, 2), accept_count: 1,
                                 decision: decision('auto:within_24h', at(40, 2), 5000) }),
  // Another buyer's return.
  ret('Q1', 'M1', 'pending', { submitted_at: at(1) }),
];
const entry = (id, returnId, leadId, amount, when, reverses) => ({
  id, kind: 'revenue_reversal', return_id: returnId, lead_id: leadId, buyer_id: 'B1', supplier_id: 'S1',
  amount_cents: amount, at: when, ...(reverses ? { reverses } : {}) });
const ledger = [
  entry('R1#1/revenue_reversal', 'R1', 'L1', -5000, at(10, 5)),
  entry('R2#1/revenue_reversal', 'R2', 'L2', -2000, at(8)),
  entry('R3#1/revenue_reversal', 'R3', 'L3', -5000, at(9, 2)),
  entry('R3#1/revenue_reversal/reversal', 'R3', 'L3', 5000, at(9, 3), 'R3#1/revenue_reversal'),
  entry('R7#1/revenue_reversal', 'R7', 'L6', -5000, at(40, 2)),
];
const world = { buyers, suppliers: [{ id: 'S1', name: 'Supplier' }], campaigns, leads, returns, ledger };

// The edited policy: a 10-day window, auto-accept within 72 h while the trailing rate is below
// `rate`. The rebuilt counts at submission (returned/accepted): R5 1/2, R1 0/3, R2 1/3, R3 1/4,
// R4 2/6, R8 2/6 — so 0.34 lets R2, R4 and R8 through and 0.33 does not.
const edited = (rate) => ({ mode: 'rules', window_hours: 240,
                            rules: [{ id: 'within_72h', max_age_hours: 72, max_return_rate: rate }] });

async function operatorPortal(t, name = 'whatif-op', actor = OPERATOR) {
  const portal = await createPortal({ name, storage: 'memory', module: Module, leader: false,
                                      now: () => NOW, ...(actor ? { actor } : {}) });
  t.after(() => portal.close());
  const loaded = await portal.loadRows(world);
  assert.equal(loaded.ok, true, JSON.stringify(loaded));
  return portal;
}

function assertError(result, code, field) {
  assert.ok(result && result.error, `expected ${code}, got ${JSON.stringify(result)}`);
  assert.equal(result.error.code, code, JSON.stringify(result));
  if (field !== undefined) assert.equal(result.error.field, field, JSON.stringify(result));
  assert.ok(result.error.message.length > 0);
}

const decisions = (report) => Object.fromEntries(report.items.map((i) => [i.return_id, [i.before, i.after, i.rule]]));

test('whatIf: the current policy reproduces every past decision', async (t) => {
  const portal = await operatorPortal(t);
  const w = portal.whatIf('B1', currentPolicy);
  assert.equal(w.ok, true, JSON.stringify(w));
  assert.equal(w.buyer_id, 'B1');
  assert.equal(w.days, 30);
  assert.deepEqual(w.current_policy, currentPolicy);
  // Replay order = submission order; R6 (never submitted), R7 (40 days ago) and Q1 (B2) are out.
  assert.deepEqual(w.report.items.map((i) => i.return_id), ['R5', 'R1', 'R2', 'R3', 'R4', 'R8']);
  assert.deepEqual(decisions(w.report), {
    R5: ['refused', 'refused', ''],
    R1: ['auto_accept', 'auto_accept', 'within_24h'],
    R2: ['manual_review', 'manual_review', ''],
    R3: ['auto_accept', 'auto_accept', 'within_24h'],  // reopened since: the ledger remembers
    R4: ['manual_review', 'manual_review', ''],
    R8: ['manual_review', 'manual_review', ''],
  });
  assert.deepEqual(w.report.summary, { total: 6, auto_accept: 2, manual_review: 3, refused: 1, changed: 0,
                                       auto_accept_cents: 10000 });
});

test('whatIf: an edited policy, decided on the counts the buyer had at each submission', async (t) => {
  const portal = await operatorPortal(t);
  const loose = portal.whatIf('B1', edited(0.34));
  assert.equal(loose.ok, true, JSON.stringify(loose));
  assert.deepEqual(decisions(loose.report), {
    R5: ['refused', 'manual_review', ''],            // inside 10 days, but 192 h old
    R1: ['auto_accept', 'auto_accept', 'within_72h'],
    R2: ['manual_review', 'auto_accept', 'within_72h'],  // 1/3 < 34 %
    R3: ['auto_accept', 'auto_accept', 'within_72h'],
    R4: ['manual_review', 'auto_accept', 'within_72h'],  // 2/6 < 34 %
    R8: ['manual_review', 'auto_accept', 'within_72h'],
  });
  assert.deepEqual(loose.report.summary, { total: 6, auto_accept: 5, manual_review: 1, refused: 0, changed: 4,
                                           auto_accept_cents: 5000 * 4 + 8000 });
  const tight = portal.whatIf('B1', edited(0.33));
  assert.deepEqual(decisions(tight.report), {
    R5: ['refused', 'manual_review', ''],
    R1: ['auto_accept', 'auto_accept', 'within_72h'],
    R2: ['manual_review', 'manual_review', ''],
    R3: ['auto_accept', 'auto_accept', 'within_72h'],  // 1/4: L3's own reopened accept is not counted
    R4: ['manual_review', 'manual_review', ''],
    R8: ['manual_review', 'manual_review', ''],
  });
  assert.deepEqual(tight.report.summary, { total: 6, auto_accept: 2, manual_review: 4, refused: 0, changed: 1,
                                           auto_accept_cents: 10000 });
  const manual = portal.whatIf('B1', { mode: 'manual', window_hours: 168 });
  assert.deepEqual(manual.report.summary, { total: 6, auto_accept: 0, manual_review: 5, refused: 1, changed: 2,
                                            auto_accept_cents: 0 });
  // Nothing was written or queued.
  assert.deepEqual(portal.outbox(), []);
  assert.equal(portal.status().next_seq, 1);
});

test('whatIf: days picks the UTC days of the period', async (t) => {
  const portal = await operatorPortal(t);
  const sixty = portal.whatIf('B1', edited(0.34), 60);
  assert.equal(sixty.days, 60);
  assert.deepEqual(sixty.report.items.map((i) => i.return_id), ['R7', 'R5', 'R1', 'R2', 'R3', 'R4', 'R8']);
  assert.deepEqual(sixty.report.items[0], { return_id: 'R7', before: 'auto_accept', after: 'auto_accept',
                                            rule: 'within_72h' });
  // Today and the two days before: R8 (day −2); R4 was submitted on day −3.
  assert.deepEqual(portal.whatIf('B1', edited(0.34), 3).report.items.map((i) => i.return_id), ['R8']);
  assert.deepEqual(portal.whatIf('B1', edited(0.34), 1).report, {
    items: [], summary: { total: 0, auto_accept: 0, manual_review: 0, refused: 0, changed: 0, auto_accept_cents: 0 } });
  // A buyer with no past returns of its own.
  const other = portal.whatIf('B2', currentPolicy);
  assert.equal(other.ok, true);
  assert.deepEqual(other.report.items.map((i) => i.return_id), ['Q1']);
});

test('whatIf: bad input is a typed error', async (t) => {
  const portal = await operatorPortal(t);
  assertError(portal.whatIf('B9', currentPolicy), 'BUYER_NOT_FOUND', 'buyer_id');
  assertError(portal.whatIf('not an id!', currentPolicy), 'INVALID_ID', 'buyer_id');
  assertError(portal.whatIf(42, currentPolicy), 'BAD_TYPE', 'buyer_id');
  assertError(portal.whatIf(undefined, currentPolicy), 'MISSING_FIELD', 'buyer_id');
  assertError(portal.whatIf('B1'), 'MISSING_FIELD', 'policy');
  assertError(portal.whatIf('B1', 'rules'), 'BAD_TYPE', 'policy');
  assertError(portal.whatIf('B1', { mode: 'rules' }), 'MISSING_FIELD', 'policy.window_hours');
  assertError(portal.whatIf('B1', { mode: 'rules', window_hours: '24' }), 'BAD_TYPE', 'policy.window_hours');
  assertError(portal.whatIf('B1', { mode: 'rules', window_hours: 0 }), 'INVALID_POLICY', 'policy.window_hours');
  assertError(portal.whatIf('B1', { mode: 'often', window_hours: 24 }), 'INVALID_ENUM', 'policy.mode');
  assertError(portal.whatIf('B1', { mode: 'rules', window_hours: 24, windw: 1 }), 'UNKNOWN_FIELD', 'policy.windw');
  assertError(portal.whatIf('B1', { ...edited(1.5) }), 'INVALID_POLICY');
  assertError(portal.whatIf('B1', currentPolicy, '7'), 'BAD_TYPE', 'days');
  assertError(portal.whatIf('B1', currentPolicy, 1.5), 'BAD_TYPE', 'days');
  assertError(portal.whatIf('B1', currentPolicy, 0), 'INVALID_AMOUNT', 'days');
  assertError(portal.whatIf('B1', currentPolicy, 367), 'INVALID_AMOUNT', 'days');
  assertError(portal.whatIf('B1', currentPolicy, -1), 'INVALID_AMOUNT', 'days');
  assertError(portal.whatIf('B1', currentPolicy, 2 ** 40), 'INVALID_AMOUNT', 'days');
  assert.equal(portal.whatIf('B1', currentPolicy, 366).ok, true);
});

test('checkOp: the core refusal on the optimistic view, nothing queued', async (t) => {
  const portal = await operatorPortal(t);
  assert.deepEqual(portal.checkOp('accept_return', { return_id: 'R3' }), { ok: true });
  assert.deepEqual(portal.checkOp('accept_return', { return_id: 'R3', credit_cents: 5000 }), { ok: true });
  assertError(portal.checkOp('accept_return', { return_id: 'R3', credit_cents: 5001 }), 'CREDIT_OUT_OF_RANGE', 'credit_cents');
  // A rejection needs a note: absent, the op's codec refuses it; blank, the core does.
  assertError(portal.checkOp('reject_return', { return_id: 'R3' }), 'MISSING_FIELD', 'args.note');
  assertError(portal.checkOp('reject_return', { return_id: 'R3', note: '' }), 'NOTE_REQUIRED', 'note');
  assertError(portal.checkOp('reject_return', { return_id: 'R3', note: '   ' }), 'NOTE_REQUIRED', 'note');
  assert.deepEqual(portal.checkOp('reject_return', { return_id: 'R3', note: 'Reached on first call.' }), { ok: true });
  assertError(portal.checkOp('accept_return', { return_id: 'R4' }), 'BAD_TRANSITION');  // rejected
  assertError(portal.checkOp('accept_return', { return_id: 'R404' }), 'RETURN_NOT_FOUND');
  assertError(portal.checkOp('set_policy', { buyer_id: 'B1', policy: { mode: 'rules', window_hours: 0 } }),
              'INVALID_POLICY', 'args.policy.window_hours');
  assertError(portal.checkOp('set_policy', { buyer_id: 'B9', policy: currentPolicy }), 'BUYER_NOT_FOUND', 'buyer_id');
  assert.deepEqual(portal.checkOp('set_policy', { buyer_id: 'B1', policy: edited(0.3) }), { ok: true });
  // Operators do not submit.
  assertError(portal.checkOp('submit_return', { return_id: 'R6', lead_id: 'L4', reason: 'bad_contact' }), 'FORBIDDEN');
  assert.deepEqual(portal.outbox(), []);
  assert.equal(portal.status().next_seq, 1);
});

test('checkOp and whatIf read the optimistic view: pending ops of the principal count', () => {
  // The view applies pending ops once a welcome named the principal (docs/sync-engine.md).
  const p = new Module.Portal();
  const j = (text) => JSON.parse(text);
  assert.equal(j(p.open(JSON.stringify({ db: ':memory:', client_id: 'whatif-view' }))).ok, true);
  assert.equal(JSON.parse(j(p.connected(NOW)).frame).type, 'hello');
  const welcome = { type: 'welcome', server_time: NOW, last_seq: 0, cursor: 0, principal: OPERATOR };
  assert.equal(j(p.frame(JSON.stringify(welcome), NOW)).ok, true);
  assert.equal(j(p.loadRows(JSON.stringify(world))).ok, true);
  assert.deepEqual(j(p.checkOp('accept_return', '{"return_id":"R3","credit_cents":1500}', NOW)), { ok: true });
  assert.equal(j(p.enqueue('accept_return', '{"return_id":"R3","credit_cents":1500}', NOW)).ok, true);
  // R3 is accepted on the view now: a second accept is refused, a reopen is fine.
  assertError(j(p.checkOp('accept_return', '{"return_id":"R3"}', NOW)), 'BAD_TRANSITION');
  assert.deepEqual(j(p.checkOp('reopen_return', '{"return_id":"R3"}', NOW)), { ok: true });
  // The pending accept's credit shows in the what-if rows; its decision then stays the same.
  const w = j(p.whatIf(JSON.stringify({ buyer_id: 'B1', policy: currentPolicy }), NOW));
  assert.equal(w.report.summary.changed, 0, JSON.stringify(w));
  assert.equal(j(p.outbox()).length, 1);
  p.delete();
});

test('checkOp: bad input is a typed error', async (t) => {
  const portal = await operatorPortal(t);
  assertError(portal.checkOp('promote_return', { return_id: 'R3' }), 'UNKNOWN_OP', 'op');
  assertError(portal.checkOp('accept_return', [1]), 'BAD_TYPE', 'args');
  assertError(portal.checkOp('accept_return', '{'), 'BAD_JSON');
  assertError(portal.checkOp('accept_return', {}), 'MISSING_FIELD', 'args.return_id');
  assertError(portal.checkOp('accept_return', { return_id: 'R3', credit_cents: '12' }), 'BAD_TYPE', 'args.credit_cents');
  assertError(portal.checkOp('accept_return', { return_id: 'R3', credit_cents: -1 }), 'INVALID_AMOUNT', 'args.credit_cents');
  assertError(portal.checkOp('accept_return', { return_id: 'R3', colour: 'red' }), 'UNKNOWN_FIELD', 'args.colour');
});

test('checkOp acts as the principal: a buyer may not accept; nobody signed in is UNAUTHORIZED', async (t) => {
  const buyer = await operatorPortal(t, 'whatif-buyer', { role: 'buyer', subject: 'b', buyer_id: 'B1' });
  assertError(buyer.checkOp('accept_return', { return_id: 'R3' }), 'FORBIDDEN');
  assert.deepEqual(buyer.checkOp('withdraw_return', { return_id: 'R3' }), { ok: true });
  const nobody = await operatorPortal(t, 'whatif-nobody', null);
  assertError(nobody.checkOp('accept_return', { return_id: 'R3' }), 'UNAUTHORIZED');
});

test('the raw module: JSON text in, explicit clock, typed errors', () => {
  const p = new Module.Portal();
  const j = (text) => JSON.parse(text);
  assert.equal(j(p.open(JSON.stringify({ db: ':memory:', client_id: 'whatif-raw', actor: OPERATOR }))).ok, true);
  assert.equal(j(p.loadRows(JSON.stringify(world))).ok, true);
  const w = j(p.whatIf(JSON.stringify({ buyer_id: 'B1', policy: currentPolicy, days: 30 }), NOW));
  assert.equal(w.report.summary.total, 6);
  // The clock decides the period: a week later R5 … R3 are older than 14 days.
  const later = j(p.whatIf(JSON.stringify({ buyer_id: 'B1', policy: currentPolicy, days: 14 }), NOW + 7 * DAY));
  assert.deepEqual(later.report.items.map((i) => i.return_id), ['R4', 'R8']);
  assertError(j(p.whatIf('{', NOW)), 'BAD_JSON');
  assertError(j(p.whatIf('[]', NOW)), 'BAD_TYPE');
  assertError(j(p.whatIf(JSON.stringify({ buyer_id: 'B1', policy: currentPolicy, colour: 1 }), NOW)), 'UNKNOWN_FIELD', 'colour');
  assertError(j(p.whatIf(JSON.stringify({ buyer_id: 'B1', policy: currentPolicy }), -1)), 'INVALID_TIME', 'now');
  assertError(j(p.whatIf(JSON.stringify({ buyer_id: 'B1', policy: currentPolicy }), 1.5)), 'INVALID_TIME', 'now');
  assert.deepEqual(j(p.checkOp('accept_return', '{"return_id":"R3"}', NOW)), { ok: true });
  assertError(j(p.checkOp('accept_return', '{"return_id":"R3"}', NaN)), 'INVALID_TIME', 'now');
  assertError(j(p.checkOp('accept_return', 'not json', NOW)), 'BAD_JSON');
  assert.equal(j(p.close()).ok, true);
  assertError(j(p.whatIf(JSON.stringify({ buyer_id: 'B1', policy: currentPolicy }), NOW)), 'BAD_TRANSITION');
  assertError(j(p.checkOp('accept_return', '{"return_id":"R3"}', NOW)), 'BAD_TRANSITION');
  p.delete();
});

test('calls on a closed portal are BAD_TRANSITION', async (t) => {
  const portal = await operatorPortal(t, 'whatif-closed');
  await portal.close();
  assertError(portal.whatIf('B1', currentPolicy), 'BAD_TRANSITION');
  assertError(portal.checkOp('accept_return', { return_id: 'R3' }), 'BAD_TRANSITION');
});
