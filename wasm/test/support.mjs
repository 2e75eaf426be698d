// support.mjs — helpers shared by the package's Node tests: where the built package is, a fresh
// temporary directory, the golden-vector conventions (tests/vectors/README.md) in JS, and
// polling with a deadline so a broken build fails a test instead of hanging it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');

export const PKG_DIR = path.resolve(process.env.RETURNS_WASM_PKG ?? path.join(root, 'build/wasm/wasm/pkg'));
export const VECTORS_DIR = process.env.RETURNS_VECTORS_DIR ?? path.join(root, 'tests/vectors');
export const RETURNSD = process.env.RETURNS_RETURNSD ?? path.join(root, 'build/native/server/returnsd');

export async function importPackage() {
  return import(pathToFileURL(path.join(PKG_DIR, 'index.mjs')).href);
}

export function tempDir(t, prefix = 'portal-test-') {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// Polls `fn` until it returns a truthy value; throws with `what` after `ms`.
export async function until(fn, what, ms = 10_000, every = 20) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

// --- Golden vectors ---------------------------------------------------------------------------

// RFC 7396 merge patch, as nlohmann::json::merge_patch.
export function mergePatch(target, patch) {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return structuredClone(patch);
  const out = target !== null && typeof target === 'object' && !Array.isArray(target)
    ? structuredClone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

// The effective inputs of a vector file's cases.
export function vectorCases(file) {
  return file.cases.map((c) => ({
    name: c.name,
    kind: c.kind ?? file.kind,
    input: mergePatch(file.base ?? {}, c.input ?? {}),
    expect: c.expect,
  }));
}

// "buyer:B1" / "operator" / "operator:alice" / a full actor object.
export function expandActor(a) {
  if (typeof a !== 'string') return a;
  if (a === 'operator') return { role: 'operator', subject: 'operator' };
  if (a.startsWith('operator:')) return { role: 'operator', subject: a.slice(9) };
  if (a.startsWith('buyer:')) return { role: 'buyer', subject: a.slice(6), buyer_id: a.slice(6) };
  return a;
}

// A world whose collections may be objects keyed by id, as arrays of rows with ids.
export function worldRows(world = {}) {
  const out = {};
  for (const [key, coll] of Object.entries(world)) {
    out[key] = Array.isArray(coll)
      ? coll
      : Object.entries(coll).filter(([, v]) => v !== null).map(([id, v]) => ({ id, ...v }));
  }
  return out;
}

// Applies "patch_strings" (text + repeat × times). Returns false for raw bytes ("hex"), which a
// JavaScript string cannot hold: the boundary always receives valid UTF-8.
export function applyStringPatches(input) {
  const patches = input.patch_strings;
  delete input.patch_strings;
  for (const p of patches ?? []) {
    if (p.hex) return false;
    const parts = p.pointer.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    let obj = input;
    for (const part of parts.slice(0, -1)) obj = obj[part];
    obj[parts.at(-1)] = (p.text ?? '') + (p.repeat ?? '').repeat(p.times ?? 0);
  }
  return true;
}

// tests/vectors/README.md "expect is a subset": objects recursively, arrays element-wise with
// equal length, scalars equal. Returns null on match, else the path and both values.
export function subsetMismatch(expected, actual, at = '') {
  if (expected !== null && typeof expected === 'object' && !Array.isArray(expected)) {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) {
      return `${at || '/'}: expected an object, got ${JSON.stringify(actual)}`;
    }
    for (const [k, v] of Object.entries(expected)) {
      if (!(k in actual)) return `${at}/${k}: missing (expected ${JSON.stringify(v)})`;
      const m = subsetMismatch(v, actual[k], `${at}/${k}`);
      if (m) return m;
    }
    return null;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${at || '/'}: expected an array, got ${JSON.stringify(actual)}`;
    if (expected.length !== actual.length) {
      return `${at || '/'}: array length ${expected.length} vs ${actual.length}: ${JSON.stringify(actual).slice(0, 400)}`;
    }
    for (let i = 0; i < expected.length; i++) {
      const m = subsetMismatch(expected[i], actual[i], `${at}/${i}`);
      if (m) return m;
    }
    return null;
  }
  if (expected !== actual) {
    return `${at || '/'}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
  }
  return null;
}
