// The device lock is renewed while a message runs (every 3 s). A renewal that reached the store
// after the message's save had released the lock took the lock again, because acquireLock also
// takes a free lock: the device's next message then waited the whole 10 s TTL. Seen in the load
// bench as 10 s outliers; here the save is made slow so that a renewal falls inside it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SqliteStateStore } from '../../../src/state/sqlite-store.js';
import type { StateStore } from '../../../src/state/state-store.js';
import { mapping, message, runnerOn } from './runner-support.js';

describe('protocol/session-runner: lock renewal ends before the lock is released', function () {
  let dir: string;
  let store: SqliteStateStore;

  beforeEach(function () {
    dir = mkdtempSync(path.join(tmpdir(), 'runner-renew-'));
    store = new SqliteStateStore({ stateDir: dir });
  });
  afterEach(async function () {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('after a message whose save outlasts the renewal interval, the device lock is free', async function () {
    this.timeout(20_000);
    // The save releases the lock at once, then takes 3.5 s to return (a slow store round trip):
    // longer than the 3 s renewal interval.
    const slowSave = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === 'saveMessage') {
          return async (...args: Parameters<StateStore['saveMessage']>) => {
            await target.saveMessage(...args);
            await new Promise((r) => setTimeout(r, 3500));
          };
        }
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }) as StateStore;
    const r = runnerOn(slowSave);
    const first = await r.run(message('1', true), { encoding: 'xml' }, { requestHash: 'h1' });
    assert.ok(first.sessionKey);
    await new Promise((res) => setTimeout(res, 200)); // a renewal in flight would land by now
    const free = await store.acquireLock({ account: mapping.account, deviceId: 'IMEI:1' }, 'someone-else', 10);
    assert.equal(free, true, 'the lock was taken again after the message released it');
  });
});
