// Admission control: at most MAX_CONCURRENT_MESSAGES messages are worked on at once, the rest wait
// their turn in arrival order, and beyond MAX_QUEUED_MESSAGES a message is answered 503 + Retry-After.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { loadSettings } from '../../../src/config.js';
import { Admission } from '../../../src/http/admission.js';
import { createApp } from '../../../src/http/app.js';
import { createHttpServer } from '../../../src/http/listen.js';
import { createLogger } from '../../../src/logger.js';
import type { ProtocolEngine } from '../../../src/protocol/engine.js';
import type { StateStore } from '../../../src/state/state-store.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('http: admission control', function () {
  it('runs at most maxRunning at once; the others get their turn first come, first served', async function () {
    const waits: number[] = [];
    const a = new Admission({ maxRunning: 2, maxQueued: 10, onWait: (s) => waits.push(s) });
    const order: number[] = [];
    const releases = await Promise.all([a.enter()!, a.enter()!]);
    const queued = [3, 4, 5].map((n) => a.enter()!.then((release) => {
      order.push(n);
      return release;
    }));
    await tick();
    assert.deepEqual([a.running, a.queued, order.length], [2, 3, 0]);
    releases[0]!();
    releases[0]!(); // a second call of one release frees nothing more
    await tick();
    assert.deepEqual(order, [3]);
    assert.equal(a.running, 2);
    releases[1]!();
    (await queued[0]!)();
    await tick();
    assert.deepEqual(order, [3, 4, 5]);
    (await queued[1]!)();
    (await queued[2]!)();
    assert.deepEqual([a.running, a.queued], [0, 0]);
    assert.equal(waits.length, 5);
    assert.deepEqual(waits.slice(0, 2), [0, 0]);
  });

  it('refuses at once when the queue is full; 0 means no bound', async function () {
    const a = new Admission({ maxRunning: 1, maxQueued: 1 });
    const first = await a.enter()!;
    assert.ok(a.enter());
    assert.equal(a.enter(), undefined);
    first();
    const free = new Admission({ maxRunning: 0, maxQueued: 0 });
    const all = await Promise.all(Array.from({ length: 100 }, () => free.enter()!));
    assert.equal(free.running, 100);
    for (const r of all) r();
  });

  it('the SyncML endpoint answers 503 with Retry-After when the queue is full, and serves the waiting one after', async function () {
    let unblock!: () => void;
    const blocked = new Promise<void>((r) => (unblock = r));
    let calls = 0;
    // peekSession is the first thing a message does inside its turn: the first one holds the turn.
    const engine = { peekSession: async () => (++calls === 1 ? blocked.then(() => undefined) : undefined) } as unknown as ProtocolEngine;
    const app = createApp({
      engine, state: { ping: async () => undefined } as unknown as StateStore, log: createLogger('silent'), syncmlPath: '/sync',
      maxBodyBytes: 1e6, version: 't', admission: new Admission({ maxRunning: 1, maxQueued: 1 }), retryAfterSeconds: 7,
    });
    const server = createHttpServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sync`;
    const post = (): Promise<Response> => fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/vnd.syncml+xml' }, body: '<SyncML>not really</SyncML>' });
    try {
      const first = post();
      while (calls < 1) await new Promise((r) => setTimeout(r, 5));
      const second = post();
      await new Promise((r) => setTimeout(r, 100));
      const third = await post();
      assert.equal(third.status, 503);
      assert.equal(third.headers.get('retry-after'), '7');
      assert.equal(calls, 1, 'the second message waits for its turn');
      unblock();
      assert.equal((await first).status, 400, 'the held one runs on (an undecodable body: 400)');
      assert.equal((await second).status, 400, 'the queued one ran after it');
      assert.equal(calls, 2);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('settings: MAX_CONCURRENT_MESSAGES, MAX_QUEUED_MESSAGES and DAV_MAX_CONNECTIONS, with defaults', function () {
    const d = loadSettings({});
    assert.deepEqual([d.maxConcurrentMessages, d.maxQueuedMessages, d.davMaxConnections], [0, 1000, 16]);
    const e = loadSettings({ MAX_CONCURRENT_MESSAGES: '8', MAX_QUEUED_MESSAGES: '5', DAV_MAX_CONNECTIONS: '4' });
    assert.deepEqual([e.maxConcurrentMessages, e.maxQueuedMessages, e.davMaxConnections], [8, 5, 4]);
    assert.throws(() => loadSettings({ DAV_MAX_CONNECTIONS: '0' }), /DAV_MAX_CONNECTIONS/);
  });
});
