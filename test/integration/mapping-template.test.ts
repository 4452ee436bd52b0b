// One mapping for all users (issue #14): a template (account "*", {user}) lets alice and bob of a
// real Radicale sync with the real SyncEvolution client and no file of their own, each into their
// own collection; SIGHUP reloads the mappings in the running gateway (same process): an own file
// then wins over the template, and an invalid set is refused with every problem logged while the
// last good set keeps serving.
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  generateContacts21, makeTempDir, startRadicale, SyncEvolutionClient, waitUntil, type DavServerHandle,
} from '../support/index.js';
import { spawnGateway, type GatewayProcess } from '../support/gateway-process.js';

const BOB = { user: 'bob', password: 'bob-secret' };

/** vCards in a user's Radicale collection (one .vcf file per item). */
function cardsIn(dav: DavServerHandle, user: string, collection: string): number {
  const dir = path.join(path.dirname(dav.storageDir), user, collection);
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.vcf')).length;
  } catch {
    return 0;
  }
}

describe('mapping template: every user of a DAV server through one file (real Radicale, SyncEvolution)', function () {
  this.timeout(240_000);
  let dav: DavServerHandle;
  let gw: GatewayProcess;
  let dir: string;
  let mappings: string;

  const phone = (name: string, user: string, password: string, deviceId: string): SyncEvolutionClient =>
    new SyncEvolutionClient({ dir: path.join(dir, name), url: gw.url, user, password, auth: 'basic', deviceId, legacy: true, datastores: { contacts: 'contacts' } });

  /** Send SIGHUP and wait for the gateway's answer to it in the log. */
  async function hup(): Promise<Record<string, unknown>> {
    const before = gw.logLines().length;
    process.kill(gw.pid, 'SIGHUP');
    let line: Record<string, unknown> | undefined;
    await waitUntil(async () => {
      line = gw.logLines().slice(before).find((l) => l['msg'] === 'mappings reloaded' || String(l['msg']).startsWith('mappings not reloaded'));
      return line !== undefined;
    }, 'reload answer in the log', 10_000);
    return line!;
  }

  before(async function () {
    dir = makeTempDir('mapping-template-');
    dav = await startRadicale({ extraUsers: [BOB] });
    mappings = path.join(dir, 'mappings');
    (await import('node:fs')).mkdirSync(mappings);
    writeFileSync(path.join(mappings, 'all-users.yaml'), [
      'account: "*"', 'auth: passthrough', 'dav:', `  url: ${dav.baseUrl}/`, 'datastores:', '  contacts:',
      '    uris: [./contacts, contacts, card]', `    collection: ${dav.baseUrl}/{user}/contacts/`, '',
    ].join('\n'));
    gw = await spawnGateway({ env: { MAPPINGS_DIR: mappings, STATE_DIR: path.join(dir, 'state'), REDIS_URL: '' } });
  });

  after(async function () {
    await gw?.stop();
    await dav?.dispose();
  });

  it('alice and bob each sync into their own collection; a wrong password is refused', async function () {
    const alice = phone('alice-phone', 'alice', dav.password, 'alice-phone-1');
    for (const c of generateContacts21(3, 11)) alice.writeItem('contacts', c.name, c.text);
    const ra = await alice.sync('slow', { only: ['contacts'] });
    assert.equal(ra.exitCode, 0, ra.output.slice(-2000));
    const bob = phone('bob-phone', BOB.user, BOB.password, 'bob-phone-1');
    for (const c of generateContacts21(2, 12)) bob.writeItem('contacts', c.name, c.text);
    const rb = await bob.sync('slow', { only: ['contacts'] });
    assert.equal(rb.exitCode, 0, rb.output.slice(-2000));
    assert.equal(cardsIn(dav, 'alice', 'contacts'), 3);
    assert.equal(cardsIn(dav, 'bob', 'contacts'), 2);
    // LOG_LEVEL=debug (the helper's default): one line per DAV request, never a password.
    const davLines = gw.logLines().filter((l) => l['msg'] === 'DAV request' && l['level'] === 20);
    assert.ok(davLines.some((l) => String(l['url']).includes('/bob/contacts/')), 'debug lines name the DAV requests');
    assert.doesNotMatch(JSON.stringify(gw.logLines()), /bob-secret/);

    const intruder = phone('intruder', BOB.user, 'wrong', 'intruder-1');
    intruder.writeItem('contacts', 'x', generateContacts21(1, 13)[0]!.text);
    const ri = await intruder.sync('slow', { only: ['contacts'] });
    assert.notEqual(ri.exitCode, 0, 'a password Radicale refuses must not sync');
    assert.equal(cardsIn(dav, 'bob', 'contacts'), 2);
  });

  it('SIGHUP: an own file for bob wins over the template, without a restart', async function () {
    const pid = gw.pid;
    const r = await fetch(`${dav.baseUrl}/bob/phone-book/`, {
      method: 'MKCOL',
      headers: { Authorization: `Basic ${Buffer.from(`${BOB.user}:${BOB.password}`).toString('base64')}`, 'Content-Type': 'application/xml' },
      body: '<?xml version="1.0" encoding="utf-8"?><D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop>'
        + '<D:resourcetype><D:collection/><C:addressbook/></D:resourcetype></D:prop></D:set></D:mkcol>',
    });
    assert.equal(r.status, 201);
    writeFileSync(path.join(mappings, 'bob.yaml'), [
      'account: bob', 'auth: passthrough', 'dav:', `  url: ${dav.baseUrl}/`, 'datastores:', '  contacts:',
      '    uris: [./contacts, contacts]', `    collection: ${dav.baseUrl}/bob/phone-book/`, '',
    ].join('\n'));
    const answer = await hup();
    assert.equal(answer['msg'], 'mappings reloaded', JSON.stringify(answer));
    const bob2 = phone('bob-phone-2', BOB.user, BOB.password, 'bob-phone-2');
    for (const c of generateContacts21(4, 14)) bob2.writeItem('contacts', c.name, c.text);
    const rb = await bob2.sync('slow', { only: ['contacts'] });
    assert.equal(rb.exitCode, 0, rb.output.slice(-2000));
    assert.equal(cardsIn(dav, 'bob', 'phone-book'), 4, 'bob now syncs into the collection of his own file');
    assert.equal(cardsIn(dav, 'bob', 'contacts'), 2);
    assert.equal(gw.pid, pid, 'same process: no restart');
  });

  it('SIGHUP with an invalid set: every problem logged, the last good set keeps serving', async function () {
    writeFileSync(path.join(mappings, 'broken.yaml'), [
      'account: carol', 'auth: pasthrough', 'dav:', `  url: ${dav.baseUrl}/`, 'datastores:', '  foo:',
      '    uris: [foo]', `    collection: ${dav.baseUrl}/carol/foo/`, '',
    ].join('\n'));
    const answer = await hup();
    assert.match(String(answer['msg']), /^mappings not reloaded/);
    const problems = (answer['problems'] as string[]).join('\n');
    assert.match(problems, /broken\.yaml: field auth: found "pasthrough"; did you mean passthrough\?/);
    assert.match(problems, /broken\.yaml: field datastores\.foo\.kind: missing/);
    const alice = phone('alice-phone-2', 'alice', dav.password, 'alice-phone-2');
    alice.writeItem('contacts', 'one-more', generateContacts21(1, 15)[0]!.text);
    const ra = await alice.sync('slow', { only: ['contacts'] });
    assert.equal(ra.exitCode, 0, ra.output.slice(-2000));
    assert.equal(cardsIn(dav, 'alice', 'contacts'), 4, 'the template still serves alice');
  });
});
