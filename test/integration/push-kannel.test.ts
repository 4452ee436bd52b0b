// Server-alerted sync end to end: real Radicale, real Redis, TWO gateway processes watching the
// same address book, real Kannel (bearerbox + smsbox) delivering to its fake SMSC. A card PUT
// directly on Radicale makes exactly one WAP Push SMS arrive; its UDH, WSP header and SAN decode
// (digest verified); the SyncEvolution client then syncs the change and push state shows it.
/// <reference types="mocha" />
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { runDevices } from '../../src/cli/devices.js';
import { decodeSan } from '../../src/codec/san.js';
import { decodeWspPush, reassemble, SAN_WSP_TYPES } from '../../src/codec/wap-push.js';
import { readPushStatus } from '../../src/push/status.js';
import { createStateStore } from '../../src/state/index.js';
import { spawnGateway, type GatewayProcess } from '../support/gateway-process.js';
import { repoRoot } from '../support/processes.js';
import { startKannel, type FakeSms, type KannelHandle } from '../support/kannel.js';
import { accountYaml } from '../support/mapping.js';
import {
  generateContacts21, getFreePort, makeTempDir, sleep, startRadicale, startRedis, SyncEvolutionClient, waitUntil,
  type DavServerHandle, type RedisHandle,
} from '../support/index.js';

const DEVICE = 'sc-test-client';
const PHONE = '4917000001';
const SECRET = { password: 'push-secret', nonce: 'n0nce' };
const INTERVAL_SECONDS = 15;
const SETTLE_MS = 1500;

const card = (uid: string, name: string): string =>
  `BEGIN:VCARD\r\nVERSION:3.0\r\nUID:${uid}\r\nN:${name};Pat;;;\r\nFN:Pat ${name}\r\nTEL;TYPE=CELL:+49301234${uid.length}\r\nEND:VCARD\r\n`;

describe('push: SAN over WAP Push through Kannel (two gateways, one Redis)', function () {
  this.timeout(300_000);
  let dir: string;
  let redis: RedisHandle;
  let dav: DavServerHandle;
  let kannel: KannelHandle;
  let gws: GatewayProcess[] = [];
  let phone: SyncEvolutionClient;
  let sanSms: FakeSms | undefined;
  let sanSessionId = -1;

  before(async function () {
    dir = makeTempDir('push-kannel');
    [redis, dav, kannel] = await Promise.all([startRedis(), startRadicale(), startKannel()]);
    const ports = [await getFreePort(), await getFreePort()];
    const phoneUrl = `http://127.0.0.1:${ports[0]}/sync`;
    const mappings = path.join(dir, 'mappings');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(mappings);
    writeFileSync(path.join(mappings, 'alice.yaml'), accountYaml(dav, {
      davLogin: { username: 'alice', password: 'secret' },
      // The SAN names the first URI; SyncEvolution matches it exactly against its datastore's `uri`.
      datastores: { contacts: { uris: ['contacts', './contacts'], collection: dav.collections.contacts } },
    }) + [
      'push:',
      // SyncEvolution picks the config whose syncURL equals the SAN's server id.
      `  serverId: '${phoneUrl}'`,
      `  password: ${SECRET.password}`,
      `  nonce: ${SECRET.nonce}`,
      `  intervalSeconds: ${INTERVAL_SECONDS}`,
      '  datastores: [contacts]',
      '  devices:',
      `    ${DEVICE}: { phone: '+${PHONE}' }`,
      '',
    ].join('\n'));
    const env = {
      MAPPINGS_DIR: mappings, REDIS_URL: redis.url, LOG_LEVEL: 'info', AUTH_CACHE_SECONDS: '0',
      PUSH_TRANSPORT: 'kannel', KANNEL_SENDSMS_URL: kannel.sendsmsUrl, KANNEL_USERNAME: kannel.username,
      KANNEL_PASSWORD: kannel.password, KANNEL_FROM: '4930999', PUSH_POLL_SECONDS: '1', PUSH_SETTLE_MS: String(SETTLE_MS),
    };
    gws = await Promise.all([0, 1].map((i) => spawnGateway({ port: ports[i]!, env, logFile: path.join(dir, `gateway-${i}.log`) })));
    phone = new SyncEvolutionClient({ dir: path.join(dir, 'phone'), url: phoneUrl, deviceId: DEVICE, datastores: { contacts: 'contacts' } });
    // Both processes are watching and one of them holds the lease with a baseline cursor.
    await waitUntil(async () => gws.every((g) => g.logLines().some((l) => l['msg'] === 'push: watching collections')), 'push watchers', 20_000);
    await sleep(2500);
  });

  after(async function () {
    await Promise.all(gws.map((g) => g.stop()));
    await Promise.all([kannel?.stop(), dav?.dispose(), redis?.dispose()]);
  });

  it('the gateway writing the phone\'s own contacts to Radicale sends the phone no SMS', async function () {
    for (const c of generateContacts21(3, 5)) phone.writeItem('contacts', c.name, c.text);
    const r = await phone.sync('slow', { only: ['contacts'] });
    assert.equal(r.exitCode, 0, r.output);
    assert.equal(r.datastores['contacts']?.remoteNew, 3);
    assert.equal((await dav.listItems('contacts')).length, 3);
    await sleep(1000 * 3 + SETTLE_MS + 1500);
    assert.deepEqual(kannel.messages(), [], 'no SAN for changes the device made itself');
    const suppressed = gws.flatMap((g) => g.logLines()).filter((l) => String(l['msg']).includes('already has every change'));
    assert.ok(suppressed.length >= 1, 'a watcher saw the writes and suppressed them as echoes');
  });

  it('a card PUT on Radicale: exactly one WAP Push SMS at the fake SMSC, with a SAN whose digest verifies', async function () {
    const t0 = Date.now();
    await dav.putItem('contacts', 'pushed-1.vcf', card('pushed-1', 'Pushed'));
    await waitUntil(async () => kannel.messages().length >= 1, 'SMS at fakesmsc', 30_000);
    const sms = kannel.messages()[0]!;
    const latencyMs = sms.seenAt - t0;
    console.log(`      change on Radicale -> SMS at fakesmsc: ${latencyMs} ms (poll 1 s ± 20 %, settle ${SETTLE_MS} ms)`);
    await sleep(4000);
    assert.equal(kannel.messages().length, 1, 'two gateway processes sent one SAN, not two');
    const senders = gws.map((g) => g.logLines().filter((l) => l['msg'] === 'push: SAN sent').length);
    assert.deepEqual(senders.sort(), [0, 1]);

    assert.equal(sms.to.replace(/^\+/, ''), PHONE);
    const { udh, pdu } = reassemble([{ udh: sms.udh, data: sms.data }]);
    assert.deepEqual([udh.destinationPort, udh.sourcePort], [2948, 9200]);
    const push = decodeWspPush(pdu);
    assert.equal(push.contentType, SAN_WSP_TYPES.notification);
    assert.equal(push.applicationId, 0x05);
    const { san, digestValid } = decodeSan(push.payload, SECRET);
    assert.equal(digestValid, true);
    assert.equal(san.version, 12);
    assert.equal(san.initiator, 'server');
    assert.equal(san.uiMode, 'background');
    assert.equal(san.serverId, gws[0]!.url);
    assert.deepEqual(san.syncs, [{ syncType: 206, contentType: 0x07, serverUri: 'contacts' }]);
    assert.throws(() => decodeSan(push.payload, { ...SECRET, password: 'wrong' }), /digest/);
    sanSms = sms;
    sanSessionId = san.sessionId;
  });

  it('the SAN handed to SyncEvolution makes it open a session at the server the SAN names', async function () {
    assert.ok(sanSms, 'needs the SAN of the previous test');
    const { pdu } = reassemble([{ udh: sanSms.udh, data: sanSms.data }]);
    const sanFile = path.join(dir, 'san.bin');
    writeFileSync(sanFile, decodeWspPush(pdu).payload);
    // As a phone's push stack would: the SAN goes to syncevo-dbus-server, which matches its
    // server id with the config's syncURL and starts the session itself (the relay only
    // carries the session's HTTP messages).
    const relay = spawnSync('dbus-run-session', ['--', process.execPath, '--import', 'tsx', path.join(repoRoot, 'test', 'support', 'san-relay.ts'), sanFile], {
      cwd: repoRoot, env: phone.environment(), encoding: 'utf8', timeout: 150_000,
    });
    assert.equal(relay.status, 0, `${relay.stdout}${relay.stderr}`);
    const lines = relay.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const messages = lines.filter((l) => typeof l['sessionId'] === 'string');
    assert.ok(messages.length > 0, `SyncEvolution sent no message after the SAN:\n${relay.stdout}`);
    assert.ok(messages.every((m) => String(m['url']).startsWith(gws[0]!.url)), 'it dials the server the SAN named');
    const ids = [...new Set(messages.map((m) => m['sessionId']))];
    const users = [...new Set(messages.map((m) => m['user']))];
    console.log(`      SAN session id ${sanSessionId}; SyncEvolution (D-Bus server) sent ${messages.length} messages, SessionID ${ids.join(', ')}, user "${users.join('", "')}"`);
  });

  it('the client session after the SAN syncs the change; push state shows the SAN and the session', async function () {
    const r = await phone.sync('two-way', { only: ['contacts'] });
    assert.equal(r.exitCode, 0, r.output);
    assert.equal(r.datastores['contacts']?.localNew, 1, 'the pushed card reached the phone');
    const state = await createStateStore({ redisUrl: redis.url, stateDir: dir });
    try {
      const status = await readPushStatus(state, { account: 'alice', deviceId: DEVICE });
      assert.equal(status.lastSan?.outcome, 'sent');
      assert.ok(status.lastSession, 'the session after the SAN is recorded');
      console.log(`      the client ${status.lastSession.usedSanSessionId ? 'used the SAN session id' : 'used its own SessionID'}`);
    } finally {
      await state.close();
    }
    let out = '';
    await runDevices(['list'], { env: { REDIS_URL: redis.url, STATE_DIR: dir }, out: { write: (c: string) => (out += c) } });
    assert.match(out, new RegExp(`push alice ${DEVICE}: last SAN \\S+ sent via kannel .*; session `));
    // The session wrote nothing the phone lacks: no SAN follows it.
    await sleep(1000 * 3 + SETTLE_MS);
    assert.equal(kannel.messages().length, 1);
  });

  it('ten changes in a burst make one SMS', async function () {
    const before = kannel.messages().length;
    const t0 = Date.now();
    for (let i = 0; i < 10; i++) await dav.putItem('contacts', `burst-${i}.vcf`, card(`burst-${i}`, `Burst${i}`));
    await waitUntil(async () => kannel.messages().length > before, 'SMS for the burst', (INTERVAL_SECONDS + 20) * 1000);
    const first = kannel.messages()[before]!;
    console.log(`      burst of 10 PUTs (${Date.now() - t0} ms to the SMS incl. the coalescing window) -> SMS after ${first.seenAt - t0} ms`);
    await sleep(1000 * 3 + SETTLE_MS + 2000);
    assert.equal(kannel.messages().length, before + 1, 'one SAN for ten changes');
  });
});
