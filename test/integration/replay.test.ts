// Replays real recorded client sessions (Horde P900/Funambol/Sync4j, Sony Ericsson WBXML first
// packets, Buteo, Funambol large object, SyncEvolution) against a gateway on a real Radicale.
// What differs from the recorded servers' answers, and why: test/fixtures/replay/README.md.
import assert from 'node:assert/strict';
import type { Command, SyncMLMessage } from '../../src/codec/model.js';
import { startRadicale, type DavServerHandle } from '../support/index.js';
import { alert, ScriptedClient, startTestGateway, statusesOf, syncCmd, type TestGateway } from '../support/gateway.js';
import { accountYaml } from '../support/mapping.js';
import {
  CORPUS, hordeSession, itemCommands, loadRecorded, Replayer, statusFor, syncEvolutionExchanges, type Exchange,
} from '../support/replay.js';
import { requireShared } from '../support/shared.js';

const ALICE = { user: 'alice', password: 'secret' };
const P900_DIR = `${CORPUS}/horde-syncml/testcase_P900_tasksandcalendar`;
const P900 = { account: 'alice', deviceId: '351965-00-340413-3', datastore: 'calendar' };
const P900_STORE = 'c:\\Documents\\agenda\\agenda';

/** HTTP 200, a decodable reply to this message, and a Status for the header and every command. */
function answered(ex: Exchange, label: string): SyncMLMessage {
  assert.equal(ex.res.status, 200, `${label}: HTTP ${ex.res.status} ${ex.res.text.slice(0, 200)}`);
  const reply = ex.res.message;
  assert.ok(reply, `${label}: reply decodes`);
  const statuses = reply.body.filter((c) => c.kind === 'Status');
  assert.ok(statuses.every((s) => s.msgRef === ex.sent.header.msgId), `${label}: statuses refer to our message`);
  const expected: Array<[string, string]> = [['SyncHdr', '0']];
  for (const c of ex.sent.body) {
    if (c.kind === 'Status' || c.noResp) continue;
    expected.push([c.kind === 'Other' ? c.name : c.kind, c.cmdId]);
    if (c.kind === 'Sync') for (const i of c.commands) if (i.kind !== 'Status' && !i.noResp) expected.push([i.kind === 'Other' ? i.name : i.kind, i.cmdId]);
  }
  for (const [cmd, ref] of expected) {
    assert.ok(statusFor(reply, cmd, ref), `${label}: a Status for ${cmd} ${ref}`);
  }
  return reply;
}

function serverCommands(msg: SyncMLMessage, kind: Command['kind']): Command[] {
  return msg.body.filter((c) => c.kind === kind);
}

function prop(data: string, name: string): string | undefined {
  return new RegExp(`^${name}(?:;[^:\\r\\n]*)?:(.*)$`, 'm').exec(data)?.[1]?.trim();
}

describe('replay of recorded sessions (real Radicale, embedded store)', function () {
  this.timeout(60_000);
  before(function () {
    requireShared(this);
  });

  describe('Sony Ericsson P900 against Horde: 6 sessions, SyncML 1.0, vCalendar 1.0 events and to-dos', function () {
    let dav: DavServerHandle;
    let gw: TestGateway;
    const ex = (n: number): Promise<Exchange[]> => replaySession(n);

    async function replaySession(n: number): Promise<Exchange[]> {
      const r = new Replayer(gw.url, ALICE);
      const out: Exchange[] = [];
      for (const { client, server } of hordeSession(P900_DIR, n)) out.push(await r.send(client, server));
      out.forEach((e, i) => answered(e, `session ${n} message ${i + 1}`));
      return out;
    }

    before(async function () {
      dav = await startRadicale();
      gw = await startTestGateway({
        dav,
        // The P900 keeps events and to-dos in one datastore: its VTODOs go to the tasks collection.
        mappingYaml: accountYaml(dav, { datastores: { calendar: { uris: ['calendar'], collection: dav.collections.calendar, tasksCollection: dav.collections.tasks } } }),
      });
      // The two events Horde sent in session 1, so that our server Sync has the same Adds and the
      // client's Map (recorded against Horde's ids) can be pointed at ours.
      const cal = (uid: string, body: string): string => `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//replay//EN\r\nBEGIN:VEVENT\r\nUID:${uid}\r\nDTSTAMP:20070102T180655Z\r\n${body}END:VEVENT\r\nEND:VCALENDAR\r\n`;
      await dav.putItem('calendar', 'srv1.ics', cal('srv1', 'DTSTART;VALUE=DATE:20070101\r\nDTEND;VALUE=DATE:20070102\r\nSUMMARY:server1allday new year\r\nLOCATION:everywhere\r\n'));
      await dav.putItem('calendar', 'srv2.ics', cal('srv2', 'DTSTART:20070102T050000Z\r\nDTEND:20070102T060000Z\r\nSUMMARY:server2 6-7\r\n'));
    });
    after(async function () {
      await gw?.close();
      await dav?.dispose();
    });

    it('session 1: new device, 508 and slow sync; Replace-as-new events and the to-do stored (201), server Adds mapped', async function () {
      const [init, sync, map] = await ex(1);
      const r1 = init!.res.message!;
      assert.equal(statusFor(r1, 'SyncHdr', '0'), '212');
      assert.equal(statusFor(r1, 'Put', '1'), '200');
      assert.equal(statusFor(r1, 'Get', '2'), '200');
      assert.equal(statusFor(r1, 'Alert', '3'), '508', 'the recorded Last anchor is unknown to us: refresh required');
      assert.equal(serverCommands(r1, 'Results').length, 1, 'server DevInf for the Get');
      const srvAlert = serverCommands(r1, 'Alert')[0];
      assert.ok(srvAlert?.kind === 'Alert' && srvAlert.data === '201' && srvAlert.items[0]?.target?.locURI === P900_STORE);
      assert.equal(r1.header.verProto, 'SyncML/1.0', 'answered in the version the phone speaks');

      const r2 = sync!.res.message!;
      assert.equal(statusFor(r2, 'Sync', '4'), '200');
      assert.equal(statusFor(r2, 'Replace', '5'), '201', 'P900 sends new items as Replace: created');
      assert.equal(statusFor(r2, 'Replace', '6'), '201');
      assert.equal(statusFor(r2, 'Replace', '7'), '201', 'the VTODO of the mixed datastore goes to the tasks collection');
      const adds = itemCommands(r2).filter((c) => c.cmd.kind === 'Add');
      assert.deepEqual(adds.map((a) => prop(String(a.cmd.items[0]!.data), 'SUMMARY')).sort(), ['server1allday new year', 'server2 6-7']);
      for (const a of adds) {
        assert.equal(a.cmd.meta?.type ?? a.cmd.items[0]?.meta?.type, 'text/x-vcalendar', 'the phone prefers vCalendar 1.0 (DevInf)');
        assert.equal(prop(String(a.cmd.items[0]!.data), 'VERSION'), '1.0');
      }

      const r3 = map!.res.message!;
      assert.equal(statusFor(r3, 'Map', '6'), '200');
      assert.equal(statusFor(r3, 'Map', '7'), '200');
      assert.deepEqual(map!.dropped, ['Status Add 2/6=201', 'MapItem 682->20070102183704.6l75i6x9a2gw@voltaire.local'], "only Horde's task Add has no counterpart");
      const luids = (await gw.state.getMap(P900)).map((e) => e.luid).sort();
      assert.deepEqual(luids, ['667', '678', '679', '680', '681']);
    });

    it('session 2: the anchors of session 1 are accepted (200, two-way); Replaces of the mapped server items update them', async function () {
      const [init, sync] = await ex(2);
      const r1 = init!.res.message!;
      assert.equal(statusFor(r1, 'Alert', '3'), '200');
      const a = serverCommands(r1, 'Alert')[0];
      assert.ok(a?.kind === 'Alert' && a.data === '200');
      const r2 = sync!.res.message!;
      assert.equal(statusFor(r2, 'Replace', '5'), '200');
      assert.equal(statusFor(r2, 'Replace', '6'), '200');
      assert.equal(statusFor(r2, 'Replace', '7'), '201', "LUID 682 = Horde's to-do, unknown to us: stored as new");
      assert.equal(itemCommands(r2).length, 0, 'no server changes: Horde had server-side edits, our Radicale has none');
      const srv1 = (await dav.listItems('calendar')).find((i) => i.href.endsWith('/srv1.ics'));
      assert.equal(prop(srv1!.data, 'SUMMARY'), 'server1alldayc1 new year');
      assert.equal(prop(srv1!.data, 'LOCATION'), 'everywhere', 'a field the phone does not send keeps its server value');
    });

    it('sessions 3-6: Replaces (200), an empty sync, Deletes (200)', async function () {
      const s3 = await ex(3);
      assert.equal(statusFor(s3[1]!.res.message, 'Replace', '5'), '200');
      assert.equal(statusFor(s3[1]!.res.message, 'Replace', '6'), '200');
      assert.equal(statusFor(s3[1]!.res.message, 'Replace', '7'), '200');
      const s4 = await ex(4);
      assert.equal(statusFor(s4[1]!.res.message, 'Sync', '4'), '200');
      const s5 = await ex(5);
      assert.equal(statusFor(s5[1]!.res.message, 'Delete', '5'), '200', 'LUID 681 = server2');
      assert.equal(statusFor(s5[1]!.res.message, 'Delete', '6'), '200', "LUID 682 = Horde's to-do, stored in session 2");
      const s6 = await ex(6);
      assert.equal(statusFor(s6[0]!.res.message, 'Alert', '3'), '200', 'anchors still chain after six sessions');
    });

    it('end state: three events and the to-do in Radicale converted from vCalendar 1.0, and the map names them', async function () {
      const items = await dav.listItems('calendar');
      assert.equal(items.length, 3);
      const todos = await dav.listItems('tasks');
      assert.equal(todos.length, 1, 'the P900 to-do is in the tasks collection');
      assert.match(todos[0]!.data, /BEGIN:VTODO/);
      const bySummary = new Map(items.map((i) => [prop(i.data, 'SUMMARY'), i.data]));
      const timed = bySummary.get('client1s1 12-1');
      assert.ok(timed, [...bySummary.keys()].join(' | '));
      assert.equal(prop(timed, 'DTSTART'), '20061222T110000Z');
      assert.equal(prop(timed, 'DTEND'), '20061222T120000Z');
      assert.match(timed, /BEGIN:VALARM[\s\S]*TRIGGER[^:\r\n]*:-PT10M[\s\S]*END:VALARM/, 'AALARM 10:50Z before 11:00Z');
      assert.equal(prop(timed, 'CREATED'), '20061221T230000Z', 'DCREATED -> CREATED');
      const allDay = bySummary.get('cIient1s1 christmas all day');
      assert.ok(allDay);
      assert.match(allDay, /^DTSTART;VALUE=DATE:20061225\r?$/m, 'T000000Z..T240000Z all-day event becomes a DATE');
      assert.equal(prop(allDay, 'DESCRIPTION'), 'uumlaut: ü', 'QUOTED-PRINTABLE UTF-8 decoded');
      assert.ok(bySummary.has('server1alldayc1 new year'));
      assert.ok(![...bySummary.keys()].some((s) => s?.startsWith('server2')), 'deleted by the phone in session 5');
      const map = await gw.state.getMap(P900);
      assert.deepEqual(map.map((e) => e.luid).sort(), ['667', '678', '679', '680']);
      const hrefs = new Set([...items, ...todos].map((i) => i.href));
      assert.ok(map.every((e) => hrefs.has(e.guid)), 'every map entry points to an existing item');
    });
  });

  describe('first packets and other captures', function () {
    let dav: DavServerHandle;
    let gw: TestGateway;

    before(async function () {
      dav = await startRadicale();
      gw = await startTestGateway({
        dav,
        mappingYaml: accountYaml(dav, { datastores: {
          contacts: { uris: ['contacts', 'card', 'contact', 'addressbook'], collection: dav.collections.contacts },
          calendar: { uris: ['calendar', 'horde', 'events'], collection: dav.collections.calendar },
          tasks: { uris: ['tasks', 'todo'], collection: dav.collections.tasks },
          // Notes only need to be alerted here; no note items are replayed.
          notes: { uris: ['notes', 'note'], collection: dav.collections.notes },
        } }),
      });
    });
    after(async function () {
      await gw?.close();
      await dav?.dispose();
    });

    for (const [file, phone, alertStatus, storeUri, hasPut] of [
      ['k500i_client_0.wbxml', 'Sony Ericsson K500i (1.1, slow sync of EriPBDB)', '200', 'EriPBDB', false],
      ['k700i_syncml_client_0.wbxml', 'Sony Ericsson K700i (1.1, two-way with Last=0 for EriNotesDB)', '508', 'EriNotesDB', false],
      ['z600_client_0.wbxml', 'Sony Ericsson Z600 (1.0, Put DevInf, slow sync of EriCalDB)', '200', 'EriCalDB', true],
    ] as const) {
      it(`WBXML first packet of the ${phone}: authenticated, answered in WBXML with a server Alert 201`, async function () {
        const rec = loadRecorded(`${CORPUS}/horde-xml-wbxml/examples/${file}`);
        const r = new Replayer(gw.url, ALICE);
        const e = await r.send(rec);
        const reply = answered(e, file);
        assert.match(e.res.contentType, /^application\/vnd\.syncml\+wbxml/);
        assert.equal(reply.version, rec.message.version);
        assert.equal(statusFor(reply, 'SyncHdr', '0'), '212');
        const alertCmd = rec.message.body.find((c) => c.kind === 'Alert')!;
        assert.equal(statusFor(reply, 'Alert', alertCmd.cmdId), alertStatus);
        const a = serverCommands(reply, 'Alert')[0];
        assert.ok(a?.kind === 'Alert' && a.data === '201' && a.items[0]?.target?.locURI === storeUri);
        if (hasPut) assert.equal(statusFor(reply, 'Put', '1'), '200');
        // Without a DevInf from the phone the server asks for it.
        assert.equal(serverCommands(reply, 'Get').length, hasPut ? 0 : 1);
      });
    }

    it('Synthesis Palm client (WBXML 1.1/1.0): DevInf Results; a datastore URI with a filter suffix finds its datastore', async function () {
      for (const file of ['syncml_client_packet_3.wbxml', 'syncml_client_packet_5.wbxml']) {
        const r = new Replayer(gw.url, ALICE);
        const reply = answered(await r.send(loadRecorded(`${CORPUS}/horde-xml-wbxml/examples/${file}`)), file);
        assert.equal(statusFor(reply, 'Put', '1'), '200');
        assert.equal(statusFor(reply, 'Get', '2'), '200');
        assert.equal(serverCommands(reply, 'Results').length, 1);
        // `events?/dr(-30,90)`: Synthesis date-range filter; the datastore is `events` (the filter
        // itself is not applied: the phone gets all events).
        assert.equal(statusFor(reply, 'Alert', '3'), '200');
        assert.equal(statusFor(reply, 'Alert', '4'), '200');
        assert.equal(statusFor(reply, 'Alert', '5'), '200');
        assert.equal(serverCommands(reply, 'Alert').length, 3);
      }
    });

    it('Funambol Outlook 3.0.15 (SIF-E) and Sync4j PocketPC (SIF-C): each item refused with 415 and logged, nothing stored', async function () {
      for (const [dir, uri, items] of [['testcase_funambol_outlook3015_calendar', 'calendar', 2], ['testcase_sync4j_pocketpc_contacts', 'contacts', 1]] as const) {
        const r = new Replayer(gw.url, ALICE);
        const [init, sync, more, last] = hordeSession(`${CORPUS}/horde-syncml/${dir}`, 1);
        answered(await r.send(init!.client, init!.server), `${dir} 1`);
        const e = await r.send(sync!.client, sync!.server);
        const reply = answered(e, `${dir} 2`);
        const refused = statusesOf(reply).filter((s) => s.cmd === 'Replace');
        assert.equal(refused.length, items, 'one Status per item (Funambol puts two items in one Replace)');
        assert.ok(refused.every((s) => s.data === '415'));
        const luids = itemCommands(e.sent).flatMap((c) => c.cmd.items.map((i) => i.source?.locURI));
        for (const luid of luids) assert.ok(gw.logLines().some((l) => l['luid'] === luid && l['status'] === 415), `log line for ${luid}`);
        // The client's Alert 222 (it waited for the server's Sync that Horde sent late) is answered
        // and ends our session: the recorded 4th message then starts afresh without Cred.
        const e3 = await r.send(more!.client, more!.server);
        assert.equal(statusFor(answered(e3, `${dir} 3`), 'Alert', '2'), '200');
        const e4 = await r.send(last!.client, last!.server);
        assert.equal(statusFor(e4.res.message, 'SyncHdr', '0'), '407');
        assert.equal((await dav.listItems(uri === 'calendar' ? 'calendar' : 'contacts')).length, 0);
      }
    });

    it('Buteo/libdatasync init messages (MD5 and basic, SyncML 1.1/1.2): 212, 508 for unknown anchors', async function () {
      const init = answered(await new Replayer(gw.url, ALICE).send(loadRecorded(`${CORPUS}/buteo-syncml/data/syncml_init.txt`)), 'syncml_init');
      assert.equal(statusFor(init, 'SyncHdr', '0'), '212');
      assert.deepEqual(statusesOf(init).filter((s) => s.cmd === 'Alert').map((s) => s.data), ['508', '508']);
      assert.deepEqual(serverCommands(init, 'Alert').map((a) => (a.kind === 'Alert' ? `${a.data} ${a.items[0]?.target?.locURI}` : '')), ['201 addressbook', '201 memo']);
      const transport = answered(await new Replayer(gw.url, ALICE).send(loadRecorded(`${CORPUS}/buteo-syncml/data/transport_initrequest.txt`)), 'transport_initrequest');
      assert.equal(statusFor(transport, 'Put', '1'), '200');
      assert.equal(statusFor(transport, 'Alert', '2'), '508');
    });

    it('Funambol large object (testLargeObject2): the recorded chunks decode, and sent to us they are accepted with 213 and assembled', async function () {
      const dir = `${CORPUS}/funambol-cpp-client-api/testcases/testLargeObject2`;
      const first = itemCommands(loadRecorded(`${dir}/syncML3.xml`).message)[0]!.cmd;
      const rest = itemCommands(loadRecorded(`${dir}/syncML4.xml`).message)[0]!.cmd;
      const [c1, c2] = [first.items[0]!, rest.items[0]!];
      assert.equal(c1.moreData, true);
      // Server -> client: the phone's LUID is the Target of each chunk.
      assert.ok(c1.target?.locURI && c1.target.locURI === c2.target?.locURI, 'same item continued');
      const whole = String(c1.data) + String(c2.data);
      assert.equal(whole.length, first.meta?.size, 'Meta/Size of the first chunk is the assembled size');
      assert.match(whole, /^BEGIN:VCARD[\s\S]*END:VCARD\s*$/);

      // These are server -> client captures; the same chunks as a client Add exercise our side.
      const client = new ScriptedClient(gw.url, 'sc-pim-testLargeObjectSplit', '1252507376', ALICE);
      await client.send([alert('1', '201', 'card', 'card', { next: 'lo1' })]);
      const hdr: Command = { kind: 'Status', cmdId: '1', msgRef: '1', cmdRef: '0', cmd: 'SyncHdr', targetRefs: [], sourceRefs: [], data: '200', items: [] };
      const luid = c1.target!.locURI;
      const part1 = await client.send([hdr, syncCmd('2', 'card', 'card', [{ kind: 'Add', cmdId: '3', meta: { type: 'text/x-vcard', size: whole.length }, items: [{ source: { locURI: luid }, data: String(c1.data), moreData: true }] }])], { final: false });
      assert.equal(statusesOf(part1.message).find((s) => s.cmd === 'Add')?.data, '213');
      const part2 = await client.send([syncCmd('1', 'card', 'card', [{ kind: 'Add', cmdId: '2', meta: { type: 'text/x-vcard' }, items: [{ source: { locURI: luid }, data: String(c2.data) }] }])]);
      assert.equal(statusesOf(part2.message).find((s) => s.cmd === 'Add')?.data, '201');
      const stored = await dav.listItems('contacts');
      assert.equal(stored.length, 1);
      assert.match(stored[0]!.data, /^FN:Laden\\, Bin\r?$/m, 'from the first chunk, as vCard 3.0');
      assert.match(stored[0]!.data, /^X-FUNAMBOL-SUBJECT:Bin Laden\r?$/m, 'from the second chunk');
      assert.match(stored[0]!.data, /^PHOTO;[^:]*:\/9j\/4AAQ/m, 'the base64 photo of the second chunk survived');
    });

    it('SyncEvolution slow syncs (XML, then the same data as WBXML): 201 per Add, then matched without duplicates (200)', async function () {
      const counts = async (): Promise<number[]> => Promise.all((['contacts', 'calendar', 'tasks'] as const).map(async (c) => (await dav.listItems(c)).length));
      const before = await counts();
      for (const [scenario, addStatus] of [['xml-slow-sync', '201'], ['wbxml-slow-sync', '200']] as const) {
        const r = new Replayer(gw.url, ALICE);
        const exchanges = syncEvolutionExchanges(scenario);
        for (const [i, { client, server }] of exchanges.entries()) {
          const e = await r.send(client, server);
          const reply = answered(e, `${scenario} ${i + 1}`);
          if (i === 0) {
            assert.equal(statusFor(reply, 'SyncHdr', '0'), '212');
            // The recorded peer always offered MD5 for next time; a basic account gets no Chal.
            assert.equal(statusesOf(reply).find((s) => s.cmd === 'SyncHdr')?.hasChal, false);
          }
          const adds = statusesOf(reply).filter((s) => s.cmd === 'Add');
          if (i === 1) assert.deepEqual([...new Set(adds.map((s) => s.data))], [addStatus], `${scenario}: Add statuses`);
        }
        assert.deepEqual((await counts()).map((n, k) => n - before[k]!), [5, 3, 2], `${scenario}: 5 contacts, 3 events, 2 tasks in Radicale`);
      }
    });
  });
});
