// landing.test.mjs — the demo's front page in headless Chromium: links to both applications, the
// demo logins from GET /v1/demo/logins, and the wasm package loading in a real browser
// (application/wasm streaming compile, the core answering a validation).
import assert from 'node:assert/strict';
import test from 'node:test';

import { launchBrowser, openPage, snapshot, startServer, tempDir } from './harness.mjs';

test('landing page: both applications, the demo logins, the wasm core in the browser', async (t) => {
  const server = await startServer({ dir: tempDir(t) });
  t.after(() => server.stop());
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const { page } = await openPage(browser, `${server.base}/`);
  t.after(() => snapshot(page, 'landing'));

  assert.equal(await page.title(), 'Lead Returns — demo');
  assert.equal(await page.locator('#open-portal').getAttribute('href'), 'portal.html');
  assert.equal(await page.locator('#open-operator').getAttribute('href'), 'operator.html');
  await page.locator('#logins li').nth(server.logins.length - 1).waitFor();
  assert.equal(await page.locator('#logins li').count(), server.logins.length);
  assert.equal(server.logins.filter((l) => l.role === 'operator').length, 3);
  const first = server.logins[0];
  assert.match(await page.locator('#logins li').first().textContent(), new RegExp(first.name));

  // The package as the pages load it: /pkg/index.mjs, the .wasm fetched beside it.
  const buyer = server.logins.find((l) => l.role === 'buyer');
  const answer = await page.evaluate(async ({ buyerId }) => {
    const wasm = await fetch('/pkg/returns_core.wasm');
    const { createPortal } = await import('/pkg/index.mjs');
    const portal = await createPortal({
      name: 'landing-check', storage: 'memory', leader: false,
      actor: { role: 'buyer', subject: buyerId, buyer_id: buyerId },
    });
    const bad = portal.validate({ return_id: 'R-landing-1', lead_id: 'L-none', reason: 'other' });
    const typed = portal.validate('{"return_id": 7}');
    await portal.close();
    return { type: wasm.headers.get('content-type'), bad, typed };
  }, { buyerId: buyer.buyer_id });
  assert.equal(answer.type, 'application/wasm');
  assert.equal(answer.bad.ok, false);
  const codes = answer.bad.errors.map((e) => `${e.field}:${e.code}`);
  assert.ok(codes.includes('lead_id:LEAD_NOT_FOUND'), codes.join(', '));
  assert.ok(codes.includes('note:NOTE_REQUIRED') || codes.includes('note:MISSING_FIELD'), codes.join(', '));
  assert.equal(answer.typed.error.code, 'BAD_TYPE');
  assert.deepEqual(page.problems, []);
});
