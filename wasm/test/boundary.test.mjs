// boundary.test.mjs — the embind boundary never throws: bad JSON, wrong types, unknown fields,
// bad clocks, calls on a closed portal and hostile frames all come back as typed error JSON
// ({error: {code, field, message}} with a code of docs/errors.md), and the module keeps working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { importPackage } from './support.mjs';

const { loadModule, createPortal } = await importPackage();
const Module = await loadModule();

function raw(config = { db: ':memory:', client_id: 'boundary-1' }) {
  const p = new Module.Portal();
  const opened = JSON.parse(p.open(JSON.stringify(config)));
  return { p, opened };
}

function call(p, method, ...args) {
  const text = p[method](...args);
  assert.equal(typeof text, 'string', `${method} returns text`);
  return JSON.parse(text);  // always JSON
}

function assertError(result, code, field) {
  assert.ok(result.error, `expected an error, got ${JSON.stringify(result)}`);
  assert.equal(result.error.code, code, JSON.stringify(result));
  if (field !== undefined) assert.equal(result.error.field, field, JSON.stringify(result));
  assert.equal(typeof result.error.message, 'string');
  assert.ok(result.error.message.length > 0);
}

test('open: bad configurations are typed errors', () => {
  const p = new Module.Portal();
  assertError(call(p, 'open', '{'), 'BAD_JSON');
  assertError(call(p, 'open', '[]'), 'BAD_TYPE');
  assertError(call(p, 'open', '{"db":":memory:"}'), 'INVALID_ID', 'client_id');
  assertError(call(p, 'open', '{"db":":memory:","client_id":"has space"}'), 'INVALID_ID', 'client_id');
  assertError(call(p, 'open', '{"db":1,"client_id":"c"}'), 'BAD_TYPE', 'db');
  assertError(call(p, 'open', '{"db":":memory:","client_id":"c","colour":"red"}'), 'UNKNOWN_FIELD', 'colour');
  assertError(call(p, 'open', '{"db":":memory:","client_id":"c","actor":{"role":"king"}}'), 'INVALID_ENUM');
  assertError(call(p, 'open', '{"db":"/no/such/dir/x.db","client_id":"c"}'), 'INTERNAL');
  // Still usable after every refusal.
  assert.equal(call(p, 'open', '{"db":":memory:","client_id":"c"}').ok, true);
  assertError(call(p, 'open', '{"db":":memory:","client_id":"c"}'), 'BAD_TRANSITION');
  p.delete();
});

test('every method on a closed portal answers BAD_TRANSITION', () => {
  const p = new Module.Portal();
  const calls = [
    ['status', 0], ['connected', 0], ['frame', '{}', 0], ['disconnected'], ['tick', 0],
    ['nextWakeup'], ['takeOutgoing'], ['takeNotices'], ['validate', '{}', 0], ['preview', '{}', 0],
    ['saveDraft', '{}', 0], ['discardDraft', 'R1', 0], ['submit', 'R1', 0], ['enqueue', 'x', '{}', 0],
    ['drafts'], ['outbox'], ['pending', 0], ['row', 'lead', 'L1', 0], ['rows', 'lead', 0],
    ['loadRows', '{}'], ['setToken', 't'],
  ];
  for (const [m, ...args] of calls) assertError(call(p, m, ...args), 'BAD_TRANSITION');
  assert.equal(call(p, 'close').ok, true);
  p.delete();
});

test('validate and preview: bad input is a typed error, never a throw', () => {
  const { p } = raw();
  assertError(call(p, 'validate', '{"return_id":"R1","lead_id":"L1"}', 1), 'UNAUTHORIZED', 'actor');
  assert.equal(call(p, 'setActor', '{"role":"buyer","subject":"b","buyer_id":"B1"}').ok, true);
  assertError(call(p, 'setActor', 'nope'), 'BAD_JSON');
  assertError(call(p, 'validate', '', 1), 'BAD_JSON');
  assertError(call(p, 'validate', '{"return_id":', 1), 'BAD_JSON');
  assertError(call(p, 'validate', '"text"', 1), 'BAD_TYPE');
  assertError(call(p, 'validate', '{"lead_id":"L1"}', 1), 'MISSING_FIELD', 'return_id');
  assertError(call(p, 'validate', '{"return_id":"R 1","lead_id":"L1"}', 1), 'INVALID_ID', 'return_id');
  assertError(call(p, 'validate', '{"return_id":"R1","lead_id":"L1","reason":"meh"}', 1), 'INVALID_REASON', 'reason');
  assertError(call(p, 'validate', '{"return_id":"R1","lead_id":"L1","colour":1}', 1), 'UNKNOWN_FIELD', 'colour');
  assertError(call(p, 'preview', '{"return_id":"R1","lead_id":7}', 1), 'BAD_TYPE', 'lead_id');
  for (const now of [-1, 1.5, NaN, Infinity, 1e16]) {
    assertError(call(p, 'validate', '{"return_id":"R1","lead_id":"L1"}', now), 'INVALID_TIME', 'now');
  }
  // Deep nesting and big inputs are refused or answered, not crashed on.
  const deep = '['.repeat(100_000) + ']'.repeat(100_000);
  assert.ok(call(p, 'validate', deep, 1).error);
  const big = JSON.stringify({ return_id: 'R1', lead_id: 'L1', reason: 'other', note: 'x'.repeat(100_000) });
  const v = call(p, 'validate', big, 1);
  assert.equal(v.ok, false);
  assert.ok(v.errors.some((e) => e.field === 'note' && e.code === 'TEXT_TOO_LONG'), JSON.stringify(v.errors));
  // A lone surrogate reaches C++ as U+FFFD (valid UTF-8 text), not as a crash: the note passes
  // and only the unknown lead is refused.
  const lone = call(p, 'validate', '{"return_id":"R1","lead_id":"L1","reason":"other","note":"abc\uD800defghijk"}', 1);
  assert.deepEqual(lone.errors?.map((e) => e.code), ['LEAD_NOT_FOUND'], JSON.stringify(lone));
  // An answer for a well-formed draft with an unknown lead.
  const r = call(p, 'validate', '{"return_id":"R1","lead_id":"L1"}', 1);
  assert.equal(r.ok, false);
  assert.deepEqual(r.errors.map((e) => e.code).sort(), ['LEAD_NOT_FOUND', 'REASON_REQUIRED']);
  p.delete();
});

test('ops and reads: refusals are typed and write nothing', () => {
  const { p } = raw();
  assertError(call(p, 'saveDraft', '{', 1), 'BAD_JSON');
  assertError(call(p, 'saveDraft', '{"return_id":"R1"}', 1), 'MISSING_FIELD');
  assertError(call(p, 'enqueue', 'fly_to_moon', '{}', 1), 'UNKNOWN_OP');
  assertError(call(p, 'enqueue', 'withdraw_return', '[]', 1), 'BAD_TYPE');
  assertError(call(p, 'enqueue', 'withdraw_return', '{"return_id":5}', 1), 'BAD_TYPE', 'args.return_id');
  assertError(call(p, 'submit', 'R-unknown', 1), 'RETURN_NOT_FOUND');
  assertError(call(p, 'saveDraft', '{"return_id":"R1","lead_id":"L1"}', -5), 'INVALID_TIME');
  assert.deepEqual(call(p, 'outbox'), [], 'nothing was written');
  assert.deepEqual(call(p, 'drafts'), []);
  assert.equal(call(p, 'status', 0).next_seq, 1);
  assertError(call(p, 'loadRows', '{"planets":[]}'), 'UNKNOWN_FIELD', 'planets');
  assertError(call(p, 'loadRows', '{"leads":{}}'), 'BAD_TYPE', 'leads');
  assertError(call(p, 'loadRows', '{"leads":[{"no_id":1}]}'), 'MISSING_FIELD', 'leads[0].id');
  assert.deepEqual(call(p, 'row', 'lead', 'nope', 0), { row: null });
  assert.deepEqual(call(p, 'rows', 'nothing', 0), []);
  p.delete();
});

test('hostile server frames: typed errors, nothing applied, the engine goes on', () => {
  const { p } = raw();
  const hello = call(p, 'connected', 1000);
  assert.equal(JSON.parse(hello.frame).type, 'hello');
  for (const [frame, code] of [
    ['not json', 'BAD_JSON'],
    ['[]', 'BAD_TYPE'],
    ['{"no_type":1}', 'BAD_TYPE'],
    ['{"type":"fireworks"}', 'INVALID_ENUM'],
  ]) {
    assertError(call(p, 'frame', frame, 1001), code);
  }
  const bad = call(p, 'frame', '{"type":"changes","from":0,"to":"x","items":[]}', 1002);
  assert.ok(bad.error, 'a changes frame with a bad cursor is refused');
  assert.equal(call(p, 'status', 0).cursor, 0, 'the cursor did not move');
  assert.equal(call(p, 'status', 0).rows, 0);
  p.delete();
});

test('frames written into the module\'s buffer land exactly as frames passed as text', async () => {
  const welcome = JSON.stringify({ type: 'welcome', server_time: 1000, last_seq: 0, cursor: 0,
                                   principal: { role: 'operator', subject: 'op-1' } });
  const name = 'Zoë — 北京 😀 \u2028 "quoted"';
  const changes = JSON.stringify({ type: 'changes', from: 0, to: 2, items: [
    { v: 1, entity: 'buyer', id: 'B1', data: { id: 'B1', name, billing: 'prepaid' } },
    { v: 2, entity: 'supplier', id: 'S1', data: { id: 'S1', name: 'Ünïcode Leads' } }] });
  const asText = raw({ db: ':memory:', client_id: 'frames-text' }).p;
  const portal = await createPortal({ name: 'frames-buffer', storage: 'memory', module: Module, leader: false });
  call(asText, 'connected', 1000);
  portal.call('connected', 1000);
  for (const frame of [welcome, changes]) {
    assert.equal(call(asText, 'frame', frame, 1001).ok, true);
    assert.equal(portal.frame(frame, 1001).ok, true);
  }
  assert.deepEqual(portal.rows('buyer'), call(asText, 'rows', 'buyer', 0));
  assert.equal(portal.rows('buyer')[0].name, name);
  assert.equal(portal.status().cursor, 2);
  // A length past the buffer is refused, and nothing moves.
  portal.core.frameBuffer(8);
  assertError(JSON.parse(portal.core.frameInBuffer(1e9, 1002)), 'FRAME_TOO_LARGE', 'length');
  assertError(JSON.parse(portal.core.frameInBuffer(-1, 1002)), 'FRAME_TOO_LARGE', 'length');
  assert.equal(portal.status().cursor, 2);
  asText.delete();
  await portal.close();
});

test('the JS API passes errors through as values (no throw), also for unserialisable input', async () => {
  const portal = await createPortal({ name: 'boundary-js', storage: 'memory', module: Module, leader: false,
                                      actor: { role: 'buyer', subject: 'b', buyer_id: 'B1' } });
  const circular = {};
  circular.self = circular;
  assertError(portal.validate(circular), 'BAD_JSON');
  assertError(portal.preview('{'), 'BAD_JSON');
  assertError(await portal.saveDraft({ return_id: 'R1' }), 'MISSING_FIELD');
  assertError(await portal.submit('R-none'), 'RETURN_NOT_FOUND');
  assert.equal(portal.validate({ return_id: 'R1', lead_id: 'L1', reason: 'other', note: 'long enough note' }).ok, false);
  await portal.close();
  assertError(portal.validate({ return_id: 'R1', lead_id: 'L1' }), 'BAD_TRANSITION');
});

// The ErrorCode union of index.d.ts is the product's one list (docs/errors.md, which a core test
// keeps equal to shared/core/error.h): a code added in C++ must be typed for the front ends too.
test('index.d.ts ErrorCode lists exactly the codes of docs/errors.md', async () => {
  const { readFile } = await import('node:fs/promises');
  const path = await import('node:path');
  const { PKG_DIR } = await import('./support.mjs');
  const here = path.dirname(new URL(import.meta.url).pathname);
  const doc = await readFile(process.env.RETURNS_ERRORS_DOC ?? path.join(here, '../../docs/errors.md'), 'utf8');
  const documented = [...doc.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]).sort();
  const dts = await readFile(path.join(PKG_DIR, 'index.d.ts'), 'utf8');
  const union = dts.match(/export type ErrorCode =([^;]+);/);
  assert.ok(union, 'index.d.ts declares ErrorCode');
  const typed = [...union[1].matchAll(/'([A-Z_]+)'/g)].map((m) => m[1]).sort();
  assert.ok(documented.length > 30, `parsed ${documented.length} codes from docs/errors.md`);
  assert.deepEqual(typed, documented);
});
