// whatif.mjs — the operator dashboard's `portal.whatIf(buyerId, policy)` at demo size, through the
// built package: an operator replica with 10 buyers × 4500 leads over 90 days (45 000 leads) and
// 400 returns per buyer (~130 in the last 30 days; 60 % accepted with their ledger entries),
// written by loadRows; then whatIf for one buyer with an edited policy, first call and median of
// the following ones. By hand (BENCHMARKS.md "What-if in the operator dashboard"):
//   node wasm/bench/whatif.mjs [--pkg build/wasm/wasm/pkg] [--runs 20]
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
};
const pkg = path.resolve(arg('--pkg', path.join(here, '../../build/wasm/wasm/pkg')));
const runs = Number(arg('--runs', 20));
const { createPortal } = await import(pathToFileURL(path.join(pkg, 'index.mjs')).href);

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2024, 5, 1);
let seed = 2463534242;
const rnd = () => {
  seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0;
  return seed / 4294967296;
};
const policy = (rate) => ({ mode: 'rules', window_hours: 168, min_age_hours: 0,
                            rules: [{ id: 'within_24h', max_age_hours: 24, max_return_rate: rate }] });
const world = { buyers: [], suppliers: [{ id: 'S1', name: 'Supplier' }], campaigns: [], leads: [], returns: [], ledger: [] };
const reasons = ['bad_contact', 'wrong_vertical', 'duplicate', 'tcpa_risk'];
for (let b = 0; b < 10; b++) {
  const buyer = `B${b}`;
  world.buyers.push({ id: buyer, name: `Buyer ${b}`, billing: 'prepaid', policy: policy(0.2) });
  world.campaigns.push({ id: `C${b}`, buyer_id: buyer, vertical: 'mva', price_cents: 5000 });
  const leads = [];
  for (let i = 0; i < 4500; i++) {
    leads.push({ id: `${buyer}-L${i}`, buyer_id: buyer, campaign_id: `C${b}`, supplier_id: 'S1', vertical: 'mva',
                 state: 'TX', zip: '75001', contact_hash: `h${Math.floor(rnd() * 4500)}`, tcpa_flag: false,
                 price_cents: 5000, cost_cents: 2000, delivered_at: NOW - Math.floor(rnd() * 90 * DAY),
                 status: 'ACCEPTED' });
  }
  for (let k = 0; k < 400; k++) {
    const lead = leads[k * 11];
    const submitted = Math.min(NOW - 1, lead.delivered_at + Math.floor(rnd() * 60 * HOUR));
    const r = { id: `${buyer}-R${k}`, lead_id: lead.id, buyer_id: buyer, reason: reasons[k % 4], note: '',
                state: 'pending', drafted_at: 0, submitted_at: submitted, updated_at: submitted, accept_count: 0 };
    const u = rnd();
    if (u < 0.6) {
      const auto = submitted - lead.delivered_at < 24 * HOUR;
      const at = auto ? submitted : submitted + 3 * HOUR;
      Object.assign(r, { state: 'accepted', accept_count: 1,
                         decision: { by: auto ? 'auto:within_24h' : 'op-1', at, note: '', credit_cents: 5000 } });
      lead.status = 'RETURNED';
      world.ledger.push({ id: `${r.id}#1/revenue_reversal`, kind: 'revenue_reversal', return_id: r.id, lead_id: lead.id,
                          buyer_id: buyer, supplier_id: 'S1', amount_cents: -5000, at });
      world.ledger.push({ id: `${r.id}#1/wallet_credit`, kind: 'wallet_credit', return_id: r.id, lead_id: lead.id,
                          buyer_id: buyer, supplier_id: 'S1', amount_cents: 5000, at });
    } else if (u < 0.8) {
      Object.assign(r, { state: 'rejected', decision: { by: 'op-1', at: submitted + HOUR, note: 'no', credit_cents: 0 } });
    }
    world.returns.push(r);
  }
  world.leads.push(...leads);
}

let clock = NOW;
const portal = await createPortal({ name: 'whatif-bench', storage: 'memory', leader: false, now: () => clock++,
                                    actor: { role: 'operator', subject: 'op-bench' } });
const loaded = await portal.loadRows(world);
if (!loaded.ok) throw new Error(`loadRows: ${JSON.stringify(loaded)}`);
const times = [];
let answer;
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  answer = portal.whatIf('B3', policy(i % 2 ? 0.05 : 0.04));
  times.push(performance.now() - t0);
  if (!answer.ok) throw new Error(`whatIf: ${JSON.stringify(answer)}`);
}
const rest = times.slice(1).sort((a, b) => a - b);
console.log(`leads ${world.leads.length}, returns ${world.returns.length}, items ${answer.report.items.length}`);
console.log(`whatIf first ${times[0].toFixed(1)} ms, then median ${rest[rest.length >> 1].toFixed(1)} ms ` +
            `(min ${rest[0].toFixed(1)}, max ${rest[rest.length - 1].toFixed(1)}) over ${rest.length} calls`);
console.log(`summary ${JSON.stringify(answer.report.summary)}`);

// Live changes reach the dashboard all the time: a `changes` frame with a new return of this buyer
// and one of another, as the transport hands frames to the core, then the next whatIf.
const wire = (method, ...a) => {
  const r = JSON.parse(portal.core[method](...a));
  if (!r.ok) throw new Error(`${method}: ${JSON.stringify(r)}`);
  return r;
};
wire('connected', clock);
wire('frame', JSON.stringify({ type: 'welcome', cursor: 0, last_seq: 0, server_time: clock,
                               principal: { role: 'operator', subject: 'op-bench' } }), clock);
let cursor = 0;
const afterWrite = [];
for (let i = 0; i < runs; i++) {
  const items = ['B3', 'B4'].map((b, k) => ({
    v: cursor + k + 1, entity: 'return', id: `${b}-live-${i}`,
    data: { id: `${b}-live-${i}`, lead_id: `${b}-L${i}`, buyer_id: b, state: 'pending', reason: 'bad_contact',
            note: '', submitted_at: NOW - HOUR, updated_at: NOW - HOUR, accept_count: 0 } }));
  wire('frame', JSON.stringify({ type: 'changes', from: cursor, to: cursor + 2, items }), clock);
  cursor += 2;
  const t0 = performance.now();
  answer = portal.whatIf('B3', policy(i % 2 ? 0.05 : 0.04));
  afterWrite.push(performance.now() - t0);
  if (!answer.ok) throw new Error(`whatIf after a write: ${JSON.stringify(answer)}`);
}
afterWrite.sort((a, b) => a - b);
console.log(`whatIf after a live write: median ${afterWrite[afterWrite.length >> 1].toFixed(1)} ms ` +
            `(min ${afterWrite[0].toFixed(1)}, max ${afterWrite[afterWrite.length - 1].toFixed(1)}) over ${runs} writes`);
await portal.close();
