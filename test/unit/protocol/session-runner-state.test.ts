// How many state store calls a message costs the session runner (issue #15: every sequential
// round trip is a wait on a loaded gateway): a continued message reads its session once before the
// lock (to authenticate by token) and once with the lock (lockAndLoad), and writes once
// (saveMessage, which also releases the lock). A resend is answered from that same read.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AccountRegistry, type AccountMapping } from '../../../src/accounts/mappings.js';
import type { SyncMLMessage } from '../../../src/codec/model.js';
import { createLogger } from '../../../src/logger.js';
import { SessionRunner } from '../../../src/protocol/session-runner.js';
import { SqliteStateStore } from '../../../src/state/sqlite-store.js';
import type { StateStore } from '../../../src/state/state-store.js';

const mapping: AccountMapping = {
  account: 'alice', file: 'alice.yaml', auth: { mode: 'secret', basic: 'phone-pw' },
  dav: { url: 'http://dav.test/', username: 'alice', password: 'dav-pw' }, datastores: [],
};

function message(msgId: string, withCred: boolean): SyncMLMessage {
  return {
    version: '1.2', final: true, body: [],
    header: {
      verDTD: '1.2', verProto: 'SyncML/1.2', sessionId: '7', msgId, target: { locURI: 'http://gw.test/sync' }, source: { locURI: 'IMEI:1' },
      ...(withCred ? { cred: { meta: { type: 'syncml:auth-basic', format: 'b64' }, data: Buffer.from('alice:phone-pw').toString('base64') } } : {}),
    },
  };
}

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
    runner = new SessionRunner({
      accounts: new AccountRegistry([mapping]), state: counted, verifyCredentials: async () => false, log: createLogger('silent'),
      encode: (msg) => new TextEncoder().encode(`reply to ${msg.header.msgId}`),
      settings: { serverUrl: 'http://gw.test/sync', serverMaxMsgSize: 100_000, authCacheSeconds: 0, sessionTtlSeconds: 60 },
    }, async (b) => ({ reply: { ...b.msg, body: [] }, completed: false, ttlSeconds: 60 }));
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

  it('the session read by knowsSession (the HTTP layer asks first) serves the run of that request', async function () {
    const { sessionKey } = await runner.run(message('1', true), { encoding: 'xml' }, { requestHash: 'h1' });
    calls.length = 0;
    assert.equal(await runner.knowsSession(sessionKey), true);
    const second = await runner.run(message('2', false), { encoding: 'xml' }, { sid: sessionKey, requestHash: 'h2' });
    assert.equal(second.resent, false);
    assert.deepEqual(calls, ['getSession', 'lockAndLoad', 'saveMessage']);
    calls.length = 0;
    // Without a knowsSession just before it, run reads the session itself.
    await runner.run(message('3', false), { encoding: 'xml' }, { sid: sessionKey, requestHash: 'h3' });
    assert.deepEqual(calls, ['getSession', 'lockAndLoad', 'saveMessage']);
  });

  it('a token for another device is refused whether or not knowsSession read it first', async function () {
    const { sessionKey } = await runner.run(message('1', true), { encoding: 'xml' }, { requestHash: 'h1' });
    const other = message('2', false);
    other.header.source = { locURI: 'IMEI:2' };
    await runner.knowsSession(sessionKey);
    const refused = await runner.run(other, { encoding: 'xml' }, { sid: sessionKey, requestHash: 'x' });
    assert.equal(refused.sessionKey, '');
    const again = await runner.run(other, { encoding: 'xml' }, { sid: sessionKey, requestHash: 'y' });
    assert.equal(again.sessionKey, '');
  });
});
