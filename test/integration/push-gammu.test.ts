// Push through gammu-smsd without a modem: gammu's own `dummy` phone driver and its SQLite
// backend (Debian gammu-smsd + libdbd-sqlite3). The gateway writes the WAP Push SMS into the SQL
// outbox; gammu-smsd "sends" it and moves it to sentitems, where the test reads and decodes it.
/// <reference types="mocha" />
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { runDevices } from '../../src/cli/devices.js';
import { decodeSan } from '../../src/codec/san.js';
import { decodeWspPush, reassemble } from '../../src/codec/wap-push.js';
import { spawnGateway, type GatewayProcess } from '../support/gateway-process.js';
import { accountYaml } from '../support/mapping.js';
import { makeTempDir, startRadicale, waitUntil, type DavServerHandle } from '../support/index.js';
import { findBinary, spawnService, type ServiceProcess } from '../support/processes.js';

const SCHEMA = '/usr/share/doc/gammu-smsd/examples/sqlite.sql';

interface SentRow { ID: number; DestinationNumber: string; Status: string; UDH: string; Text: string; SequencePosition: number }

describe('push: SAN through gammu-smsd (dummy phone, SQL outbox)', function () {
  this.timeout(120_000);
  let dir: string;
  let db: string;
  let dav: DavServerHandle;
  let smsd: ServiceProcess;
  let gw: GatewayProcess;
  let env: Record<string, string>;

  const sent = (): SentRow[] => {
    const conn = new Database(db, { readonly: true, timeout: 5000 });
    try {
      return conn.prepare('SELECT ID, DestinationNumber, Status, UDH, Text, SequencePosition FROM sentitems ORDER BY ID, SequencePosition').all() as SentRow[];
    } finally {
      conn.close();
    }
  };

  before(async function () {
    const bin = findBinary('gammu-smsd');
    if (!bin) throw new Error('gammu-smsd not found: install the Debian package gammu-smsd (and libdbd-sqlite3)');
    dir = makeTempDir('push-gammu');
    db = path.join(dir, 'smsd.db');
    const conn = new Database(db);
    conn.exec(readFileSync(SCHEMA, 'utf8'));
    conn.close();
    mkdirSync(path.join(dir, 'dummy'));
    const rc = path.join(dir, 'smsdrc');
    writeFileSync(rc, [
      '[gammu]', `device = ${path.join(dir, 'dummy')}`, 'model = dummy', 'connection = none', '',
      '[smsd]', 'service = sql', 'driver = sqlite3', 'database = smsd.db', `dbdir = ${dir}/`, `logfile = ${path.join(dir, 'smsd.log')}`,
      'commtimeout = 1', 'sendtimeout = 5', 'loopsleep = 1', 'checksecurity = 0', '',
    ].join('\n'));
    smsd = spawnService(bin, ['-c', rc], path.join(dir, 'smsd.out'));
    await waitUntil(async () => readFileSync(path.join(dir, 'smsd.log'), 'utf8').includes('Starting phone communication'), 'gammu-smsd', 20_000, smsd.exitReason);
    dav = await startRadicale();
    const mappings = path.join(dir, 'mappings');
    mkdirSync(mappings);
    writeFileSync(path.join(mappings, 'alice.yaml'), accountYaml(dav, { davLogin: { username: 'alice', password: 'secret' } }) + [
      'push:', '  serverId: gw-gammu', '  password: pw', '  devices:', "    IMEI:35000001: { phone: '+4917000009' }", '',
    ].join('\n'));
    env = { MAPPINGS_DIR: mappings, STATE_DIR: path.join(dir, 'state'), LOG_LEVEL: 'info', PUSH_TRANSPORT: 'gammu', GAMMU_SMSD_SQLITE: db, PUSH_POLL_SECONDS: '1', PUSH_SETTLE_MS: '500' };
    gw = await spawnGateway({ env, logFile: path.join(dir, 'gateway.log') });
    await waitUntil(async () => gw.logLines().some((l) => l['msg'] === 'push: watching collections'), 'push watcher', 20_000);
    await new Promise((r) => setTimeout(r, 2000));
  });

  after(async function () {
    await gw?.stop();
    await smsd?.stop();
    await dav?.dispose();
  });

  it('a card PUT on Radicale goes out as one WAP Push SMS through gammu-smsd', async function () {
    const t0 = Date.now();
    await dav.putItem('contacts', 'g1.vcf', 'BEGIN:VCARD\r\nVERSION:3.0\r\nUID:g1\r\nN:Gammu;Gail;;;\r\nFN:Gail Gammu\r\nEND:VCARD\r\n');
    await waitUntil(async () => sent().length >= 1, 'sentitems row', 30_000);
    console.log(`      change on Radicale -> gammu-smsd sentitems: ${Date.now() - t0} ms`);
    const rows = sent();
    assert.equal(rows.length, 1);
    const row = rows[0]!;
    assert.equal(row.DestinationNumber, '+4917000009');
    assert.match(row.Status, /^SendingOK/);
    const { udh, pdu } = reassemble([{ udh: Buffer.from(row.UDH, 'hex'), data: Buffer.from(row.Text, 'hex') }]);
    assert.equal(udh.destinationPort, 2948);
    const { san } = decodeSan(decodeWspPush(pdu).payload, { password: 'pw', nonce: '' });
    assert.equal(san.serverId, 'gw-gammu');
    assert.deepEqual(san.syncs.map((s) => s.serverUri), ['./contacts']);
  });

  it('devices push-test sends one now and reports it', async function () {
    await gw.stop(); // the CLI and the gateway share the embedded state file
    const before = sent().length;
    let out = '';
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      await runDevices(['push-test', 'alice', 'IMEI:35000001'], { env, out: { write: (c: string) => (out += c) } });
    } finally {
      for (const k of Object.keys(env)) if (saved[k] === undefined) delete process.env[k]; else process.env[k] = saved[k];
    }
    assert.match(out, /^sent: SAN session id \d+ to \+4917000009 via gammu after 1 attempt/);
    await waitUntil(async () => sent().length > before, 'push-test row in sentitems', 30_000);
  });
});
