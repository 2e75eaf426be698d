// operator.test.mjs — the operator dashboard (web-demo/operator.html, docs/web-demo.md) end to end: a real
// returnsd with the demo data, headless Chromium, and a buyer submitting a return from Node (the
// wasm package, tests/browser/operator-buyer.mjs) while the dashboard is open.
//
//   node --test tests/browser/operator.test.mjs        (from the repository root)
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, launchBrowser, openPage, tempDir, snapshot, until, PKG_DIR } from './harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const OPEN = ['pending', 'discussion'];

// A buyer submits a return through the wasm package under Node (a separate process: Node 20
// needs --experimental-websocket for a global WebSocket), on a lead delivered to it just before
// (so the test never depends on where the clock falls in the demo data).
function buyerSubmits(server, buyerId, mode = 'plain') {
  const token = server.login('buyer', buyerId).token;
  const url = `${server.base.replace(/^http/, 'ws')}/v1/sync`;
  const opToken = server.login('operator').token;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--experimental-websocket', '--no-warnings', path.join(here, 'operator-buyer.mjs'),
                                PKG_DIR, url, token, mode, server.base, opToken, 'redline-traffic'],
             { timeout: 60_000 }, (err, stdout, stderr) => {
               if (err) reject(new Error(`operator-buyer failed: ${err.message}\n${stderr}`));
               else resolve(JSON.parse(stdout.trim().split('\n').pop()));
             });
  });
}

async function report(server, token, name, query = '') {
  const res = await fetch(`${server.base}/v1/reports/${name}?${query}`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200, `${name}: ${res.status}`);
  return (await res.json()).rows;
}

test('operator dashboard: live queue, decisions, policy what-if and reports', { timeout: 240_000 }, async (t) => {
  const started = Date.now();
  const server = await startServer({ dir: tempDir(t) });
  t.after(() => server.stop());
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const { page } = await openPage(browser, `${server.base}/operator.html`);
  t.after(async () => { if (page.problems.length) await snapshot(page, 'operator-problems'); });
  const operator = server.login('operator');
  const opToken = operator.token;

  // --- 1. Sign in as an operator; the queue renders after the catch-up ----------------------
  await page.locator(`#login-select option[value="${operator.subject}"]`).waitFor({ state: 'attached' });
  await page.locator('#login-select').selectOption(operator.subject);
  await page.locator('#login-button').click();
  await page.locator('#sync-status[data-phase="catching_up"], #sync-status[data-phase="live"]').waitFor({ timeout: 20_000 });
  await page.locator('#queue-table[data-synced="true"]').waitFor({ timeout: 60_000 });
  await page.locator('#sync-status[data-phase="live"]').waitFor();
  assert.match(await page.locator('#signed-in-as').textContent(), new RegExp(operator.subject));
  const replica = await page.evaluate((open) => {
    const p = window.operatorApp.portal;
    const st = p.status();
    const rows = p.returns().filter((r) => open.includes(r.state));
    return { principal: st.principal, rows: st.rows, open: rows.map((r) => r.id), returns: p.returns().length };
  }, OPEN);
  assert.equal(replica.principal.role, 'operator');
  assert.equal(replica.principal.subject, operator.subject);
  assert.ok(replica.returns > 1000, `the operator's replica holds every return (${replica.returns})`);
  assert.ok(replica.open.length > 0, 'the demo has pending returns');
  assert.equal(Number(await page.locator('#queue-count').textContent()), replica.open.length);
  const shownIds = await page.locator('[data-testid="queue-row"]').evaluateAll((rows) => rows.map((r) => r.dataset.returnId));
  assert.deepEqual([...shownIds].sort(), [...replica.open].sort(), 'the queue shows exactly the open returns');
  const submittedOrder = await page.evaluate((ids) => ids.map((id) => window.operatorApp.returns.get(id).submitted_at), shownIds);
  assert.deepEqual(submittedOrder, [...submittedOrder].sort((a, b) => a - b), 'oldest first');
  t.diagnostic(`queue: ${replica.open.length} open returns of ${replica.returns}; ${replica.rows} rows; ${Date.now() - started} ms`);

  // --- 2. A buyer submits a return while the dashboard is open: it appears live, notified ----
  assert.doesNotMatch(await page.title(), /^\(\d+\)/);
  const submitted = await buyerSubmits(server, 'harbor-medicare');  // manual policy: stays pending
  assert.equal(submitted.applied, true, JSON.stringify(submitted));
  assert.equal(submitted.state, 'pending');
  const newRow = page.locator(`[data-testid="queue-row"][data-return-id="${submitted.return_id}"]`);
  await newRow.waitFor({ timeout: 15_000 });
  await page.locator('[data-testid="toast"]', { hasText: submitted.lead_id }).waitFor();
  await page.waitForFunction(() => document.title.startsWith('(1) '));
  assert.equal(Number(await page.locator('#queue-count').textContent()), replica.open.length + 1);
  assert.equal(await newRow.locator('[data-col="lead"]').textContent(), submitted.lead_id);
  assert.match(await newRow.locator('[data-col="buyer"]').textContent(), /Harbor Medicare/);

  // --- 3. Partial accept: out of range flagged before sending; a valid one is applied --------
  await newRow.click();
  await page.locator(`#review-body[data-return-id="${submitted.return_id}"]`).waitFor();
  await page.waitForFunction(() => !document.title.startsWith('('));  // looked at: counter cleared
  assert.match(await page.locator('[data-testid="review-supplier"]').textContent(), /\S/, 'operators see the supplier');
  assert.match(await page.locator('[data-testid="review-cost"]').textContent(), /^\$\d/, 'and the cost');
  await page.locator('[data-testid="evidence"]').waitFor();
  // The core's review: bad_contact has no automatic evidence (docs/domain.md), and Harbor's manual
  // policy sends every return to review — the same as the buyer's preview said.
  assert.equal(await page.locator('[data-testid="evidence"]').getAttribute('data-verdict'), 'none');
  assert.equal(await page.locator('[data-testid="review-policy"]').getAttribute('data-decision'), 'manual_review');
  const outboxBefore = await page.evaluate(() => window.operatorApp.portal.outbox().length);
  const tooMuch = ((submitted.price_cents + 100) / 100).toFixed(2);
  await page.locator('#credit-dollars').fill(tooMuch);
  await page.locator('#credit-error[data-code="CREDIT_OUT_OF_RANGE"]').waitFor();  // instant, on input
  await page.locator('#accept-partial').click();
  await page.locator('#credit-error[data-code="CREDIT_OUT_OF_RANGE"]').waitFor();
  assert.equal(await page.evaluate(() => window.operatorApp.portal.outbox().length), outboxBefore, 'nothing was sent');
  assert.equal(await page.locator('#op-result').isHidden(), true);
  await page.locator('#credit-dollars').fill('1.25');
  await page.locator('#credit-error').waitFor({ state: 'hidden' });
  await page.locator('#accept-partial').click();
  await page.locator('#op-result[data-op="accept_return"][data-status="applied"]').waitFor();
  await newRow.waitFor({ state: 'detached' });
  await page.locator('#review-state[data-state="accepted"]').waitFor();
  const credit = page.locator('[data-testid="decision-credit"]');
  assert.equal(await credit.getAttribute('data-cents'), '125');
  assert.match(await credit.textContent(), /\$1\.25/);
  const decided = await page.evaluate((id) => window.operatorApp.portal.row('return', id).row, submitted.return_id);
  assert.equal(decided.decision.credit_cents, 125);
  assert.equal(decided.decision.by, operator.subject);

  // Reject: without a note it is blocked; with one it is applied.
  const other = await page.locator('[data-testid="queue-row"]').first().getAttribute('data-return-id');
  await page.locator(`[data-testid="queue-row"][data-return-id="${other}"]`).click();
  await page.locator(`#review-body[data-return-id="${other}"]`).waitFor();
  const outbox2 = await page.evaluate(() => window.operatorApp.portal.outbox().length);
  await page.locator('#reject').click();
  await page.locator('#reject-error[data-code="NOTE_REQUIRED"]').waitFor();
  assert.equal(await page.evaluate(() => window.operatorApp.portal.outbox().length), outbox2, 'reject without a note not sent');
  assert.equal(await page.locator(`[data-testid="queue-row"][data-return-id="${other}"]`).count(), 1);
  const note = 'Contact reached on the second attempt; lead is valid.';
  await page.locator('#reject-note').fill(note);
  await page.locator('#reject').click();
  await page.locator('#op-result[data-op="reject_return"][data-status="applied"]').waitFor();
  await page.locator(`[data-testid="queue-row"][data-return-id="${other}"]`).waitFor({ state: 'detached' });
  await page.locator('#review-state[data-state="rejected"]').waitFor();
  assert.match(await page.locator('[data-testid="decision-note"]').textContent(), /second attempt/);

  // The thread: a message on the rejected return; then reopen puts it back in the queue.
  const messagesBefore = await page.locator('#thread [data-testid="message"]').count();
  await page.locator('#message-body').fill('Happy to look again if you send the call recording.');
  await page.locator('#post-message').click();
  await page.locator('#op-result[data-op="post_message"][data-status="applied"]').waitFor();
  await page.locator('#thread [data-testid="message"]', { hasText: 'call recording' }).waitFor();
  assert.equal(await page.locator('#thread [data-testid="message"]').count(), messagesBefore + 1);
  await page.locator('#reopen').click();
  await page.locator('#op-result[data-op="reopen_return"][data-status="applied"]').waitFor();
  await page.locator(`[data-testid="queue-row"][data-return-id="${other}"]`).waitFor();
  await page.locator('#review-state[data-state="pending"]').waitFor();

  // --- 4. Reports: rates + chart, heat map, alerts, P&L ---------------------------------------
  // Refresh first: the decisions above moved the aggregates since the page loaded them.
  const generation = Number(await page.locator('#reports-section').getAttribute('data-generation'));
  await page.locator('#reports-refresh').click();
  await page.locator(`#reports-section[data-generation="${generation + 1}"]`).waitFor();
  const ratesApi = await report(server, opToken, 'rates', 'by=buyer&days=30');
  await page.locator('[data-testid="rates-row"]').first().waitFor();
  assert.equal(await page.locator('[data-testid="rates-row"]').count(), ratesApi.length);
  assert.equal(await page.locator('#rates-chart [data-testid="bar"]').count(), ratesApi.length);
  assert.ok(await page.locator('#daily-chart [data-testid="day-point"]').count() >= 28, 'a point per delivery day');
  await page.locator('#rates-by').selectOption('supplier');
  await page.locator('[data-testid="rates-grid"][data-by="supplier"]').waitFor();
  const bySupplier = await report(server, opToken, 'rates', 'by=supplier&days=30');
  assert.equal(await page.locator('#rates-chart [data-testid="bar"]').count(), bySupplier.length);
  await page.locator('#rates-chart [data-testid="bar"][data-key="Redline Traffic"], #rates-chart [data-testid="bar"][data-key="redline-traffic"]').waitFor({ state: 'attached' });

  const matrixApi = await report(server, opToken, 'matrix', 'days=30');
  const counts = await page.evaluate(() => ({ buyers: window.operatorApp.buyers.size, suppliers: window.operatorApp.suppliers.size }));
  const heat = page.locator('[data-testid="heat-table"]');
  assert.equal(Number(await heat.getAttribute('data-buyers')), counts.buyers, 'a heat-map row per demo buyer');
  assert.equal(Number(await heat.getAttribute('data-suppliers')), counts.suppliers, 'a column per demo supplier');
  assert.equal(await page.locator('[data-testid="heat-cell"]').count(), matrixApi.length);
  const cell = matrixApi.find((r) => r.buyer_id === 'northstar-home') ?? matrixApi[0];
  const cellLoc = page.locator(`[data-testid="heat-cell"][data-buyer="${cell.buyer_id}"][data-supplier="${cell.supplier_id}"]`);
  assert.match(await cellLoc.getAttribute('title'), new RegExp(`${cell.returned} of ${cell.accepted} returned`));
  assert.equal(Number(await cellLoc.getAttribute('data-rate')), cell.rate);

  const drop = page.locator('#alerts-list [data-testid="alert"][data-kind="supplier_quality_drop"]');
  await drop.first().waitFor();
  assert.equal(await drop.first().getAttribute('data-subject'), 'redline-traffic');
  assert.match(await drop.first().textContent(), /Supplier redline-traffic: 7-day return rate/);
  await page.locator('#alerts-list [data-testid="alert"][data-kind="buyer_intake_change"][data-subject="northstar-home"]').waitFor();

  // A live alert: a buyer returns a lead the routing filter should not have sent them.
  const routed = await buyerSubmits(server, 'sunrise-solar', 'routing');
  assert.equal(routed.applied, true, JSON.stringify(routed));
  await page.locator(`#alerts-live [data-testid="live-alert"][data-kind="routing_filter"][data-subject="${routed.lead_id}"]`).waitFor();
  await page.locator('[data-testid="toast"].alert', { hasText: routed.lead_id }).waitFor();

  const pnlApi = await report(server, opToken, 'pnl', 'by=buyer&days=30');
  const margin = pnlApi.reduce((s, r) => s + r.margin_cents, 0);
  const gross = pnlApi.reduce((s, r) => s + r.gross_revenue_cents, 0);
  const marginCell = page.locator('[data-testid="pnl-total-margin_cents"]');
  // The test delivered leads since the page loaded its reports: refresh them first.
  await page.locator('#reports-refresh').click();
  await until(async () => Number(await marginCell.getAttribute('data-cents')) === margin, 'the P&L to refresh');
  assert.equal(await marginCell.textContent(), `$${(margin / 100).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`);
  assert.equal(Number(await page.locator('[data-testid="pnl-total-gross_revenue_cents"]').getAttribute('data-cents')), gross);
  assert.equal(await page.locator('[data-testid="pnl-row"]').count(), pnlApi.length);

  // --- 5. Policy editor: the what-if preview follows the edit; a save is applied -------------
  await page.locator('#policy-buyer').selectOption('apex-injury');
  await page.locator('#whatif-summary[data-state="ready"]').waitFor();
  const before = JSON.parse(await page.locator('#whatif-summary').getAttribute('data-summary'));
  assert.ok(before.total > 0, `the what-if replays apex-injury's returns: ${JSON.stringify(before)}`);
  assert.ok(before.auto_accept > 0, 'the default rule auto-accepts some');
  await page.locator('#policy-mode').selectOption('manual');
  await page.waitForFunction((prev) => {
    const e = document.querySelector('#whatif-summary');
    return e.dataset.state === 'ready' && e.dataset.summary !== prev;
  }, JSON.stringify(before));
  const manual = JSON.parse(await page.locator('#whatif-summary').getAttribute('data-summary'));
  assert.equal(manual.auto_accept, 0, 'manual mode auto-accepts nothing');
  assert.equal(manual.total, before.total);
  assert.equal(await page.locator('[data-testid="whatif-auto_accept"]').textContent(), '0');
  assert.ok(manual.changed > 0);
  await page.locator('#policy-mode').selectOption('rules');
  await page.waitForFunction((prev) => document.querySelector('#whatif-summary').dataset.summary === prev, JSON.stringify(before));
  // An invalid edit is flagged, a valid one saved through set_policy.
  await page.locator('#policy-rules').fill('[{"id": "within_24h", "max_age_hourz": 24}]');
  await page.locator('#policy-save').click();
  await page.locator('#policy-error:not([hidden])').waitFor();
  await page.locator('#policy-revert').click();
  await page.locator('#policy-window').fill('200');
  await page.locator('#policy-save').click();
  await page.locator('#policy-save[data-status="applied"]').waitFor();
  await page.waitForFunction(() => window.operatorApp.buyers.get('apex-injury')?.policy?.window_hours === 200);

  // --- 6. No errors in the normal flow --------------------------------------------------------
  assert.equal(await page.locator('#errors [data-testid="error"]').count(), 0,
               await page.locator('#errors').textContent());
  assert.deepEqual(page.problems, []);

  // --- 7. The replica is kept: a reload opens the saved image and catches up only the change --
  await page.waitForFunction(() => {
    const f = window.operatorApp.portal.flusher;
    return f.kind === 'image' && f.syncs > 0 && !f.timer && !f.running;
  }, null, { timeout: 30_000 });
  const kept = await page.evaluate(() => {
    const p = window.operatorApp.portal;
    return { rows: p.status().rows, clientId: p.clientId, image: p.core.image().length };
  });
  await page.addInitScript(() => {
    window.__syncBytes = 0;
    const Native = window.WebSocket;
    window.WebSocket = class extends Native {
      constructor(...args) {
        super(...args);
        this.addEventListener('message', (e) => { window.__syncBytes += String(e.data).length; });
      }
    };
  });
  await page.goto('about:blank');
  const whileAway = await buyerSubmits(server, 'harbor-medicare');  // manual: pending
  assert.equal(whileAway.state, 'pending', JSON.stringify(whileAway));
  await page.goto(`${server.base}/operator.html`);
  await page.locator('#login-select').selectOption(operator.subject);
  await page.locator('#login-button').click();
  await page.locator('#queue-table[data-synced="true"]').waitFor({ timeout: 60_000 });
  await page.locator('#sync-status[data-phase="live"]').waitFor();
  await page.locator(`[data-testid="queue-row"][data-return-id="${whileAway.return_id}"]`).waitFor();
  const reopened = await page.evaluate(() => {
    const p = window.operatorApp.portal;
    return { rows: p.status().rows, clientId: p.clientId, dropped: p.imageDropped, bytes: window.__syncBytes,
             open: p.returns().filter((r) => ['pending', 'discussion'].includes(r.state)).length };
  });
  assert.equal(reopened.dropped, null);
  assert.equal(reopened.clientId, kept.clientId, 'the image carries its client id');
  assert.ok(reopened.rows >= kept.rows + 1, `the image's rows and the new return (${kept.rows} -> ${reopened.rows})`);
  assert.ok(reopened.bytes > 0 && reopened.bytes < kept.image / 20,
            `only the change came over the socket (${reopened.bytes} bytes; image ${kept.image})`);
  assert.equal(Number(await page.locator('#queue-count').textContent()), reopened.open);
  t.diagnostic(`reload: ${reopened.bytes} bytes caught up over a ${kept.image}-byte image`);
  // Signing out leaves nothing behind.
  await page.locator('#sign-out').click();
  await page.locator('#signin:not([hidden])').waitFor();
  const stored = await page.evaluate((key) => new Promise((resolve, reject) => {
    const req = indexedDB.open('lead-returns-images', 1);
    req.onupgradeneeded = () => req.result.createObjectStore('images');
    req.onsuccess = () => {
      const get = req.result.transaction('images').objectStore('images').get(key);
      get.onsuccess = () => resolve(get.result === undefined ? null : get.result.bytes.length);
      get.onerror = () => reject(get.error);
    };
    req.onerror = () => reject(req.error);
  }), `operator-${operator.subject}`);
  assert.equal(stored, null, 'sign-out deleted the replica image');
  assert.deepEqual(page.problems, []);

  // A bad token is refused by the server, and the page says so.
  const { page: bad } = await openPage(browser, `${server.base}/operator.html`);
  await bad.locator('#token-input').fill('not-a.token');
  await bad.locator('#token-button').click();
  await bad.locator('#errors [data-testid="error"][data-code="UNAUTHORIZED"]').waitFor();
  assert.match(await bad.locator('#errors').textContent(), /Sign in — UNAUTHORIZED/);
  assert.equal(await bad.locator('#signin').isVisible(), true, 'still on the sign-in form');
  assert.equal(await bad.locator('#app').isHidden(), true);
  t.diagnostic(`done in ${Date.now() - started} ms`);
});
