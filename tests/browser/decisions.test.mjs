// decisions.test.mjs — preview = decision against a real `returnsd --demo`, through the wasm
// package under Node (docs/decision-facts.md). For every demo buyer — always-accept under a cap
// rate, manual review, rules with reasons, price, rate and daily limits, the default policy — the
// platform delivers fresh leads that exercise the evidence (an earlier delivery of the contact
// outside the window, a TCPA flag, outside the coverage, another vertical) and the rules (age,
// price); each is previewed in the buyer's portal and then submitted, and the server's decision
// must equal the preview: outcome, rule, credit, evidence, and the very facts it read.
// Then a return accepted, reopened and rejected ends ACCEPTED in the buyer's replica — live and
// in a fresh catch-up — for a lead inside the window and one whose window closed meanwhile.
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { startServer, tempDir, until, PKG_DIR } from './harness.mjs';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const { createPortal, newReturnId, isError } = await import(pathToFileURL(path.join(PKG_DIR, 'index.mjs')).href);

// The demo's buyers: campaign, a state inside and one outside their coverage.
const BUYERS = {
  'apex-injury': { campaign: 'apex-mva-tx', vertical: 'mva', inside: 'TX', outside: 'NY', price: 12500 },
  'sunrise-solar': { campaign: 'sunrise-solar-ca', vertical: 'solar', inside: 'CA', zip: '90210', outside: 'TX', price: 5500 },
  'harbor-medicare': { campaign: 'harbor-medicare-aep', vertical: 'medicare', inside: 'FL', outside: 'NY', price: 2800 },
  'keystone-roofing': { campaign: 'keystone-storm-roof', vertical: 'roofing', inside: 'TX', outside: 'CA', price: 4500 },
  'liberty-legal': { campaign: 'liberty-mva-ny', vertical: 'mva', inside: 'NY', outside: 'TX', price: 15000 },
  'evergreen-health': { campaign: 'evergreen-medicare', vertical: 'medicare', inside: 'FL', outside: 'NY', price: 2400 },
  'northstar-home': { campaign: 'northstar-roof', vertical: 'roofing', inside: 'MN', outside: 'TX', price: 4200 },
  // Nationwide: nothing is outside its coverage (the evidence says so).
  'pinnacle-auto': { campaign: 'pinnacle-auto-quotes', vertical: 'auto_insurance', inside: 'TX', outside: 'NY', price: 1800 },
};

async function post(server, route, body, token) {
  const res = await fetch(`${server.base}${route}`, {
    method: 'POST', body: JSON.stringify(body),
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
  });
  return { status: res.status, json: await res.json() };
}

// An operator over a raw socket (no replica: the demo's catch-up is skipped), pushing ops.
async function operatorSocket(server) {
  const ws = new WebSocket(`${server.base.replace(/^http/, 'ws')}/v1/sync`);
  const frames = [];
  ws.onmessage = (ev) => frames.push(JSON.parse(ev.data));
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
  ws.send(JSON.stringify({ type: 'hello', proto: 1, token: server.login('operator').token,
                           client_id: `op-decisions-${newReturnId().slice(0, 8)}`, cursor: 0, last_seq: 0 }));
  await until(() => frames.some((f) => f.type === 'synced'), 'the operator to sync', 60_000);
  let seq = 0;
  return {
    async op(op, args) {
      const mine = ++seq;
      ws.send(JSON.stringify({ type: 'push', ops: [{ seq: mine, op, args, client_time: Date.now() }] }));
      const r = await until(() => frames.find((f) => f.type === 'result' && f.seq === mine), `${op} answered`);
      assert.equal(r.status, 'applied', `${op}: ${JSON.stringify(r)}`);
      return r;
    },
    close: () => ws.close(),
  };
}

async function buyerPortal(server, buyerId, name) {
  const portal = await createPortal({
    name, storage: 'memory', leader: false, url: `${server.base.replace(/^http/, 'ws')}/v1/sync`,
    token: server.login('buyer', buyerId).token,
  });
  await until(() => portal.status().phase === 'live', `${buyerId} to sync`, 60_000);
  return portal;
}

// Previews a return of `lead` in the buyer's portal, submits it, and checks that the server's
// decision equals the preview: outcome, rule, credit, evidence and the facts it read. Returns the
// preview's deciding check (or null when the preview refused it and nothing was submitted).
async function previewThenSubmit(portal, lead, reason, note, seen, who) {
  const draft = { return_id: newReturnId(), lead_id: lead.id, reason, note };
  const pv = portal.preview(draft);
  assert.ok(!isError(pv) && pv.facts, JSON.stringify(pv));
  if (!pv.validation.ok) return null;  // e.g. the cool-off: nothing to compare
  const answered = new Promise((resolve) => {
    const off = portal.on('result', (r) => { if (r.return_id === draft.return_id) { off(); resolve(r); } });
  });
  assert.equal(isError(await portal.enqueue('submit_return', draft)), false);
  const r = await answered;
  assert.equal(r.applied, true, JSON.stringify(r));
  const d = r.decision;
  const what = `${who} ${lead.id} ${reason}`;
  assert.equal(d.outcome, pv.evaluation.decision, what);
  assert.equal(d.rule, pv.evaluation.rule, what);
  assert.equal(d.credit_cents, pv.evaluation.decision === 'auto_accept' ? lead.price_cents : 0, what);
  assert.deepEqual(d.evidence, pv.evidence ? { verdict: pv.evidence.verdict, code: pv.evidence.code } : undefined, what);
  assert.deepEqual(d.facts, pv.facts, what);
  assert.equal(d.facts_digest, pv.facts_digest, what);
  const check = pv.evaluation.checks.at(-1).check.replace(/^rule:.*/, 'rule');
  seen.outcomes.add(d.outcome);
  seen.checks.add(check);
  seen.compared++;
  if (pv.evidence) seen.evidence.add(pv.evidence.code);
  // Its effects are in the replica before the next preview reads the facts.
  await until(() => portal.status().cursor >= r.version, 'the effects to arrive');
  return { check, outcome: d.outcome, explanation: pv.evaluation.explanation.join(' ') };
}

test('preview = decision for every demo buyer, and reopen → reject ends ACCEPTED', { timeout: 300_000 }, async (t) => {
  const server = await startServer({ dir: tempDir(t, 'decisions-test-') });
  t.after(() => server.stop());
  const opToken = server.login('operator').token;
  const logins = server.logins.filter((l) => l.role === 'buyer');
  assert.deepEqual(logins.map((l) => l.buyer_id).sort(), Object.keys(BUYERS).sort(), 'the demo buyers');
  const seen = { outcomes: new Set(), checks: new Set(), evidence: new Set(), modes: new Set(), compared: 0 };

  for (const { buyer_id: buyerId } of logins) {
    await t.test(buyerId, async () => {
      const b = BUYERS[buyerId];
      const portal = await buyerPortal(server, buyerId, `decisions-${buyerId}`);
      try {
        const buyer = portal.rows('buyer')[0];
        seen.modes.add(buyer.policy.mode);
        const { inside, outside } = b;
        const tag = newReturnId().slice(0, 6);
        const now = portal.status().server_now;
        const lead = (id, extra) => ({
          id: `L-dc-${buyerId}-${id}-${tag}`, buyer_id: buyerId, supplier_id: 'redline-traffic', campaign_id: b.campaign,
          vertical: b.vertical, state: inside, zip: b.zip ?? '', contact_hash: `h-${id}-${tag}`, tcpa_flag: false,
          price_cents: b.price, cost_cents: Math.floor(b.price / 2), delivered_at: now - 2 * HOUR, ...extra,
        });
        // An earlier delivery of the same contact, outside every window: the buyer never holds it.
        const earlier = lead('first', { contact_hash: `h-dup-${tag}`, delivered_at: now - 20 * DAY });
        const cases = [
          { lead: lead('fresh'), reason: 'bad_contact' },
          { lead: lead('dup', { contact_hash: `h-dup-${tag}` }), reason: 'duplicate' },
          { lead: lead('tcpa', { tcpa_flag: true }), reason: 'tcpa_risk' },
          { lead: lead('notcpa'), reason: 'tcpa_risk' },
          { lead: lead('away', { state: outside, zip: '' }), reason: 'out_of_service_area' },
          { lead: lead('vertical', { vertical: 'solar' === b.vertical ? 'mva' : 'solar' }), reason: 'wrong_vertical' },
          { lead: lead('pricey', { price_cents: 90_000 }), reason: 'bad_contact' },
          { lead: lead('older', { delivered_at: now - 30 * HOUR }), reason: 'other', note: 'The caller says they never asked.' },
        ];
        const ingest = await post(server, '/v1/leads', [earlier, ...cases.map((c) => c.lead)], opToken);
        assert.equal(ingest.status, 200, JSON.stringify(ingest.json));
        await until(() => cases.every((c) => portal.lead(c.lead.id)), 'the leads to arrive');
        assert.equal(portal.lead(earlier.id), null, 'the earlier delivery is outside the window');

        for (const c of cases) {
          await previewThenSubmit(portal, c.lead, c.reason, c.note, seen, buyerId);
        }
      } finally {
        await portal.close();
      }
    });
  }
  t.diagnostic(`${seen.compared} submits compared; decided by ${[...seen.checks]}; evidence ${[...seen.evidence]}`);
  assert.ok(seen.compared >= 7 * logins.length, `only ${seen.compared} submits compared`);
  assert.deepEqual([...seen.modes].sort(), ['always_accept', 'manual', 'rules']);
  assert.deepEqual([...seen.outcomes].sort(), ['auto_accept', 'manual_review']);
  for (const check of ['mode', 'rule', 'rules']) assert.ok(seen.checks.has(check), `no decision by ${check}: ${[...seen.checks]}`);
  for (const code of ['earlier_delivery', 'tcpa_flagged', 'tcpa_not_flagged', 'outside_coverage', 'vertical_mismatch']) {
    assert.ok(seen.evidence.has(code), `no ${code} evidence: ${[...seen.evidence]}`);
  }

  await t.test('policies that read every fact: cap rate, trailing rate, daily limit', async () => {
    const operator = await operatorSocket(server);
    const buyerId = 'apex-injury';
    const b = BUYERS[buyerId];
    const portal = await buyerPortal(server, buyerId, 'decisions-policies');
    try {
      const tag = newReturnId().slice(0, 6);
      let n = 0;
      const fresh = async () => {
        const l = {
          id: `L-pol-${++n}-${tag}`, buyer_id: buyerId, supplier_id: 'redline-traffic', campaign_id: b.campaign,
          vertical: b.vertical, state: b.inside, zip: '', contact_hash: `h-pol-${n}-${tag}`, tcpa_flag: false,
          price_cents: b.price, cost_cents: 1000, delivered_at: portal.status().server_now - HOUR,
        };
        assert.equal((await post(server, '/v1/leads', [l], opToken)).status, 200);
        await until(() => portal.lead(l.id), 'the lead to arrive');
        return l;
      };
      const setPolicy = async (policy) => {
        await operator.op('set_policy', { buyer_id: buyerId, policy });
        await until(() => JSON.stringify(portal.rows('buyer')[0].policy.rules) === JSON.stringify(policy.rules ?? []) &&
                          portal.rows('buyer')[0].policy.cap_rate === policy.cap_rate, 'the policy to arrive');
      };
      // A cap below the buyer's 30-day rate: review, whatever the rules say.
      await setPolicy({ mode: 'rules', window_hours: 168, cap_rate: 0.0001, rules: [{ id: 'any', max_age_hours: 24 }] });
      let got = await previewThenSubmit(portal, await fresh(), 'bad_contact', undefined, seen, buyerId);
      assert.deepEqual([got.check, got.outcome], ['cap_rate', 'manual_review'], got.explanation);
      // A rule limited to a trailing rate below the buyer's: the rule does not apply.
      await setPolicy({ mode: 'rules', window_hours: 168, rules: [{ id: 'low_rate', max_age_hours: 24, max_return_rate: 0.0001 }] });
      got = await previewThenSubmit(portal, await fresh(), 'bad_contact', undefined, seen, buyerId);
      assert.deepEqual([got.check, got.outcome], ['rules', 'manual_review'], got.explanation);
      assert.match(got.explanation, /30-day return rate/);
      // A daily limit of one: the first auto-accepts, the second goes to review.
      await setPolicy({ mode: 'rules', window_hours: 168, rules: [{ id: 'once_a_day', max_age_hours: 24, max_auto_per_day: 1 }] });
      got = await previewThenSubmit(portal, await fresh(), 'bad_contact', undefined, seen, buyerId);
      assert.deepEqual([got.check, got.outcome], ['rule', 'auto_accept'], got.explanation);
      got = await previewThenSubmit(portal, await fresh(), 'bad_contact', undefined, seen, buyerId);
      assert.deepEqual([got.check, got.outcome], ['rules', 'manual_review'], got.explanation);
      assert.match(got.explanation, /daily limit is 1/);
    } finally {
      await portal.close();
      operator.close();
    }
  });

  await t.test('reopen → reject ends ACCEPTED in the buyer replica, inside and past the window', async () => {
    const operator = await operatorSocket(server);
    const buyerId = 'harbor-medicare';  // manual review, 72 h window
    const b = BUYERS[buyerId];
    const portal = await buyerPortal(server, buyerId, 'decisions-reopen');
    try {
      const now = portal.status().server_now;
      const tag = newReturnId().slice(0, 6);
      const mk = (id, deliveredAt) => ({
        id: `L-ro-${id}-${tag}`, buyer_id: buyerId, supplier_id: 'redline-traffic', campaign_id: b.campaign,
        vertical: b.vertical, state: b.inside, zip: '', contact_hash: `h-ro-${id}-${tag}`, tcpa_flag: false,
        price_cents: b.price, cost_cents: 1000, delivered_at: deliveredAt,
      });
      const inWindow = mk('in', now - 2 * HOUR);
      const closing = mk('closing', now - 72 * HOUR + 15_000);  // its window closes in 15 s
      assert.equal((await post(server, '/v1/leads', [inWindow, closing], opToken)).status, 200);
      await until(() => portal.lead(inWindow.id) && portal.lead(closing.id), 'the leads to arrive');
      const ids = {};
      for (const l of [inWindow, closing]) {
        ids[l.id] = newReturnId();
        assert.equal(isError(await portal.enqueue('submit_return', { return_id: ids[l.id], lead_id: l.id, reason: 'bad_contact' })), false);
        await until(() => portal.row('return', ids[l.id]).row?.state === 'pending', 'the return to be pending');
        await operator.op('accept_return', { return_id: ids[l.id] });
        await until(() => portal.lead(l.id)?.status === 'RETURNED', `${l.id} RETURNED`);
      }
      // The window of `closing` ends; then both are reopened and rejected.
      await until(() => server.now() > closing.delivered_at + 72 * HOUR + 1000, 'the window to close', 30_000, 200);
      for (const l of [inWindow, closing]) {
        await operator.op('reopen_return', { return_id: ids[l.id], note: 'Checked again.' });
        await operator.op('reject_return', { return_id: ids[l.id], note: 'The contact answered our call.' });
        await until(() => portal.lead(l.id)?.status === 'ACCEPTED', `${l.id} ACCEPTED live`);
        await until(() => portal.row('return', ids[l.id]).row?.state === 'rejected', 'the return rejected');
      }
      // A fresh catch-up of the buyer ends in the same state.
      const fresh = await buyerPortal(server, buyerId, 'decisions-reopen-fresh');
      try {
        for (const l of [inWindow, closing]) assert.equal(fresh.lead(l.id)?.status, 'ACCEPTED', `${l.id} after catch-up`);
      } finally {
        await fresh.close();
      }
    } finally {
      await portal.close();
      operator.close();
    }
  });
});
