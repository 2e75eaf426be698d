// operator-buyer.mjs — a buyer, for tests/browser/operator.test.mjs: runs the wasm package under
// Node (run with --experimental-websocket: Node 20 has no global WebSocket otherwise), syncs one
// buyer's replica, submits a new return on a lead of theirs that has none, waits for the server's
// result and prints one JSON line {return_id, lead_id, price_cents, applied, code, state}.
//
//   node --experimental-websocket operator-buyer.mjs <pkg dir> <ws url> <buyer token> [routing]
//
// With `routing` it picks a lead outside the buyer's coverage (the core's preview says the
// evidence raises a routing alert) and returns it as out_of_service_area.
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [pkgDir, url, token, mode] = process.argv.slice(2);
const HOUR = 3_600_000;
const deadline = setTimeout(() => { console.error('operator-buyer: timed out'); process.exit(3); }, 60_000);

const { createPortal, newReturnId, isError } = await import(pathToFileURL(path.join(pkgDir, 'index.mjs')).href);
const portal = await createPortal({ name: 'operator-test-buyer', storage: 'memory', leader: false, url, token });
portal.on('error', (e) => console.error('operator-buyer: sync error', JSON.stringify(e)));
await new Promise((resolve) => portal.on('synced', resolve));

const buyer = portal.rows('buyer')[0];
const taken = new Set(portal.returns().map((r) => r.lead_id));
const now = Date.now();
const candidates = portal.leads()
  .filter((l) => l.status === 'ACCEPTED' && !taken.has(l.lead_id) && !taken.has(l.id) && l.price_cents >= 200 &&
                 l.delivered_at > now - (buyer.policy.window_hours - 2) * HOUR && l.delivered_at < now - 2 * HOUR)
  .sort((a, b) => b.delivered_at - a.delivered_at);
const returnId = newReturnId();
const reason = mode === 'routing' ? 'out_of_service_area' : 'bad_contact';
const lead = mode === 'routing'
  ? candidates.find((l) => portal.preview({ return_id: returnId, lead_id: l.id, reason }).evidence?.routing_alert)
  : candidates[0];
if (!lead) { console.error('operator-buyer: no lead to return'); process.exit(2); }
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
