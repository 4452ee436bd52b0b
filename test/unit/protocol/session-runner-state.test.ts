// How many state store calls a message costs the session runner (issue #15: every sequential
// round trip is a wait on a loaded gateway): a continued message reads its session once before the
// lock (to authenticate by token) and once with the lock (lockAndLoad), and writes once
// (saveMessage, which also releases the lock). A resend is answered from that same read.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SessionRunner } from '../../../src/protocol/session-runner.js';
import { SqliteStateStore } from '../../../src/state/sqlite-store.js';
import type { StateStore } from '../../../src/state/state-store.js';
import { message, runnerOn } from './runner-support.js';

describe('protocol/session-runner: state store calls per message', function () {
  let dir: string;
  let store: SqliteStateStore;
  let calls: string[];
  let runner: SessionRunner;

  beforeEach(function () {
    dir = mkdtempSync(path.join(tmpdir(), 'runner-state-'));
    store = new SqliteStateStore({ stateDir: dir });
    calls = [];
    const counted = new Proxy(store, {
      get(target, prop, receiver) {
        const v: unknown = Reflect.get(target, prop, receiver);
        if (typeof v !== 'function' || typeof prop !== 'string') return v;
        return (...args: unknown[]) => {
          calls.push(prop);
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    }) as StateStore;
    runner = runnerOn(counted);
  });
  afterEach(async function () {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('first message: alias lookup, rate-limit reads, one lockAndLoad, one saveMessage', async function () {
    const first = await runner.run(message('1', true), { encoding: 'xml' }, { requestHash: 'h1', remoteAddress: '127.0.0.1' });
    assert.ok(first.sessionKey);
    assert.deepEqual(calls, ['getSession', 'incrementCounter', 'incrementCounter', 'lockAndLoad', 'saveMessage']);
  });

  it('a continued message: its session read to bind, then lockAndLoad and saveMessage; a resend: no save', async function () {
    const { sessionKey } = await runner.run(message('1', true), { encoding: 'xml' }, { requestHash: 'h1' });
    calls.length = 0;
    const second = await runner.run(message('2', false), { encoding: 'xml' }, { sid: sessionKey, requestHash: 'h2' });
    assert.equal(second.resent, false);
    assert.deepEqual(calls, ['getSession', 'lockAndLoad', 'saveMessage']);
    calls.length = 0;
    const again = await runner.run(message('2', false), { encoding: 'xml' }, { sid: sessionKey, requestHash: 'h2' });
    assert.equal(again.resent, true);
    assert.equal(new TextDecoder().decode(again.body), 'reply to 2');
    assert.deepEqual(calls, ['getSession', 'lockAndLoad', 'releaseLock']);
    assert.equal(await store.acquireLock({ account: 'alice', deviceId: 'IMEI:1' }, 'other', 30), true, 'the lock was released');
  });

  it('the session read by peekSession (the HTTP layer asks first) serves the run of that request', async function () {
    const { sessionKey } = await runner.run(message('1', true), { encoding: 'xml' }, { requestHash: 'h1' });
    calls.length = 0;
    const peek = await runner.peekSession(sessionKey);
    assert.equal(peek?.authenticated, true);
    const second = await runner.run(message('2', false), { encoding: 'xml' }, { sid: sessionKey, requestHash: 'h2', ...(peek ? { peek } : {}) });
    assert.equal(second.resent, false);
    assert.deepEqual(calls, ['getSession', 'lockAndLoad', 'saveMessage']);
    calls.length = 0;
    // Without a peek handed to it, run reads the session itself.
    await runner.run(message('3', false), { encoding: 'xml' }, { sid: sessionKey, requestHash: 'h3' });
    assert.deepEqual(calls, ['getSession', 'lockAndLoad', 'saveMessage']);
  });

  it('a token for another device is refused whether or not peekSession read it first', async function () {
    const { sessionKey } = await runner.run(message('1', true), { encoding: 'xml' }, { requestHash: 'h1' });
    const other = message('2', false);
    other.header.source = { locURI: 'IMEI:2' };
    const peek = await runner.peekSession(sessionKey);
    const refused = await runner.run(other, { encoding: 'xml' }, { sid: sessionKey, requestHash: 'x', ...(peek ? { peek } : {}) });
    assert.equal(refused.sessionKey, '');
    const again = await runner.run(other, { encoding: 'xml' }, { sid: sessionKey, requestHash: 'y' });
    assert.equal(again.sessionKey, '');
  });
});
