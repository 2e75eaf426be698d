// leader.test.mjs — one leader tab per database: with a Web Locks stand-in and Node's
// BroadcastChannel, the first portal leads (owns the database and the socket), a second one
// follows and forwards its writes to the leader (so an op enters one outbox once), and takes
// over when the leader closes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { importPackage, tempDir, until } from './support.mjs';

const { createPortal, loadModule, TabLeader, LeaderChannel } = await importPackage();

// navigator.locks, reduced to what TabLeader uses: exclusive locks, ifAvailable, abort signals.
class FakeLocks {
  constructor() { this.held = new Set(); this.queues = new Map(); }
  request(name, options, callback) {
    return new Promise((resolve, reject) => {
      const grant = () => {
        this.held.add(name);
        Promise.resolve()
          .then(() => callback({ name, mode: 'exclusive' }))
          .then(resolve, reject)
          .finally(() => {
            this.held.delete(name);
            const next = this.queues.get(name)?.shift();
            if (next) next.grant();
          });
      };
      if (!this.held.has(name)) return grant();
      if (options.ifAvailable) return Promise.resolve().then(() => callback(null)).then(resolve, reject);
      const entry = { grant };
      if (!this.queues.has(name)) this.queues.set(name, []);
      this.queues.get(name).push(entry);
      options.signal?.addEventListener('abort', () => {
        const q = this.queues.get(name);
        const i = q.indexOf(entry);
        if (i >= 0) q.splice(i, 1);
        reject(new DOMException('aborted', 'AbortError'));
      });
    });
  }
}

test('TabLeader: one leader; the next in line takes over when it stops', async () => {
  const locks = new FakeLocks();
  const led = [];
  const a = new TabLeader({ name: 'db', locks, onLeader: () => led.push('a') });
  const b = new TabLeader({ name: 'db', locks, onLeader: () => led.push('b') });
  const c = new TabLeader({ name: 'other', locks, onLeader: () => led.push('c') });
  assert.equal(await a.start(), true);
  assert.equal(await b.start(), false);
  assert.equal(await c.start(), true, 'another database has its own leader');
  assert.deepEqual(led, ['a', 'c']);
  assert.equal(b.isLeader, false);
  a.stop();
  await b.leading;
  assert.equal(b.isLeader, true);
  assert.deepEqual(led, ['a', 'c', 'b']);
  b.stop();
  c.stop();
});

test('TabLeader without Web Locks leads at once', async () => {
  const t = new TabLeader({ name: 'db', locks: null });
  assert.equal(await t.start(), true);
  assert.equal(t.isLeader, true);
});

test('LeaderChannel: calls reach the leader and answers come back; no leader = typed error', async () => {
  const leader = new LeaderChannel({ name: 'rpc-test' });
  const follower = new LeaderChannel({ name: 'rpc-test', timeoutMs: 300 });
  leader.serve(async (method, args) => ({ method, sum: args[0] + args[1] }));
  assert.deepEqual(await follower.call('add', [2, 3]), { method: 'add', sum: 5 });
  leader.serve(() => { throw new Error('boom'); });
  await assert.rejects(follower.call('x', []), /boom/);
  leader.close();
  await assert.rejects(follower.call('add', [1, 1]), (e) => e.code === 'INTERNAL');
  follower.close();
});

test('two portals on one database: the follower forwards, ops are numbered once', async (t) => {
  const dir = tempDir(t);
  const locks = new FakeLocks();
  const module = await loadModule();
  const actor = { role: 'buyer', subject: 'B1', buyer_id: 'B1' };
  const options = { name: 'B1', storage: 'nodefs', nodeRoot: dir, locks, actor };
  const a = await createPortal({ ...options, module });
  const b = await createPortal({ ...options, module: await loadModule() });
  t.after(async () => { await b.close(); });
  assert.equal(a.role, 'leader');
  assert.equal(b.role, 'follower');

  const saved = await b.saveDraft({ return_id: 'R1', lead_id: 'L1', reason: 'bad_contact' });
  assert.deepEqual(saved, { ok: true, seq: 1 }, 'answered by the leader');
  const fromA = await a.saveDraft({ return_id: 'R2', lead_id: 'L2', reason: 'duplicate' });
  assert.deepEqual(fromA, { ok: true, seq: 2 });
  assert.deepEqual(a.outbox().map((o) => o.seq), [1, 2], 'one outbox, each op once');
  await until(() => b.drafts().length === 2, 'the follower to see the leader\'s writes');
  assert.equal(b.validate({ return_id: 'R1', lead_id: 'L1' }).ok, false, 'reads stay local and sync');
  assert.deepEqual(await b.enqueue('teleport', {}), { error: { code: 'UNKNOWN_OP', field: 'op',
    message: (await a.enqueue('teleport', {})).error.message } });

  // The leader tab closes: the follower takes over with everything durable.
  const roles = [];
  b.on('role', (r) => roles.push(r.role));
  await a.close();
  await until(() => b.role === 'leader' && b.core, 'the follower to take the lead');
  assert.deepEqual(roles, ['leader']);
  assert.deepEqual(b.outbox().map((o) => o.seq), [1, 2]);
  assert.deepEqual(await b.saveDraft({ return_id: 'R3', lead_id: 'L3' }), { ok: true, seq: 3 });
});
