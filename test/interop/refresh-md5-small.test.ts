// Issue 13, defect 1: a new phone doing refresh-from-server with MD5 authentication (so its first
// message is answered 401) and small messages, for contacts + events + tasks at once. The server's
// package 4 for a datastore must wait until the client has finished its package 3 (empty for a
// refresh); SyncEvolution refuses a Sync that comes earlier with 400 and every Add with 514.
// Real SyncEvolution client, real Radicale, embedded state store.
import assert from 'node:assert/strict';
import path from 'node:path';
import { makeTempDir, startRadicale, SyncEvolutionClient, type DavServerHandle } from '../support/index.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { accountYaml, DEFAULT_CONTACT_URIS } from '../support/mapping.js';

function contact(n: number): string {
  return [
    'BEGIN:VCARD', 'VERSION:3.0', `UID:refresh-contact-${n}`, `N:Müller ${n};Jürgen;;;`, `FN:Jürgen Müller ${n}`,
    `TEL;TYPE=CELL:+49 170 ${String(1000000 + n)}`, `NOTE:${'Notiz für später. '.repeat(8)}`, 'END:VCARD', '',
  ].join('\r\n');
}

function event(n: number): string {
  return [
    'BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//refresh test//EN', 'BEGIN:VEVENT', `UID:refresh-event-${n}@example.org`,
    'DTSTAMP:20250101T120000Z', `DTSTART:202507${String(n + 1).padStart(2, '0')}T100000Z`, `DTEND:202507${String(n + 1).padStart(2, '0')}T110000Z`,
    `SUMMARY:Event ${n} with a description long enough to fill messages`, `DESCRIPTION:${'x'.repeat(300)}`, 'END:VEVENT', 'END:VCALENDAR', '',
  ].join('\r\n');
}

function task(n: number): string {
  return [
    'BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//refresh test//EN', 'BEGIN:VTODO', `UID:refresh-task-${n}@example.org`,
    'DTSTAMP:20250101T120000Z', `SUMMARY:Task ${n}`, `DUE:202508${String(n + 1).padStart(2, '0')}T150000Z`, 'END:VTODO', 'END:VCALENDAR', '',
  ].join('\r\n');
}

for (const wbxml of [false, true]) describe(`interop: refresh-from-server with MD5 and MaxMsgSize 5000, three datastores (${wbxml ? 'WBXML' : 'XML'})`, function () {
  this.timeout(600_000);
  let dav: DavServerHandle;
  let gw: TestGateway;
  let dir: string;

  before(async function () {
    dir = makeTempDir(`interop-refresh-md5-${wbxml ? 'wbxml' : 'xml'}`);
    dav = await startRadicale();
    for (let n = 1; n <= 40; n++) await dav.putItem('contacts', `c${n}.vcf`, contact(n));
    for (let n = 1; n <= 8; n++) await dav.putItem('calendar', `e${n}.ics`, event(n));
    for (let n = 1; n <= 8; n++) await dav.putItem('tasks', `t${n}.ics`, task(n));
    gw = await startTestGateway({
      dav,
      mappingYaml: accountYaml(dav, {
        account: 'carol', auth: { md5: '${CAROL_SECRET}' }, davLogin: { username: dav.user, password: '${CAROL_DAV}' },
        datastores: {
          contacts: { kind: 'contacts', uris: DEFAULT_CONTACT_URIS, collection: dav.collections.contacts },
          calendar: { kind: 'events', uris: ['calendar', './calendar'], collection: dav.collections.calendar },
          tasks: { kind: 'tasks', uris: ['tasks', './tasks', 'todo'], collection: dav.collections.tasks },
        },
      }),
      env: { ...process.env, CAROL_SECRET: 'carol-phone-secret', CAROL_DAV: dav.password },
    });
  });
  after(async function () {
    await gw?.close();
    await dav?.dispose();
  });

  it('every datastore arrives whole on the new phone', async function () {
    const phone = new SyncEvolutionClient({
      dir: path.join(dir, 'phone'), deviceId: `sc-refresh-md5-${wbxml ? 'w' : 'x'}`, url: gw.url, user: 'carol',
      password: 'carol-phone-secret', auth: 'md5', maxMsgSize: 5000, wbxml,
      datastores: { contacts: 'contacts', calendar: 'calendar', tasks: 'tasks' },
    });
    const r = await phone.sync('refresh-from-server', { only: ['contacts', 'calendar', 'tasks'] });
    assert.equal(r.exitCode, 0, r.output.slice(-4000));
    assert.equal(r.datastores['contacts']?.localNew, 40, r.output.slice(-4000));
    assert.equal(r.datastores['calendar']?.localNew, 8);
    assert.equal(r.datastores['tasks']?.localNew, 8);
    assert.equal((await phone.readItems('contacts')).size, 40);
    assert.equal((await phone.readItems('calendar')).size, 8);
    assert.equal((await phone.readItems('tasks')).size, 8);
  });
});
