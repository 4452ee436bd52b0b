// A long outgoing queue paged out of the session, on a real Redis (and Radicale): a refresh from
// the server of 450 contacts keeps at most ~200 queued changes in the stored session, the rest in
// page entries with TTL max(session TTL, resume TTL) + 6 h; every item reaches the phone once;
// the pages are deleted when the session completes. A page that expired before it was needed
// fails the datastore with 508 (Alert 100 with the reason) and its anchors are not committed.
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import type { Command, SyncCmd, SyncMLMessage } from '../../src/codec/model.js';
import { keys } from '../../src/state/redis-keys.js';
import type { SessionState } from '../../src/protocol/session.js';
import { INLINE_MAX, PAGE_SIZE, PAGE_TTL_MARGIN_SECONDS } from '../../src/sync/outgoing-queue.js';
import { startRadicale, startRedis, type DavServerHandle, type RedisHandle } from '../support/index.js';
import { alert, ScriptedClient, startTestGateway, statusesOf, syncCmd, type TestGateway } from '../support/gateway.js';

const N = 450;
const SESSION_TTL = 900;
const RESUME_TTL = 7200;

const card = (i: number): string =>
  `BEGIN:VCARD\r\nVERSION:3.0\r\nUID:queue-${i}\r\nN:Tester;Queue${i};;;\r\nFN:Queue${i} Tester\r\nTEL;TYPE=CELL:+49151${String(i).padStart(6, '0')}\r\nEND:VCARD\r\n`;

function deviceStatuses(reply: SyncMLMessage, next: () => string): Command[] {
  const st = (cmdRef: string, cmd: string, data: string, sourceRefs: string[] = []): Command => ({
    kind: 'Status', cmdId: next(), msgRef: reply.header.msgId, cmdRef, cmd, targetRefs: [], sourceRefs, data, items: [],
  });
  const out: Command[] = [st('0', 'SyncHdr', '200')];
  for (const c of reply.body) {
    if (c.kind === 'Alert') out.push(st(c.cmdId, 'Alert', '200'));
    if (c.kind !== 'Sync') continue;
    out.push(st(c.cmdId, 'Sync', '200'));
    for (const ic of c.commands) if (ic.kind === 'Add') out.push(st(ic.cmdId, 'Add', '201', [ic.items[0]!.source!.locURI]));
  }
  return out;
}

describe('outgoing queue paged out of the session (real Redis, real Radicale)', function () {
  this.timeout(120_000);
  let dav: DavServerHandle;
  let redis: RedisHandle;
  let gw: TestGateway;
  let r: Redis;

  before(async function () {
    [dav, redis] = await Promise.all([startRadicale(), startRedis()]);
    // One PUT of the whole address book (Radicale takes a collection upload): 450 single PUTs take ~30 s.
    const upload = await dav.request('PUT', dav.collections.contacts, {
      headers: { 'Content-Type': 'text/vcard; charset=utf-8' }, body: Array.from({ length: N }, (_, i) => card(i)).join(''),
    });
    assert.ok(upload.status === 201 || upload.status === 204, `upload: HTTP ${upload.status}`);
    assert.equal((await dav.listItems('contacts')).length, N);
    gw = await startTestGateway({ dav, redisUrl: redis.url, settings: { sessionTtlSeconds: SESSION_TTL, resumeTtlSeconds: RESUME_TTL } });
    r = new Redis(redis.port, '127.0.0.1');
  });
  after(async function () {
    r?.disconnect();
    await gw?.close();
    await Promise.all([dav?.dispose(), redis?.dispose()]);
  });

  const pageKey = (sid: string, n: number): string => keys.session(`queue:${sid}:contacts:${n}`);
  const storedSession = async (sid: string): Promise<SessionState> => JSON.parse((await r.get(keys.session(sid)))!) as SessionState;

  /**
   * A refresh from the server to a new phone, up to its end (Map of every Add). `afterFirst` runs
   * once the server's package has begun (the queue is computed), with the session token.
   */
  async function refresh(deviceId: string, afterFirst?: (sid: string) => Promise<void>): Promise<{ sid: string; guids: string[]; messages: SyncMLMessage[]; maxInline: number }> {
    const client = new ScriptedClient(gw.url, deviceId, '1', { user: dav.user, password: dav.password });
    let n = 0;
    const ids = (): string => String(++n);
    const init = (await client.send([alert('1', '205', 'contacts', './contacts', { next: 'n1' })])).message!;
    assert.equal(statusesOf(init).find((s) => s.cmd === 'SyncHdr')?.data, '212');
    const sid = new URL(client.url).searchParams.get('sid')!;
    n = 0;
    let reply = (await client.send([...deviceStatuses(init, ids), syncCmd(ids(), 'contacts', './contacts', [])])).message!;
    const messages = [reply];
    let maxInline = 0;
    const inline = async (): Promise<void> => {
      const ds = (await storedSession(sid)).datastores[0]!;
      maxInline = Math.max(maxInline, ds.outgoing.length);
    };
    await inline();
    await afterFirst?.(sid);
    for (let i = 0; !reply.final; i++) {
      assert.ok(i < 100, 'the server package ends');
      n = 0;
      const body = deviceStatuses(reply, ids);
      body.push({ kind: 'Alert', cmdId: ids(), data: '222', items: [{ target: { locURI: 'contacts' }, source: { locURI: './contacts' } }] });
      reply = (await client.send(body)).message!;
      messages.push(reply);
      await inline();
    }
    const guids = messages.flatMap((m) => m.body.flatMap((c) => (c.kind === 'Sync' ? c.commands.flatMap((ic) => (ic.kind === 'Add' ? [ic.items[0]!.source!.locURI] : [])) : [])));
    n = 0;
    const closing = deviceStatuses(reply, ids);
    if (guids.length) {
      closing.push({
        kind: 'Map', cmdId: ids(), target: { locURI: 'contacts' }, source: { locURI: './contacts' },
        mapItems: guids.map((g, k) => ({ target: { locURI: g }, source: { locURI: `L${k}` } })),
      });
    }
    const last = (await client.send(closing)).message!;
    assert.ok(last.final, 'the session ends');
    return { sid, guids, messages, maxInline };
  }

  it('the stored session keeps at most ~200 queued changes; pages carry the rest with the long TTL, every item arrives once, pages go at the end', async function () {
    const pages = Math.ceil((N - INLINE_MAX) / PAGE_SIZE);
    let ttls: number[] = [];
    const run = await refresh('IMEI:queue-1', async (sid) => {
      const ds = (await storedSession(sid)).datastores[0]!;
      assert.deepEqual(ds.outgoingPages && { next: ds.outgoingPages.next, last: ds.outgoingPages.last }, { next: 1, last: pages });
      ttls = await Promise.all(Array.from({ length: pages }, (_, k) => r.pttl(pageKey(sid, k + 1))));
    });
    const expected = (Math.max(SESSION_TTL, RESUME_TTL) + PAGE_TTL_MARGIN_SECONDS) * 1000;
    for (const ttl of ttls) assert.ok(ttl > expected - 60_000 && ttl <= expected, `page TTL ${ttl} ms, expected ~${expected}`);
    assert.ok(run.maxInline <= INLINE_MAX + 25, `stored session held ${run.maxInline} queued changes`);
    assert.ok(run.messages.length >= 3, `${run.messages.length} messages`);
    assert.equal(run.guids.length, N);
    assert.equal(new Set(run.guids).size, N, 'every item once');
    assert.ok(run.guids.every((g) => g.startsWith('/alice/contacts/')), 'Adds carry the hrefs');
    const firstSync = run.messages[0]!.body.find((c): c is SyncCmd => c.kind === 'Sync');
    assert.equal(firstSync?.numberOfChanges, N, 'NumberOfChanges counts the paged part');
    for (let k = 1; k <= pages; k++) assert.equal(await r.exists(pageKey(run.sid, k)), 0, `page ${k} deleted when the session completed`);
    assert.ok(await gw.state.getAnchors({ account: 'alice', deviceId: 'IMEI:queue-1', datastore: 'contacts' }), 'anchors committed');
  });

  it('a page that expired before it was needed: the datastore fails with 508 and keeps its old anchors', async function () {
    const run = await refresh('IMEI:queue-2', async (sid) => {
      assert.equal(await r.del(pageKey(sid, 2)), 1);
    });
    const told = run.messages.flatMap((m) => m.body).find((c) => c.kind === 'Alert' && c.data === '100');
    assert.ok(told && told.kind === 'Alert', 'the phone is told');
    assert.match(String(told.items[0]!.data), /^508 STATE_EXPIRED/);
    assert.ok(run.guids.length >= INLINE_MAX && run.guids.length <= INLINE_MAX + PAGE_SIZE, `${run.guids.length} items went out before the gap`);
    assert.equal(await gw.state.getAnchors({ account: 'alice', deviceId: 'IMEI:queue-2', datastore: 'contacts' }), undefined, 'anchors not committed');
    assert.ok(gw.logLines().some((l) => l['msg'] === 'datastore failed; the next session synchronises it again' && /STATE_EXPIRED/.test(String(l['err']))));
  });
});
