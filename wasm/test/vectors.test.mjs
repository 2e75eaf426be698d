// vectors.test.mjs — the golden vectors (tests/vectors/) through the built package: every
// `validate` and `preview` case runs through createPortal → loadWorld (the world written into the
// SQLite replica as a server ships it) → portal.validate / portal.preview, and its `expect` must be a
// subset of the answer, exactly as the native and wasm core suites check it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import {
  VECTORS_DIR, importPackage, vectorCases, expandActor, worldRows, applyStringPatches,
  subsetMismatch,
} from './support.mjs';

const { createPortal, loadModule } = await importPackage();
const Module = await loadModule();

const files = readdirSync(VECTORS_DIR).filter((f) => f.endsWith('.json')).sort();
const cases = [];
for (const f of files) {
  const file = JSON.parse(readFileSync(path.join(VECTORS_DIR, f), 'utf8'));
  for (const c of vectorCases(file)) {
    if (c.kind === 'validate' || c.kind === 'preview') cases.push({ file: f, ...c });
  }
}

let n = 0;
async function runCase(c) {
  const input = structuredClone(c.input);
  if (!applyStringPatches(input)) return 'skipped';
  const portal = await createPortal({ name: `vector-${n++}`, storage: 'memory', module: Module,
                                      leader: false, now: () => input.now });
  try {
    // As a server holding the world would ship it: derived lead flags and decision facts.
    const loaded = await portal.loadWorld(worldRows(input.world));
    assert.equal(loaded.error, undefined, `loadWorld: ${JSON.stringify(loaded.error)}`);
    const who = portal.setActor(expandActor(input.actor));
    const actual = who.error ? { error: who.error }
      : c.kind === 'validate' ? portal.validate(input.draft) : portal.preview(input.draft);
    return actual;
  } finally {
    await portal.close();
  }
}

test('the vector files hold validate and preview cases', () => {
  assert.ok(cases.length >= 100, `only ${cases.length} validate/preview cases found in ${VECTORS_DIR}`);
  assert.ok(cases.some((c) => c.kind === 'preview' && c.file === 'generated.json'));
});

test('validate and preview answer as the golden vectors say', async (t) => {
  let passed = 0;
  let skipped = 0;
  const failures = [];
  for (const c of cases) {
    const actual = await runCase(c);
    if (actual === 'skipped') {
      skipped++;
      continue;
    }
    const m = subsetMismatch(c.expect, actual);
    if (m) failures.push(`${c.file} ${c.name} (${c.kind}): ${m}`);
    else passed++;
  }
  t.diagnostic(`${passed} vector cases matched, ${skipped} skipped (raw invalid UTF-8 bytes cannot be a JS string)`);
  assert.ok(skipped <= 3, `${skipped} cases skipped`);
  assert.deepEqual(failures, []);
});

test('a preview carries evidence, the decision with its sentences, and the deadline', async () => {
  const c = cases.find((x) => x.kind === 'preview' && x.file === 'generated.json');
  const actual = await runCase(c);
  assert.ok(actual.validation, 'validation');
  assert.ok(actual.evaluation, 'evaluation');
  assert.match(actual.evaluation.decision, /^(auto_accept|manual_review|refused)$/);
  assert.equal(typeof actual.evaluation.deadline, 'number');
  assert.ok(actual.evaluation.explanation.length > 0);
  assert.equal(actual.evaluation.explanation.length, actual.evaluation.checks.length);
  for (const s of actual.evaluation.explanation) assert.match(s, /\S/);
});

test('a wrong expectation is caught (the comparison is not vacuous)', async () => {
  const c = cases.find((x) => x.kind === 'validate' && x.expect.ok === false);
  const actual = await runCase(c);
  assert.equal(subsetMismatch(c.expect, actual), null);
  assert.notEqual(subsetMismatch({ ...c.expect, ok: true }, actual), null);
  assert.notEqual(subsetMismatch({ errors: [] }, actual), null);
});
