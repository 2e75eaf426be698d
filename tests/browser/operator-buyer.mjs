// operator-buyer.mjs — a buyer, for tests/browser/operator.test.mjs: runs the wasm package under
// Node (run with --experimental-websocket: Node 20 has no global WebSocket otherwise), syncs one
// buyer's replica, has the platform deliver it a fresh lead (POST /v1/leads with the operator's
// token, three hours old on the server's clock), submits a return of that lead, waits for the
// server's result and prints one JSON line {return_id, lead_id, price_cents, applied, code, state}.
//
//   node --experimental-websocket operator-buyer.mjs <pkg dir> <ws url> <buyer token> <mode>
//                                                    <http base> <operator token> <supplier id>
//
// mode `routing`: the lead is outside the buyer's coverage (the core's preview must say the
// evidence raises a routing alert) and is returned as out_of_service_area; `plain`: inside it,
// returned as bad_contact.
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [pkgDir, url, token, mode, base, operatorToken, supplierId] = process.argv.slice(2);
const HOUR = 3_600_000;
const deadline = setTimeout(() => { console.error('operator-buyer: timed out'); process.exit(3); }, 60_000);
const fail = (what) => { console.error(`operator-buyer: ${what}`); process.exit(2); };

const { createPortal, newReturnId, isError } = await import(pathToFileURL(path.join(pkgDir, 'index.mjs')).href);
const portal = await createPortal({ name: 'operator-test-buyer', storage: 'memory', leader: false, url, token });
portal.on('error', (e) => console.error('operator-buyer: sync error', JSON.stringify(e)));
await new Promise((resolve) => portal.on('synced', resolve));

const buyer = portal.rows('buyer')[0];
const campaign = portal.rows('campaign')[0];
if (!buyer || !campaign) fail('the buyer has no campaign');
// A state the buyer covers, or one it does not (US states the demo never covers all of).
const states = ['CA', 'AZ', 'NV', 'TX', 'FL', 'NY', 'OH', 'WA'];
const covered = buyer.coverage?.states ?? [];
const state = mode === 'routing' ? states.find((s) => !covered.includes(s))
  : (covered[0] ?? 'CA');
const leadId = `L-optest-${newReturnId().slice(0, 8)}`;
const serverNow = portal.status().server_now;
const delivered = {
  id: leadId, buyer_id: buyer.id, supplier_id: supplierId, campaign_id: campaign.id,
  vertical: campaign.vertical, state, zip: '', contact_hash: `h-${leadId}`, tcpa_flag: false,
  price_cents: campaign.price_cents, cost_cents: Math.floor(campaign.price_cents / 2),
  delivered_at: serverNow - 3 * HOUR,
};
const ingest = await fetch(`${base}/v1/leads`, {
  method: 'POST', headers: { Authorization: `Bearer ${operatorToken}`, 'Content-Type': 'application/json' },
  body: JSON.stringify([delivered]),
});
const ingested = await ingest.json();
if (ingest.status !== 200 || ingested.inserted !== 1) fail(`ingest answered ${ingest.status} ${JSON.stringify(ingested)}`);
const arrived = Date.now();
while (!portal.lead(leadId)) {
  if (Date.now() - arrived > 30_000) fail('the new lead never reached the replica');
  await new Promise((r) => setTimeout(r, 50));
}
const lead = portal.lead(leadId);
const returnId = newReturnId();
const reason = mode === 'routing' ? 'out_of_service_area' : 'bad_contact';
if (mode === 'routing' && !portal.preview({ return_id: returnId, lead_id: lead.id, reason }).evidence?.routing_alert) {
  fail(`the preview of ${lead.id} (${state}) raises no routing alert`);
}
const result = new Promise((resolve) => portal.on('result', (r) => { if (r.return_id === returnId) resolve(r); }));
const queued = await portal.enqueue('submit_return', {
  return_id: returnId, lead_id: lead.id, reason,
  note: mode === 'routing' ? 'This zip is outside the area we buy.' : 'The number is disconnected; three attempts.',
});
if (isError(queued)) { console.error('operator-buyer: enqueue', JSON.stringify(queued)); process.exit(2); }
const r = await result;
const row = portal.row('return', returnId).row;
console.log(JSON.stringify({ return_id: returnId, lead_id: lead.id, price_cents: lead.price_cents, buyer_id: buyer.id,
                             applied: r.applied, code: r.code, state: row?.state }));
clearTimeout(deadline);
await portal.close();
process.exit(0);
