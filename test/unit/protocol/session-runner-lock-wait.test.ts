// A message of a device waits for the device lock while another message of that device is being
// applied. Found at 10,000 contacts: SyncEvolution re-sends a message after 2 min without an
// answer; the gateway was still applying the first copy (370 Adds on a slow server), the resend
// gave up after 15 s with 503, and the slow sync ended half done. The resend must wait and get
// the first copy's reply, with nothing applied twice.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_LOCK_WAIT_MS, type SessionRunner, type RunnerSettings } from '../../../src/protocol/session-runner.js';
import { SqliteStateStore } from '../../../src/state/sqlite-store.js';
import { message, runnerOn } from './runner-support.js';

describe('protocol/session-runner: waiting for the device lock', function () {
  let dir: string;
  let store: SqliteStateStore;
  let applied: string[];
  const slowMs = 1500;

  function runner(settings: Partial<RunnerSettings> = {}): SessionRunner {
    return runnerOn(store, async (b) => {
      applied.push(b.msg.header.msgId);
      if (b.msg.header.msgId === '2') await new Promise((r) => setTimeout(r, slowMs));
      return { reply: { ...b.msg, body: [] }, completed: false, ttlSeconds: 60 };
    }, settings);
  }

  beforeEach(function () {
    dir = mkdtempSync(path.join(tmpdir(), 'runner-lock-'));
    store = new SqliteStateStore({ stateDir: dir });
    applied = [];
  });
  afterEach(async function () {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a resend that arrives while the first copy is applied waits for it and gets its reply; applied once', async function () {
    const r = runner();
    const { sessionKey } = await r.run(message('1', true), { encoding: 'xml' }, { requestHash: 'h1' });
    const first = r.run(message('2', false), { encoding: 'xml' }, { sid: sessionKey, requestHash: 'h2' });
    await new Promise((res) => setTimeout(res, 100));
    const resend = await r.run(message('2', false), { encoding: 'xml' }, { sid: sessionKey, requestHash: 'h2' });
    const original = await first;
    assert.equal(original.resent, false);
    assert.equal(resend.resent, true, 'the resend is answered from the first copy, not applied again');
    assert.equal(new TextDecoder().decode(resend.body), 'reply to 2');
    assert.deepEqual(applied, ['1', '2']);
  });

  it('gives up after deviceLockWaitMs with 503 (service unavailable), nothing applied', async function () {
    const r = runner({ deviceLockWaitMs: 300 });
    const { sessionKey } = await r.run(message('1', true), { encoding: 'xml' }, { requestHash: 'h1' });
    const first = r.run(message('2', false), { encoding: 'xml' }, { sid: sessionKey, requestHash: 'h2' });
    await new Promise((res) => setTimeout(res, 100));
    const started = performance.now();
    const other = await r.run(message('2', false), { encoding: 'xml' }, { sid: sessionKey, requestHash: 'h2' });
    const waited = performance.now() - started;
    assert.equal(other.resent, false);
    assert.match(JSON.stringify(other.reply), /"503"|:503/);
    assert.ok(waited >= 250 && waited < slowMs, `waited ${Math.round(waited)} ms`);
    await first;
    assert.deepEqual(applied, ['1', '2']);
  });

  it('by default waits longer than a phone waits before it re-sends (SyncEvolution: 2 min)', function () {
    assert.ok(DEFAULT_LOCK_WAIT_MS > 120_000 + 60_000, 'the first copy has a minute and more after the resend arrives');
  });
});
