// The SessionObserver events, each fired by a real session (gateway in-process, real Radicale,
// embedded store): sessionStarted (with the SyncML SessionID), authFailed, sessionCompleted,
// sessionFailed, conflict, refreshRefused; a throwing observer changes nothing; the device's
// open session is recorded alike for SyncML 1.1 and 1.2.
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Command, SyncMLMessage } from '../../src/codec/model.js';
import type { SessionObserver } from '../../src/protocol/observer.js';
import { startRadicale, type DavServerHandle } from '../support/index.js';
import { addCmd, alert, ScriptedClient, startTestGateway, statusesOf, syncCmd, vcard21, type TestGateway } from '../support/gateway.js';

const hdrOk: Command = { kind: 'Status', cmdId: '1', msgRef: '1', cmdRef: '0', cmd: 'SyncHdr', targetRefs: [], sourceRefs: [], data: '200', items: [] };

describe('session observer: every event from real sessions (Radicale, embedded store)', function () {
  this.timeout(120_000);
  let dav: DavServerHandle;
  let gw: TestGateway;
  const events: Array<{ event: string; e: Record<string, unknown> }> = [];
  let throwing = false;
  const record = (event: string) => (e: object): void => {
    events.push({ event, e: e as Record<string, unknown> });
    if (throwing) throw new Error('observer bug');
  };
  const observer: SessionObserver = {
    sessionStarted: record('sessionStarted'), authFailed: record('authFailed'), sessionCompleted: record('sessionCompleted'),
    sessionFailed: record('sessionFailed'), conflict: record('conflict'), refreshRefused: record('refreshRefused'),
  };
  const of = (event: string): Array<Record<string, unknown>> => events.filter((x) => x.event === event).map((x) => x.e);

  before(async function () {
    dav = await startRadicale();
    gw = await startTestGateway({ dav, observer });
  });
  after(async function () {
    await gw?.close();
    await dav?.dispose();
  });

  const client = (device: string, session: string): ScriptedClient => new ScriptedClient(gw.url, device, session, { user: 'alice', password: dav.password });

  /** From the Alert to the Map: a whole session; returns the last reply. */
  async function fullSession(c: ScriptedClient, code: string, anchor: { last?: string; next: string }, changes: Command[]): Promise<SyncMLMessage> {
    await c.send([alert('1', code, 'contacts', './c', anchor)]);
    let reply = await c.send([hdrOk, syncCmd('2', 'contacts', './c', changes)]);
    const mapItems: Array<{ target: { locURI: string }; source: { locURI: string } }> = [];
    for (let i = 0; i < 50; i++) {
      for (const s of reply.message!.body) {
        if (s.kind !== 'Sync') continue;
        for (const a of s.commands) if (a.kind === 'Add') mapItems.push({ target: { locURI: a.items[0]!.source!.locURI }, source: { locURI: `S-${mapItems.length}-${c.deviceId}` } });
      }
      if (reply.message!.final) break;
      reply = await c.send([hdrOk]);
    }
    const done = await c.send([hdrOk, ...(mapItems.length ? [{ kind: 'Map', cmdId: '2', target: { locURI: 'contacts' }, source: { locURI: './c' }, mapItems } as Command] : [])]);
    return done.message!;
  }

  it('sessionStarted (with the SessionID), sessionCompleted with per-datastore outcomes; authFailed with a reason', async function () {
    const c = client('IMEI:obs-1', '42');
    const done = await fullSession(c, '201', { next: 'o1' }, [addCmd('3', 'OBS-1', vcard21(91))]);
    assert.ok(done.final);
    const started = of('sessionStarted').find((e) => e['deviceId'] === 'IMEI:obs-1');
    assert.equal(started?.['sessionId'], '42');
    assert.equal(started?.['account'], 'alice');
    assert.match(String(started?.['sessionKey']), /^[A-Za-z0-9_-]{24}$/);
    const completed = of('sessionCompleted').find((e) => e['deviceId'] === 'IMEI:obs-1');
    const ds = (completed?.['datastores'] as Array<Record<string, unknown>>)[0]!;
    assert.equal(ds['datastore'], 'contacts');
    assert.equal(ds['mode'], 'slow');
    assert.equal(ds['failed'], false);
    assert.equal((ds['stats'] as Record<string, number>)['added'] ?? 1, 1);

    await new ScriptedClient(gw.url, 'IMEI:obs-bad', '1', { user: 'alice', password: 'wrong' }).send([alert('1', '201', 'contacts', './c', { next: 'x' })]);
    await new ScriptedClient(gw.url, 'IMEI:obs-none', '1').send([alert('1', '201', 'contacts', './c', { next: 'x' })]);
    assert.equal(of('authFailed').find((e) => e['deviceId'] === 'IMEI:obs-bad')?.['reason'], 'wrong-password');
    assert.equal(of('authFailed').find((e) => e['deviceId'] === 'IMEI:obs-none')?.['reason'], 'no-credentials');
  });

  it('conflict: the phone replaces an item that was changed on the server', async function () {
    const c1 = client('IMEI:obs-conflict', '1');
    await fullSession(c1, '201', { next: 'k1' }, [addCmd('3', 'CF-1', vcard21(92))]);
    const entry = (await gw.state.getMap({ account: 'alice', deviceId: 'IMEI:obs-conflict', datastore: 'contacts' })).find((m) => m.luid === 'CF-1')!;
    const item = (await dav.listItems('contacts')).find((i) => decodeURIComponent(i.href) === decodeURIComponent(entry.guid))!;
    await dav.putItem('contacts', path.posix.basename(item.href), item.data.replace('FN:', 'NOTE:changed on the server\r\nFN:'));
    const c2 = client('IMEI:obs-conflict', '2');
    await fullSession(c2, '200', { last: 'k1', next: 'k2' }, [{ kind: 'Replace', cmdId: '3', meta: { type: 'text/x-vcard' }, items: [{ source: { locURI: 'CF-1' }, data: vcard21(92).replace('Item92', 'Item92x') }] }]);
    const conflict = of('conflict').find((e) => e['deviceId'] === 'IMEI:obs-conflict');
    assert.ok(conflict, JSON.stringify(events.map((e) => e.event)));
    assert.equal(conflict['luid'], 'CF-1');
    assert.equal(conflict['policy'], 'newer-wins');
  });

  it('refreshRefused: a refresh from a phone that would empty the address book', async function () {
    const c = client('IMEI:obs-refresh', '1');
    await c.send([alert('1', '203', 'contacts', './c', { next: 'r1' })]);
    const sync = { ...syncCmd('2', 'contacts', './c', []), numberOfChanges: 0 } as Command;
    const res = await c.send([hdrOk, sync]);
    assert.equal(statusesOf(res.message).find((s) => s.cmd === 'Sync')?.data, '403');
    const refused = of('refreshRefused').find((e) => e['deviceId'] === 'IMEI:obs-refresh');
    assert.equal(refused?.['datastore'], 'contacts');
    assert.ok(Number(refused?.['serverItems']) > 0);
  });

  it('sessionFailed: the DAV server goes away in the middle of a session', async function () {
    const c = client('IMEI:obs-fail', '1');
    await c.send([alert('1', '201', 'contacts', './c', { next: 'f1' })]);
    await dav.stop();
    try {
      await c.send([hdrOk, syncCmd('2', 'contacts', './c', [addCmd('3', 'F-1', vcard21(93))])]);
    } finally {
      await dav.start();
    }
    const failed = of('sessionFailed').find((e) => e['deviceId'] === 'IMEI:obs-fail');
    assert.match(String(failed?.['reason']), /BACKEND_UNAVAILABLE/);
  });

  it('a throwing observer is logged and ignored; the open session is recorded for SyncML 1.1 as for 1.2', async function () {
    throwing = true;
    try {
      for (const version of ['1.1', '1.2'] as const) {
        const c = client(`IMEI:obs-v${version}`, '1');
        const msg = c.message([alert('1', '201', 'contacts', './c', { next: 'v1' })]);
        msg.version = version;
        msg.header.verDTD = version;
        msg.header.verProto = `SyncML/${version}`;
        const { postSyncml } = await import('../support/gateway.js');
        const res = await postSyncml(c.url, msg);
        assert.equal(statusesOf(res.message)[0]!.data, '212', `SyncML ${version} session starts despite the observer`);
        const rec = await gw.state.getDevice({ account: 'alice', deviceId: `IMEI:obs-v${version}` });
        assert.equal(rec?.openSession, res.message!.header.respURI!.split('sid=')[1], `open session recorded (${version})`);
      }
      assert.ok(gw.logLines().some((l) => /session observer failed/.test(String(l['msg']))));
    } finally {
      throwing = false;
    }
  });
});
