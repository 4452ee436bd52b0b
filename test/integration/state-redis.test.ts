// Runs the StateStore contract on Redis (standalone, and a one-node Redis Cluster, which enforces
// the same-slot rule for multi-key commands), plus outages: Redis killed, restarted, or hung.
/// <reference types="mocha" />
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { isGatewayError } from '../../src/errors.js';
import { createStateStore } from '../../src/state/index.js';
import { keys } from '../../src/state/redis-keys.js';
import { RedisStateStore } from '../../src/state/redis-store.js';
import type { RedisStoreConfig } from '../../src/state/redis-config.js';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { getFreePort, makeTempDir, startRedis, waitUntil } from '../support/index.js';
import { spawnService } from '../support/processes.js';
import type { RedisHandle } from '../support/index.js';
import { stateStoreContract } from '../contract/state-store.contract.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const isStateFailed = (err: unknown): boolean => isGatewayError(err, 'STATE_FAILED');

/** One server per runner, started on first use. */
function lazyRedis(start: () => Promise<RedisHandle>): { get(): Promise<RedisHandle>; dispose(): Promise<void> } {
  let p: Promise<RedisHandle> | undefined;
  return {
    get: () => (p ??= start()),
    dispose: async () => {
      if (p) await (await p).dispose();
    },
  };
}

const standalone = lazyRedis(() => startRedis());
const clustered = lazyRedis(async () => {
  const h = await startRedis({ args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-announce-ip', '127.0.0.1'] });
  const admin = new Redis(h.port, '127.0.0.1', { lazyConnect: true });
  await admin.connect();
  try {
    await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
    for (let i = 0; i < 100 && !/cluster_state:ok/.test(String(await admin.call('CLUSTER', 'INFO'))); i++) await sleep(100);
  } finally {
    admin.disconnect();
  }
  return h;
});
after(async function () {
  await standalone.dispose();
  await clustered.dispose();
});

async function storeFor(config: RedisStoreConfig): Promise<{ store: RedisStateStore; cleanup(): Promise<void> }> {
  const store = await RedisStateStore.open(config);
  return { store, cleanup: () => store.close() };
}

stateStoreContract('RedisStateStore (standalone)', async () => storeFor({ url: (await standalone.get()).url }));
stateStoreContract('RedisStateStore (cluster, one node)', async () =>
  storeFor({ cluster: [{ host: '127.0.0.1', port: (await clustered.get()).port }] }),
);

describe('RedisStateStore', function () {
  const dev = { account: 'alice', deviceId: 'IMEI:123' };
  const ds = { ...dev, datastore: 'contacts' };

  it('puts all keys of one device in one cluster slot, with the documented names', async function () {
    const h = await standalone.get();
    const account = `a{}|%-${randomUUID()}`;
    const d = { account, deviceId: 'IMEI:1{x}' };
    const store = await RedisStateStore.open({ url: h.url });
    const raw = new Redis(h.port, '127.0.0.1');
    try {
      await store.putDevice(d, {});
      await store.commitAnchors({ ...d, datastore: 'contacts' }, { client: 'c', server: 's' }, { put: [{ luid: '1', guid: '/a', etag: '1' }] });
      await store.acquireLock(d, 'o', 30);
      const found = (await raw.keys('sgw:v1:{a%7B%7D%7C%25-*')).sort();
      assert.equal(found.length, 6, found.join('\n'));
      // Redis itself computes the slots (CLUSTER KEYSLOT works on the cluster-enabled node).
      const c = await clustered.get();
      const admin = new Redis(c.port, '127.0.0.1');
      try {
        const slots = await Promise.all(found.map((k) => admin.call('CLUSTER', 'KEYSLOT', k)));
        assert.equal(new Set(slots).size, 1, `slots: ${slots.join(',')}`);
      } finally {
        admin.disconnect();
      }
      assert.equal(keys.map({ account: 'alice', deviceId: 'IMEI:123', datastore: 'contacts' }), 'sgw:v1:{alice|IMEI:123}:ds:contacts:map');
      assert.equal(await raw.get('sgw:schema'), '1');
      assert.equal(await raw.sismember(keys.accountDevices(account), 'IMEI:1{x}'), 1);
    } finally {
      raw.disconnect();
      await store.close();
    }
  });

  it('keeps session fields in one hash named after the hash key, in that key\'s session slot, with a PX expiry', async function () {
    const h = await standalone.get();
    const hashKey = `fields:{x}|${randomUUID()}`;
    const store = await RedisStateStore.open({ url: h.url });
    const raw = new Redis(h.port, '127.0.0.1');
    try {
      await store.putSessionFields(hashKey, [['a', '1'], ['b', '2']], 30);
      const k = keys.sessionFields(hashKey);
      assert.equal(k, `sgw:v1:session:{fields:%7Bx%7D%7C${hashKey.slice(11)}}:fields`);
      assert.equal(await raw.type(k), 'hash');
      assert.deepEqual(await raw.hgetall(k), { a: '1', b: '2' });
      const pttl = await raw.pttl(k);
      assert.ok(pttl > 25_000 && pttl <= 30_000, `PTTL ${pttl}`);
      const c = await clustered.get();
      const admin = new Redis(c.port, '127.0.0.1');
      try {
        assert.equal(await admin.call('CLUSTER', 'KEYSLOT', k), await admin.call('CLUSTER', 'KEYSLOT', keys.session(hashKey)));
      } finally {
        admin.disconnect();
      }
      await store.deleteSessionFields(hashKey);
      assert.equal(await raw.exists(k), 0);
    } finally {
      raw.disconnect();
      await store.close();
    }
  });

  it('two gateway instances on one Redis share locks and maps', async function () {
    const h = await standalone.get();
    const [a, b] = await Promise.all([RedisStateStore.open({ url: h.url }), RedisStateStore.open({ url: h.url })]);
    const d = { account: `two-${randomUUID()}`, deviceId: 'IMEI:1' };
    try {
      const won = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).acquireLock(d, `o${i}`, 30)));
      assert.equal(won.filter(Boolean).length, 1);
      await a.putMapEntries({ ...d, datastore: 'contacts' }, [{ luid: '1', guid: '/a', etag: '1' }]);
      await b.putMapEntries({ ...d, datastore: 'contacts' }, [{ luid: '2', guid: '/a', etag: '2' }]);
      assert.deepEqual(await a.getMap({ ...d, datastore: 'contacts' }), [{ luid: '2', guid: '/a', etag: '2' }]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('registers a device with its account once per process, and again after another process forgot it', async function () {
    const h = await standalone.get();
    const [a, b] = await Promise.all([RedisStateStore.open({ url: h.url }), RedisStateStore.open({ url: h.url })]);
    const raw = new Redis(h.port, '127.0.0.1');
    const sadds = async (): Promise<number> => Number(/cmdstat_sadd:calls=(\d+)/.exec(await raw.info('commandstats'))?.[1] ?? 0);
    const d = { account: `reg-${randomUUID()}`, deviceId: 'IMEI:1' };
    const contacts = { ...d, datastore: 'contacts' };
    try {
      await a.putMapEntries(contacts, [{ luid: '1', guid: '/a', etag: '1' }]);
      await a.putDevice(d, { lastSync: 'x' });
      const before = await sadds();
      for (let i = 2; i <= 5; i++) await a.putMapEntries(contacts, [{ luid: String(i), guid: `/${i}`, etag: '1' }]);
      await a.putDevice(d, { lastSync: 'x2' });
      // One SADD per map write: the datastore into the device's own set (inside the script).
      assert.equal((await sadds()) - before, 4);
      await b.forgetDevice(d);
      assert.deepEqual(await a.listDevices(d.account), []);
      await a.putMapEntries(contacts, [{ luid: '9', guid: '/a', etag: '1' }]);
      assert.deepEqual((await b.listDevices(d.account)).map((x) => x.deviceId), ['IMEI:1'], 'a write after a forget elsewhere registers again');
      await b.forgetDevice(d);
      await a.putDevice(d, { lastSync: 'y' });
      assert.deepEqual((await b.listDevices(d.account)).map((x) => x.deviceId), ['IMEI:1'], 'so does a device record written after it');
    } finally {
      raw.disconnect();
      await a.close();
      await b.close();
    }
  });

  it('fails fast with STATE_FAILED when Redis is not there', async function () {
    const port = await getFreePort();
    const t0 = Date.now();
    await assert.rejects(RedisStateStore.open({ url: `redis://127.0.0.1:${port}` }), isStateFailed);
    assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
  });

  it('refuses a Redis written with another key-schema version', async function () {
    const h = await startRedis();
    const raw = new Redis(h.port, '127.0.0.1');
    try {
      await raw.set('sgw:schema', '2');
      await assert.rejects(
        RedisStateStore.open({ url: h.url }),
        (err: unknown) => isStateFailed(err) && /schema version 2/.test((err as Error).message),
      );
    } finally {
      raw.disconnect();
      await h.dispose();
    }
  });

  it('Redis killed mid-use: calls reject with STATE_FAILED quickly, then recover after restart', async function () {
    this.timeout(30_000);
    const h = await startRedis();
    const store = await RedisStateStore.open({ url: h.url });
    try {
      await store.commitAnchors(ds, { client: 'c', server: 's' });
      await h.kill();
      for (const call of [
        () => store.getAnchors(ds),
        () => store.putMapEntries(ds, [{ luid: '1', guid: '/a', etag: '1' }]),
        () => store.acquireLock(dev, 'o', 30),
        () => store.ping(),
      ]) {
        const t0 = Date.now();
        await assert.rejects(call(), isStateFailed);
        assert.ok(Date.now() - t0 < 2500, `took ${Date.now() - t0} ms`);
      }
      await h.restart();
      const t0 = Date.now();
      for (;;) {
        try {
          await store.ping();
          break;
        } catch (err) {
          assert.ok(isStateFailed(err));
          if (Date.now() - t0 > 10_000) throw new Error('store did not recover within 10 s of the restart', { cause: err });
          await sleep(100);
        }
      }
      // The restarted Redis has no persistence: the data is gone, but the store works again.
      assert.equal(await store.getAnchors(ds), undefined);
      await store.putMapEntries(ds, [{ luid: '1', guid: '/a', etag: '1' }]);
      assert.equal((await store.getMap(ds)).length, 1);
      // And the key-schema marker is back.
      const raw = new Redis(h.port, '127.0.0.1');
      try {
        for (let i = 0; i < 20 && (await raw.get('sgw:schema')) === null; i++) await sleep(50);
        assert.equal(await raw.get('sgw:schema'), '1');
      } finally {
        raw.disconnect();
      }
    } finally {
      await store.close();
      await h.dispose();
    }
  });

  it('Redis that accepts but does not answer: calls reject after the command timeout', async function () {
    this.timeout(20_000);
    const h = await startRedis({ args: ['--enable-debug-command', 'yes'] });
    const store = await RedisStateStore.open({ url: h.url, commandTimeoutMs: 500 });
    const raw = new Redis(h.port, '127.0.0.1');
    try {
      // DEBUG SLEEP blocks the whole server, like a stalled host.
      const sleeping = raw.call('DEBUG', 'SLEEP', '2').catch(() => undefined);
      await sleep(100);
      const t0 = Date.now();
      await assert.rejects(store.getMap(ds), isStateFailed);
      const took = Date.now() - t0;
      assert.ok(took >= 400 && took < 1500, `took ${took} ms`);
      await sleeping;
    } finally {
      raw.disconnect();
      await store.close();
      await h.dispose();
    }
  });

  it('finds the master through Sentinel (redis+sentinel:// URL)', async function () {
    this.timeout(30_000);
    const master = await standalone.get();
    const port = await getFreePort();
    const dir = makeTempDir('sentinel');
    const conf = path.join(dir, 'sentinel.conf');
    writeFileSync(conf, [`port ${port}`, 'bind 127.0.0.1', `dir ${dir}`, `sentinel monitor gw 127.0.0.1 ${master.port} 1`, ''].join('\n'));
    const sentinel = spawnService('redis-server', [conf, '--sentinel'], path.join(dir, 'sentinel.log'), { cwd: dir });
    try {
      const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
      probe.on('error', () => undefined);
      await waitUntil(async () => {
        if (probe.status !== 'ready') await probe.connect();
        return Array.isArray(await probe.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'gw'));
      }, 'redis sentinel', 10_000, sentinel.exitReason);
      probe.disconnect();
      const store = await createStateStore({ redisUrl: `redis+sentinel://127.0.0.1:${port}/gw`, stateDir: '/nonexistent' });
      try {
        const k = { account: `sentinel-${randomUUID()}`, deviceId: 'IMEI:1', datastore: 'contacts' };
        await store.commitAnchors(k, { client: 'c', server: 's' });
        assert.deepEqual(await store.getAnchors(k), { client: 'c', server: 's' });
      } finally {
        await store.close();
      }
    } finally {
      await sentinel.stop();
    }
  });

  it('createStateStore picks Redis when a Redis URL is given', async function () {
    const h = await standalone.get();
    const store = await createStateStore({ redisUrl: h.url, stateDir: '/nonexistent' });
    try {
      // By name: createStateStore loads the store with a dynamic import, which tsx under mocha
      // resolves to another module instance than this file's static import.
      assert.equal(store.constructor.name, 'RedisStateStore');
      await store.ping();
    } finally {
      await store.close();
    }
  });
});
