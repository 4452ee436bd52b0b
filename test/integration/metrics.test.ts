// /metrics, /readyz and the access log with a real SyncEvolution client ("the phone") syncing
// contacts through the gateway into a real Radicale: the counters move by what happened, the
// text parses as Prometheus exposition, readiness turns 503 when Radicale stops.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  generateContacts21, makeTempDir, startRadicale, SyncEvolutionClient, waitUntil, type DavServerHandle,
} from '../support/index.js';
import { alert, ScriptedClient, startTestGateway, type TestGateway } from '../support/gateway.js';
import { sessionLogId } from '../../src/http/access-log.js';
import { histogram, parsePrometheus, sampleSum, type Family } from '../support/prometheus.js';


describe('integration: Prometheus metrics, readiness and access log (SyncEvolution + Radicale)', function () {
  this.timeout(240_000);
  let dav: DavServerHandle;
  let gw: TestGateway;
  let phone: SyncEvolutionClient;
  let base: string;

  async function scrape(): Promise<Map<string, Family>> {
    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    return parsePrometheus(await res.text());
  }

  before(async function () {
    dav = await startRadicale();
    gw = await startTestGateway({ dav });
    base = new URL(gw.url).origin;
    phone = new SyncEvolutionClient({
      dir: path.join(makeTempDir('metrics-phone'), 'phone'), url: gw.url, user: 'alice', password: dav.password, auth: 'basic',
      legacy: true, datastores: { contacts: 'contacts' },
    });
  });

  after(async function () {
    await gw?.close();
    await dav?.dispose();
  });

  it('a slow sync of 6 contacts moves the message, reply, DAV and state-store metrics by what happened', async function () {
    const before = await scrape();
    for (const family of ['process_cpu_user_seconds_total', 'nodejs_heap_size_used_bytes']) assert.ok(before.has(family), `default metric ${family}`);
    const linesBefore = gw.logLines().length;
    for (const c of generateContacts21(6, 11)) phone.writeItem('contacts', c.name, c.text);
    const report = await phone.sync('slow', { only: ['contacts'] });
    assert.equal(report.exitCode, 0, report.output.slice(-3000));
    assert.equal(report.datastores['contacts']?.remoteNew, 6);
    const after = await scrape();
    const delta = (name: string, where: Record<string, string> = {}): number => sampleSum(after, name, where) - sampleSum(before, name, where);

    // Every SyncML POST of the session is one access-log line and one counted message.
    const posts = gw.logLines().slice(linesBefore).filter((l) => l['msg'] === 'request' && l['method'] === 'POST' && l['path'] === '/sync');
    assert.ok(posts.length >= 2, `the session took ${posts.length} messages`);
    assert.equal(delta('syncml_messages_total', { encoding: 'xml', syncml_version: '1.2' }), posts.length);
    assert.equal(delta('syncml_reply_bytes', { encoding: 'xml' }), posts.length);
    const replyBytes = histogram(after, 'syncml_reply_bytes', { encoding: 'xml' }).sum - histogram(before, 'syncml_reply_bytes', { encoding: 'xml' }).sum;
    assert.equal(replyBytes, posts.reduce((n, l) => n + Number(l['bytes']), 0), 'reply bytes = bytes in the access log');

    // Six contacts written with PUT (the DAV server saw them), each DAV request timed.
    assert.ok(delta('syncml_dav_requests_total', { method: 'PUT', status: '201' }) >= 6, 'six PUTs answered 201');
    assert.ok(delta('syncml_dav_requests_total', { method: 'PROPFIND' }) >= 1, 'the passthrough login check');
    assert.equal(delta('syncml_dav_request_duration_seconds'), delta('syncml_dav_requests_total'));
    assert.ok(delta('syncml_state_store_duration_seconds', { operation: 'putMapEntries' }) >= 1);
    assert.ok(delta('syncml_state_store_duration_seconds', { operation: 'commitAnchors' }) >= 1);
  });

  it('session, item and auth-failure counters follow the engine\'s reports', async function () {
    const before = await scrape();
    const c = generateContacts21(2, 12);
    for (const x of c) phone.writeItem('contacts', `new-${x.name}`, x.text);
    const report = await phone.sync('two-way', { only: ['contacts'] });
    assert.equal(report.exitCode, 0, report.output.slice(-3000));
    const after = await scrape();
    const delta = (name: string, where: Record<string, string> = {}): number => sampleSum(after, name, where) - sampleSum(before, name, where);
    assert.equal(delta('syncml_sessions_started_total'), 1);
    assert.equal(delta('syncml_sessions_completed_total'), 1);
    assert.equal(delta('syncml_session_duration_seconds'), 1);
    assert.equal(sampleSum(after, 'syncml_sessions_open'), 0);
    assert.equal(delta('syncml_datastore_syncs_total', { kind: 'contacts', result: 'ok' }), 1);
    assert.equal(delta('syncml_items_total', { kind: 'contacts', operation: 'add', direction: 'from-device' }), 2);

    phone.reconfigure({ password: 'not-the-password' });
    try {
      const refused = await phone.sync('two-way', { only: ['contacts'] });
      assert.notEqual(refused.exitCode, 0);
    } finally {
      phone.reconfigure({ password: dav.password });
    }
    assert.ok(sampleSum(await scrape(), 'syncml_auth_failures_total') - sampleSum(after, 'syncml_auth_failures_total') >= 1);
  });

  it('access log: one line per request with status, latency, bytes and session; never a credential', async function () {
    const lines = gw.logLines().filter((l) => l['msg'] === 'request');
    const sync = lines.filter((l) => l['path'] === '/sync');
    assert.ok(sync.length >= 2);
    for (const l of sync) {
      assert.equal(l['status'], 200);
      assert.equal(typeof l['ms'], 'number');
      assert.ok(Number(l['bytes']) > 0);
      // A refused login has no session; every other message names its session by a digest.
      if (l['session'] !== undefined) assert.match(String(l['session']), /^[\w-]{12}$/, 'a digest of the session key');
    }
    assert.ok(sync.filter((l) => l['session'] !== undefined).length >= 2, 'the messages of the sync name their session');
    const text = readFileSync(gw.logFile, 'utf8');
    assert.ok(!text.includes(Buffer.from(`alice:${dav.password}`).toString('base64')), 'no Authorization value');
    assert.ok(!text.includes(`"${dav.password}"`), 'no password');
  });

  it('access log: the session is named by the digest of its key, never by the key (it lets its holder continue)', async function () {
    const client = new ScriptedClient(gw.url, 'scripted-metrics', '1', { user: 'alice', password: dav.password });
    const first = await client.send([alert('1', '201', 'contacts', './contacts', { next: '1' })]);
    assert.equal(first.status, 200);
    const sid = new URL(client.url).searchParams.get('sid');
    assert.ok(sid, 'the reply carries a RespURI with the session key');
    await client.send([], { final: true });
    const lines = gw.logLines().filter((l) => l['msg'] === 'request' && l['path'] === '/sync');
    assert.ok(lines.every((l) => !JSON.stringify(l).includes(sid)));
    assert.equal(lines.at(-1)?.['session'], sessionLogId(sid), 'the follow-up message, sent to the RespURI');
  });

  it('/readyz: 200 with Radicale up, 503 naming the DAV server when it is stopped, 200 again after', async function () {
    const ready = await fetch(`${base}/readyz`);
    assert.equal(ready.status, 200);
    const body = (await ready.json()) as { checks: Array<{ name: string; ok: boolean }> };
    assert.deepEqual(body.checks.map((c) => c.name).sort(), ['dav http://127.0.0.1:' + dav.port, 'state'].sort());
    await dav.stop();
    try {
      // Results are cached for a few seconds.
      let last: { status: number; body: { checks: Array<{ name: string; ok: boolean; detail?: string }> } } | undefined;
      await waitUntil(async () => {
        const r = await fetch(`${base}/readyz`);
        last = { status: r.status, body: (await r.json()) as never };
        return r.status === 503;
      }, 'readiness 503', 15_000);
      const failed = last!.body.checks.filter((c) => !c.ok);
      assert.deepEqual(failed.map((c) => c.name), [`dav http://127.0.0.1:${dav.port}`]);
      assert.match(failed[0]!.detail ?? '', /ECONNREFUSED/);
      assert.equal((await fetch(`${base}/healthz`)).status, 200, 'liveness does not depend on the DAV server');
    } finally {
      await dav.start();
    }
    await waitUntil(async () => (await fetch(`${base}/readyz`)).status === 200, 'readiness 200', 15_000);
  });
});

describe('integration: ADMIN_PORT moves /metrics and /admin off the SyncML port', function () {
  this.timeout(60_000);
  let dav: DavServerHandle;
  let gw: TestGateway;

  before(async function () {
    dav = await startRadicale();
    gw = await startTestGateway({ dav, env: { ...process.env, ADMIN_PORT: '0', ADMIN_PASSWORD: 'adm', ADMIN_PASSWORD_HASH: '' } });
  });
  after(async function () {
    await gw?.close();
    await dav?.dispose();
  });

  it('the main port has no /metrics or /admin; the admin port has both and /readyz', async function () {
    const main = new URL(gw.url).origin;
    assert.ok(gw.admin, 'admin listener');
    assert.notEqual(gw.admin.port, gw.port);
    assert.equal((await fetch(`${main}/metrics`)).status, 404);
    assert.equal((await fetch(`${main}/admin/`)).status, 404);
    assert.equal((await fetch(`${main}/readyz`)).status, 200);
    const metrics = await fetch(`${gw.admin.url}/metrics`);
    assert.equal(metrics.status, 200);
    assert.ok(parsePrometheus(await metrics.text()).has('syncml_sessions_started_total'));
    assert.equal((await fetch(`${gw.admin.url}/readyz`)).status, 200);
    assert.equal((await fetch(`${gw.admin.url}/admin/`)).status, 401);
    const ok = await fetch(`${gw.admin.url}/admin/`, { headers: { authorization: `Basic ${Buffer.from('admin:adm').toString('base64')}` } });
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /Account alice/);
  });
});
