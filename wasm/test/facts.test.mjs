// facts.test.mjs — the portal previews on the decision facts the server ships
// (docs/decision-facts.md), not on a recount of the leads it holds: the trailing rate and the
// daily auto-accepts come from `buyer_day` rows, the duplicate verdict from the lead's
// `earlier_delivery` flag; live frames and a reset update them; pending ops count on top; the
// preview carries its facts and their digest, and explainDecision says what changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { importPackage } from './support.mjs';

const { loadModule } = await importPackage();
const Module = await loadModule();
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2024, 2, 1, 12);
const TODAY = Math.floor(NOW / DAY);
const buyer = { id: 'B1', name: 'Acme', billing: 'prepaid',
                policy: { mode: 'rules', window_hours: 168, cap_rate: 0.2,
                          rules: [{ id: 'daily', max_age_hours: 24, max_auto_per_day: 2 }] } };
const campaign = { id: 'C1', buyer_id: 'B1', vertical: 'mva', price_cents: 5000 };
const lead = (id, hoursAgo, extra = {}) => ({
  id, buyer_id: 'B1', campaign_id: 'C1', vertical: 'mva', state: 'TX', zip: '75001',
  contact_hash: `h-${id}`, price_cents: 5000, delivered_at: NOW - hoursAgo * HOUR, status: 'ACCEPTED',
  ...extra });
const day = (d, sold, returned, auto = {}) =>
  ({ id: `B1:${d}`, buyer_id: 'B1', day: d, sold, returned, auto_accepted: auto });

const j = (text) => JSON.parse(text);

function livePortal(name) {
  const p = new Module.Portal();
  assert.equal(j(p.open(JSON.stringify({ db: ':memory:', client_id: name }))).ok, true);
  assert.equal(JSON.parse(j(p.connected(NOW)).frame).type, 'hello');
  const welcome = { type: 'welcome', server_time: NOW, last_seq: 0, cursor: 0,
                    principal: { role: 'buyer', subject: 'B1', buyer_id: 'B1' } };
  assert.equal(j(p.frame(JSON.stringify(welcome), NOW)).ok, true);
  return p;
}

function feeder(p) {
  let v = 0;
  return (rows) => {
    const from = v;
    const items = rows.map(([entity, data]) => ({ v: ++v, entity, id: data.id, data }));
    const r = j(p.frame(JSON.stringify({ type: 'changes', from, to: v, items }), NOW));
    assert.equal(r.ok, true, JSON.stringify(r));
  };
}

const preview = (p, leadId, reason = 'bad_contact') =>
  j(p.preview(JSON.stringify({ return_id: `R-${leadId}`, lead_id: leadId, reason }), NOW));

test('the trailing rate and the daily count come from buyer_day rows, not the leads held', () => {
  const p = livePortal('facts-1');
  const send = feeder(p);
  // Two leads in the window, but 100 sold and 15 returned over the last 30 days.
  send([['buyer', buyer], ['campaign', campaign], ['lead', lead('L1', 2)], ['lead', lead('L2', 3)],
        ['buyer_day', day(TODAY - 20, 60, 10)], ['buyer_day', day(TODAY - 1, 38, 5)],
        ['buyer_day', day(TODAY, 2, 0)], ['buyer_day', day(TODAY - 40, 500, 400)]]);
  let pv = preview(p, 'L1');
  assert.deepEqual(pv.facts.trailing_30d, { returned: 15, accepted: 100 });  // day −40 is out
  assert.deepEqual(pv.facts.auto_accepted_today, { daily: 0 });
  assert.equal(pv.evaluation.decision, 'auto_accept');
  assert.match(pv.facts_digest, /^[0-9a-f]{16}$/);

  // A live frame: the rate crosses the 20 % cap.
  send([['buyer_day', day(TODAY - 1, 38, 11)]]);
  pv = preview(p, 'L1');
  assert.deepEqual(pv.facts.trailing_30d, { returned: 21, accepted: 100 });
  assert.equal(pv.evaluation.decision, 'manual_review');
  assert.equal(pv.evaluation.checks.at(-1).check, 'cap_rate');

  // Back below the cap, but the rule has auto-accepted twice today: its daily limit.
  send([['buyer_day', day(TODAY - 1, 38, 5)], ['buyer_day', day(TODAY, 2, 0, { daily: 2 })]]);
  pv = preview(p, 'L1');
  assert.deepEqual(pv.facts.auto_accepted_today, { daily: 2 });
  assert.equal(pv.evaluation.decision, 'manual_review');
  assert.match(pv.evaluation.explanation.join(' '), /daily limit is 2/);
  p.delete();
});

test('a pending submit the policy auto-accepts counts as the server will count it', async () => {
  const p = livePortal('facts-2');
  const send = feeder(p);
  send([['buyer', buyer], ['campaign', campaign], ['lead', lead('L1', 2)], ['lead', lead('L2', 3)],
        ['buyer_day', day(TODAY, 2, 0)]]);
  assert.equal(preview(p, 'L2').facts.trailing_30d.returned, 0);
  const r = j(p.submit('R-L1', NOW));
  assert.equal(r.error?.code, 'RETURN_NOT_FOUND');  // no draft yet: enqueue a submit directly
  assert.equal(j(p.enqueue('submit_return', JSON.stringify({ return_id: 'R-L1', lead_id: 'L1', reason: 'tcpa_risk' }), NOW)).ok, true);
  const pv = preview(p, 'L2');
  assert.deepEqual(pv.facts.trailing_30d, { returned: 1, accepted: 2 });
  assert.deepEqual(pv.facts.auto_accepted_today, { daily: 1 });
  p.delete();
});

test('the duplicate verdict reads the lead flag the server set', () => {
  const p = livePortal('facts-3');
  const send = feeder(p);
  // The earlier delivery of this contact is outside the window: the portal never holds it.
  send([['buyer', buyer], ['campaign', campaign],
        ['lead', lead('L1', 2, { contact_hash: 'same', earlier_delivery: true })],
        ['lead', lead('L2', 3, { contact_hash: 'same' })]]);
  assert.equal(preview(p, 'L1', 'duplicate').evidence.verdict, 'supports');
  assert.equal(preview(p, 'L1', 'duplicate').facts.earlier_delivery, true);
  // L2 has the same contact and is earlier, but the server says it is the first delivery.
  assert.equal(preview(p, 'L2', 'duplicate').evidence.verdict, 'cannot_verify');
  p.delete();
});

test('a reset drops the facts with the rows', () => {
  const p = livePortal('facts-4');
  const send = feeder(p);
  send([['buyer', buyer], ['campaign', campaign], ['lead', lead('L1', 2)],
        ['buyer_day', day(TODAY, 50, 40)]]);
  assert.equal(preview(p, 'L1').facts.trailing_30d.accepted, 50);
  assert.equal(j(p.frame(JSON.stringify({ type: 'reset', head: 9 }), NOW)).ok, true);
  p.connected(NOW);
  const welcome = { type: 'welcome', server_time: NOW, last_seq: 0, cursor: 0,
                    principal: { role: 'buyer', subject: 'B1', buyer_id: 'B1' } };
  assert.equal(j(p.frame(JSON.stringify(welcome), NOW)).ok, true);
  const again = feeder(p);
  again([['buyer', buyer], ['campaign', campaign], ['lead', lead('L1', 2)],
         ['buyer_day', day(TODAY, 3, 0)]]);
  assert.equal(preview(p, 'L1').facts.trailing_30d.accepted, 3);
  p.delete();
});

test('explainDecision names what changed between the preview and the decision', () => {
  const p = livePortal('facts-5');
  const send = feeder(p);
  send([['buyer', buyer], ['campaign', campaign], ['lead', lead('L1', 2)],
        ['buyer_day', day(TODAY, 811, 120)]]);
  const pv = preview(p, 'L1');
  const decided = { outcome: 'manual_review', rule: '', credit_cents: 0,
                    facts: { ...pv.facts, trailing_30d: { returned: 131, accepted: 812 } } };
  const e = j(p.explainDecision(JSON.stringify(pv.facts), JSON.stringify(decided)));
  assert.equal(e.ok, true, JSON.stringify(e));
  assert.equal(e.same_facts, false);
  assert.deepEqual(e.sentences,
    ['Your 30-day return rate rose from 14.7 % (120 of 811) to 16.1 % (131 of 812) since the preview.']);
  const same = j(p.explainDecision(JSON.stringify(pv.facts), JSON.stringify({ ...decided, facts: pv.facts })));
  assert.equal(same.same_facts, true);
  assert.deepEqual(same.sentences, []);
  assert.equal(same.facts_digest, pv.facts_digest);
  const bad = j(p.explainDecision(JSON.stringify(pv.facts), JSON.stringify({ outcome: 'maybe', facts: pv.facts })));
  assert.equal(bad.error.code, 'INVALID_ENUM');
  p.delete();
});
