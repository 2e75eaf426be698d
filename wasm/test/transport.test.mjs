// transport.test.mjs — the WebSocket transport with a fake socket and fake timers: jittered
// exponential backoff from 100 ms to 30 s, reset after `synced`, immediate reconnect on
// `online` and on the page becoming visible, the heartbeat, and stop().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { importPackage } from './support.mjs';

const { SocketTransport, backoffDelay } = await importPackage();

test('backoff: 100 ms doubling to 30 s, jittered ×[0.5, 1.5), never above 30 s', () => {
  const mid = () => 0.5;  // factor 1.0
  assert.deepEqual([0, 1, 2, 3, 4].map((n) => backoffDelay(n, { random: mid })), [100, 200, 400, 800, 1600]);
  assert.equal(backoffDelay(8, { random: mid }), 25_600);
  assert.equal(backoffDelay(9, { random: mid }), 30_000);
  assert.equal(backoffDelay(500, { random: mid }), 30_000);
  assert.equal(backoffDelay(0, { random: () => 0 }), 50);
  assert.equal(backoffDelay(0, { random: () => 0.999 }), 150);
  assert.equal(backoffDelay(20, { random: () => 0.999 }), 30_000);
  for (let n = 0; n < 40; n++) {
    const d = backoffDelay(n);
    assert.ok(d >= 50 && d <= 30_000, `attempt ${n}: ${d}`);
  }
  // Jitter spreads clients that were cut off together.
  const spread = new Set(Array.from({ length: 50 }, () => backoffDelay(3)));
  assert.ok(spread.size > 10);
});

// A controllable clock and WebSocket.
function harness() {
  let now = 0;
  const timers = new Map();
  let nextTimer = 1;
  const sockets = [];
  class FakeSocket {
    constructor(url) {
      this.url = url;
      this.sent = [];
      this.closed = false;
      sockets.push(this);
    }
    send(t) { this.sent.push(t); }
    close() { this.closed = true; }
    // test side
    accept() { this.onopen?.(); }
    fail() { this.onerror?.({}); this.onclose?.({ code: 1006, reason: '' }); }
    message(data) { this.onmessage?.({ data }); }
  }
  const win = new EventTarget();
  const doc = new EventTarget();
  doc.visibilityState = 'visible';
  const events = [];
  const transport = new SocketTransport({
    url: 'ws://test/v1/sync', WebSocket: FakeSocket, random: () => 0.5, window: win, document: doc,
    now: () => now,
    setTimeout: (fn, ms) => { const id = nextTimer++; timers.set(id, { at: now + ms, fn }); return id; },
    clearTimeout: (id) => timers.delete(id),
    handlers: {
      open: () => events.push('open'),
      frame: (f) => events.push(`frame:${f}`),
      closed: (i) => events.push(`closed:${i.reason}`),
    },
  });
  // Runs timers due up to now + ms, in time order.
  const advance = (ms) => {
    const end = now + ms;
    for (;;) {
      const due = [...timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      timers.delete(due[0]);
      now = due[1].at;
      due[1].fn();
    }
    now = end;
  };
  return { transport, sockets, advance, win, doc, events, timers, last: () => sockets.at(-1) };
}

test('reconnects after failures with growing delays, and resets after synced', () => {
  const h = harness();
  h.transport.start();
  assert.equal(h.sockets.length, 1);
  for (let i = 0; i < 5; i++) {
    h.last().fail();
    const before = h.sockets.length;
    h.advance(h.transport.delays.at(-1) - 1);
    assert.equal(h.sockets.length, before, 'not before the delay');
    h.advance(1);
    assert.equal(h.sockets.length, before + 1, 'at the delay');
  }
  assert.deepEqual(h.transport.delays, [100, 200, 400, 800, 1600]);
  h.last().accept();
  assert.equal(h.transport.send('x'), true);
  h.transport.resetBackoff();  // the session reached synced
  h.last().fail();
  assert.equal(h.transport.delays.at(-1), 100, 'back to the shortest delay');
  assert.ok(h.events.includes('open'));
});

test('without synced the backoff keeps growing up to 30 s', () => {
  const h = harness();
  h.transport.start();
  for (let i = 0; i < 14; i++) {
    h.last().fail();
    h.advance(h.transport.delays.at(-1));
  }
  assert.equal(Math.max(...h.transport.delays), 30_000);
  assert.deepEqual(h.transport.delays.slice(-3), [30_000, 30_000, 30_000]);
});

test('`online` and a visible page reconnect at once; a hidden page does not', () => {
  const h = harness();
  h.transport.start();
  h.last().fail();
  for (let i = 0; i < 8; i++) { h.advance(h.transport.delays.at(-1)); h.last().fail(); }
  const waiting = h.sockets.length;
  h.win.dispatchEvent(new Event('online'));
  assert.equal(h.sockets.length, waiting + 1, 'online: connect now');
  assert.equal(h.transport.lastReconnectReason, 'online');
  h.win.dispatchEvent(new Event('online'));
  assert.equal(h.sockets.length, waiting + 1, 'no second socket while one is connecting');
  h.last().fail();
  h.doc.visibilityState = 'hidden';
  h.doc.dispatchEvent(new Event('visibilitychange'));
  assert.equal(h.sockets.length, waiting + 1, 'hidden: wait');
  h.doc.visibilityState = 'visible';
  h.doc.dispatchEvent(new Event('visibilitychange'));
  assert.equal(h.sockets.length, waiting + 2, 'visible: connect now');
  assert.equal(h.transport.lastReconnectReason, 'visible');
});

test('frames flow both ways; send without a socket reports false', () => {
  const h = harness();
  assert.equal(h.transport.send('early'), false);
  h.transport.start();
  assert.equal(h.transport.send('connecting'), false);
  h.last().accept();
  assert.equal(h.transport.send('{"type":"push"}'), true);
  assert.deepEqual(h.last().sent, ['{"type":"push"}']);
  h.last().message('{"type":"pong"}');
  h.last().message(new Uint8Array(2));  // binary frames are not the protocol's: ignored
  assert.deepEqual(h.events.filter((e) => e.startsWith('frame:')), ['frame:{"type":"pong"}']);
});

test('heartbeat: a ping every 25 s; silence for 10 s after it is a lost connection', () => {
  const h = harness();
  h.transport.start();
  h.last().accept();
  h.advance(25_000);
  assert.equal(JSON.parse(h.last().sent.at(-1)).type, 'ping');
  h.last().message('{"type":"pong"}');  // alive
  h.advance(25_000);
  const sock = h.last();
  assert.equal(sock.sent.filter((s) => JSON.parse(s).type === 'ping').length, 2);
  h.advance(10_000);  // no answer
  assert.ok(sock.closed, 'the silent socket was closed');
  assert.ok(h.events.includes('closed:no pong'));
  h.advance(h.transport.delays.at(-1));
  assert.notEqual(h.last(), sock, 'and replaced');
});

test('stop: closes the socket, reports it, and never reconnects', () => {
  const h = harness();
  h.transport.start();
  h.last().accept();
  h.transport.stop();
  assert.ok(h.last().closed);
  assert.ok(h.events.includes('closed:stopped'));
  const n = h.sockets.length;
  h.win.dispatchEvent(new Event('online'));
  h.advance(60_000);
  assert.equal(h.sockets.length, n);
  assert.equal(h.timers.size, 0, 'no timer left behind');
});

test('a missing WebSocket implementation is a clear error', () => {
  assert.throws(() => new SocketTransport({ url: 'ws://x', WebSocket: null, handlers: {} }), /WebSocket/);
});
