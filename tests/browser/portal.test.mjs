// portal.test.mjs — the buyer's Client Portal (web-demo/portal.html) end to end in headless
// Chromium against a real returnsd with the demo data (docs/web-demo.md):
//   1. sign in, synced; pick a lead, choose a reason: the policy preview (decision, explanation,
//      deadline) appears and follows the reason and the note; `other` without a note shows
//      NOTE_REQUIRED beside the note and Submit is blocked;
//   2. offline: two drafts saved, one submitted; a reload while offline (service worker +
//      IndexedDB) keeps both; back online the submit is applied exactly once (page and server),
//      with the state the preview predicted;
//   3. the thread: a buyer message appears and is confirmed; an operator's answer arrives live;
//      a pending return can be withdrawn;
//   4. the page ran clean: no page errors, no console errors, nothing in the error banner.
//
// The buyer is liberty-legal (demo login "two rules and a 1 h cool-off"): window 168 h, rule
// within_24h (any reason, 24 h) and rule tcpa_72h (tcpa_risk only, 72 h). A lead 26–66 h old is
// therefore auto-accepted for tcpa_risk and goes to manual review for any other reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage, tempDir, snapshot } from './harness.mjs';

const BUYER = 'liberty-legal';
const HOUR = 3_600_000;
const WINDOW_HOURS = 168;

// An independent look at the server: a raw sync session (fresh client id, cursor 0) opened from
// the page, returning the rows of `entities` that match `pick`. With `push`, it instead pushes
// those ops after catching up from `cursor` and answers their results.
async function serverSession(page, { token, cursor = 0, push = null, match = {} }) {
  return page.evaluate(async ({ url, token, cursor, push, match }) => {
    const ws = new WebSocket(url);
    const rows = new Map();
    const results = [];
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { ws.close(); reject(new Error('raw session timed out')); }, 30_000);
      const done = () => {
        clearTimeout(timer);
        ws.close();
        const keep = [...rows.values()].filter((it) => !it.data?.deleted && (
          (match.leadId && (it.data?.lead_id === match.leadId || (it.entity === 'lead' && it.id === match.leadId))) ||
          (match.returnIds && match.returnIds.includes(it.data?.return_id ?? (it.entity === 'return' ? it.id : '')))));
        resolve({ rows: keep, results });
      };
      ws.onopen = () => ws.send(JSON.stringify({
        type: 'hello', proto: 1, token, client_id: `test-${crypto.randomUUID()}`, cursor, last_seq: 0,
      }));
      ws.onerror = () => reject(new Error('raw session: socket error'));
      ws.onmessage = (ev) => {
        const m = JSON.parse(ev.data);
        if (m.type === 'changes') for (const it of m.items) rows.set(`${it.entity}/${it.id}`, it);
        else if (m.type === 'synced') {
          if (!push) return done();
          ws.send(JSON.stringify({ type: 'push', ops: push.map((op, i) => ({ seq: i + 1, client_time: Date.now(), ...op })) }));
        } else if (m.type === 'result') {
          results.push(m);
          if (results.length === push.length) done();
        } else if (m.type === 'error' || m.type === 'reset') {
          clearTimeout(timer);
          reject(new Error(`raw session: ${m.type} ${m.code ?? ''} ${m.message ?? ''}`));
        }
      };
    });
  }, { url: new URL('/v1/sync', page.url()).href.replace(/^http/, 'ws'), token, cursor, push, match });
}

test('client portal: preview as you type, offline drafts, exactly-once submit, live thread', { timeout: 150_000 }, async (t) => {
  const dir = tempDir(t, 'portal-test-');
  const server = await startServer({ dir });
  t.after(() => server.stop());
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const { page, context } = await openPage(browser, `${server.base}/portal.html`);
  page.setDefaultTimeout(20_000);
  t.after(async () => { if (page.problems.length) await snapshot(page, 'portal-problems'); });

  const buyer = server.login('buyer', BUYER);
  const operator = server.login('operator');
  const leadRows = () => page.locator('[data-testid=lead-row]').evaluateAll((trs) => trs.map((tr) => ({
    id: tr.dataset.leadId, at: Number(tr.dataset.deliveredAt), status: tr.dataset.status, returnState: tr.dataset.returnState,
    returnCount: Number(tr.dataset.returnCount),
  })));
  const pick = async (leadId) => {
    await page.locator('#lead-search').fill(leadId);
    await page.locator(`[data-testid=lead-row][data-lead-id="${leadId}"] [data-testid=lead-pick]`).click();
    await page.waitForFunction((id) => document.getElementById('form-lead').dataset.leadId === id, leadId);
  };
  const decision = () => page.locator('#decision').getAttribute('data-decision');
  const explanation = () => page.locator('[data-testid=explanation-item]').allTextContents();

  let A, B;                // two leads 26–66 h old, not returned
  let deliveredA;
  let predictedA;          // the preview's decision for A with tcpa_risk
  let returnA, returnB;

  await t.test('1. sign in, synced; the preview follows the reason and the note', async () => {
    try {
      await page.locator('#login-buyer').selectOption(BUYER);
      await page.locator('#sign-in-demo').click();
      await page.locator('#conn-state[data-state=live]').waitFor();
      await page.locator('#app[data-rendered-phase=live]').waitFor();    // lists drawn after catch-up
      await page.locator('#sw-state[data-state=ready]').waitFor();
      assert.match(await page.locator('#who').textContent(), /liberty-legal/);

      // The list holds only leads inside the 168 h window (or returned); candidates for the flow.
      await page.locator('[data-testid=lead-row]').first().waitFor();
      const rows = await leadRows();
      const now = server.now();  // the server's (demo) clock
      assert.ok(rows.length > 20, `expected the buyer's leads, got ${rows.length}`);
      for (const r of rows) assert.ok(now - r.at < WINDOW_HOURS * HOUR + 60_000, `lead ${r.id} is outside the window`);
      const mid = rows.filter((r) => r.status === 'ACCEPTED' && r.returnCount === 0 &&
                                     now - r.at > 26 * HOUR && now - r.at < 66 * HOUR);
      assert.ok(mid.length >= 2, 'the demo data has leads 26–66 h old');
      [A, B] = [mid[0].id, mid[mid.length - 1].id];
      deliveredA = mid[0].at;

      await pick(A);
      await page.locator('#reason').selectOption('bad_contact');
      await page.locator('#decision[data-decision=manual_review]').waitFor();
      assert.ok((await explanation()).some((s) => /No auto-accept rule applies/.test(s)), 'manual review is explained');
      assert.ok((await explanation()).some((s) => /within the 168 h return window/.test(s)));
      assert.equal(Number(await page.locator('#deadline').getAttribute('data-deadline')), deliveredA + WINDOW_HOURS * HOUR,
                   'the deadline is delivery + window');
      assert.match(await page.locator('#countdown').textContent(), /^\d+ d \d+ h left$/);
      assert.equal(await page.locator('#submit').isEnabled(), true);

      // Another reason: rule tcpa_72h applies — the decision and its explanation change.
      await page.locator('#reason').selectOption('tcpa_risk');
      await page.locator('#decision[data-decision=auto_accept]').waitFor();
      assert.match(await page.locator('#decision-rule').textContent(), /tcpa_72h/);
      assert.ok((await explanation()).some((s) => /within the 72 h auto-accept rule tcpa_72h/.test(s)));
      assert.match(await page.locator('#evidence').textContent(), /TCPA/);

      // `other` needs a note of 10+ characters: the field error carries its code, Submit is blocked.
      await page.locator('#reason').selectOption('other');
      await page.locator('#err-note[data-code=NOTE_REQUIRED]').waitFor();
      assert.match(await page.locator('#err-note').textContent(), /NOTE_REQUIRED/);
      assert.equal(await page.locator('#submit').isDisabled(), true, 'Submit is blocked without the note');
      assert.match(await page.locator('#submit-blocked').textContent(), /NOTE_REQUIRED/);
      await snapshot(page, 'portal-note-required');
      assert.equal(await decision(), 'manual_review');
      await page.locator('#note').fill('short');                     // still under 10 characters
      assert.equal(await page.locator('#err-note').getAttribute('data-code'), 'NOTE_REQUIRED');
      assert.equal(await page.locator('#note-count').textContent(), '5 / 2000');
      await page.locator('#note').fill('The consumer never asked for an attorney.');
      await page.waitForFunction(() => !document.getElementById('err-note').dataset.code);
      assert.equal(await page.locator('#submit').isEnabled(), true, 'a valid note unblocks Submit');

      // A lead the platform delivers now (HTTP ingest) reaches the portal live; inside the 1 h
      // cool-off the preview refuses it with TOO_EARLY and Submit stays blocked.
      const supplier = (await (await fetch(`${server.base}/v1/reports/rates?by=supplier&days=30`, {
        headers: { Authorization: `Bearer ${operator.token}` } })).json()).rows[0].key;
      const freshId = `T-${Date.now()}`;
      const ingest = await fetch(`${server.base}/v1/leads`, {
        method: 'POST', headers: { Authorization: `Bearer ${operator.token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify([{ id: freshId, buyer_id: BUYER, supplier_id: supplier, campaign_id: 'liberty-premises',
          vertical: 'slip_and_fall', state: 'NY', zip: '10001', contact_hash: `h${Date.now()}`, tcpa_flag: true,
          price_cents: 8500, cost_cents: 4000, delivered_at: server.now() - 10 * 60_000 }]),
      });
      assert.equal((await ingest.json()).inserted, 1);
      await pick(freshId);
      await page.locator('#reason').selectOption('tcpa_risk');
      await page.locator('#decision[data-decision=refused]').waitFor();
      assert.match(await page.locator('#decision').textContent(), /TOO_EARLY/);
      assert.match(await page.locator('#err-general').textContent(), /TOO_EARLY/);
      assert.ok((await explanation()).some((s) => /1 h after delivery/.test(s)), 'the cool-off is explained');
      assert.match(await page.locator('#evidence').textContent(), /supports/);
      assert.equal(await page.locator('#submit').isDisabled(), true, 'Submit is blocked inside the cool-off');
      await page.locator('#new-return').click();
      assert.equal(await page.locator('#submit').isDisabled(), true);
    } catch (err) {
      await snapshot(page, 'portal-1');
      throw err;
    }
  });

  await t.test('2. offline: two drafts, one submitted, reload offline, applied exactly once online', async () => {
    try {
      await context.setOffline(true);
      await page.locator('#conn-state[data-state=offline]').waitFor();

      await pick(A);
      await page.locator('#reason').selectOption('tcpa_risk');
      await page.locator('#decision[data-decision]:not([data-decision=""])').waitFor();
      predictedA = await decision();
      assert.equal(predictedA, 'auto_accept');
      await page.locator('#save-draft').click();
      const draftA = page.locator(`#drafts [data-testid=draft][data-lead-id="${A}"]`);
      await draftA.and(page.locator('[data-status=saved]')).waitFor();
      returnA = await draftA.getAttribute('data-return-id');

      await pick(B);
      await page.locator('#reason').selectOption('bad_contact');
      await page.locator('#note').fill('Number rings out; voicemail is full.');
      await page.locator('#decision[data-decision=manual_review]').waitFor();
      await page.locator('#save-draft').click();
      const draftB = page.locator(`#drafts [data-testid=draft][data-lead-id="${B}"]`);
      await draftB.and(page.locator('[data-status=saved]')).waitFor();
      returnB = await draftB.getAttribute('data-return-id');
      assert.notEqual(returnA, returnB);

      await draftA.locator('[data-testid=draft-submit]').click();
      await draftA.and(page.locator('[data-status=submitting]')).waitFor();
      assert.ok(Number(await page.locator('#outbox-count').getAttribute('data-count')) >= 3, 'save, save, submit wait in the outbox');
      assert.equal(await page.locator('#conn-state').getAttribute('data-state'), 'offline');

      // Reload while offline: the service worker serves the shell and the package from its cache,
      // IndexedDB the drafts and the outbox.
      const nav = await page.reload();
      assert.equal(nav.fromServiceWorker(), true, 'the offline reload was answered by the service worker');
      await page.locator('#sw-state[data-state=ready][data-source=cache]').waitFor();
      assert.equal(await page.evaluate(() => navigator.onLine), false);
      await snapshot(page, 'portal-offline-reload');
      await page.locator(`#drafts [data-testid=draft][data-lead-id="${A}"][data-status=submitting]`).waitFor();
      await page.locator(`#drafts [data-testid=draft][data-lead-id="${B}"][data-status=saved]`).waitFor();
      await page.locator('#conn-state[data-state=offline]').waitFor();   // this tab leads again, offline
      assert.ok(Number(await page.locator('#outbox-count').getAttribute('data-count')) >= 3, 'the outbox survived the reload');
      assert.equal(await page.locator(`#drafts [data-testid=draft][data-lead-id="${B}"] [data-testid=draft-where]`).getAttribute('data-where'), 'device');

      // Back online: the outbox goes out; the submit of A is applied once, as the preview said.
      await context.setOffline(false);
      await page.locator('#conn-state[data-state=live]').waitFor();
      const resultA = page.locator(`[data-testid=result][data-op=submit_return][data-return-id="${returnA}"]`);
      await resultA.waitFor();
      assert.equal(await resultA.count(), 1);
      assert.equal(await resultA.getAttribute('data-applied'), 'true');
      await page.locator('#outbox-count[data-count="0"]').waitFor();

      await page.locator('#returns-search').fill(A);
      const rowA = page.locator(`[data-testid=return-row][data-lead-id="${A}"]`);
      await rowA.and(page.locator('[data-unconfirmed=false]')).waitFor();
      assert.equal(await rowA.count(), 1, 'one return for lead A');
      assert.equal(await rowA.getAttribute('data-return-id'), returnA);
      assert.equal(await rowA.getAttribute('data-state'), 'accepted', 'auto_accept predicted → accepted');
      assert.equal(await rowA.getAttribute('data-decision-by'), 'auto:tcpa_72h');
      await page.locator(`#drafts [data-testid=draft][data-lead-id="${A}"]`).waitFor({ state: 'detached' });
      // B stays a draft, now synced to the account (a server row in state draft).
      await page.locator(`#drafts [data-testid=draft][data-lead-id="${B}"][data-status=saved] [data-testid=draft-where][data-where=server]`).waitFor();

      // The server's own view, from a fresh session: one return for lead A, its money moved once.
      const view = await serverSession(page, { token: buyer.token, match: { leadId: A } });
      const returnsA = view.rows.filter((it) => it.entity === 'return');
      assert.equal(returnsA.length, 1, `server holds one return for ${A}`);
      assert.equal(returnsA[0].id, returnA);
      assert.equal(returnsA[0].data.state, 'accepted');
      const ledger = view.rows.filter((it) => it.entity === 'ledger').map((it) => it.data.kind).sort();
      assert.deepEqual(ledger, ['invoice_adjustment', 'revenue_reversal'], 'net terms: one reversal, one invoice line');
      assert.equal(view.rows.find((it) => it.entity === 'lead').data.status, 'RETURNED');
      const viewB = await serverSession(page, { token: buyer.token, match: { leadId: B } });
      assert.deepEqual(viewB.rows.filter((it) => it.entity === 'return').map((it) => [it.id, it.data.state]), [[returnB, 'draft']]);
    } catch (err) {
      await snapshot(page, 'portal-2');
      throw err;
    } finally {
      await context.setOffline(false);
    }
  });

  await t.test('3. the thread: post, live operator answer, withdraw while pending', async () => {
    try {
      await page.locator(`[data-testid=return-row][data-lead-id="${A}"] [data-testid=return-open]`).click();
      await page.locator(`#thread-title[data-return-id="${returnA}"]`).waitFor();
      const body = 'Please confirm the credit appears on the next invoice.';
      await page.locator('#message-body').fill(body);
      await page.locator('#post-message').click();
      const mine = page.locator('[data-testid=message][data-author-role=buyer]', { hasText: body });
      await mine.waitFor();
      await mine.and(page.locator('[data-pending=false]')).waitFor();        // confirmed by the server
      await page.locator(`[data-testid=result][data-op=post_message][data-return-id="${returnA}"][data-applied=true]`).waitFor();
      assert.equal(await page.locator('#message-body').inputValue(), '');

      // The operator answers from elsewhere: it shows up live, without a reload.
      const health = await (await fetch(`${server.base}/healthz`)).json();
      const reply = `Confirmed, credit note ${Date.now().toString(36)} issued.`;
      const pushed = await serverSession(page, {
        token: operator.token, cursor: health.head,
        push: [{ op: 'post_message', args: { return_id: returnA, message_id: `op-${Date.now()}`, body: reply } }],
      });
      assert.equal(pushed.results[0].status, 'applied', JSON.stringify(pushed.results));
      await page.locator('[data-testid=message][data-author-role=operator]', { hasText: reply }).waitFor();
      await snapshot(page, 'portal-thread');

      // An empty message is stopped in the page with its code.
      await page.locator('#post-message').click();
      assert.equal(await page.locator('#err-message').getAttribute('data-code'), 'NOTE_REQUIRED');

      // B (manual review) submitted online goes to pending; the buyer may withdraw it.
      const draftB = page.locator(`#drafts [data-testid=draft][data-lead-id="${B}"]`);
      await draftB.locator('[data-testid=draft-submit]').click();
      await page.locator(`[data-testid=result][data-op=submit_return][data-return-id="${returnB}"][data-applied=true]`).waitFor();
      await page.locator('#returns-search').fill(B);
      const rowB = page.locator(`[data-testid=return-row][data-lead-id="${B}"]`);
      await rowB.and(page.locator('[data-state=pending]')).waitFor();
      await rowB.locator('[data-testid=return-open]').click();
      await page.locator(`#thread-title[data-return-id="${returnB}"]`).waitFor();
      await page.locator('#withdraw').click();
      await rowB.and(page.locator('[data-state=withdrawn][data-unconfirmed=false]')).waitFor();
      assert.equal(await page.locator('#withdraw').isHidden(), true);
    } catch (err) {
      await snapshot(page, 'portal-3');
      throw err;
    }
  });

  await t.test('4. no page errors in the flow', async () => {
    assert.deepEqual(page.problems, []);
    assert.equal(await page.locator('[data-testid=error-item]').count(), 0,
                 await page.locator('#error-list').textContent());
  });
});
