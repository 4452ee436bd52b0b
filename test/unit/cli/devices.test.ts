// `syncml-gateway devices ...` against a real SqliteStateStore in a temp dir: what list, reset,
// forget and export print, what they change in the store, and how they refuse bad input.
/// <reference types="mocha" />
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runDevices } from '../../../src/cli/devices.js';
import { isGatewayError } from '../../../src/errors.js';
import { UsageError } from '../../../src/cli/usage.js';
import { SqliteStateStore } from '../../../src/state/sqlite-store.js';

const ALICE_PHONE = { account: 'alice', deviceId: 'IMEI:3550001' };
const ALICE_TABLET = { account: 'alice', deviceId: 'tablet|1' };
const BOB_PHONE = { account: 'bob', deviceId: 'sc-test-client' };

describe('cli: syncml-gateway devices', function () {
  let dir: string;
  let env: NodeJS.ProcessEnv;

  /** Run the command against the temp store and return what it printed. */
  async function run(...args: string[]): Promise<string> {
    let text = '';
    await runDevices(args, { env, out: { write: (s: string) => (text += s) } });
    return text;
  }

  /** Open the same file the command uses (it closes its own handle after each command). */
  async function withStore<T>(fn: (s: SqliteStateStore) => Promise<T>): Promise<T> {
    const s = new SqliteStateStore({ stateDir: dir });
    try {
      return await fn(s);
    } finally {
      await s.close();
    }
  }

  beforeEach(async function () {
    dir = mkdtempSync(path.join(tmpdir(), 'sgw-cli-devices-'));
    // REDIS_URL empty => the embedded store in STATE_DIR, whatever the outer environment says.
    env = { STATE_DIR: dir, REDIS_URL: '' };
    await withStore(async (s) => {
      await s.putDevice(ALICE_PHONE, { lastSync: '2026-03-01T10:00:00.000Z', devInf: { man: 'Nokia', mod: '6230i' }, nextNonce: 'c2VjcmV0' });
      await s.commitAnchors({ ...ALICE_PHONE, datastore: 'contacts' }, { client: 'c-anchor-7', server: 's-anchor-7' });
      await s.putMapEntries({ ...ALICE_PHONE, datastore: 'contacts' }, [
        { luid: '2', guid: '/alice/contacts/b.vcf', etag: '"e2"', hash: 'h2' },
        { luid: '1', guid: '/alice/contacts/a.vcf', etag: '"e1"' },
        { luid: '3', guid: '/alice/contacts/c.vcf', etag: '"e3"' },
      ]);
      await s.commitAnchors({ ...ALICE_PHONE, datastore: 'calendar' }, { client: 'cc-1', server: 'sc-1' });
      await s.putMapEntries({ ...ALICE_PHONE, datastore: 'calendar' }, [{ luid: '9', guid: '/alice/calendar/x.ics', etag: '"x"' }]);
      // An interrupted first session: map entries, no anchors, no completed sync.
      await s.putMapEntries({ ...ALICE_TABLET, datastore: 'contacts' }, [{ luid: 't1', guid: '/alice/contacts/t.vcf', etag: '"t"' }]);
      await s.putDevice(BOB_PHONE, { lastSync: '2026-02-01T08:00:00.000Z' });
    });
  });

  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it('list shows every device with last sync and, per datastore, anchors and map size', async function () {
    const lines = (await run('list')).trimEnd().split('\n');
    assert.match(lines[0]!, /^ACCOUNT\s+DEVICE\s+LAST SYNC\s+DATASTORE\s+CLIENT ANCHOR\s+SERVER ANCHOR\s+ITEMS$/);
    const rows = lines.slice(1).map((l) => l.split(/\s{2,}/));
    assert.deepEqual(rows, [
      ['alice', 'IMEI:3550001', '2026-03-01T10:00:00.000Z', 'calendar', 'cc-1', 'sc-1', '1'],
      ['alice', 'IMEI:3550001', '2026-03-01T10:00:00.000Z', 'contacts', 'c-anchor-7', 's-anchor-7', '3'],
      ['alice', 'tablet|1', 'never', 'contacts', '-', '-', '1'],
      ['bob', 'sc-test-client', '2026-02-01T08:00:00.000Z', '-', '-', '-', '0'],
    ]);
  });

  it('list --account limits the listing to one account', async function () {
    const out = await run('list', '--account', 'bob');
    assert.equal(out.trimEnd().split('\n').length, 2);
    assert.match(out, /bob\s+sc-test-client/);
    assert.doesNotMatch(out, /alice/);
    // docs/admin.md: an unknown account is an error (exit status 1) that lists what exists.
    await assert.rejects(run('list', '--account=carol'), (err) => isGatewayError(err, 'NOT_FOUND') && /no devices for account carol \(accounts with devices: alice, bob\)/.test(err.message));
  });

  it('reset of one datastore removes its anchors and map only (the next session is slow)', async function () {
    const out = await run('reset', 'alice', 'IMEI:3550001', 'contacts');
    assert.match(out, /reset alice IMEI:3550001 contacts: .*slow sync/);
    await withStore(async (s) => {
      const contacts = { ...ALICE_PHONE, datastore: 'contacts' };
      assert.equal(await s.getAnchors(contacts), undefined);
      assert.deepEqual(await s.getMap(contacts), []);
      assert.deepEqual(await s.getAnchors({ ...ALICE_PHONE, datastore: 'calendar' }), { client: 'cc-1', server: 'sc-1' });
      assert.equal((await s.getMap({ ...ALICE_PHONE, datastore: 'calendar' })).length, 1);
      // The device itself (DevInf, last sync) stays.
      assert.equal((await s.getDevice(ALICE_PHONE))?.lastSync, '2026-03-01T10:00:00.000Z');
    });
  });

  it('reset without a datastore resets all of the device and nothing of other devices', async function () {
    const out = await run('reset', 'alice', 'IMEI:3550001');
    assert.equal(out.trimEnd().split('\n').length, 2, out);
    await withStore(async (s) => {
      for (const datastore of ['contacts', 'calendar']) {
        assert.equal(await s.getAnchors({ ...ALICE_PHONE, datastore }), undefined);
        assert.deepEqual(await s.getMap({ ...ALICE_PHONE, datastore }), []);
      }
      assert.equal((await s.getMap({ ...ALICE_TABLET, datastore: 'contacts' })).length, 1);
    });
  });

  it('forget deletes the device; other devices of the account stay', async function () {
    const out = await run('forget', 'alice', 'IMEI:3550001');
    assert.match(out, /forgot alice IMEI:3550001/);
    await withStore(async (s) => {
      assert.equal(await s.getDevice(ALICE_PHONE), undefined);
      assert.deepEqual(await s.getMap({ ...ALICE_PHONE, datastore: 'contacts' }), []);
      assert.deepEqual((await s.listDevices('alice')).map((d) => d.deviceId), ['tablet|1']);
    });
  });

  it('export prints the map as JSON (sorted by LUID), anchors and DevInf, without the auth nonce', async function () {
    const out = await run('export', 'alice', 'IMEI:3550001');
    const doc = JSON.parse(out) as {
      account: string; deviceId: string; lastSync: string; devInf: unknown;
      datastores: Array<{ name: string; anchors: unknown; items: number; map: Array<{ luid: string; guid: string; etag: string; hash?: string }> }>;
    };
    assert.equal(doc.account, 'alice');
    assert.equal(doc.deviceId, 'IMEI:3550001');
    assert.equal(doc.lastSync, '2026-03-01T10:00:00.000Z');
    assert.deepEqual(doc.devInf, { man: 'Nokia', mod: '6230i' });
    const contacts = doc.datastores.find((d) => d.name === 'contacts')!;
    assert.deepEqual(contacts.anchors, { client: 'c-anchor-7', server: 's-anchor-7' });
    assert.equal(contacts.items, 3);
    assert.deepEqual(contacts.map, [
      { luid: '1', guid: '/alice/contacts/a.vcf', etag: '"e1"' },
      { luid: '2', guid: '/alice/contacts/b.vcf', etag: '"e2"', hash: 'h2' },
      { luid: '3', guid: '/alice/contacts/c.vcf', etag: '"e3"' },
    ]);
    assert.deepEqual(doc.datastores.map((d) => d.name), ['calendar', 'contacts']);
    assert.doesNotMatch(out, /nextNonce|c2VjcmV0/);
  });

  it('an unknown device or datastore is an error that names what exists, and changes nothing', async function () {
    await assert.rejects(run('forget', 'alice', 'nope'), /no device nope for account alice \(known: IMEI:3550001, tablet\|1\)/);
    await assert.rejects(run('export', 'carol', 'x'), /no device x for account carol \(the account has no devices\)/);
    await assert.rejects(run('reset', 'alice', 'IMEI:3550001', 'tasks'), /has no datastore tasks \(has: calendar, contacts\)/);
    await withStore(async (s) => assert.equal((await s.listDevices()).length, 3));
  });

  it('bad command lines are refused with the usage text before the store is opened', async function () {
    // A STATE_DIR that cannot be created (below a regular file) proves the store is never opened.
    const blocker = path.join(dir, 'not-a-dir');
    writeFileSync(blocker, '');
    env = { STATE_DIR: path.join(blocker, 'state'), REDIS_URL: '' };
    const usageError = (re: RegExp) => (err: unknown): boolean => err instanceof UsageError && re.test(err.message) && /usage: syncml-gateway devices/.test(err.usage);
    await assert.rejects(run('frobnicate'), usageError(/unknown devices command frobnicate/));
    await assert.rejects(run('reset', 'alice'), usageError(/devices reset needs <account> <deviceId> \[datastore\]/));
    await assert.rejects(run('forget', 'a', 'b', 'c'), usageError(/unexpected argument c/));
    await assert.rejects(run('list', '--acount', 'x'), usageError(/Unknown option '--acount'/));
    await assert.rejects(run('list'), (err) => isGatewayError(err, 'STATE_FAILED') && /cannot open/.test(err.message));
    assert.match(await run('help'), /devices export <account> <deviceId>|export <account> <deviceId>/);
  });

  it('reads STATE_DIR from process.env and writes to stdout by default', async function () {
    const saved = { STATE_DIR: process.env.STATE_DIR, REDIS_URL: process.env.REDIS_URL };
    const write = process.stdout.write.bind(process.stdout);
    let captured = '';
    process.env.STATE_DIR = dir;
    process.env.REDIS_URL = '';
    process.stdout.write = ((chunk: string | Uint8Array): boolean => {
      captured += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      return true;
    }) as typeof process.stdout.write;
    try {
      await runDevices(['list', '--account', 'bob']);
    } finally {
      process.stdout.write = write;
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    assert.match(captured, /^ACCOUNT.*\nbob\s+sc-test-client\s+2026-02-01T08:00:00.000Z/);
  });
});
