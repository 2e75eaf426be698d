// preview.test.mjs — the preview is the decision, on screen (docs/decision-facts.md): for a
// rate-capped buyer (keystone-roofing: always accept, under a return-rate cap), a buyer with
// rules (liberty-legal) and a manual one (harbor-medicare), the Client Portal's preview of a lead
// delivered just now equals the outcome the page shows once the server answered, "Server answers"
// agrees with "My returns", and no "waiting" message outlives the answer.
import test from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage, tempDir, snapshot } from './harness.mjs';

const HOUR = 3_600_000;
const CASES = [
  { buyer: 'keystone-roofing', campaign: 'keystone-storm-roof', vertical: 'roofing', state: 'TX', price: 4500 },
  { buyer: 'liberty-legal', campaign: 'liberty-mva-ny', vertical: 'mva', state: 'NY', price: 15000 },
  { buyer: 'harbor-medicare', campaign: 'harbor-medicare-aep', vertical: 'medicare', state: 'FL', price: 2800 },
];

test('portal: the preview shown equals the decision shown after submit', { timeout: 150_000 }, async (t) => {
  const server = await startServer({ dir: tempDir(t, 'preview-test-') });
  t.after(() => server.stop());
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const operator = server.login('operator');
  const outcomes = new Set();

  for (const c of CASES) {
    await t.test(c.buyer, async () => {
      const { page, context } = await openPage(browser, `${server.base}/portal.html`);
      page.setDefaultTimeout(20_000);
      try {
        if (c.buyer === 'harbor-medicare') {
          // Signed in with a pasted token: the core reads which buyer it names (tokenClaims).
          await page.locator('#token-input').fill(server.login('buyer', c.buyer).token);
          await page.locator('#sign-in-token').click();
        } else {
          await page.locator('#login-buyer').selectOption(c.buyer);
          await page.locator('#sign-in-demo').click();
        }
        await page.locator('#conn-state[data-state=live]').waitFor();
        await page.locator('#app[data-rendered-phase=live]').waitFor();

        // The platform delivers a lead now (three hours old), so the test owns its data.
        const leadId = `L-pv-${c.buyer}-${Date.now().toString(36)}`;
        const lead = {
          id: leadId, buyer_id: c.buyer, supplier_id: 'redline-traffic', campaign_id: c.campaign,
          vertical: c.vertical, state: c.state, zip: '', contact_hash: `h-${leadId}`, tcpa_flag: false,
          price_cents: c.price, cost_cents: Math.floor(c.price / 2), delivered_at: server.now() - 3 * HOUR,
        };
        const res = await fetch(`${server.base}/v1/leads`, {
          method: 'POST', body: JSON.stringify([lead]),
          headers: { Authorization: `Bearer ${operator.token}`, 'Content-Type': 'application/json' },
        });
        assert.equal(res.status, 200, await res.text());

        await page.locator('#lead-search').fill(leadId);
        await page.locator(`[data-testid=lead-row][data-lead-id="${leadId}"] [data-testid=lead-pick]`).click();
        await page.waitForFunction((id) => document.getElementById('form-lead').dataset.leadId === id, leadId);
        await page.locator('#reason').selectOption('bad_contact');
        await page.locator('#decision:not([data-decision=""])').waitFor();
        const previewed = await page.locator('#decision').getAttribute('data-decision');
        assert.ok(['auto_accept', 'manual_review'].includes(previewed), `preview: ${previewed}`);
        outcomes.add(previewed);

        await page.locator('#submit').click();
        const answer = page.locator('[data-testid=result][data-op=submit_return][data-applied=true]').first();
        await answer.waitFor();
        assert.equal(await answer.getAttribute('data-outcome'), previewed, await answer.textContent());
        assert.equal(await answer.getAttribute('data-previewed'), previewed);
        const returnId = await answer.getAttribute('data-return-id');
        const shown = await answer.getAttribute('data-state');
        assert.equal(shown, previewed === 'auto_accept' ? 'accepted' : 'pending');

        // "My returns" ends in the same state, and the form says what the server said.
        await page.locator(`[data-testid=return-row][data-return-id="${returnId}"][data-state="${shown}"]`).waitFor();
        const message = await page.locator('#form-message').textContent();
        assert.doesNotMatch(message, /waiting for the server/, message);
        assert.match(message, previewed === 'auto_accept' ? /auto-accepted/ : /waiting for review/);
        assert.deepEqual(page.problems, []);
      } catch (err) {
        await snapshot(page, `preview-${c.buyer}`);
        throw err;
      } finally {
        await context.close();
      }
    });
  }
  assert.deepEqual([...outcomes].sort(), ['auto_accept', 'manual_review'], 'both outcomes were shown');
});
