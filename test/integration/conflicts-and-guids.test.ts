// Conflict policies and short temporary GUIDs, end to end: a scripted SyncML 1.2 client talks to
// the gateway's real HTTP endpoint, the gateway writes to a real Radicale and keeps its map and
// anchors in the embedded state store.
//
// What this proves:
//  1. The per-datastore `conflict:` policy of the account mapping (newer-wins, server-wins,
//     client-wins, merge, duplicate). After a completed slow sync (contact mapped, anchors saved)
//     the same contact is changed on Radicale and on the phone; the phone's Replace in the next
//     two-way sync gets the documented Status (docs/ARCHITECTURE.md: server-wins 419, client-wins
//     208, merge 207, duplicate 209; newer-wins by REV, else merge), Radicale holds the documented
//     result, the server's Sync of the same session sends the documented answer, and a
//     'conflict: item changed on both sides' log line names both the LUID and the href.
//  2. MaxGUIDSize (the Sony Ericsson P900 accepts 4 characters): every Add carries a short
//     temporary id, the phone's Map of those ids is stored against the real DAV hrefs, and a later
//     server change reaches the phone as a Replace of its own LUID.
//
//  3. Three-way merge: under `merge` (and so under the default newer-wins when the phone sends no
//     REV) a server edit of a field the phone sends back unchanged survives; the map keeps per-field
//     digests of what the phone last had (`MapEntry.fields`) to tell the two apart.
//
// Why real Radicale: conflicts are detected by ETags and, in the two-way sessions, the server's
// changes are found with sync-collection tokens; the unit tests' in-memory store fakes both. Only
// a real server shows that an outside PUT changes the ETag the map holds, that the conditional
// writes of a resolution succeed, that a duplicate does not clash on UID, and that the hrefs
// behind the short ids are the ones Radicale lists. Each scenario has its own address book and
// its own phone (device id), so the tests do not depend on each other.
import assert from 'node:assert/strict';
import type { Command, ItemCmd, SyncMLMessage } from '../../src/codec/model.js';
import { el, type SmlElement } from '../../src/codec/tree.js';
import { parseMultistatus, startRadicale, type DavItem, type DavServerHandle } from '../support/index.js';
import { alert, ScriptedClient, startTestGateway, statusesOf, syncCmd, type TestGateway } from '../support/gateway.js';
import { accountYaml } from '../support/mapping.js';

/** One mapped datastore per scenario, each on its own Radicale address book. */
const SCENARIOS = {
  'server-wins': { conflict: 'server-wins' },
  'client-wins': { conflict: 'client-wins' },
  merge: { conflict: 'merge' },
  duplicate: { conflict: 'duplicate' },
  'newer-rev': { conflict: 'newer-wins' },
  'newer-devrev': { conflict: 'newer-wins' },
  'newer-norev': { conflict: 'newer-wins' },
  'merge-unchanged': { conflict: 'merge' },
} as const;
type Scenario = keyof typeof SCENARIOS;
const GUID_DS = 'p900';

// Distinct phone numbers so every assertion can tell whose value it sees.
const TEL_ORIGINAL = '+4915100000001';
const TEL_SERVER = '+4915155500002';
const TEL_DEVICE = '+4915199900003';
const NOTE_SERVER = 'edited on the server';

const digits = (s: string): string => s.replace(/\D/g, '');
/** True when the vCard has a TEL with exactly these digits (formatting may differ per side). */
const hasTel = (card: string, tel: string): boolean =>
  card.split(/\r?\n/).some((l) => /^(?:[\w-]+\.)?TEL[;:]/i.test(l) && digits(l.slice(l.indexOf(':') + 1)) === digits(tel));
const hasNote = (card: string): boolean => card.split(/\r?\n/).some((l) => /^NOTE[;:]/i.test(l) && l.includes(NOTE_SERVER));
const uidOf = (card: string): string | undefined => /^UID[;:]?[^:\r\n]*:(.*)$/im.exec(card)?.[1]?.trim();
const samePath = (a: string, b: string): boolean => decodeURIComponent(a) === decodeURIComponent(b);

function serverCard(tag: string, o: { edited?: boolean; rev?: string }): string {
  return [
    'BEGIN:VCARD', 'VERSION:3.0', `UID:conflict-${tag}`, 'N:Conflict;Casey;;;', 'FN:Casey Conflict',
    `TEL;TYPE=CELL:${o.edited ? TEL_SERVER : TEL_ORIGINAL}`, 'EMAIL;TYPE=INTERNET:casey@example.org',
    ...(o.edited ? [`NOTE:${NOTE_SERVER}`] : []), ...(o.rev ? [`REV:${o.rev}`] : []), 'END:VCARD', '',
  ].join('\r\n');
}

/** The phone's edit: what it holds (no NOTE, it never saw one) with a new mobile number. */
function deviceCard(rev?: string): string {
  return [
    'BEGIN:VCARD', 'VERSION:2.1', 'N:Conflict;Casey;;;', 'FN:Casey Conflict', `TEL;CELL:${TEL_DEVICE}`,
    'EMAIL;INTERNET:casey@example.org', ...(rev ? [`REV:${rev}`] : []), 'END:VCARD', '',
  ].join('\r\n');
}

function replaceCmd(cmdId: string, luid: string, data: string): Command {
  return { kind: 'Replace', cmdId, meta: { type: 'text/x-vcard' }, items: [{ source: { locURI: luid }, data }] };
}

/** A P900-like DevInf 1.2: one contacts datastore that accepts GUIDs of at most 4 characters. */
function p900DevInf(deviceId: string, sourceRef: string): SmlElement {
  const t = (name: string, text: string): SmlElement => el(name, [text]);
  const fmt = (name: string): SmlElement => el(name, [t('CTType', 'text/x-vcard'), t('VerCT', '2.1')]);
  return el('DevInf', [
    t('VerDTD', '1.2'), t('Man', 'Sony Ericsson'), t('Mod', 'P900'), t('FwV', 'R2A'), t('SwV', 'R2A'), t('HwV', 'R1'),
    t('DevID', deviceId), t('DevTyp', 'smartphone'),
    el('DataStore', [
      t('SourceRef', sourceRef), t('DisplayName', 'Contacts'), t('MaxGUIDSize', '4'),
      fmt('Rx-Pref'), fmt('Tx-Pref'),
      el('SyncCap', [t('SyncType', '1'), t('SyncType', '2')]),
    ]),
  ], 'syncml:devinf');
}

const counter = (): (() => string) => {
  let n = 0;
  return () => String(++n);
};

/** The phone's Status for every command of a server message that needs one. */
function deviceStatuses(reply: SyncMLMessage, next: () => string): Command[] {
  const st = (cmdRef: string, cmd: string, data: string, refs: { targetRefs?: string[]; sourceRefs?: string[] } = {}): Command => ({
    kind: 'Status', cmdId: next(), msgRef: reply.header.msgId, cmdRef, cmd, targetRefs: refs.targetRefs ?? [], sourceRefs: refs.sourceRefs ?? [], data, items: [],
  });
  const out: Command[] = [st('0', 'SyncHdr', '200')];
  for (const c of reply.body) {
    if (c.kind === 'Alert') out.push(st(c.cmdId, 'Alert', '200'));
    if (c.kind !== 'Sync') continue;
    out.push(st(c.cmdId, 'Sync', '200'));
    for (const ic of c.commands) {
      if (ic.kind === 'Add') out.push(st(ic.cmdId, 'Add', '201', { sourceRefs: [ic.items[0]!.source!.locURI] }));
      else if (ic.kind === 'Replace' || ic.kind === 'Delete') out.push(st(ic.cmdId, ic.kind, '200', { targetRefs: [ic.items[0]!.target!.locURI] }));
    }
  }
  return out;
}

interface SessionOptions {
  deviceId: string;
  sessionId: string;
  serverUri: string;
  clientUri: string;
  code: '200' | '201';
  anchor: { last?: string; next: string };
  changes?: (next: () => string) => Command[];
  devInf?: SmlElement;
  /** LUID the phone gives the n-th item the server adds. */
  newLuid: (n: number) => string;
}

interface SessionResult {
  /** The sync mode the server alerted (200 two-way, 201 slow). */
  serverAlert?: string;
  /** Status of the phone's Put (DevInf), if it sent one. */
  putStatus?: string;
  /** The server's reply to the message with the phone's Sync. */
  syncReply: SyncMLMessage;
  /** The phone's item commands by CmdID (to find their Status in syncReply). */
  sentCmdIds: string[];
  /** Every Add/Replace/Delete of the server's Sync, over all its messages. */
  serverCmds: ItemCmd[];
  /** What the phone mapped: server id from the Add → its new LUID. */
  mapped: Array<{ guid: string; luid: string }>;
  mapStatus?: string;
}

describe('conflict policies and short GUIDs (real Radicale, embedded store, scripted SyncML client)', function () {
  this.timeout(120_000);
  let dav: DavServerHandle;
  let gw: TestGateway;
  const collections = {} as Record<Scenario | typeof GUID_DS, string>;

  before(async function () {
    dav = await startRadicale();
    for (const name of [...Object.keys(SCENARIOS), GUID_DS] as Array<Scenario | typeof GUID_DS>) {
      const url = `${dav.baseUrl}/${dav.user}/ab-${name}/`;
      const res = await dav.request('MKCOL', url, {
        headers: { 'Content-Type': 'application/xml' },
        body: '<?xml version="1.0" encoding="utf-8"?><D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop>'
          + `<D:resourcetype><D:collection/><C:addressbook/></D:resourcetype><D:displayname>ab-${name}</D:displayname></D:prop></D:set></D:mkcol>`,
      });
      assert.equal(res.status, 201, `address book ${name} created`);
      collections[name] = url;
    }
    gw = await startTestGateway({
      dav,
      mappingYaml: accountYaml(dav, { datastores: {
        ...Object.fromEntries(Object.entries(SCENARIOS).map(([name, s]) => [
          `ab-${name}`, { kind: 'contacts', uris: [`ab-${name}`], collection: collections[name as Scenario], conflict: s.conflict },
        ])),
        [GUID_DS]: { kind: 'contacts', uris: [GUID_DS], collection: collections[GUID_DS] },
      } }),
    });
  });
  after(async function () {
    await gw?.close();
    await dav?.dispose();
  });

  /** One complete SyncML session: init, the phone's Sync, the server's package, statuses and Map. */
  async function runSession(o: SessionOptions): Promise<SessionResult> {
    const client = new ScriptedClient(gw.url, o.deviceId, o.sessionId, { user: dav.user, password: dav.password });
    let ids = counter();
    const initBody: Command[] = [];
    if (o.devInf) {
      initBody.push({ kind: 'Put', cmdId: ids(), meta: { type: 'application/vnd.syncml-devinf+xml' }, items: [{ source: { locURI: './devinf12' }, data: o.devInf }] });
    }
    initBody.push(alert(ids(), o.code, o.serverUri, o.clientUri, o.anchor));
    const init = await client.send(initBody);
    assert.equal(init.status, 200, `init answered: ${init.text.slice(0, 300)}`);
    const initMsg = init.message!;
    assert.equal(statusesOf(initMsg).find((s) => s.cmd === 'SyncHdr')?.data, '212', 'basic credentials accepted (passthrough to Radicale)');
    const srvAlert = initMsg.body.find((c) => c.kind === 'Alert');
    const putStatus = statusesOf(initMsg).find((s) => s.cmd === 'Put')?.data;

    ids = counter();
    const statuses = deviceStatuses(initMsg, ids);
    const syncId = ids();
    const changes = o.changes?.(ids) ?? [];
    let reply = (await client.send([...statuses, syncCmd(syncId, o.serverUri, o.clientUri, changes)])).message!;
    const syncReply = reply;
    const serverCmds: ItemCmd[] = [];
    const collect = (m: SyncMLMessage): void => {
      for (const c of m.body) {
        if (c.kind === 'Sync') for (const ic of c.commands) if (ic.kind === 'Add' || ic.kind === 'Replace' || ic.kind === 'Delete') serverCmds.push(ic);
      }
    };
    collect(reply);
    for (let i = 0; !reply.final; i++) {
      assert.ok(i < 20, 'the server package ends');
      // Not final yet: statuses plus Alert 222, "send the next message".
      ids = counter();
      const body = deviceStatuses(reply, ids);
      body.push({ kind: 'Alert', cmdId: ids(), data: '222', items: [{ target: { locURI: o.serverUri }, source: { locURI: o.clientUri } }] });
      reply = (await client.send(body)).message!;
      collect(reply);
    }
    // Package 5: statuses for the server's last message and the Map of its Adds.
    const mapped = serverCmds.filter((c) => c.kind === 'Add').map((c, n) => ({ guid: c.items[0]!.source!.locURI, luid: o.newLuid(n) }));
    ids = counter();
    const closing = deviceStatuses(reply, ids);
    const mapId = mapped.length ? ids() : undefined;
    if (mapId) {
      closing.push({
        kind: 'Map', cmdId: mapId, target: { locURI: o.serverUri }, source: { locURI: o.clientUri },
        mapItems: mapped.map((m) => ({ target: { locURI: m.guid }, source: { locURI: m.luid } })),
      });
    }
    const last = (await client.send(closing)).message!;
    assert.ok(last.final, 'the session ends');
    const mapStatus = mapId ? statusesOf(last).find((s) => s.cmd === 'Map' && s.cmdRef === mapId)?.data : undefined;
    return {
      ...(srvAlert?.kind === 'Alert' && srvAlert.data !== undefined ? { serverAlert: srvAlert.data } : {}),
      ...(putStatus !== undefined ? { putStatus } : {}),
      syncReply,
      sentCmdIds: changes.map((c) => c.cmdId),
      serverCmds,
      mapped,
      ...(mapStatus !== undefined ? { mapStatus } : {}),
    };
  }

  interface ConflictRun {
    href: string;
    luid: string;
    key: { account: string; deviceId: string; datastore: string };
    /** Status the gateway gave the phone's Replace. */
    replaceStatus?: string;
    second: SessionResult;
  }

  /**
   * The common story: Radicale holds a contact; the phone gets it in a slow sync and maps it;
   * then Radicale's copy is edited (new number + a NOTE) and the phone edits its copy (another
   * new number) and sends a Replace in a two-way sync with the anchors of the first session.
   */
  async function conflict(tag: Scenario, revs: { serverBefore?: string; server?: string; device?: string } = {}): Promise<ConflictRun> {
    const ds = `ab-${tag}`;
    const deviceId = `IMEI:conflict-${tag}`;
    const key = { account: 'alice', deviceId, datastore: ds };
    const put = await dav.putItem(collections[tag], `casey-${tag}.vcf`, serverCard(tag, { ...(revs.serverBefore ? { rev: revs.serverBefore } : {}) }));
    const luid = `${tag}-1`;

    const first = await runSession({ deviceId, sessionId: '1', serverUri: ds, clientUri: `./${ds}`, code: '201', anchor: { next: `${tag}-a1` }, newLuid: () => luid });
    assert.equal(first.serverAlert, '201', 'first session: slow sync');
    assert.equal(first.serverCmds.length, 1, 'the one contact is sent to the phone');
    assert.equal(first.mapStatus, '200');
    const before = await gw.state.getMap(key);
    assert.equal(before.length, 1);
    assert.equal(before[0]!.luid, luid);
    assert.ok(samePath(before[0]!.guid, put.href), `mapped to ${put.href}, not ${before[0]!.guid}`);
    assert.equal((await gw.state.getAnchors(key))?.client, `${tag}-a1`, 'first session completed');

    // Changed on both sides.
    const edited = await dav.putItem(collections[tag], `casey-${tag}.vcf`, serverCard(tag, { edited: true, ...(revs.server ? { rev: revs.server } : {}) }));
    assert.notEqual(edited.etag, before[0]!.etag, 'Radicale gave the edit a new ETag');

    const second = await runSession({
      deviceId, sessionId: '2', serverUri: ds, clientUri: `./${ds}`, code: '200', anchor: { last: `${tag}-a1`, next: `${tag}-a2` },
      changes: (next) => [replaceCmd(next(), luid, deviceCard(revs.device))],
      newLuid: (n) => `${tag}-new-${n}`,
    });
    assert.equal(second.serverAlert, '200', 'anchors match: two-way sync');
    const replaceStatus = statusesOf(second.syncReply).find((s) => s.cmd === 'Replace' && s.cmdRef === second.sentCmdIds[0])?.data;
    return { href: put.href, luid, key, ...(replaceStatus !== undefined ? { replaceStatus } : {}), second };
  }

  function conflictLog(luid: string): Record<string, unknown> | undefined {
    return gw.logLines().find((l) => l['msg'] === 'conflict: item changed on both sides' && l['luid'] === luid);
  }

  function assertLogged(run: ConflictRun, policy: string, resolution: string): void {
    const line = conflictLog(run.luid);
    assert.ok(line, `a 'conflict: item changed on both sides' log line for LUID ${run.luid}`);
    assert.ok(samePath(String(line['href']), run.href), `the log line names the href (${String(line['href'])})`);
    assert.equal(line['policy'], policy);
    assert.equal(line['resolution'], resolution);
    assert.equal(line['level'], 40, 'logged as a warning');
  }

  const replacesTo = (run: ConflictRun): ItemCmd[] => run.second.serverCmds.filter((c) => c.kind === 'Replace' && c.items[0]?.target?.locURI === run.luid);
  const itemData = (c: ItemCmd): string => String(c.items[0]?.data ?? '');

  /** Every item in one of the test's address books (the support helper lists only its own three collections). */
  async function itemsIn(name: Scenario | typeof GUID_DS): Promise<DavItem[]> {
    const res = await dav.request('PROPFIND', collections[name], { headers: { Depth: '1' } });
    assert.equal(res.status, 207);
    const hrefs = parseMultistatus(await res.text()).map((r) => String(r.href).trim()).filter((h) => h.endsWith('.vcf'));
    const items: DavItem[] = [];
    for (const h of hrefs.sort()) {
      const it = await dav.getItem(h);
      if (it) items.push(it);
    }
    return items;
  }

  describe('conflict policies (mapping `conflict:` per datastore)', function () {
    it('server-wins: 419, Radicale keeps its version, and that version goes to the phone as a Replace of its LUID', async function () {
      const run = await conflict('server-wins');
      assert.equal(run.replaceStatus, '419');
      const items = await itemsIn('server-wins');
      assert.equal(items.length, 1, 'no second item');
      assert.ok(hasTel(items[0]!.data, TEL_SERVER) && hasNote(items[0]!.data), `server version kept:\n${items[0]!.data}`);
      assert.ok(!hasTel(items[0]!.data, TEL_DEVICE), 'the phone\'s number did not reach Radicale');
      const back = replacesTo(run);
      assert.equal(back.length, 1, 'one Replace of the phone\'s LUID');
      assert.equal(run.second.serverCmds.length, 1, 'and nothing else');
      assert.ok(hasTel(itemData(back[0]!), TEL_SERVER) && hasNote(itemData(back[0]!)), `the server version is sent:\n${itemData(back[0]!)}`);
      assert.ok(!hasTel(itemData(back[0]!), TEL_DEVICE));
      assertLogged(run, 'server-wins', 'server-wins');
      // The phone confirmed the Replace: the map now holds Radicale's current ETag (in sync).
      const entry = (await gw.state.getMap(run.key)).find((e) => e.luid === run.luid);
      assert.equal(entry?.etag, items[0]!.etag, 'map entry carries the ETag the phone now has');
    });

    it('client-wins: 208, the phone\'s values are written to Radicale, nothing is sent back for the item', async function () {
      const run = await conflict('client-wins');
      assert.equal(run.replaceStatus, '208');
      const items = await itemsIn('client-wins');
      assert.equal(items.length, 1, 'no second item');
      assert.ok(hasTel(items[0]!.data, TEL_DEVICE), `the phone's number is on the server:\n${items[0]!.data}`);
      assert.ok(!hasTel(items[0]!.data, TEL_SERVER), 'the server\'s number was replaced');
      // Merge, never overwrite: a field the phone does not hold (it never saw the NOTE) is not deleted.
      assert.ok(hasNote(items[0]!.data), 'the server-only NOTE is not deleted');
      assert.equal(uidOf(items[0]!.data), 'conflict-client-wins', 'same item (UID kept)');
      assert.deepEqual(run.second.serverCmds.map((c) => c.kind), [], 'nothing sent back to the phone');
      assertLogged(run, 'client-wins', 'client-wins');
      const entry = (await gw.state.getMap(run.key)).find((e) => e.luid === run.luid);
      assert.ok(entry && samePath(entry.guid, run.href), 'still mapped to the same href');
      assert.equal(entry.etag, items[0]!.etag, 'map entry carries the ETag of the written version');
    });

    it('merge: 207, Radicale gets both sides\' fields and the merged version goes back to the phone', async function () {
      const run = await conflict('merge');
      assert.equal(run.replaceStatus, '207');
      const items = await itemsIn('merge');
      assert.equal(items.length, 1, 'no second item');
      const data = items[0]!.data;
      assert.ok(hasTel(data, TEL_DEVICE), `the phone's number (a field it sent) is on the server:\n${data}`);
      assert.ok(hasNote(data), 'the server\'s NOTE (a field the phone did not send) is kept');
      assert.ok(!hasTel(data, TEL_SERVER), 'one number: the phone\'s replaced the server\'s');
      const back = replacesTo(run);
      assert.equal(back.length, 1, 'the merged version goes to the phone');
      assert.equal(run.second.serverCmds.length, 1, 'and nothing else');
      assert.ok(hasTel(itemData(back[0]!), TEL_DEVICE) && hasNote(itemData(back[0]!)), `merged version sent:\n${itemData(back[0]!)}`);
      assertLogged(run, 'merge', 'merge');
      const entry = (await gw.state.getMap(run.key)).find((e) => e.luid === run.luid);
      assert.equal(entry?.etag, items[0]!.etag, 'after the phone confirmed the Replace both sides agree');
    });

    it('duplicate: 209, Radicale holds both versions as two contacts, the server version goes to the phone as an Add', async function () {
      const run = await conflict('duplicate');
      assert.equal(run.replaceStatus, '209');
      const items = await itemsIn('duplicate');
      assert.equal(items.length, 2, `two contacts: ${items.map((i) => i.href).join(', ')}`);
      const original = items.find((i) => samePath(i.href, run.href));
      const copy = items.find((i) => !samePath(i.href, run.href));
      assert.ok(original && copy);
      assert.ok(hasTel(original.data, TEL_SERVER) && hasNote(original.data), `server version at the original href:\n${original.data}`);
      assert.ok(hasTel(copy.data, TEL_DEVICE) && !hasNote(copy.data), `the phone's version as a new contact:\n${copy.data}`);
      assert.notEqual(uidOf(copy.data), uidOf(original.data), 'the copy has its own UID');
      // The phone's LUID now names its own version; the server version comes as a new item.
      assert.deepEqual(run.second.serverCmds.map((c) => c.kind), ['Add'], 'one Add, no Replace of the phone\'s item');
      const add = run.second.serverCmds[0]!;
      assert.ok(hasTel(itemData(add), TEL_SERVER) && hasNote(itemData(add)), `the server version is added on the phone:\n${itemData(add)}`);
      const map = await gw.state.getMap(run.key);
      assert.equal(map.length, 2);
      assert.ok(samePath(map.find((e) => e.luid === run.luid)!.guid, copy.href), 'the phone\'s LUID → the copy');
      assert.ok(samePath(map.find((e) => e.luid === run.second.mapped[0]!.luid)!.guid, original.href), 'the new LUID → the original');
      assertLogged(run, 'duplicate', 'duplicate');
    });

    it('newer-wins, the server\'s REV is newer: server wins (419) and its version goes to the phone', async function () {
      const run = await conflict('newer-rev', { serverBefore: '20240101T080000Z', server: '20240301T120000Z', device: '20240201T090000Z' });
      assert.equal(run.replaceStatus, '419');
      const items = await itemsIn('newer-rev');
      assert.equal(items.length, 1);
      assert.ok(hasTel(items[0]!.data, TEL_SERVER) && !hasTel(items[0]!.data, TEL_DEVICE), `server version kept:\n${items[0]!.data}`);
      const back = replacesTo(run);
      assert.equal(back.length, 1);
      assert.ok(hasTel(itemData(back[0]!), TEL_SERVER) && hasNote(itemData(back[0]!)));
      assertLogged(run, 'newer-wins', 'server-wins');
    });

    it('newer-wins, the phone\'s REV is newer: merged (207), not server-wins', async function () {
      const run = await conflict('newer-devrev', { serverBefore: '20240101T080000Z', server: '20240201T090000Z', device: '20240301T120000Z' });
      assert.equal(run.replaceStatus, '207');
      const items = await itemsIn('newer-devrev');
      assert.equal(items.length, 1);
      assert.ok(hasTel(items[0]!.data, TEL_DEVICE) && hasNote(items[0]!.data), `merged:\n${items[0]!.data}`);
      assertLogged(run, 'newer-wins', 'merge');
    });

    it('newer-wins without timestamps: merged (207), both sides\' fields on Radicale and on the phone', async function () {
      const run = await conflict('newer-norev');
      assert.equal(run.replaceStatus, '207');
      const items = await itemsIn('newer-norev');
      assert.equal(items.length, 1);
      assert.ok(hasTel(items[0]!.data, TEL_DEVICE) && hasNote(items[0]!.data) && !hasTel(items[0]!.data, TEL_SERVER), `merged:\n${items[0]!.data}`);
      const back = replacesTo(run);
      assert.equal(back.length, 1);
      assert.ok(hasTel(itemData(back[0]!), TEL_DEVICE) && hasNote(itemData(back[0]!)));
      assertLogged(run, 'newer-wins', 'merge');
    });
  });

  // Phones send the whole card: the EMAIL the phone sends back is the one it had, not an edit.
  describe('three-way merge: a field the phone did not edit keeps the server\'s edit', function () {
    it('merge keeps the server\'s edit of a field the phone sent back unchanged, and takes the phone\'s edit of another', async function () {
      const tag = 'merge-unchanged';
      const ds = `ab-${tag}`;
      const deviceId = `IMEI:conflict-${tag}`;
      const key = { account: 'alice', deviceId, datastore: ds };
      const card = (email: string): string =>
        `BEGIN:VCARD\r\nVERSION:3.0\r\nUID:conflict-${tag}\r\nN:Conflict;Casey;;;\r\nFN:Casey Conflict\r\nTEL;TYPE=CELL:${TEL_ORIGINAL}\r\nEMAIL;TYPE=INTERNET:${email}\r\nEND:VCARD\r\n`;
      const put = await dav.putItem(collections[tag], `casey-${tag}.vcf`, card('casey@example.org'));
      const first = await runSession({ deviceId, sessionId: '1', serverUri: ds, clientUri: `./${ds}`, code: '201', anchor: { next: 'mu1' }, newLuid: () => 'MU-1' });
      assert.equal(first.mapStatus, '200');
      assert.equal((await gw.state.getAnchors(key))?.client, 'mu1');
      // Radicale: only the e-mail address changes. Phone: only the number changes; like every
      // SyncML phone it sends the whole contact, so its (old) e-mail address comes along.
      await dav.putItem(collections[tag], `casey-${tag}.vcf`, card('casey@server-edit.example'));
      const second = await runSession({
        deviceId, sessionId: '2', serverUri: ds, clientUri: `./${ds}`, code: '200', anchor: { last: 'mu1', next: 'mu2' },
        changes: (next) => [replaceCmd(next(), 'MU-1', deviceCard())], newLuid: (n) => `MU-new-${n}`,
      });
      assert.equal(statusesOf(second.syncReply).find((s) => s.cmd === 'Replace')?.data, '207');
      const items = await itemsIn(tag);
      const all = items.map((i) => i.data).join('\n');
      assert.ok(items.some((i) => samePath(i.href, put.href) && hasTel(i.data, TEL_DEVICE)), 'the phone\'s edit is applied');
      // Today Radicale ends up with EMAIL:casey@example.org only; the server's edit is gone for good.
      assert.match(all, /casey@server-edit\.example/, `the server's edit of EMAIL survives somewhere on Radicale:\n${all}`);
    });
  });

  describe('short temporary GUIDs (MaxGUIDSize 4, Sony Ericsson P900)', function () {
    it('Adds carry ids of at most 4 characters; the Map stores the real hrefs; a later server change is a Replace of the phone\'s LUID', async function () {
      const deviceId = 'IMEI:p900-guid';
      const key = { account: 'alice', deviceId, datastore: GUID_DS };
      const clientUri = './Contacts';
      const count = 8;
      for (let i = 1; i <= count; i++) {
        await dav.putItem(collections[GUID_DS], `p900-contact-${i}.vcf`,
          `BEGIN:VCARD\r\nVERSION:3.0\r\nUID:p900-contact-${i}\r\nN:Guid;Person${i};;;\r\nFN:Person${i} Guid\r\nTEL;TYPE=CELL:+49170000${String(i).padStart(4, '0')}\r\nEND:VCARD\r\n`);
      }
      const onRadicale = await itemsIn(GUID_DS);
      assert.equal(onRadicale.length, count);
      assert.ok(onRadicale.every((i) => i.href.length > 4), 'every href is longer than the phone accepts');

      const first = await runSession({
        deviceId, sessionId: '1', serverUri: GUID_DS, clientUri, code: '201', anchor: { next: 'g1' },
        devInf: p900DevInf(deviceId, clientUri), newLuid: (n) => `${1000 + n}`,
      });
      assert.equal(first.putStatus, '200', 'DevInf accepted');
      assert.equal(first.serverAlert, '201');
      const adds = first.serverCmds.filter((c) => c.kind === 'Add');
      assert.equal(adds.length, count, 'every server contact is added on the phone');
      const guids = adds.map((a) => a.items[0]!.source!.locURI);
      for (const g of guids) assert.ok(g.length <= 4, `Add Source/LocURI "${g}" fits MaxGUIDSize 4`);
      assert.equal(new Set(guids).size, count, 'the temporary ids are unique');
      assert.equal(first.mapStatus, '200', 'the Map of the short ids is accepted');
      assert.ok(!gw.logLines().some((l) => l['msg'] === 'Map named items the server did not send in this session' && l['ds'] === GUID_DS), 'every short id was known');
      assert.equal((await gw.state.getAnchors(key))?.client, 'g1', 'the session completed');

      const map = await gw.state.getMap(key);
      assert.equal(map.length, count);
      const hrefs = onRadicale.map((i) => decodeURIComponent(i.href)).sort();
      assert.deepEqual(map.map((e) => decodeURIComponent(e.guid)).sort(), hrefs, 'the map holds the DAV hrefs, not the short ids');
      for (const m of first.mapped) {
        const entry = map.find((e) => e.luid === m.luid);
        assert.ok(entry, `LUID ${m.luid} mapped`);
        assert.notEqual(entry.guid, m.guid, 'not the short id');
        // The Add sent under this short id carried that very contact.
        const add = adds.find((a) => a.items[0]!.source!.locURI === m.guid)!;
        const onDav = onRadicale.find((i) => samePath(i.href, entry.guid))!;
        assert.equal(/Person(\d+)/.exec(String(add.items[0]!.data))?.[1], /Person(\d+)/.exec(onDav.data)?.[1], `short id ${m.guid} ↔ ${entry.guid}`);
      }

      // The server changes one of them; the phone syncs two-way and gets a Replace of its LUID.
      const changed = onRadicale[2]!;
      await dav.putItem(collections[GUID_DS], changed.href.split('/').pop()!, changed.data.replace(/^FN:.*$/m, 'FN:Renamed On Server').replace(/^N:.*$/m, 'N:Server;Renamed;;;'));
      const luid = map.find((e) => samePath(e.guid, changed.href))!.luid;
      const second = await runSession({
        deviceId, sessionId: '2', serverUri: GUID_DS, clientUri, code: '200', anchor: { last: 'g1', next: 'g2' }, newLuid: (n) => `${2000 + n}`,
      });
      assert.equal(second.serverAlert, '200', 'two-way');
      assert.deepEqual(second.serverCmds.map((c) => [c.kind, c.items[0]?.target?.locURI]), [['Replace', luid]], 'one Replace, targeted at the phone\'s LUID');
      assert.match(String(second.serverCmds[0]!.items[0]!.data), /Renamed/);
      assert.equal((await gw.state.getAnchors(key))?.client, 'g2');
    });

  });
});
