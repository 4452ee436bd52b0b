// Crash safety with the real client: the gateway process is SIGKILLed at random points of a
// 500-contact slow sync by SyncEvolution (small messages => many kill points), restarted on the
// same port, and the phone then syncs to success with no duplicate and no lost contact.
// CI: 5 kills per store; SOAK=1: 20. CRASH_SEED=<n> repeats a run's kill points.
/// <reference types="mocha" />
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { countKeys, duplicatesOf } from '../support/contact-keys.js';
import { spawnGateway, writeAliceMapping, type GatewayProcess } from '../support/gateway-process.js';
import {
  generateContacts21, makeTempDir, prng, sleep, startRadicale, startRedis, SyncEvolutionClient,
  type DavServerHandle, type RedisHandle, type SyncReport,
} from '../support/index.js';

const SOAK = process.env.SOAK === '1';
const KILLS = SOAK ? 20 : 5;
const CONTACTS = 500;
/** Client MaxMsgSize: ~25 client messages for 500 contacts, so there are many kill points. */
const MAX_MSG_SIZE = 20_000;
const SEED = Number(process.env.CRASH_SEED ?? Date.now() % 1_000_000);


/** Session log dirs of the phone (SyncEvolution writes one per sync). */
function logDirs(phone: SyncEvolutionClient): string[] {
  const logs = path.join(phone.dir, 'logs');
  if (!existsSync(logs)) return [];
  return readdirSync(logs, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => path.join(logs, e.name));
}

/** Client messages sent so far in the sync whose log dir is not in `before` (loglevel 5 keeps each one). */
function messagesSent(phone: SyncEvolutionClient, before: Set<string>): number {
  const dir = logDirs(phone).find((d) => !before.has(d));
  if (!dir) return 0;
  try {
    return readdirSync(dir).filter((f) => /_msg\d+_\d+_outgoing\.xml$/.test(f)).length;
  } catch {
    return 0;
  }
}

interface Attempt {
  /** Kill this long after the sync started. */
  killAtMs: number;
  /** Client messages sent when the kill came (from the phone's message log). */
  messagesAtKill: number;
  /** The client resends after a transport failure (RetryInterval) instead of giving up. */
  clientRetries: boolean;
  /** The kill landed while the sync was running. */
  killed: boolean;
  exitCode: number;
  seconds: number;
  serverItems: number;
  /** SyncEvolution's "First ERROR encountered" line, if any. */
  firstError: string;
}

for (const storeKind of ['sqlite', 'redis'] as const) {
  describe(`crash safety: SIGKILL during a ${CONTACTS}-contact slow sync (${storeKind} store)`, function () {
    this.timeout((KILLS * 100 + 300) * 1000);
    let dir: string;
    let dav: DavServerHandle;
    let redis: RedisHandle | undefined;
    let gw: GatewayProcess;
    let phone: SyncEvolutionClient;

    before(async function () {
      dir = makeTempDir(`crash-${storeKind}`);
      [dav, redis] = await Promise.all([startRadicale(), storeKind === 'redis' ? startRedis() : Promise.resolve(undefined)]);
      const mappings = writeAliceMapping(dir, dav);
      gw = await spawnGateway({
        env: {
          MAPPINGS_DIR: mappings, LOG_LEVEL: 'info', AUTH_CACHE_SECONDS: '0',
          ...(redis ? { REDIS_URL: redis.url } : { STATE_DIR: path.join(dir, 'state') }),
        },
        logFile: path.join(dir, 'gateway.log'),
      });
      phone = new SyncEvolutionClient({
        dir: path.join(dir, 'phone'), url: gw.url, auth: 'basic', legacy: true, maxMsgSize: MAX_MSG_SIZE,
        datastores: { contacts: 'contacts' },
      });
    });

    after(async function () {
      await gw?.stop();
      await Promise.all([dav?.dispose(), redis?.dispose()]);
    });

    it(`${KILLS} kills at random points, then the phone syncs to success: no duplicate, no lost contact`, async function () {
      const rnd = prng(SEED + (storeKind === 'redis' ? 1 : 0));
      console.log(`      CRASH_SEED=${SEED} (${storeKind})`);
      const generated = generateContacts21(CONTACTS, 41);
      const expected = countKeys(generated.map((g) => g.text));
      assert.equal(expected.size, CONTACTS, 'the generated contacts are distinguishable by FN + TEL');
      for (const c of generated) phone.writeItem('contacts', c.name, c.text);

      const setRetries = (on: boolean): void => {
        // RetryInterval is also the client's per-request timeout; 0 disables resending.
        const r = phone.cli(['--configure', '--template', 'none', 'keyring=no', `RetryInterval=${on ? 20 : 0}`, 'RetryDuration=90', 'phone']);
        assert.equal(r.code, 0, r.output);
      };

      const attempts: Attempt[] = [];
      const restartedAt: number[] = [];
      let kills = 0;
      /** How long a slow sync runs (s): a guess, then the last uninterrupted one. */
      let estimateS = 15;
      // Attempts that end without being killed (e.g. the gateway refused the session) do not
      // count as kills; they are reported below. The cap keeps a broken gateway from looping.
      while (kills < KILLS && attempts.length < KILLS * 3) {
        const a: Attempt = {
          // Uniform over the expected run time: init, item messages and the end all get hit.
          killAtMs: 200 + Math.floor(rnd() * estimateS * 900), messagesAtKill: 0,
          // The client resends into the restarted process (the session continues there) or gives
          // up (the next attempt is a new session over a half-done map). A resend waits out
          // RetryInterval and then runs the whole rest of the sync, so CI does it once per store.
          clientRetries: SOAK ? kills % 2 === 1 : kills === 1, killed: false, exitCode: 0, seconds: 0, serverItems: 0, firstError: '',
        };
        setRetries(a.clientRetries);
        const before = new Set(logDirs(phone));
        let done = false;
        const t0 = Date.now();
        const sync = phone.sync('slow', { only: ['contacts'] }).then((r) => {
          done = true;
          return r;
        });
        while (!done && Date.now() - t0 < a.killAtMs) await sleep(20);
        if (!done) {
          a.messagesAtKill = messagesSent(phone, before);
          await gw.kill9();
          a.killed = true;
          kills++;
          restartedAt.push(Date.now());
          await gw.restart();
        }
        const report = await sync;
        a.exitCode = report.exitCode;
        a.seconds = (Date.now() - t0) / 1000;
        a.firstError = /First ERROR encountered: (.*)/.exec(report.output)?.[1] ?? '';
        if (!a.killed && a.exitCode === 0) estimateS = a.seconds;
        // After every attempt: whatever the server holds, it holds once.
        const onServer = await dav.listItems('contacts');
        a.serverItems = onServer.length;
        const dups = duplicatesOf(countKeys(onServer.map((it) => it.data)));
        assert.deepEqual(dups, [], `attempt ${attempts.length + 1} (${JSON.stringify(a)}) left duplicates in Radicale`);
        assert.ok(onServer.length <= CONTACTS, `attempt ${attempts.length + 1}: ${onServer.length} items on the server`);
        attempts.push(a);
      }
      console.log(`      attempts (kill time, client messages sent by then; client resends?; exit; s; server items):\n${attempts
        .map((a, i) => `        ${i + 1}. ${a.killed ? `killed at ${a.killAtMs} ms, msg ${a.messagesAtKill}` : `not killed (ended before ${a.killAtMs} ms)`}; `
          + `${a.clientRetries ? 'resends' : 'gives up'}; exit ${a.exitCode}; ${a.seconds.toFixed(1)} s; ${a.serverItems} items`
          + `${a.firstError ? `; ${a.firstError}` : ''}`)
        .join('\n')}`);

      // Recovery: a normal sync first (the gateway may answer 508 => slow), forced slow if needed.
      setRetries(false);
      let final: SyncReport | undefined;
      const recovery: string[] = [];
      for (const mode of ['two-way', 'two-way', 'slow', 'slow'] as const) {
        final = await phone.sync(mode, { only: ['contacts'] });
        recovery.push(`${mode}: exit ${final.exitCode} ${final.datastores['contacts']?.actualMode ?? ''}`);
        if (final.exitCode === 0) break;
        await sleep(1000);
      }
      const busy = gw.logLines().filter((l) => String(l['err'] ?? '').startsWith('DEVICE_BUSY') && Number(l['time']) >= (restartedAt[0] ?? Infinity));
      assert.deepEqual(
        busy.map((l) => `${new Date(Number(l['time'])).toISOString()} msg ${String(l['msgId'])}: ${String(l['err'])}`).slice(0, 5), [],
        `after a restart the phone was refused as busy (${busy.length} messages): the killed process's device lock outlives it`,
      );
      assert.equal(final?.exitCode, 0, `the phone never synced again (${recovery.join('; ')}):\n${final?.output.slice(-2500)}`);

      // A further normal sync changes nothing: anchors and map are consistent.
      await sleep(1100);
      const check = await phone.sync('two-way', { only: ['contacts'] });
      assert.equal(check.exitCode, 0, check.output.slice(-2500));
      const ds = check.datastores['contacts']!;
      assert.deepEqual([ds.localNew, ds.localMod, ds.localDel, ds.remoteNew, ds.remoteMod, ds.remoteDel], [0, 0, 0, 0, 0, 0], check.output.slice(-2500));
      assert.equal(ds.actualMode, 'two-way');

      // Item by item: the phone and Radicale hold the same 500 contacts (FN + TEL set), once each.
      const phoneKeys = countKeys((await phone.readItems('contacts')).values());
      const serverKeys = countKeys((await dav.listItems('contacts')).map((it) => it.data));
      assert.deepEqual(duplicatesOf(serverKeys), [], 'duplicates in Radicale');
      assert.deepEqual(duplicatesOf(phoneKeys), [], 'duplicates on the phone');
      const missing = [...expected.keys()].filter((k) => !serverKeys.has(k));
      const extra = [...serverKeys.keys()].filter((k) => !expected.has(k));
      assert.deepEqual({ missing: missing.slice(0, 5), extra: extra.slice(0, 5) }, { missing: [], extra: [] }, `${missing.length} lost, ${extra.length} unexpected`);
      assert.deepEqual([...phoneKeys.keys()].sort(), [...serverKeys.keys()].sort(), 'phone and Radicale differ');
      assert.equal(serverKeys.size, CONTACTS);

      // The kills must really have hit running syncs, or this test proved nothing.
      assert.equal(kills, KILLS, `only ${kills} of ${attempts.length} attempts were killed while syncing`);
      // A crash must cost the phone the interrupted session only: the session after it must not
      // be refused (SyncEvolution opens it with Alert 225, resume; a server that cannot resume
      // answers 509 and carries on as a normal sync, cf. libsynthesis).
      const refused = attempts.filter((a) => !a.killed && a.exitCode !== 0).map((a) => a.firstError);
      assert.deepEqual(refused, [], `${refused.length} sessions after a crash were refused`);
      const errors = gw.logLines().filter((l) => l['msg'] === 'internal error');
      assert.deepEqual(errors.map((l) => String(l['err'])), [], 'no request ended in an internal error');
    });
  });
}
