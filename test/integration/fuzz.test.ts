// Bounded HTTP fuzz: mutated real SyncML messages (../shared/corpus and the SyncEvolution
// captures, XML and WBXML) through the real endpoint (gateway in-process, Radicale, embedded
// store). Every answer is an HTTP status below 500, the gateway keeps answering /healthz, and
// messages without valid credentials write nothing (items on Radicale, rows in the state store).
// 1000 iterations by default; SOAK=1 runs 20000. FUZZ_SEED=n repeats a run.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { decodeMessage } from '../../src/codec/index.js';
import { prng } from '../support/contacts.js';
import { repoRoot, startRadicale, type DavServerHandle } from '../support/index.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const SHARED = path.resolve(repoRoot, '..', 'shared');
const ITERATIONS = process.env['SOAK'] === '1' ? 20_000 : 1_000;
const SEED = Number(process.env['FUZZ_SEED']) || Math.floor(Math.random() * 1e6);

function corpus(): Array<{ bytes: Uint8Array; wbxml: boolean }> {
  const walk = (d: string): string[] => readdirSync(d).flatMap((f) => {
    const p = path.join(d, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
  return [...walk(path.join(SHARED, 'corpus')), ...walk(path.join(SHARED, 'fixtures', 'syncevolution'))]
    .filter((f) => (/\.wbxml$/.test(f) || (/\.xml$/.test(f) && !/decoded\.xml$/.test(f))) && statSync(f).size < 200_000)
    .map((f) => ({ bytes: new Uint8Array(readFileSync(f)), wbxml: f.endsWith('.wbxml') }))
    .filter((m) => m.wbxml || /<SyncML[\s>]/.test(new TextDecoder().decode(m.bytes.subarray(0, 400))));
}

function mutate(src: Uint8Array, wbxml: boolean, rnd: () => number, cred: string | undefined): Uint8Array {
  const pick = (n: number): number => Math.floor(rnd() * n);
  let b: Uint8Array = src;
  if (!wbxml) {
    let t = new TextDecoder().decode(b);
    if (cred !== undefined) {
      // With valid credentials: the recorded Cred replaced by alice's, or one inserted.
      const c = `<Cred><Meta><Type xmlns="syncml:metinf">syncml:auth-basic</Type></Meta><Data>${cred}</Data></Cred>`;
      t = /<Cred>[\s\S]*?<\/Cred>/.test(t) ? t.replace(/<Cred>[\s\S]*?<\/Cred>/, c) : t.replace(/<\/SyncHdr>/, `${c}</SyncHdr>`);
    }
    const textOps: Array<(s: string) => string> = [
      (s) => s.replace(/<LocURI>[^<]*<\/LocURI>/, `<LocURI>${'x'.repeat(1 + pick(5000))}</LocURI>`),
      (s) => s.replace(/<SessionID>[^<]*<\/SessionID>/, `<SessionID>${pick(3)}</SessionID>`),
      (s) => s.replace(/<MsgID>[^<]*<\/MsgID>/, `<MsgID>${pick(5)}</MsgID>`),
      (s) => { const i = pick(s.length); return s.slice(0, i) + '&#65;'.repeat(pick(50)) + s.slice(i); },
      (s) => { const i = pick(s.length); return s.slice(0, i) + '<X a="1" b="2">'.repeat(pick(20)) + s.slice(i); },
      (s) => s.replace(/<Data>[^<]*<\/Data>/, `<Data>${['200', '201', '203', '205', '225', '224', '', '999'][pick(8)]}</Data>`),
      (s) => s.replace(/<(Add|Replace|Delete)>/, '<Atomic><$1>'),
      (s) => s.replace(/<Final\/>/, ''),
    ];
    for (let n = 1 + pick(3); n > 0; n--) t = textOps[pick(textOps.length)]!(t);
    b = new TextEncoder().encode(t);
  }
  const out = Array.from(b);
  for (let n = rnd() < 0.3 ? 1 + pick(3) : 0; n > 0; n--) {
    const op = pick(4);
    const i = pick(out.length || 1);
    if (op === 0) out[i] = pick(256);
    else if (op === 1) out.splice(i, 1 + pick(20));
    else if (op === 2) out.splice(i, 0, ...out.slice(pick(out.length || 1), pick(out.length || 1)).slice(0, 200));
    else out.length = Math.max(1, i);
  }
  return new Uint8Array(out);
}

describe('fuzz: mutated real SyncML messages through the HTTP endpoint (Radicale, embedded store)', function () {
  this.timeout(ITERATIONS * 500 + 60_000);
  let dav: DavServerHandle;
  let gw: TestGateway;

  before(async function () {
    // Recorded messages carry alice/secret: this Radicale has another password, so they fail.
    dav = await startRadicale({ password: `fz-${randomBytes(6).toString('hex')}` });
    gw = await startTestGateway({ dav, settings: { logLevel: 'warn', authFailuresPerAddress: 1e9, authFailuresPerAccount: 1e9 } });
  });
  after(async function () {
    await gw?.close();
    await dav?.dispose();
  });

  function stateRows(): number {
    const db = new Database(path.join(gw.dir, 'state', 'state.sqlite'), { readonly: true });
    try {
      let n = 0;
      for (const t of ['devices', 'datastores', 'map_entries', 'cached_replies', 'locks']) n += (db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n;
      return n + (db.prepare("SELECT count(*) AS n FROM sessions WHERE session_key NOT LIKE 'counter:%' AND session_key NOT LIKE 'chal:%'").get() as { n: number }).n;
    } finally {
      db.close();
    }
  }

  it(`${ITERATIONS} messages (${Math.round(ITERATIONS * 0.7)} without valid credentials): never a 5xx, nothing written without credentials, /healthz answers (FUZZ_SEED=${SEED})`, async function () {
    const messages = corpus();
    assert.ok(messages.length > 50, `corpus found (${messages.length} messages)`);
    const rnd = prng(SEED);
    const cred = Buffer.from(`alice:${dav.password}`).toString('base64');
    const items0 = (await dav.listItems('contacts')).length;
    const rows0 = stateRows();
    const statuses = new Map<number, number>();
    const anonymous = Math.round(ITERATIONS * 0.7);
    for (let i = 0; i < ITERATIONS; i++) {
      const m = messages[Math.floor(rnd() * messages.length)]!;
      const withCred = i >= anonymous && !m.wbxml;
      const body = mutate(m.bytes, m.wbxml, rnd, withCred ? cred : undefined);
      const res = await fetch(gw.url, { method: 'POST', headers: { 'content-type': `application/vnd.syncml+${m.wbxml ? 'wbxml' : 'xml'}` }, body });
      const reply = new Uint8Array(await res.arrayBuffer());
      if (res.status === 200) {
        // An unexpected exception becomes SyncHdr 500: that is a crash too.
        const hdr = decodeMessage(reply, m.wbxml ? 'wbxml' : 'xml').message.body[0];
        assert.ok(!(hdr?.kind === 'Status' && hdr.data === '500'), `iteration ${i} (FUZZ_SEED=${SEED}): SyncHdr 500`);
      }
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      assert.ok(res.status < 500, `iteration ${i} (FUZZ_SEED=${SEED}): HTTP ${res.status}`);
      if (i === anonymous - 1) {
        assert.equal((await dav.listItems('contacts')).length, items0, 'nothing written to Radicale without credentials');
        assert.equal(stateRows(), rows0, 'nothing stored without credentials');
      }
    }
    const health = await fetch(gw.url.replace(/\/sync$/, '/healthz'));
    assert.equal(health.status, 200);
    console.log(`      FUZZ_SEED=${SEED}: HTTP statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
  });
});
