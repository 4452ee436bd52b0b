// Issue #13, defect 2: vCalendar items without UID got a UID derived from their content, so two
// different phone to-dos with equal text collided on one UID: the second Add was refused (418)
// and never stored. UIDs of such items now come from identity (account, device, datastore, LUID),
// as contacts' already did. Real Radicale, embedded store, scripted SyncML 1.2 client.
import assert from 'node:assert/strict';
import type { Command } from '../../src/codec/model.js';
import { startRadicale, type DavServerHandle } from '../support/index.js';
import { addCmd, alert, ScriptedClient, startTestGateway, statusesOf, syncCmd, type TestGateway } from '../support/gateway.js';
import { accountYaml } from '../support/mapping.js';

const TODO = [
  'BEGIN:VCALENDAR', 'VERSION:1.0', 'BEGIN:VTODO', 'SUMMARY:Buy milk', 'DUE:20261204T170000Z', 'PRIORITY:2', 'STATUS:NEEDS ACTION',
  'END:VTODO', 'END:VCALENDAR', '',
].join('\r\n');

const uidOf = (ical: string): string | undefined => /^UID[;:]?[^:\r\n]*:(.*)$/im.exec(ical)?.[1]?.trim();

describe('fidelity: UIDs of phone items come from identity, not content (real Radicale)', function () {
  this.timeout(120_000);
  let dav: DavServerHandle;
  let gw: TestGateway;

  before(async function () {
    dav = await startRadicale();
    gw = await startTestGateway({
      dav,
      mappingYaml: accountYaml(dav, { datastores: { tasks: { uris: ['tasks', './tasks'], collection: dav.collections.tasks } } }),
    });
  });
  after(async function () {
    await gw?.close();
    await dav?.dispose();
  });

  async function session(sessionId: string, code: string, anchor: { last?: string; next: string }, adds: Array<{ luid: string; data: string }>): Promise<string[]> {
    const client = new ScriptedClient(gw.url, 'IMEI:350000000000013', sessionId, { user: dav.user, password: dav.password });
    const init = await client.send([alert('1', code, 'tasks', './Tasks', anchor)]);
    assert.equal(init.status, 200, init.text.slice(0, 300));
    let n = 1;
    const cmds: Command[] = adds.map((a) => addCmd(String(++n), a.luid, a.data, 'text/x-vcalendar'));
    const reply = await client.send([
      { kind: 'Status', cmdId: '1', msgRef: '1', cmdRef: '0', cmd: 'SyncHdr', targetRefs: [], sourceRefs: [], data: '200', items: [] },
      syncCmd(String(++n), 'tasks', './Tasks', cmds),
    ]);
    assert.equal(reply.status, 200, reply.text.slice(0, 300));
    const st = statusesOf(reply.message);
    return cmds.map((c) => st.find((s) => s.cmd === 'Add' && s.cmdRef === c.cmdId)?.data ?? 'none');
  }

  it('stores two to-dos with identical content as two items with distinct identity UIDs', async () => {
    const statuses = await session('1', '201', { next: 'a1' }, [{ luid: '1', data: TODO }, { luid: '2', data: TODO }]);
    assert.deepEqual(statuses, ['201', '201'], 'both Adds accepted (was 201, 418)');
    const items = await dav.listItems('tasks');
    assert.equal(items.length, 2, 'two items on the server');
    const uids = items.map((i) => uidOf(i.data));
    assert.ok(uids.every((u) => u !== undefined && u.startsWith('sgw-')), `identity UIDs: ${uids.join(', ')}`);
    assert.notEqual(uids[0], uids[1]);

  });
});
