// Push scheduling with fakes for the DAV collection and the SMS transport (the state store is the
// embedded SQLite one): coalescing, echo suppression, quiet hours, open sessions, the watcher
// lease between two services, one watcher per collection, retries.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { parseMapping, type AccountMapping } from '../../../src/accounts/mappings.js';
import { decodeSan } from '../../../src/codec/san.js';
import { decodeWspPush, reassemble } from '../../../src/codec/wap-push.js';
import type { ChangeSet, DataStore, ItemRef, Listing, StoredItem } from '../../../src/datastores/datastore.js';
import { PushService } from '../../../src/push/service.js';
import { quietRemainingMs, type PushEnvSettings } from '../../../src/push/settings.js';
import type { PushMessage, PushTransport } from '../../../src/push/transports.js';
import { createStateStore } from '../../../src/state/index.js';
import type { StateStore } from '../../../src/state/state-store.js';

/** An in-memory collection with a sync-token per change. */
class FakeCollection implements DataStore {
  readonly kind = 'contacts' as const;
  readonly collectionUrl = 'http://dav.test/alice/contacts/';
  items = new Map<string, string>();
  log: Array<{ href: string; etag?: string }> = [];
  polls = 0;
  put(name: string): ItemRef {
    const href = `/alice/contacts/${name}.vcf`;
    const etag = `"${this.log.length + 1}"`;
    this.items.set(href, etag);
    this.log.push({ href, etag });
    return { href, etag };
  }
  async changesSince(token: string): Promise<ChangeSet> {
    this.polls++;
    const from = token ? Number(token) : 0;
    const last = new Map<string, string | undefined>();
    for (const c of this.log.slice(from)) last.set(c.href, c.etag);
    return {
      changed: [...last].filter(([, e]) => e !== undefined).map(([href, etag]) => ({ href, etag: etag! })),
      deleted: [...last].filter(([, e]) => e === undefined).map(([h]) => h),
      syncToken: String(this.log.length),
    };
  }
  async list(): Promise<Listing> { return { items: [...this.items].map(([href, etag]) => ({ href, etag })) }; }
  async fetch(): Promise<StoredItem[]> { return []; }
  async create(): Promise<ItemRef> { throw new Error('not used'); }
  async update(): Promise<ItemRef> { throw new Error('not used'); }
  async delete(): Promise<void> {}
}

class FakeTransport implements PushTransport {
  readonly name = 'fake';
  sent: PushMessage[] = [];
  failures = 0;
  async send(msg: PushMessage): Promise<void> {
    if (this.failures > 0) {
      this.failures--;
      throw new Error('SMSC down');
    }
    this.sent.push(msg);
  }
}

const ENV: PushEnvSettings = { transport: 'none', pollSeconds: 1, jitter: 0, settleMs: 30, retries: 2, retryBaseMs: 5 };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function mapping(devices: string, extra = ''): AccountMapping {
  return parseMapping(`account: alice
auth: { basic: pw }
dav: { url: 'http://dav.test/', username: alice, password: secret }
datastores:
  contacts: { uris: [./contacts], collection: 'http://dav.test/alice/contacts/' }
push:
  serverId: srv
  password: srvpwd
  nonce: n1
  intervalSeconds: 1
${extra}  devices:
${devices}`, 'alice.yaml');
}

describe('push scheduling', function () {
  let dir: string;
  let state: StateStore;
  let services: PushService[];
  let col: FakeCollection;
  let transport: FakeTransport;

  beforeEach(async function () {
    dir = mkdtempSync(path.join(tmpdir(), 'push-unit-'));
    state = await createStateStore({ stateDir: dir });
    services = [];
    col = new FakeCollection();
    transport = new FakeTransport();
  });
  afterEach(async function () {
    for (const s of services) await s.stop();
    await state.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function service(m: AccountMapping, opts: { now?: () => number; st?: StateStore } = {}): PushService {
    const s = new PushService({
      accounts: [m], state: opts.st ?? state, openStore: () => col, transport, env: ENV, log: pino({ level: 'silent' }),
      serverId: () => 'http://gw/sync', ...(opts.now ? { now: opts.now } : {}),
    });
    services.push(s);
    return s;
  }

  const ONE = "    phone-1: { phone: '+4917000001' }\n";

  it('first poll is the baseline; a change sends one SAN that decodes with the digest', async function () {
    const s = service(mapping(ONE));
    col.put('a');
    await s.pollOnce();
    await sleep(80);
    assert.equal(transport.sent.length, 0, 'items that were there before watching start send nothing');
    col.put('b');
    await s.pollOnce();
    await sleep(80);
    assert.equal(transport.sent.length, 1);
    const msg = transport.sent[0]!;
    const { pdu } = reassemble(msg.segments);
    const { san } = decodeSan(decodeWspPush(pdu).payload, { password: 'srvpwd', nonce: 'n1' });
    assert.equal(san.serverId, 'srv');
    assert.equal(san.sessionId, msg.sessionId);
    assert.deepEqual(san.syncs, [{ syncType: 206, contentType: 7, serverUri: './contacts' }]);
    const status = await s.status({ account: 'alice', deviceId: 'phone-1' });
    assert.equal(status.lastSan?.outcome, 'sent');
    assert.ok((status.lastSan?.latencyMs ?? -1) >= 0);
  });

  it('the session after a SAN is recorded with whether it used the SAN session id (decimal or hex)', async function () {
    const s = service(mapping(ONE));
    const device = s.device('alice', 'phone-1')!;
    const key = { account: 'alice', deviceId: 'phone-1' };
    const session = async (sessionId: string): Promise<boolean | undefined> => {
      s.observer.sessionStarted!({ account: 'alice', deviceId: 'phone-1', sessionKey: `k-${sessionId}`, sessionId, syncmlVersion: '1.2' });
      await sleep(20);
      s.observer.sessionCompleted!({ account: 'alice', deviceId: 'phone-1', sessionKey: `k-${sessionId}`, seconds: 1, datastores: [], at: new Date().toISOString() });
      await sleep(50);
      return (await s.status(key)).lastSession?.usedSanSessionId;
    };
    const rec = await s.send(device, { trigger: 'test' });
    assert.equal(rec.outcome, 'sent');
    assert.equal(await session(String(rec.sessionId)), true);
    assert.equal(await session(rec.sessionId.toString(16).toUpperCase()), true);
    assert.equal(await session(String(rec.sessionId + 1)), false, 'a session with its own id');
  });

  it('a burst over several polls within the interval is one SAN; what is still unsynced goes after the interval', async function () {
    const s = service(mapping(ONE));
    await s.pollOnce();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 4; i++) col.put(`r${round}-${i}`);
      await s.pollOnce();
      await sleep(60);
    }
    assert.equal(transport.sent.length, 1, 'one SAN for the burst');
    await sleep(1300);
    assert.equal(transport.sent.length, 2, 'the device never synced: the later changes get their SAN after the interval');
  });

  it('changes the device already has (its own writes, in its map with that ETag) send nothing', async function () {
    const s = service(mapping(ONE));
    await s.pollOnce();
    const ref = col.put('from-phone');
    await state.putMapEntries({ account: 'alice', deviceId: 'phone-1', datastore: 'contacts' }, [{ luid: '1', guid: ref.href, etag: ref.etag }]);
    await s.pollOnce();
    await sleep(80);
    assert.equal(transport.sent.length, 0);
    col.put('from-phone'); // changed again on the server: new ETag
    await s.pollOnce();
    await sleep(80);
    assert.equal(transport.sent.length, 1);
  });

  it('no SAN while the device has a session open; the session syncing the change makes it unnecessary', async function () {
    const s = service(mapping(ONE));
    await s.pollOnce();
    s.observer.sessionStarted!({ account: 'alice', deviceId: 'phone-1', sessionKey: 'k1', sessionId: '1', syncmlVersion: '1.2' });
    await sleep(20);
    const ref = col.put('x');
    await s.pollOnce();
    await sleep(200);
    assert.equal(transport.sent.length, 0);
    await state.putMapEntries({ account: 'alice', deviceId: 'phone-1', datastore: 'contacts' }, [{ luid: '9', guid: ref.href, etag: ref.etag }]);
    s.observer.sessionCompleted!({ account: 'alice', deviceId: 'phone-1', sessionKey: 'k1', seconds: 1, datastores: [], at: new Date().toISOString() });
    await sleep(1200);
    assert.equal(transport.sent.length, 0, 'the session delivered the change');
  });

  it('quiet hours postpone (windows may wrap midnight)', async function () {
    const q = { from: '22:00', to: '07:00', timezone: 'UTC' };
    assert.equal(quietRemainingMs(q, new Date('2026-01-01T12:00:00Z')), 0);
    assert.equal(quietRemainingMs(q, new Date('2026-01-01T23:00:00Z')), 8 * 3600_000);
    assert.equal(quietRemainingMs(q, new Date('2026-01-01T06:30:00Z')), 30 * 60_000);
    const s = service(mapping(ONE, "  quietHours: { from: '22:00', to: '07:00', timezone: UTC }\n"), { now: () => Date.parse('2026-01-01T23:00:00Z') });
    await s.pollOnce();
    col.put('night');
    await s.pollOnce();
    await sleep(100);
    assert.equal(transport.sent.length, 0);
  });

  it('two services on one store: one polls (lease), one SAN; one watcher serves two devices', async function () {
    const m = mapping(`${ONE}    phone-2: { phone: '+4917000002', sanVersion: '1.1' }\n`);
    const a = service(m);
    const b = service(m);
    assert.equal(a.watcherCount, 1);
    await Promise.all([a.pollOnce(), b.pollOnce()]);
    const before = col.polls;
    col.put('shared');
    await Promise.all([a.pollOnce(), b.pollOnce()]);
    assert.equal(col.polls - before, 1, 'only the lease holder polled');
    await sleep(100);
    assert.deepEqual(transport.sent.map((m2) => m2.deviceId).sort(), ['phone-1', 'phone-2']);
    assert.equal(transport.sent.find((m2) => m2.deviceId === 'phone-2')!.contentType, 'application/vnd.syncml+wbxml');
  });

  it('a datastore that cannot be opened (no DAV credentials) is not watched', async function () {
    const s = new PushService({
      accounts: [mapping(ONE)], state, transport, env: ENV, log: pino({ level: 'silent' }), serverId: () => 'x',
      openStore: () => { throw new Error('no DAV credentials'); },
    });
    services.push(s);
    assert.equal(s.watcherCount, 0);
    await s.pollOnce();
  });

  it('delivery failures are retried with backoff, then recorded as failed', async function () {
    const s = service(mapping(ONE));
    const dev = s.device('alice', 'phone-1')!;
    transport.failures = 2;
    const ok = await s.send(dev, { trigger: 'test' });
    assert.deepEqual([ok.outcome, ok.attempts], ['sent', 3]);
    transport.failures = 5;
    const bad = await s.send(dev, { trigger: 'test' });
    assert.deepEqual([bad.outcome, bad.attempts], ['failed', 3]);
    assert.match(bad.error ?? '', /SMSC down/);
    assert.equal((await s.status({ account: 'alice', deviceId: 'phone-1' })).lastSan?.outcome, 'failed');
  });
  it('reload: a device given push settings later is watched; one whose settings are removed gets no SAN, even one already queued', async function () {
    const noPush = parseMapping(`account: alice
auth: { basic: pw }
dav: { url: 'http://dav.test/', username: alice, password: secret }
datastores:
  contacts: { uris: [./contacts], collection: 'http://dav.test/alice/contacts/' }
`, 'alice.yaml');
    const s = service(noPush);
    s.start();
    assert.equal(s.watcherCount, 0);
    await s.reload([mapping(ONE)]);
    assert.equal(s.devices.length, 1);
    assert.equal(s.watcherCount, 1);
    await s.pollOnce();
    col.put('after-reload');
    await s.pollOnce();
    await sleep(80);
    assert.equal(transport.sent.length, 1, 'the reloaded settings send a SAN');

    // Queued (settle time not over) when the settings disappear: dropped, not sent.
    await sleep(1100); // past the SAN interval
    col.put('second');
    await s.pollOnce();
    await s.reload([noPush]);
    await sleep(120);
    assert.equal(transport.sent.length, 1, 'no SAN for a device without push settings');
    assert.equal(s.watcherCount, 0);
    assert.equal(s.device('alice', 'phone-1'), undefined);
  });

  it('reload keeps the cursor: a change made while the settings were reloaded is still reported once', async function () {
    const s = service(mapping(ONE));
    await s.pollOnce();
    col.put('during');
    await s.reload([mapping(ONE)]);
    await s.pollOnce();
    await sleep(80);
    assert.equal(transport.sent.length, 1, 'the new watcher continues from the stored cursor');
    await s.pollOnce();
    await sleep(80);
    assert.equal(transport.sent.length, 1, 'and does not report it twice');
  });
});
