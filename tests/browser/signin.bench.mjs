// signin.bench.mjs — the operator's sign-in in headless Chromium on the demo data: from the click
// on "Sign in" to a live session with the queue drawn (BENCHMARKS.md "Sign-in in the browser").
// Each run is a fresh browser context: a first sign-in (nothing stored), then, once the replica
// image is saved, a reload and a second sign-in that opens the image and catches up the rest;
// bytes received over the sync socket are counted for both. Against the same server, then after
// `returnsd compact` on its database. With --profile, the last run of each kind samples the
// page's CPU profile and prints where the time went (self time).
//
//   node --experimental-websocket tests/browser/signin.bench.mjs [--runs 3] [--profile]
//
// Needs the tree `make build` makes (returnsd, the wasm package) and the browser test packages.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, launchBrowser, openPage, RETURNSD } from './harness.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const RUNS = Number(arg('runs', '3'));
const PROFILE = process.argv.includes('--profile');

// Self time per function from a CDP CPU profile, the top `n`.
function topFunctions(profile, n = 18) {
  const self = new Map();
  const dt = (profile.endTime - profile.startTime) / Math.max(1, profile.samples.length);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  for (const id of profile.samples) {
    const f = byId.get(id).callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url ? path.basename(f.url) : ''}`.trim();
    self.set(key, (self.get(key) ?? 0) + dt / 1000);
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  return [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, n)
    .map(([k, ms]) => `    ${ms.toFixed(0).padStart(6)} ms ${(100 * ms / total).toFixed(1).padStart(5)} %  ${k}`);
}

// Counts the bytes each page receives over WebSockets (window.__syncBytes), from its first script.
const COUNT_SOCKET_BYTES = () => {
  window.__syncBytes = 0;
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => {
        window.__syncBytes += typeof e.data === 'string' ? e.data.length : e.data.byteLength ?? e.data.size;
      });
    }
  };
};

async function signIn(page, server, profile) {
  const operator = server.login('operator');
  await page.locator(`#login-select option[value="${operator.subject}"]`).waitFor({ state: 'attached' });
  await page.locator('#login-select').selectOption(operator.subject);
  let cdp = null;
  if (profile) {
    cdp = await page.context().newCDPSession(page);
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 500 });
    await cdp.send('Profiler.start');
  }
  const t0 = performance.now();
  await page.locator('#login-button').click();
  await page.locator('#sync-status[data-phase="live"]').waitFor({ timeout: 180_000 });
  await page.locator('#queue-table[data-synced="true"]').waitFor({ timeout: 180_000 });
  const ms = performance.now() - t0;
  const { rows, bytes } = await page.evaluate(() => ({
    rows: window.operatorApp.portal.status().rows, bytes: window.__syncBytes }));
  let top = [];
  if (cdp) top = topFunctions((await cdp.send('Profiler.stop')).profile);
  if (page.problems.length) throw new Error(`the page reported problems: ${page.problems.join('; ')}`);
  return { ms, rows, bytes, top };
}

// Waits until the page's replica image is stored and no save is pending; its size in bytes.
async function imageSaved(page) {
  return page.evaluate(async () => {
    const f = window.operatorApp.portal.flusher;
    while (f.syncs === 0 || f.timer || f.running) await new Promise((r) => setTimeout(r, 50));
    return window.operatorApp.portal.core.image().length;
  });
}

// The dashboard's what-if for the buyer its policy editor shows (the engine keeps one buyer's
// decoded history; the page's own what-if is for that buyer too): the first call, then after
// each of `n` live writes — a lead for that buyer ingested over HTTP and received by the page —
// the call that follows the write. Milliseconds.
async function whatIfAfterWrites(page, server, n = 5) {
  const token = server.login('operator').token;
  await page.waitForFunction(() => document.querySelector('#policy-buyer')?.value);
  const first = await page.evaluate(() => {
    const p = window.operatorApp.portal;
    const buyerId = document.querySelector('#policy-buyer').value;
    const lead = p.rows('lead').find((l) => l.buyer_id === buyerId);
    const policy = window.operatorApp.buyers.get(buyerId).policy;
    const t0 = performance.now();
    const r = p.whatIf(buyerId, policy);
    if (r.error) throw new Error(r.error.message);
    return { ms: performance.now() - t0, buyerId, lead };
  });
  const after = [];
  for (let i = 0; i < n; ++i) {
    const id = `WHATIF-BENCH-${Date.now()}-${i}`;
    const { lead } = first;
    const body = [{ id, buyer_id: lead.buyer_id, campaign_id: lead.campaign_id, vertical: lead.vertical,
                    state: lead.state, zip: lead.zip, contact_hash: `bench-${id}`, price_cents: lead.price_cents,
                    cost_cents: lead.cost_cents, supplier_id: lead.supplier_id, delivered_at: Date.now() - 60_000 }];
    const res = await fetch(`${server.base}/v1/leads`, {
      method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body) });
    const out = await res.json();
    if (!res.ok || out.inserted !== 1) throw new Error(`ingest: ${res.status} ${JSON.stringify(out)}`);
    await page.waitForFunction((leadId) => window.operatorApp.portal.row('lead', leadId).row, id);
    after.push(await page.evaluate((buyerId) => {
      const p = window.operatorApp.portal;
      const policy = window.operatorApp.buyers.get(buyerId).policy;
      const t0 = performance.now();
      const r = p.whatIf(buyerId, policy);
      if (r.error) throw new Error(r.error.message);
      return performance.now() - t0;
    }, first.buyerId));
  }
  return { first: first.ms, after };
}

async function run(browser, server, profile) {
  const { context, page } = await openPage(browser, 'about:blank');
  try {
    await page.addInitScript(COUNT_SOCKET_BYTES);
    await page.goto(`${server.base}/operator.html`);
    const first = await signIn(page, server, profile);
    first.image = await imageSaved(page);
    await page.reload();
    const second = await signIn(page, server, profile);
    second.whatIf = await whatIfAfterWrites(page, server);
    return { first, second };
  } finally {
    await context.close();
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mib = (n) => (n / 1048576).toFixed(1);

async function series(browser, server, label) {
  const runs = [];
  for (let i = 0; i < RUNS; ++i) runs.push(await run(browser, server, PROFILE && i === RUNS - 1));
  for (const kind of ['first', 'second']) {
    const ms = runs.map((r) => r[kind].ms);
    const r = runs[0][kind];
    console.log(`${label}, ${kind} sign-in: ${r.rows} rows, ${mib(r.bytes)} MiB received; ` +
                `${ms.map((x) => x.toFixed(0)).join(', ')} ms (median ${median(ms).toFixed(0)})` +
                (kind === 'first' ? `; image ${mib(r.image)} MiB` : ''));
    if (kind === 'second') {
      const after = runs.flatMap((x) => x.second.whatIf.after);
      console.log(`  what-if: first call ${runs.map((x) => x.second.whatIf.first.toFixed(1)).join(', ')} ms; ` +
                  `after a live write median ${median(after).toFixed(1)} ms, max ${Math.max(...after).toFixed(1)} ms ` +
                  `(${after.length} writes: ${after.map((x) => x.toFixed(0)).join(" ")})`);
    }
    const top = runs[runs.length - 1][kind].top;
    if (top.length) console.log(`  self time, last run:\n${top.join('\n')}`);
  }
}

const dir = mkdtempSync(path.join(tmpdir(), 'signin-bench-'));
let server = null;
const browser = await launchBrowser();
try {
  server = await startServer({ dir });
  await series(browser, server, 'operator, demo log as generated');
  await server.stop();
  const out = execFileSync(RETURNSD, ['compact', '--db', path.join(dir, 'demo.db')], { encoding: 'utf8' });
  console.log(`returnsd compact: ${out.trim()}`);
  server = await startServer({ dir });
  await series(browser, server, 'operator, demo log compacted');
} finally {
  await browser.close();
  if (server) await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
