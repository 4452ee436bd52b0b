// Metrics from session events (MetricsObserver), combineObservers' isolation, the state-store
// timer and DAV request metrics, on a private prom-client registry.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { combineObservers, createMetrics, davRequestRecorder, labelValue, MetricsObserver, timedStateStore, type GatewayMetrics } from '../../../src/metrics/index.js';
import type { DatastoreOutcome, SessionObserver } from '../../../src/protocol/observer.js';
import { SqliteStateStore } from '../../../src/state/sqlite-store.js';
import type { StateStore } from '../../../src/state/state-store.js';
import { emptyStats } from '../../../src/sync/types.js';
import { histogram, parsePrometheus, sampleSum } from '../../support/prometheus.js';

async function scrape(m: GatewayMetrics): Promise<ReturnType<typeof parsePrometheus>> {
  return parsePrometheus(await m.registry.metrics());
}

function outcome(over: Partial<Omit<DatastoreOutcome, 'stats'>> & { stats?: Partial<DatastoreOutcome['stats']> }): DatastoreOutcome {
  return { datastore: 'contacts', kind: 'contacts', mode: 'two-way', failed: false, ...over, stats: { ...emptyStats(), ...over.stats } };
}

describe('metrics: MetricsObserver', function () {
  let m: GatewayMetrics;
  let now: number;
  let obs: MetricsObserver;
  beforeEach(function () {
    m = createMetrics(new Registry());
    now = 1_000_000;
    obs = new MetricsObserver(m, { openTtlSeconds: 60, now: () => now });
  });

  it('counts a session from start to completion with its items by kind, operation and direction', async function () {
    obs.sessionStarted({ sessionKey: 's1' });
    assert.equal(sampleSum(await scrape(m), 'syncml_sessions_open'), 1);
    obs.sessionCompleted({
      sessionKey: 's1', seconds: 2.5, datastores: [
        outcome({ mode: 'slow', stats: { clientAdded: 7, matched: 2, serverAdded: 3 } }),
        outcome({ datastore: 'calendar', kind: 'events', mode: 'refresh-from-client', failed: true, stats: { clientAdded: 4, serverAdded: 99 } }),
      ],
    });
    const f = await scrape(m);
    assert.equal(sampleSum(f, 'syncml_sessions_started_total'), 1);
    assert.equal(sampleSum(f, 'syncml_sessions_completed_total'), 1);
    assert.equal(sampleSum(f, 'syncml_sessions_open'), 0);
    assert.equal(sampleSum(f, 'syncml_session_duration_seconds'), 1, 'one observation');
    assert.equal(sampleSum(f, 'syncml_items_total', { kind: 'contacts', operation: 'add', direction: 'from-device' }), 7);
    assert.equal(sampleSum(f, 'syncml_items_total', { kind: 'contacts', operation: 'matched', direction: 'from-device' }), 2);
    assert.equal(sampleSum(f, 'syncml_items_total', { kind: 'contacts', operation: 'add', direction: 'to-device' }), 3);
    assert.equal(sampleSum(f, 'syncml_items_total', { kind: 'events', operation: 'add', direction: 'from-device' }), 4);
    // A refresh from the client sends nothing to the device: no to-device series for it.
    assert.equal(sampleSum(f, 'syncml_items_total', { kind: 'events', direction: 'to-device' }), 0);
    assert.equal(sampleSum(f, 'syncml_datastore_syncs_total', { kind: 'contacts', mode: 'slow', result: 'ok' }), 1);
    assert.equal(sampleSum(f, 'syncml_datastore_syncs_total', { kind: 'events', mode: 'refresh-from-client', result: 'failed' }), 1);
  });

  it('failures, auth failures, conflicts and refused refreshes have their own counters with bounded labels', async function () {
    obs.sessionStarted({ sessionKey: 's2' });
    obs.sessionFailed({ sessionKey: 's2', reason: 'BACKEND_UNAVAILABLE: PUT http://127.0.0.1:5232/alice/contacts/x.vcf: connection refused' });
    obs.sessionFailed({ reason: 'a free-text reason with spaces <and> markup' });
    obs.authFailed({ reason: 'wrong-password' });
    obs.conflict({ policy: 'newer-wins', resolution: 'server-won' });
    obs.conflict({ policy: 'newer-wins', resolution: 'server-won' });
    obs.refreshRefused();
    const f = await scrape(m);
    assert.equal(sampleSum(f, 'syncml_sessions_failed_total', { reason: 'BACKEND_UNAVAILABLE' }), 1);
    assert.equal(sampleSum(f, 'syncml_sessions_failed_total', { reason: 'other' }), 1);
    assert.equal(sampleSum(f, 'syncml_sessions_open'), 0, 'a failed session is no longer open');
    assert.equal(sampleSum(f, 'syncml_auth_failures_total', { reason: 'wrong-password' }), 1);
    assert.equal(sampleSum(f, 'syncml_conflicts_total', { policy: 'newer-wins', outcome: 'server-won' }), 2);
    assert.equal(sampleSum(f, 'syncml_refresh_refused_total'), 1);
  });

  it('a session the phone abandoned stops counting as open after the TTL', async function () {
    obs.sessionStarted({ sessionKey: 'a' });
    obs.sessionStarted({ sessionKey: 'b' });
    assert.equal(sampleSum(await scrape(m), 'syncml_sessions_open'), 2);
    now += 61_000;
    obs.sessionStarted({ sessionKey: 'c' });
    assert.equal(sampleSum(await scrape(m), 'syncml_sessions_open'), 1);
    obs.detach();
    assert.equal(sampleSum(await scrape(m), 'syncml_sessions_open'), 0);
  });

  it('labelValue keeps short codes and folds anything else into "other"', function () {
    assert.equal(labelValue('STATE_FAILED'), 'STATE_FAILED');
    assert.equal(labelValue(undefined), 'unknown');
    assert.equal(labelValue('x'.repeat(41)), 'other');
    assert.equal(labelValue('alice@example.org has "quotes"'), 'other');
  });
});

describe('metrics: combineObservers', function () {
  it('calls every observer even when one throws, and logs the failure', function () {
    const seen: string[] = [];
    const warnings: unknown[] = [];
    const bad: SessionObserver = { sessionStarted: () => { throw new Error('boom'); } };
    const good: SessionObserver = { sessionStarted: (e) => seen.push(e.sessionKey), conflict: (e) => seen.push(e.guid) };
    const combined = combineObservers({ warn: (o: unknown) => warnings.push(o) } as never, bad, undefined, good);
    // (a variable: the event type gains fields as the engine grows; the test need not follow)
    const started = { account: 'a', deviceId: 'd', sessionKey: 'k1', sessionId: '1', syncmlVersion: '1.2' };
    combined.sessionStarted?.(started);
    combined.conflict?.({ account: 'a', deviceId: 'd', datastore: 'contacts', guid: 'g1', policy: 'merge', resolution: 'merged', at: '' });
    assert.deepEqual(seen, ['k1', 'g1']);
    assert.equal(warnings.length, 1);
    assert.equal(combined.refreshRefused, undefined, 'no observer wants it: not offered');
  });
});

describe('metrics: timedStateStore and DAV requests', function () {
  it('times each state-store call by operation, also when it fails, and returns its result', async function () {
    const m = createMetrics(new Registry());
    const fake = {
      ping: async () => undefined,
      getAnchors: async () => ({ client: 'c', server: 's' }),
      getMap: async () => { throw new Error('down'); },
    } as unknown as StateStore;
    const timed = timedStateStore(fake, m.stateStoreDuration);
    assert.deepEqual(await timed.getAnchors({ account: 'a', deviceId: 'd', datastore: 'x' }), { client: 'c', server: 's' });
    await timed.ping();
    await timed.ping();
    await assert.rejects(timed.getMap({ account: 'a', deviceId: 'd', datastore: 'x' }), /down/);
    const f = await scrape(m);
    assert.equal(sampleSum(f, 'syncml_state_store_duration_seconds', { operation: 'ping' }), 2);
    assert.equal(sampleSum(f, 'syncml_state_store_duration_seconds', { operation: 'getAnchors' }), 1);
    assert.equal(sampleSum(f, 'syncml_state_store_duration_seconds', { operation: 'getMap' }), 1);
  });

  it('passes an AsyncIterable-returning method (scanSessionFields) through, on a store with private fields', async function () {
    const m = createMetrics(new Registry());
    const dir = mkdtempSync(path.join(tmpdir(), 'sgw-timed-'));
    const raw = new SqliteStateStore({ stateDir: dir });
    try {
      const timed = timedStateStore(raw, m.stateStoreDuration);
      const fields = Array.from({ length: 250 }, (_, i): [string, string] => [`f${String(i).padStart(3, '0')}`, `v${i}`]);
      await timed.putSessionFields('h', fields, 60);
      const pages: Array<Array<[string, string]>> = [];
      for await (const page of timed.scanSessionFields('h', 100)) pages.push(page);
      assert.deepEqual(pages.map((p) => p.length), [100, 100, 50]);
      assert.deepEqual(pages.flat(), fields);
      // One observation per step of the iteration: three pages, then the step that ends it.
      const f = await scrape(m);
      assert.equal(sampleSum(f, 'syncml_state_store_duration_seconds', { operation: 'scanSessionFields' }), 4);
      assert.equal(sampleSum(f, 'syncml_state_store_duration_seconds', { operation: 'putSessionFields' }), 1);
    } finally {
      await raw.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('times the page reads of a scan, not the call that creates it; breaking off closes the scan', async function () {
    const m = createMetrics(new Registry());
    let closed = false;
    const slowScan = {
      async *scanSessionFields(): AsyncIterable<Array<[string, string]>> {
        try {
          for (let i = 0; i < 3; i++) {
            await new Promise((r) => setTimeout(r, 30));
            yield [[`f${i}`, 'v']];
          }
        } finally {
          closed = true;
        }
      },
    } as unknown as StateStore;
    const timed = timedStateStore(slowScan, m.stateStoreDuration);
    const seen: string[] = [];
    for await (const page of timed.scanSessionFields('h')) {
      seen.push(page[0]![0]);
      if (seen.length === 2) break;
    }
    assert.deepEqual(seen, ['f0', 'f1']);
    assert.equal(closed, true);
    const h = histogram(await scrape(m), 'syncml_state_store_duration_seconds', { operation: 'scanSessionFields' });
    assert.equal(h.count, 2);
    assert.ok(h.sum >= 0.05, `two page reads of >= 30 ms each, timed ${h.sum} s`);
  });

  it('counts DAV requests by provider, method and status (no response: "error")', async function () {
    const m = createMetrics(new Registry());
    const record = davRequestRecorder(m);
    record('radicale', { method: 'PROPFIND', url: 'http://x/', status: 207, durationMs: 12 });
    record('radicale', { method: 'PUT', url: 'http://x/a.vcf', status: 412, durationMs: 3 });
    record('nextcloud', { method: 'REPORT', url: 'http://y/', durationMs: 30_000 });
    record('nextcloud', { method: 'BREW', url: 'http://y/', status: 418, durationMs: 1 });
    const f = await scrape(m);
    assert.equal(sampleSum(f, 'syncml_dav_requests_total', { provider: 'radicale', method: 'PROPFIND', status: '207' }), 1);
    assert.equal(sampleSum(f, 'syncml_dav_requests_total', { provider: 'radicale', method: 'PUT', status: '412' }), 1);
    assert.equal(sampleSum(f, 'syncml_dav_requests_total', { provider: 'nextcloud', method: 'REPORT', status: 'error' }), 1);
    assert.equal(sampleSum(f, 'syncml_dav_requests_total', { method: 'other' }), 1);
    const report = histogram(f, 'syncml_dav_request_duration_seconds', { provider: 'nextcloud', method: 'REPORT' });
    assert.equal(report.sum, 30);
    assert.equal(report.count, 1);
    assert.equal(report.buckets.get('10'), 0, 'a 30 s request is above the 10 s bucket');
    assert.equal(report.buckets.get('+Inf'), 1);
  });
});
