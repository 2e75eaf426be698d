// bench.mjs — size and speed of the built wasm package (docs/wasm.md), written into the
// "WebAssembly package" section of BENCHMARKS.md (that section only; the others are left alone).
//
//   node wasm/bench/bench.mjs [--pkg build/wasm/wasm/pkg] [--leads 50000] [--samples 5000]
//                             [--cold-runs 7] [--write BENCHMARKS.md]
//
// Measures: module size raw and gzip (-9) of the generated JS + wasm and of the whole package;
// time from `import` to the first `validate` answer in a fresh Node process (median of
// --cold-runs); `validate` and `preview` latency p50/p99 through the public API with --leads
// leads in the SQLite replica (random leads and reasons, the clock of each call included).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

const pkg = path.resolve(arg('pkg', process.env.RETURNS_WASM_PKG ?? path.join(root, 'build/wasm/wasm/pkg')));
const HOUR = 3_600_000;

// --- Child mode: one cold start, printed as JSON ---------------------------------------------
if (process.argv.includes('--cold')) {
  const t0 = performance.now();
  const { createPortal } = await import(pathToFileURL(path.join(pkg, 'index.mjs')).href);
  const t1 = performance.now();
  const portal = await createPortal({ name: 'cold', storage: 'memory', leader: false,
                                      actor: { role: 'buyer', subject: 'B1', buyer_id: 'B1' } });
  const t2 = performance.now();
  const v = portal.validate({ return_id: 'R1', lead_id: 'L1', reason: 'bad_contact' });
  const t3 = performance.now();
  if (!('ok' in v)) throw new Error(`validate failed: ${JSON.stringify(v)}`);
  process.stdout.write(JSON.stringify({ import: t1 - t0, open: t2 - t1, validate: t3 - t2, total: t3 - t0 }));
  process.exit(0);
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

// --- Sizes ---------------------------------------------------------------------------------------
function sizes() {
  const file = (f) => readFileSync(path.join(pkg, f));
  const core = ['returns_core.mjs', 'returns_core.wasm'];
  const all = readdirSync(pkg).filter((f) => /\.(mjs|wasm)$/.test(f));
  const sum = (files, fn) => files.reduce((n, f) => n + fn(file(f)), 0);
  const gz = (b) => gzipSync(b, { level: 9 }).length;
  return {
    wasm: { raw: file('returns_core.wasm').length, gzip: gz(file('returns_core.wasm')) },
    glue: { raw: file('returns_core.mjs').length, gzip: gz(file('returns_core.mjs')) },
    core: { raw: sum(core, (b) => b.length), gzip: sum(core, gz) },
    all: { raw: sum(all, (b) => b.length), gzip: sum(all, gz), files: all.length },
  };
}

// --- Cold start ----------------------------------------------------------------------------------
function coldStarts(runs) {
  const out = [];
  for (let i = 0; i < runs; i++) {
    const text = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--cold', '--pkg', pkg],
                              { encoding: 'utf8' });
    out.push(JSON.parse(text));
  }
  return {
    import: median(out.map((o) => o.import)),
    open: median(out.map((o) => o.open)),
    validate: median(out.map((o) => o.validate)),
    total: median(out.map((o) => o.total)),
    runs,
  };
}

// --- Latency with N leads ------------------------------------------------------------------------
async function latency(nLeads, samples) {
  const { createPortal } = await import(pathToFileURL(path.join(pkg, 'index.mjs')).href);
  const now = Date.UTC(2024, 5, 1);
  let clock = now;  // moves 1 ms per call, as Date.now() would
  const portal = await createPortal({ name: 'bench', storage: 'memory', leader: false, now: () => clock++,
                                      actor: { role: 'buyer', subject: 'B1', buyer_id: 'B1' } });
  // Deterministic pseudo-random data (xorshift).
  let seed = 2463534242;
  const rnd = () => {
    seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0;
    return seed / 4294967296;
  };
  const verticals = ['mva', 'solar', 'slip_and_fall', 'roofing'];
  const states = ['CA', 'TX', 'NY', 'FL', 'WA'];
  const world = {
    buyers: [{ id: 'B1', name: 'Bench Buyer', billing: 'prepaid', coverage: { states: ['CA', 'TX', 'NY', 'FL'] } }],
    campaigns: verticals.map((v, i) => ({ id: `C${i}`, buyer_id: 'B1', vertical: v, price_cents: 3000 + i * 500 })),
    leads: [],
  };
  for (let i = 0; i < nLeads; i++) {
    const c = Math.floor(rnd() * verticals.length);
    world.leads.push({
      id: `L${i}`, buyer_id: 'B1', campaign_id: `C${c}`,
      vertical: rnd() < 0.9 ? verticals[c] : verticals[(c + 1) % verticals.length],
      state: states[Math.floor(rnd() * states.length)], zip: String(10000 + Math.floor(rnd() * 89999)),
      contact_hash: `h${Math.floor(rnd() * nLeads * 0.8)}`, tcpa_flag: rnd() < 0.05,
      price_cents: 3000 + c * 500, delivered_at: now - Math.floor(rnd() * 8 * 24 * HOUR),
    });
  }
  const t0 = performance.now();
  // As a server ships it: the core derives the lead flags and the decision-facts rows.
  const loaded = await portal.loadWorld(world);
  const loadMs = performance.now() - t0;
  if (!loaded.ok) throw new Error(`loadWorld: ${JSON.stringify(loaded)}`);
  // The first question after a change builds the engine's facts index (docs/sync-engine.md).
  const t1 = performance.now();
  portal.preview({ return_id: 'R-first', lead_id: 'L0', reason: 'duplicate' });
  const firstMs = performance.now() - t1;
  const reasons = ['bad_contact', 'wrong_vertical', 'duplicate', 'tcpa_risk', 'out_of_service_area', 'other'];
  const draft = () => ({ return_id: 'R-bench', lead_id: `L${Math.floor(rnd() * nLeads)}`,
                         reason: reasons[Math.floor(rnd() * reasons.length)], note: 'Bench note text' });
  const run = (fn) => {
    for (let i = 0; i < 2000; i++) fn(draft());  // warm-up: V8 tiers the wasm up meanwhile
    const times = [];
    for (let i = 0; i < samples; i++) {
      const d = draft();
      const s = performance.now();
      const r = fn(d);
      times.push(performance.now() - s);
      if (r.error) throw new Error(JSON.stringify(r.error));
    }
    times.sort((a, b) => a - b);
    return { p50: pct(times, 50), p99: pct(times, 99), max: times.at(-1) };
  };
  const preview = run((d) => portal.preview(d));
  const validate = run((d) => portal.validate(d));
  // With drafts waiting in the outbox (the optimistic view has ops on top).
  for (let i = 0; i < 10; i++) await portal.saveDraft({ ...draft(), return_id: `R-pending-${i}` });
  const previewPending = run((d) => portal.preview(d));
  // With a submit pending: the engine replays it on every question, and the lead it may return
  // overrides the binding's index (docs/wasm.md "Performance").
  await portal.submit('R-pending-0');
  const slow = [];
  for (let i = 0; i < 1000; i++) {
    const d = draft();
    const s = performance.now();
    portal.preview(d);
    slow.push(performance.now() - s);
  }
  slow.sort((a, b) => a - b);
  const previewSubmit = { p50: pct(slow, 50), max: slow.at(-1), n: slow.length };
  const memoryMiB = portal.Module.HEAPU8.length / 1048576;
  await portal.close();
  return { nLeads, samples, loadMs, firstMs, preview, validate, previewPending, previewSubmit, memoryMiB };
}

// --- Report --------------------------------------------------------------------------------------
const nLeads = Number(arg('leads', 50_000));
const samples = Number(arg('samples', 5_000));
const s = sizes();
const cold = coldStarts(Number(arg('cold-runs', 7)));
const lat = await latency(nLeads, samples);
const us = (ms) => `${(ms * 1000).toFixed(0)} µs`;
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const date = new Date().toISOString().slice(0, 10);

const section = `## WebAssembly package (Client Portal)

Measured ${date} by \`node wasm/bench/bench.mjs\` (it rewrites this section only) on the package
\`make wasm-package\` builds (Emscripten 3.1.6, \`-Os\`, SQLite amalgamation inside), Node
${process.version}, ${os.cpus().length} × ${cpu}. Latencies go through the public API
(\`portal.preview(draft)\`: JSON in, the wasm boundary, the engine's view of the SQLite replica, the
core, JSON out, \`JSON.parse\`), random leads and reasons, a clock that moves between calls, ${lat.samples}
calls each after 2000 warm-up calls.

| what | figure | goal |
|---|---|---|
| \`returns_core.wasm\` | ${kb(s.wasm.raw)} raw, ${kb(s.wasm.gzip)} gzip | |
| \`returns_core.mjs\` (Emscripten glue) | ${kb(s.glue.raw)} raw, ${kb(s.glue.gzip)} gzip | |
| module JS + wasm | ${kb(s.core.raw)} raw, **${kb(s.core.gzip)} gzip** | ≤ 700 KB gzip |
| whole package (${s.all.files} \`.mjs\`/\`.wasm\` files) | ${kb(s.all.raw)} raw, ${kb(s.all.gzip)} gzip | |
| import → first \`validate\` answer (fresh process, median of ${cold.runs}) | **${cold.total.toFixed(1)} ms** (import ${cold.import.toFixed(1)}, instantiate + open ${cold.open.toFixed(1)}, validate ${cold.validate.toFixed(2)}) | |
| \`preview\` with ${lat.nLeads.toLocaleString('en-US')} leads in the replica | p50 **${us(lat.preview.p50)}**, p99 **${us(lat.preview.p99)}** (max ${us(lat.preview.max)}) | well under 1 ms |
| \`validate\` with ${lat.nLeads.toLocaleString('en-US')} leads | p50 ${us(lat.validate.p50)}, p99 ${us(lat.validate.p99)} | |
| \`preview\` with 10 saved drafts pending in the outbox | p50 ${us(lat.previewPending.p50)}, p99 ${us(lat.previewPending.p99)} | |
| \`preview\` while a submit is pending (${lat.previewSubmit.n} calls) | p50 ${us(lat.previewSubmit.p50)}, max ${us(lat.previewSubmit.max)} | |
| first \`preview\` after \`loadWorld\` (builds the facts index) | ${lat.firstMs.toFixed(0)} ms | |
| writing the ${lat.nLeads.toLocaleString('en-US')} leads into the replica (\`loadWorld\`, one transaction) | ${(lat.loadMs / 1000).toFixed(2)} s | |
| wasm memory after the run | ${lat.memoryMiB.toFixed(0)} MiB | |

Start-up is mostly V8 compiling the wasm functions the first calls reach (lazy compilation) and
SQLite creating the replica's schema; later calls run tiered-up code. Live \`changes\` frames
update the facts index in place; a \`reset\` empties it; only a new engine (\`loadWorld\`, reopening) rebuilds it (docs/wasm.md
"Performance"). The machine is shared with other builds: p99 and max move with the load.

`;

const target = path.resolve(arg('write', path.join(root, 'BENCHMARKS.md')));
process.stdout.write(section);
if (arg('write', '') !== 'none' && existsSync(target) && statSync(target).isFile()) {
  const text = readFileSync(target, 'utf8');
  const start = text.indexOf('## WebAssembly package (Client Portal)');
  let next;
  if (start >= 0) {
    const after = text.indexOf('\n## ', start + 3);
    next = text.slice(0, start) + section + (after >= 0 ? text.slice(after + 1) : '');
  } else {
    next = text.replace(/\s*$/, '\n\n') + section;
  }
  writeFileSync(target, next.replace(/\n{3,}/g, '\n\n').replace(/\s*$/, '\n'));
  process.stderr.write(`bench: wrote the section into ${target}\n`);
}
