// harness.mjs — what the browser tests share: a real returnsd serving web-demo/ and the wasm
// package with the demo data set, and Debian's headless Chromium driven by playwright-core.
//
// Environment (ctest sets it; the defaults fit a tree built by `make build`):
//   RETURNS_RETURNSD         the native returnsd
//   RETURNS_WASM_PKG         the built package folder (served at /pkg/)
//   RETURNS_WEB_ROOT         web-demo/
//   RETURNS_BROWSER_DEPS     the folder toolchains/setup.sh ran `npm ci` in (playwright-core)
//   RETURNS_CHROMIUM         the browser binary (default /usr/bin/chromium)
//   RETURNS_BROWSER_ARTIFACTS  when set, failing tests leave screenshots there
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, copyFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { PKG_DIR, RETURNSD, tempDir as packageTempDir, until as packageUntil } from '../../wasm/test/support.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');

export { RETURNSD, PKG_DIR };
export const WEB_ROOT = process.env.RETURNS_WEB_ROOT ?? path.join(root, 'web-demo');
export const BROWSER_DEPS = process.env.RETURNS_BROWSER_DEPS ?? path.join(root, '.cache/browser');
export const CHROMIUM = process.env.RETURNS_CHROMIUM ?? '/usr/bin/chromium';

// The machine's network is closed, so Chromium must not phone home.
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

function requireFromDeps(name) {
  const manifest = path.join(BROWSER_DEPS, 'package.json');
  if (!existsSync(path.join(BROWSER_DEPS, 'node_modules', name))) {
    throw new Error(`${name} is not installed in ${BROWSER_DEPS}: run toolchains/setup.sh (make setup)`);
  }
  return createRequire(manifest)(name);
}

// The wasm package tests' helpers, with the browser tests' defaults (slower: a browser runs too).
export const tempDir = (t, prefix = 'browser-test-') => packageTempDir(t, prefix);
export const until = (fn, what, ms = 15_000, every = 50) => packageUntil(fn, what, ms, every);

async function waitForFile(file, child, what, ms) {
  await until(() => {
    if (child.exitCode !== null) throw new Error(`returnsd exited (${child.exitCode}) before ${what}`);
    return existsSync(file) && readFileSync(file, 'utf8').trim() !== '';
  }, what, ms);
}

// The demo's clock: every server of the tests starts its clock at the last Wednesday 12:00 UTC,
// so the demo data — generated against the server's clock — has the same shape at whatever hour
// and weekday the tests run (docs/web-demo.md). Tests read the server's time through server.now().
const HOUR = 3_600_000;
const PROCESS_START = Date.now();
export const DEMO_CLOCK_START = (() => {
  const now = Date.now();
  const day = Math.floor(now / (24 * HOUR));
  const weekday = (day + 4) % 7;  // 1970-01-01 was a Thursday: 0 = Sunday … 3 = Wednesday
  let start = (day - ((weekday - 3 + 7) % 7)) * 24 * HOUR + 12 * HOUR;
  if (start > now) start -= 7 * 24 * HOUR;
  return start;
})();

function spawnServer({ dir, args, port }) {
  const portFile = path.join(dir, `port-${Date.now()}-${Math.random().toString(16).slice(2)}`);
  const child = spawn(RETURNSD, [
    'serve', '--demo', '--listen', `127.0.0.1:${port}`, '--port-file', portFile,
    '--db', path.join(dir, 'demo.db'), '--secret-file', path.join(dir, 'secret'),
    '--web-root', WEB_ROOT, '--pkg-dir', PKG_DIR, '--sync', 'normal',
    '--clock-start', String(DEMO_CLOCK_START + (Date.now() - PROCESS_START)), ...args,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { child, portFile, stderr: '' };
  child.stdout.on('data', () => {});
  child.stderr.on('data', (d) => { out.stderr = (out.stderr + d).slice(-20_000); });
  return out;
}

async function stopChild(child) {
  if (child.exitCode !== null) return child.exitCode;
  const done = new Promise((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGTERM');
  return done;
}

// The demo database is generated once per test process (a few seconds) by a server that is then
// stopped cleanly; every server of the process starts from a copy, so all see the same data.
let template = null;
async function demoTemplate() {
  if (template) return template;
  const dir = mkdtempSync(path.join(tmpdir(), 'browser-demo-template-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const s = spawnServer({ dir, args: [], port: 0 });
  await waitForFile(s.portFile, s.child, 'the demo data was generated', 180_000);
  const code = await stopChild(s.child);
  if (code !== 0) throw new Error(`demo template server exited ${code}: ${s.stderr}`);
  template = { db: path.join(dir, 'demo.db'), secret: path.join(dir, 'secret') };
  return template;
}

// Starts returnsd with the demo data on a free port (or `port`, to restart on the same address).
// Options: dir (a temp folder; its database survives stop() for a restart), args (extra flags).
export async function startServer({ dir, args = [], port = 0 } = {}) {
  if (!existsSync(RETURNSD)) throw new Error(`returnsd not built at ${RETURNSD} (make build)`);
  if (!existsSync(path.join(PKG_DIR, 'index.mjs'))) throw new Error(`wasm package not built at ${PKG_DIR}`);
  if (!existsSync(path.join(dir, 'demo.db'))) {
    const t = await demoTemplate();
    copyFileSync(t.db, path.join(dir, 'demo.db'));
    copyFileSync(t.secret, path.join(dir, 'secret'));
  }
  const s = spawnServer({ dir, args, port });
  await waitForFile(s.portFile, s.child, 'the server listened', 60_000);
  const boundPort = Number(readFileSync(s.portFile, 'utf8').trim());
  const base = `http://127.0.0.1:${boundPort}`;
  const res = await fetch(`${base}/v1/demo/logins`);
  if (!res.ok) throw new Error(`GET /v1/demo/logins answered ${res.status}`);
  const logins = await res.json();
  // The server's clock runs ahead of or behind this one by a fixed offset.
  const health = await (await fetch(`${base}/healthz`)).json();
  const clockOffset = health.server_time - Date.now();
  return {
    base, port: boundPort, logins, child: s.child, dir,
    /** The server's clock (UTC ms). */
    now: () => Date.now() + clockOffset,
    get stderr() { return s.stderr; },
    login(role, buyerId) {
      const l = logins.find((x) => x.role === role && (buyerId === undefined || x.buyer_id === buyerId));
      if (!l) throw new Error(`no demo login for ${role} ${buyerId ?? ''}`);
      return l;
    },
    // SIGTERM: the server drains and exits 0 (the answer).
    stop: () => stopChild(s.child),
  };
}

// Headless Chromium. Returns the playwright Browser; close it in t.after.
export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run toolchains/setup.sh (make setup)`);
  const { chromium } = requireFromDeps('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

// A new context + page; console errors and page errors are collected on `page.problems` so a
// test can assert the page ran clean.
export async function openPage(browser, url, { context: existing } = {}) {
  const context = existing ?? await browser.newContext();
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') page.problems.push(`console: ${m.text()}`); });
  await page.goto(url);
  return { context, page };
}

// Saves a screenshot when RETURNS_BROWSER_ARTIFACTS is set (call from a catch or t.after).
export async function snapshot(page, name) {
  const dir = process.env.RETURNS_BROWSER_ARTIFACTS;
  if (!dir || !page) return;
  try { await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true }); } catch { /* page gone */ }
}
