// The attacks of issue #12 against the real gateway (Radicale; Redis and the embedded store):
// each is answered correctly, nothing executes, nothing is written (items counted on Radicale,
// keys in Redis / rows in SQLite), and no password is stored in clear.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import type { Command, SyncMLMessage } from '../../src/codec/model.js';
import { KEY_FILE_NAME } from '../../src/state/secret-box.js';
import { md5Digest } from '../../src/protocol/auth.js';
import { startRadicale, startRedis, type DavServerHandle, type RedisHandle } from '../support/index.js';
import { accountYaml } from '../support/mapping.js';
import {
  addCmd, alert, postSyncml, ScriptedClient, startTestGateway, statusesOf, syncCmd, vcard21, type TestGateway,
} from '../support/gateway.js';

const hdrStatus = (m: SyncMLMessage | undefined): { data: string; hasChal: boolean } => statusesOf(m)[0]!;

/** A message with no Cred, as an attacker would send it. */
function forged(url: string, deviceId: string, sessionId: string, msgId: string, body: Command[], extra: Partial<SyncMLMessage['header']> = {}): SyncMLMessage {
  return {
    version: '1.2', final: true, body,
    header: { verDTD: '1.2', verProto: 'SyncML/1.2', sessionId, msgId, target: { locURI: url.split('?')[0]! }, source: { locURI: deviceId }, ...extra },
  };
}

const basicCred = (user: string, password: string): NonNullable<SyncMLMessage['header']['cred']> =>
  ({ meta: { type: 'syncml:auth-basic', format: 'b64' }, data: Buffer.from(`${user}:${password}`).toString('base64') });

for (const store of ['redis', 'embedded'] as const) {
  describe(`security: sessions belong to whoever authenticated them (${store} store, real Radicale)`, function () {
    this.timeout(120_000);
    let dav: DavServerHandle;
    let redis: RedisHandle | undefined;
    let gw: TestGateway;
    let dev = 0;

    before(async function () {
      // A password that cannot occur by chance in stored data (hrefs, anchors, DevInf).
      dav = await startRadicale({ password: `Pw-${randomBytes(9).toString('base64url')}` });
      if (store === 'redis') redis = await startRedis();
      gw = await startTestGateway({ dav, ...(redis ? { redisUrl: redis.url } : {}) });
      await dav.putItem('contacts', 'secret-card.vcf', 'BEGIN:VCARD\r\nVERSION:3.0\r\nUID:secret-card\r\nFN:Alice Private\r\nN:Private;Alice;;;\r\nEND:VCARD\r\n');
    });
    after(async function () {
      await gw?.close();
      await dav?.dispose();
      await redis?.dispose();
    });

    /** Every stored value: Redis keys and their contents, or the SQLite file with its WAL. */
    async function storedBytes(): Promise<{ keys: number; text: string }> {
      if (redis) {
        const r = new Redis(redis.url);
        try {
          // Failure counters (rate limits) are the one thing unauthenticated traffic may leave.
          const keys = (await r.keys('*')).filter((k) => !k.includes(':counter:'));
          const parts: string[] = [];
          for (const k of keys) {
            const t = await r.type(k);
            if (t === 'string') parts.push(k, (await r.getBuffer(k))?.toString('latin1') ?? '');
            else if (t === 'hash') parts.push(k, JSON.stringify(await r.hgetall(k)));
            else if (t === 'set') parts.push(k, JSON.stringify(await r.smembers(k)));
            else parts.push(k, String(await r.dump(k)));
          }
          return { keys: keys.length, text: parts.join('\n') };
        } finally {
          r.disconnect();
        }
      }
      const file = path.join(gw.dir, 'state', 'state.sqlite');
      const db = new Database(file, { readonly: true, fileMustExist: true });
      let rows = 0;
      try {
        for (const t of ['devices', 'datastores', 'map_entries', 'sessions', 'cached_replies', 'locks']) {
          const where = t === 'sessions' ? " WHERE session_key NOT LIKE 'counter:%'" : '';
          rows += (db.prepare(`SELECT count(*) AS n FROM ${t}${where}`).get() as { n: number }).n;
        }
      } finally {
        db.close();
      }
      const text = [file, `${file}-wal`].filter(existsSync).map((f) => readFileSync(f).toString('latin1')).join('\n');
      return { keys: rows, text };
    }

    async function aliceStarts(): Promise<ScriptedClient> {
      const alice = new ScriptedClient(gw.url, `IMEI:alice-${++dev}`, String(dev), { user: 'alice', password: dav.password });
      const init = await alice.send([alert('1', '201', 'contacts', './contacts', { next: `a${dev}` })]);
      assert.equal(hdrStatus(init.message).data, '212');
      assert.match(alice.url, /\?sid=[A-Za-z0-9_-]{24}$/, 'a 144-bit token in RespURI');
      return alice;
    }

    it('takeover by device id + SessionID without credentials: 407 with Chal, nothing written', async function () {
      const alice = await aliceStarts();
      const items = (await dav.listItems('contacts')).length;
      const keys = (await storedBytes()).keys;
      const res = await postSyncml(gw.url, forged(gw.url, alice.deviceId, alice.sessionId, '2', [syncCmd('1', 'contacts', './contacts', [addCmd('2', 'EVIL1', vcard21(66))])]));
      assert.equal(res.status, 200);
      assert.equal(hdrStatus(res.message).data, '407');
      assert.equal(hdrStatus(res.message).hasChal, true);
      assert.ok(statusesOf(res.message).slice(1).every((s) => s.data === '407'), JSON.stringify(statusesOf(res.message)));
      assert.equal((await dav.listItems('contacts')).length, items, 'nothing written to Radicale');
      assert.equal((await storedBytes()).keys, keys, 'nothing written to the state store');
    });

    it("takeover by alice's sid with another device id: 401 with Chal, nothing written", async function () {
      const alice = await aliceStarts();
      const items = (await dav.listItems('contacts')).length;
      const keys = (await storedBytes()).keys;
      const res = await postSyncml(alice.url, forged(alice.url, 'IMEI:attacker', alice.sessionId, '2', [syncCmd('1', 'contacts', './contacts', [addCmd('2', 'EVIL2', vcard21(67))])]));
      assert.equal(hdrStatus(res.message).data, '401');
      assert.equal(hdrStatus(res.message).hasChal, true);
      assert.equal((await dav.listItems('contacts')).length, items);
      assert.equal((await storedBytes()).keys, keys);
      // Same device id but a guessed token: also refused.
      const guessed = await postSyncml(`${gw.url}?sid=${randomBytes(18).toString('base64url')}`, forged(gw.url, alice.deviceId, alice.sessionId, '2', [syncCmd('1', 'contacts', './contacts', [addCmd('2', 'EVIL3', vcard21(68))])]));
      assert.equal(hdrStatus(guessed.message).data, '407');
      assert.equal((await dav.listItems('contacts')).length, items);
    });

    it("reading variant: asking for the server's package in alice's session returns none of her contacts", async function () {
      const alice = await aliceStarts();
      for (const [url, device] of [[gw.url, alice.deviceId], [alice.url, 'IMEI:reader']] as const) {
        const res = await postSyncml(url, forged(url, device, alice.sessionId, '2', [syncCmd('1', 'contacts', './contacts', [])]));
        assert.match(hdrStatus(res.message).data, /^40[17]$/);
        assert.equal(res.message!.body.filter((c) => c.kind !== 'Status').length, 0, 'no server commands');
        assert.doesNotMatch(res.text, /Alice Private|VCARD/);
      }
    });

    it('a phone that ignores RespURI continues by device id + SessionID only with its credentials again', async function () {
      const alice = await aliceStarts();
      const items = (await dav.listItems('contacts')).length;
      const msg = forged(gw.url, alice.deviceId, alice.sessionId, '2', [syncCmd('1', 'contacts', './contacts', [addCmd('2', `OK${dev}`, vcard21(70 + dev))])],
        { cred: basicCred('alice', dav.password) });
      const res = await postSyncml(gw.url, msg);
      assert.equal(hdrStatus(res.message).data, '212');
      assert.equal(statusesOf(res.message).find((s) => s.cmd === 'Add')?.data, '201');
      assert.equal(res.message!.header.respURI, alice.url, 'the same session continues');
      assert.equal((await dav.listItems('contacts')).length, items + 1);
    });

    it('big bodies before authentication: without Cred 413, wrong Cred 401 from the header alone, right Cred decoded and run', async function () {
      const pad = (n: number): string => vcard21(n).replace(/Tester/g, 'Bigbody').replace('END:VCARD', `NOTE:${'n'.repeat(2_000)}\r\nEND:VCARD`);
      const bomb = `<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>SyncML/1.2</VerProto><SessionID>9</SessionID><MsgID>1</MsgID>` +
        `<Target><LocURI>${gw.url}</LocURI></Target><Source><LocURI>IMEI:big</LocURI></Source>CRED</SyncHdr><SyncBody><Alert${Array.from({ length: 40_000 }, (_, i) => ` a${i}="x"`).join('')}/><Final/></SyncBody></SyncML>`;
      assert.equal((await postSyncml(gw.url, bomb.replace('CRED', ''))).status, 413);
      const wrong = `<Cred><Meta><Type xmlns="syncml:metinf">syncml:auth-basic</Type></Meta><Data>${Buffer.from('alice:nope').toString('base64')}</Data></Cred>`;
      const refused = await postSyncml(gw.url, bomb.replace('CRED', wrong));
      assert.equal(hdrStatus(refused.message).data, '401', 'refused from the header, the 40k attributes never parsed');
      const alice = await aliceStarts();
      const items = (await dav.listItems('contacts')).length;
      const adds = Array.from({ length: 140 }, (_, i) => addCmd(String(i + 3), `BIG-${dev}-${i}`, pad(i)));
      const big = forged(gw.url, alice.deviceId, alice.sessionId, '2', [syncCmd('2', 'contacts', './contacts', adds)], { cred: basicCred('alice', dav.password) });
      const res = await postSyncml(gw.url, big);
      assert.ok(res.text.length > 0 && res.status === 200, `HTTP ${res.status}`);
      assert.equal(statusesOf(res.message).filter((st) => st.cmd === 'Add' && st.data === '201').length, 140);
      assert.equal((await dav.listItems('contacts')).length, items + 140);
    });

    it('big WBXML bodies before authentication: the header is decoded alone, so a wrong Cred gets 401, no Cred 413, the right one runs', async function () {
      const wbxml = { encoding: 'wbxml' as const };
      const pad = (n: number): string => vcard21(n).replace(/Tester/g, 'Wbxmlbig').replace('END:VCARD', `NOTE:${'w'.repeat(2_000)}\r\nEND:VCARD`);
      const alice = await aliceStarts();
      const items = (await dav.listItems('contacts')).length;
      const keys = (await storedBytes()).keys;
      const adds = Array.from({ length: 140 }, (_, i) => addCmd(String(i + 3), `WBIG-${dev}-${i}`, pad(i)));
      const message = (cred?: ReturnType<typeof basicCred>): SyncMLMessage =>
        forged(gw.url, alice.deviceId, alice.sessionId, '2', [syncCmd('2', 'contacts', './contacts', adds)], cred ? { cred } : {});
      assert.equal((await postSyncml(gw.url, message(), wbxml)).status, 413);
      const refused = await postSyncml(gw.url, message(basicCred('alice', 'nope')), wbxml);
      assert.equal(refused.status, 200);
      assert.equal(hdrStatus(refused.message).data, '401', 'refused from the header alone');
      assert.equal(hdrStatus(refused.message).hasChal, true);
      assert.equal((await dav.listItems('contacts')).length, items, 'nothing written');
      assert.equal((await storedBytes()).keys, keys, 'nothing stored');
      const res = await postSyncml(gw.url, message(basicCred('alice', dav.password)), wbxml);
      assert.equal(res.status, 200, `HTTP ${res.status}`);
      assert.equal(statusesOf(res.message).filter((st) => st.cmd === 'Add' && st.data === '201').length, 140);
      assert.equal((await dav.listItems('contacts')).length, items + 140);
    });

    it('200 messages without Cred (20 kB random device ids, and ordinary ones) leave no key behind', async function () {
      const before = (await storedBytes()).keys;
      for (let i = 0; i < 200; i++) {
        const big = await postSyncml(gw.url, forged(gw.url, randomBytes(10_000).toString('hex'), '1', '1', [alert('1', '200', 'contacts', './c', { next: 'x' })]));
        assert.equal(big.status, 400);
      }
      for (let i = 0; i < 20; i++) {
        const small = await postSyncml(gw.url, forged(gw.url, `IMEI:anon-${i}`, '1', '1', [alert('1', '200', 'contacts', './c', { next: 'x' })], { source: { locURI: `IMEI:anon-${i}`, locName: 'alice' } }));
        assert.equal(hdrStatus(small.message).data, '407');
      }
      assert.equal((await storedBytes()).keys, before, 'no key created by unauthenticated traffic');
    });

    it('a failed authentication saves no session (only a failure counter)', async function () {
      const before = await storedBytes();
      const res = await new ScriptedClient(gw.url, 'IMEI:wrong', '1', { user: 'alice', password: 'not-it' }).send([alert('1', '201', 'contacts', './c', { next: 'x' })]);
      assert.equal(hdrStatus(res.message).data, '401');
      const after = await storedBytes();
      assert.equal(after.keys, before.keys, 'nothing but failure counters');
      assert.doesNotMatch(after.text, /IMEI:wrong/);
    });

    it('oversized identifiers: device id / SessionID / LocURI -> HTTP 400, user name / credential -> 401 (not 503)', async function () {
      const cred = basicCred('alice', dav.password);
      const a = (locURI: string): Command => alert('1', '201', locURI, './c', { next: 'x' });
      const cases: Array<[SyncMLMessage, number]> = [
        [forged(gw.url, 'D'.repeat(1_000), '1', '1', [a('contacts')], { cred }), 400],
        [forged(gw.url, 'IMEI:x', 'S'.repeat(65), '1', [a('contacts')], { cred }), 400],
        [forged(gw.url, 'IMEI:x', '1', '9'.repeat(33), [a('contacts')], { cred }), 400],
        [forged(gw.url, 'IMEI:x', '1', '1', [a(`contacts${'/x'.repeat(1100)}`)], { cred }), 400],
      ];
      for (const [m, code] of cases) assert.equal((await postSyncml(gw.url, m)).status, code);
      const longUser = await postSyncml(gw.url, forged(gw.url, 'IMEI:x', '1', '1', [a('contacts')], { cred: basicCred('u'.repeat(1_000_000), 'x') }));
      assert.equal(hdrStatus(longUser.message).data, '401');
      const longPassword = await postSyncml(gw.url, forged(gw.url, 'IMEI:x', '1', '1', [a('contacts')], { cred: basicCred('alice', 'p'.repeat(2_000_000)) }));
      assert.equal(hdrStatus(longPassword.message).data, '401');
      assert.ok(gw.logLines().every((l) => JSON.stringify(l).length < 10_000), 'no log line over 10 kB');
    });

    it('no DAV password in clear anywhere in the state store after a real session', async function () {
      const alice = await aliceStarts();
      await alice.send([syncCmd('1', 'contacts', './contacts', [addCmd('2', `P${dev}`, vcard21(80 + dev))])]);
      const { text } = await storedBytes();
      const token = alice.url.split('sid=')[1]!;
      assert.ok(gw.logLines().every((l) => !JSON.stringify(l).includes(token)), 'the session token never reaches the log');
      for (const needle of [dav.password, Buffer.from(dav.password).toString('base64'), Buffer.from(`alice:${dav.password}`).toString('base64')]) {
        assert.ok(!text.includes(needle), `stored state contains ${needle === dav.password ? 'the password' : 'its base64'}`);
      }
      if (store === 'embedded') {
        const dir = path.join(gw.dir, 'state');
        assert.equal(statSync(dir).mode & 0o777, 0o700);
        for (const f of ['state.sqlite', 'state.sqlite-wal', 'state.sqlite-shm', KEY_FILE_NAME]) {
          const p = path.join(dir, f);
          if (existsSync(p)) assert.equal(statSync(p).mode & 0o777, 0o600, f);
        }
      }
    });
  });
}

describe('security: MD5 accounts and failed-authentication limits (embedded store, real Radicale)', function () {
  this.timeout(60_000);
  let dav: DavServerHandle;
  let gw: TestGateway;

  before(async function () {
    dav = await startRadicale();
    gw = await startTestGateway({
      dav,
      mappingYaml: accountYaml(dav, { account: 'bob', auth: { md5: '${BOB_SECRET}' }, davLogin: { username: dav.user, password: '${BOB_DAV}' } }),
      env: { ...process.env, BOB_SECRET: 'bob-md5-secret', BOB_DAV: dav.password },
      settings: { authFailuresPerAddress: 3, authFailuresPerAccount: 100 },
    });
  });
  after(async function () {
    await gw?.close();
    await dav?.dispose();
  });

  it('an md5 account refuses basic auth with the right secret (no downgrade) and challenges for MD5', async function () {
    const res = await new ScriptedClient(gw.url, 'IMEI:downgrade', '1', { user: 'bob', password: 'bob-md5-secret' })
      .send([alert('1', '201', 'contacts', './c', { next: 'x' })]);
    assert.equal(hdrStatus(res.message).data, '401');
    const chal = res.message!.body[0]!;
    assert.equal(chal.kind === 'Status' && chal.chal?.meta.type, 'syncml:auth-md5');
  });

  it('an MD5 digest works once: replayed in another session it is refused', async function () {
    const hello = await postSyncml(gw.url, forged(gw.url, 'IMEI:md5-replay', '1', '1', [alert('1', '201', 'contacts', './c', { next: 'x' })], { source: { locURI: 'IMEI:md5-replay', locName: 'bob' } }));
    const st = hello.message!.body[0]!;
    const nonce = st.kind === 'Status' ? st.chal?.meta.nextNonce : undefined;
    assert.ok(nonce);
    const cred = { meta: { type: 'syncml:auth-md5', format: 'b64' }, data: md5Digest('1.2', 'bob', 'bob-md5-secret', nonce) };
    const login = (sessionId: string): SyncMLMessage => forged(gw.url, 'IMEI:md5-replay', sessionId, '1', [alert('1', '201', 'contacts', './c', { next: 'x' })], { source: { locURI: 'IMEI:md5-replay', locName: 'bob' }, cred });
    assert.equal(hdrStatus((await postSyncml(gw.url, login('2'))).message).data, '212');
    assert.equal(hdrStatus((await postSyncml(gw.url, login('3'))).message).data, '401', 'the nonce was used');
  });

  it('after 3 failures from one address further attempts are refused without being checked', async function () {
    for (let i = 0; i < 3; i++) {
      const r = await new ScriptedClient(gw.url, `IMEI:rl-${i}`, '1', { user: 'bob', password: 'wrong' }).send([alert('1', '201', 'contacts', './c', { next: 'x' })]);
      assert.equal(hdrStatus(r.message).data, '401');
    }
    const r = await new ScriptedClient(gw.url, 'IMEI:rl-x', '1', { user: 'bob', password: 'wrong' }).send([alert('1', '201', 'contacts', './c', { next: 'x' })]);
    assert.equal(hdrStatus(r.message).data, '401');
    assert.ok(gw.logLines().some((l) => /too many failures/.test(String(l['msg']))), 'the rate limit is logged');
  });
});
