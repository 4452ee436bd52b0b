// Server-alerted sync: watches the collections of push-enabled devices, decides when a device
// gets a SAN (not for its own changes, not during quiet hours or an open session, at most one
// per interval across all gateway processes) and delivers it with retries. Errors here are
// logged and counted; they never touch sync data.
import { randomInt, randomUUID } from 'node:crypto';
import type { AccountMapping } from '../accounts/mappings.js';
import { encodeLegacySan, encodeSan, type SanSyncType } from '../codec/san.js';
import { SAN_WSP_TYPES, wapPushSegments, wspPushPdu } from '../codec/wap-push.js';
import type { DataStore } from '../datastores/datastore.js';
import { describeError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { SessionObserver } from '../protocol/observer.js';
import type { DeviceKey, StateStore } from '../state/state-store.js';
import { pushMetrics } from './metrics.js';
import { datastoreContent, devicePushSettings, quietRemainingMs, type DevicePushSettings, type PushEnvSettings } from './settings.js';
import { isSanSessionId, openKey, readPushStatus, writePushStatus, type PushStatus, type SanRecord } from './status.js';
import type { PushMessage, PushTransport } from './transports.js';
import { CollectionWatcher, hrefKey, type CollectionChange } from './watcher.js';

export interface PushServiceDeps {
  accounts: AccountMapping[];
  state: StateStore;
  /** A DataStore for watching one datastore with the mapping's own credentials. */
  openStore(mapping: AccountMapping, datastore: string): DataStore;
  transport?: PushTransport;
  env: PushEnvSettings;
  log: Logger;
  /** Server id when the push settings name none (the gateway's public URL). */
  serverId(): string;
  sessionTtlSeconds?: number;
  /** false: send only (CLI), no collection watchers. */
  watch?: boolean;
  now?: () => number;
  random?: () => number;
}

interface Pending {
  device: DevicePushSettings;
  changes: Map<string, CollectionChange[]>;
  since: number;
  timer?: NodeJS.Timeout;
}

interface Watch {
  watcher: CollectionWatcher;
  /** Devices (and their datastore name) notified about this collection. */
  subscribers: Array<{ device: DevicePushSettings; datastore: string }>;
}

const devKey = (d: DeviceKey): string => `${d.account}\u0000${d.deviceId}`;

export class PushService {
  readonly #d: PushServiceDeps;
  #devices: DevicePushSettings[];
  #watches: Map<string, Watch>;
  readonly #pending = new Map<string, Pending>();
  readonly #owner = `push-${randomUUID()}`;
  #pollTimer?: NodeJS.Timeout;
  #stopped = false;
  #started = false;
  readonly #now: () => number;

  constructor(deps: PushServiceDeps) {
    this.#d = deps;
    this.#now = deps.now ?? Date.now;
    ({ devices: this.#devices, watches: this.#watches } = this.#plan(deps.accounts));
  }

  /** Devices with push settings and one watcher per collection they name. */
  #plan(accounts: readonly AccountMapping[]): { devices: DevicePushSettings[]; watches: Map<string, Watch> } {
    const deps = this.#d;
    const devices = accounts.flatMap((m) => devicePushSettings(m));
    const watches = new Map<string, Watch>();
    for (const dev of deps.watch === false ? [] : devices) {
      const mapping = accounts.find((m) => m.account === dev.account)!;
      for (const ds of dev.datastores) {
        const key = ds.collections.map((c) => (/^https?:/i.test(c) ? c : `${mapping.dav.url}|${c}`)).join(' ');
        let w = watches.get(key);
        if (!w) {
          let store: DataStore;
          try {
            // Synchronous and offline: fails only when the mapping has no DAV credentials.
            store = deps.openStore(mapping, ds.name);
          } catch (err) {
            deps.log.warn({ account: mapping.account, datastore: ds.name, err: describeError(err) }, 'push: cannot watch this datastore (the mapping needs dav.username/password or oauth2)');
            continue;
          }
          const leaseSeconds = Math.max(5, Math.ceil(deps.env.pollSeconds * 3));
          w = { watcher: new CollectionWatcher(key, () => store, deps.state, this.#owner, leaseSeconds), subscribers: [] };
          watches.set(key, w);
        }
        w.subscribers.push({ device: dev, datastore: ds.name });
      }
    }
    return { devices, watches };
  }

  /**
   * New account mappings (SIGHUP, the mappings watcher): devices and collections are planned
   * again. Nothing is lost: each collection's cursor lives in the state store, so a new watcher
   * continues where the old one stopped; SANs already queued for a device that still has push
   * settings go out with its new settings, those of a device that lost them are dropped.
   */
  async reload(accounts: readonly AccountMapping[]): Promise<void> {
    if (this.#stopped) return;
    const old = this.#watches;
    ({ devices: this.#devices, watches: this.#watches } = this.#plan(accounts));
    for (const [k, p] of this.#pending) {
      const device = this.#devices.find((d) => devKey(d) === k);
      if (device) p.device = device;
      else {
        clearTimeout(p.timer);
        this.#pending.delete(k);
      }
    }
    await Promise.all([...old.values()].map((w) => w.watcher.release()));
    this.#d.log.info({ devices: this.#devices.length, collections: this.#watches.size }, 'push: settings reloaded');
    if (this.#devices.length > 0 && !this.#started) this.start();
  }

  get devices(): readonly DevicePushSettings[] {
    return this.#devices;
  }

  /** Number of collection watchers (one per collection, however many devices share it). */
  get watcherCount(): number {
    return this.#watches.size;
  }

  start(): void {
    if (this.#devices.length === 0 || this.#started) return;
    this.#started = true;
    this.#d.log.info({ devices: this.#devices.length, collections: this.#watches.size, transport: this.#d.transport?.name ?? 'none', pollSeconds: this.#d.env.pollSeconds }, 'push: watching collections');
    const loop = (): void => {
      if (this.#stopped) return;
      const span = this.#d.env.pollSeconds * 1000;
      const jitter = span * this.#d.env.jitter * ((this.#d.random ?? Math.random)() * 2 - 1);
      this.#pollTimer = setTimeout(() => void this.pollOnce().finally(loop), Math.max(50, span + jitter));
    };
    void this.pollOnce().finally(loop);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#pollTimer);
    for (const p of this.#pending.values()) clearTimeout(p.timer);
    this.#pending.clear();
    await Promise.all([...this.#watches.values()].map((w) => w.watcher.release()));
  }

  /** Poll every collection once (the lease decides which process really does). */
  async pollOnce(): Promise<void> {
    await Promise.all([...this.#watches.values()].map(async (w) => {
      try {
        const changes = await w.watcher.poll();
        pushMetrics.polls.inc({ result: changes === undefined ? 'other-process' : changes.length ? 'changed' : 'unchanged' });
        if (!changes?.length) return;
        this.#d.log.info({ collection: w.watcher.key, changes: changes.length }, 'push: collection changed');
        for (const s of w.subscribers) this.#queue(s.device, s.datastore, changes);
      } catch (err) {
        pushMetrics.polls.inc({ result: 'error' });
        this.#d.log.warn({ collection: w.watcher.key, err: describeError(err) }, 'push: polling the collection failed');
      }
    }));
  }

  #queue(device: DevicePushSettings, datastore: string, changes: CollectionChange[]): void {
    const k = devKey(device);
    let p = this.#pending.get(k);
    if (!p) {
      p = { device, changes: new Map(), since: this.#now() };
      this.#pending.set(k, p);
    }
    p.changes.set(datastore, [...(p.changes.get(datastore) ?? []), ...changes]);
    if (!p.timer) this.#schedule(p, this.#d.env.settleMs);
  }

  #schedule(p: Pending, ms: number): void {
    if (this.#stopped) return;
    p.timer = setTimeout(() => {
      p.timer = undefined;
      if (this.#pending.get(devKey(p.device)) !== p) return; // dropped by a reload
      void this.#fire(p).catch((err: unknown) => this.#d.log.error({ device: p.device.deviceId, err: describeError(err) }, 'push: decision failed'));
    }, ms);
    p.timer.unref?.();
  }

  /** Decide for one device with pending changes: send, wait, or drop. */
  async #fire(p: Pending): Promise<void> {
    const { device } = p;
    const log = this.#d.log.child({ account: device.account, device: device.deviceId });
    const quiet = quietRemainingMs(device.quietHours, new Date(this.#now()));
    if (quiet > 0) {
      pushMetrics.suppressed.inc({ reason: 'quiet-hours' });
      log.info({ resumeInSeconds: Math.round(quiet / 1000) }, 'push: quiet hours, SAN postponed');
      return this.#schedule(p, quiet);
    }
    if (await this.#d.state.getSession(openKey(device))) {
      pushMetrics.suppressed.inc({ reason: 'session-open' });
      log.debug('push: the device has a session open, SAN postponed');
      return this.#schedule(p, Math.max(1000, this.#d.env.settleMs));
    }
    const unsynced = await this.#unsynced(p);
    if (unsynced.length === 0) {
      this.#pending.delete(devKey(device));
      pushMetrics.suppressed.inc({ reason: 'echo' });
      log.info('push: the device already has every change (its own or synced), no SAN');
      return;
    }
    // At most one SAN per device per interval, across all processes: the window is a lock that
    // nobody releases.
    const window = { account: `push-san:${device.account}`, deviceId: device.deviceId };
    if (!(await this.#d.state.acquireLock(window, randomUUID(), device.intervalSeconds))) {
      pushMetrics.suppressed.inc({ reason: 'coalesced' });
      log.info({ intervalSeconds: device.intervalSeconds }, 'push: a SAN went out within the interval, changes coalesced');
      return this.#schedule(p, Math.max(1000, (device.intervalSeconds * 1000) / 4));
    }
    this.#pending.delete(devKey(device));
    await this.send(device, { trigger: 'change', datastores: unsynced, since: p.since });
  }

  /** Datastores with a change the device does not have yet (its own writes are in its map). */
  async #unsynced(p: Pending): Promise<string[]> {
    const out: string[] = [];
    for (const [datastore, changes] of p.changes) {
      const map = await this.#d.state.getMap({ account: p.device.account, deviceId: p.device.deviceId, datastore });
      const known = new Map(map.map((e) => [hrefKey(e.guid), e.etag]));
      const news = changes.filter((c) => (c.etag === undefined ? known.has(hrefKey(c.href)) : known.get(hrefKey(c.href)) !== c.etag));
      if (news.length) out.push(datastore);
    }
    return out;
  }

  /** The device's SAN and its WAP Push SMS. */
  buildMessage(device: DevicePushSettings, datastores?: string[], sessionId?: number): PushMessage {
    return buildPushMessage(device, device.serverId ?? this.#d.serverId(), datastores, sessionId);
  }

  /** Send one SAN now with retries (push-test and the scheduler); the outcome is recorded. */
  async send(device: DevicePushSettings, opts: { trigger: SanRecord['trigger']; datastores?: string[]; since?: number }): Promise<SanRecord> {
    const log = this.#d.log.child({ account: device.account, device: device.deviceId });
    const msg = this.buildMessage(device, opts.datastores);
    const transport = this.#d.transport;
    const rec: SanRecord = {
      at: new Date(this.#now()).toISOString(), sessionId: msg.sessionId, datastores: opts.datastores ?? device.datastores.map((d) => d.name),
      transport: transport?.name ?? 'none', trigger: opts.trigger, outcome: 'failed', attempts: 0,
    };
    if (!transport) {
      rec.error = 'no transport configured (PUSH_TRANSPORT)';
    } else {
      for (let attempt = 1; attempt <= this.#d.env.retries + 1; attempt++) {
        rec.attempts = attempt;
        try {
          await transport.send(msg);
          rec.outcome = 'sent';
          delete rec.error;
          break;
        } catch (err) {
          rec.error = describeError(err);
          if (attempt > this.#d.env.retries) break;
          pushMetrics.retries.inc({ transport: transport.name });
          const wait = this.#d.env.retryBaseMs * 2 ** (attempt - 1);
          log.warn({ attempt, err: rec.error, retryInMs: wait }, 'push: delivery failed, retrying');
          await new Promise((r) => setTimeout(r, wait));
        }
      }
    }
    if (opts.since !== undefined) rec.latencyMs = this.#now() - opts.since;
    if (rec.outcome === 'sent') {
      pushMetrics.sent.inc({ transport: rec.transport, trigger: rec.trigger });
      log.info({ sanSession: rec.sessionId, datastores: rec.datastores, parts: msg.segments.length, latencyMs: rec.latencyMs, transport: rec.transport }, 'push: SAN sent');
    } else {
      pushMetrics.failed.inc({ transport: rec.transport });
      log[transport ? 'error' : 'warn']({ sanSession: rec.sessionId, attempts: rec.attempts, err: rec.error }, 'push: SAN not delivered');
    }
    await writePushStatus(this.#d.state, device, (s) => ({ ...s, lastSan: rec })).catch((err: unknown) => log.warn({ err: describeError(err) }, 'push: status not saved'));
    return rec;
  }

  device(account: string, deviceId: string): DevicePushSettings | undefined {
    return this.#devices.find((d) => d.account.toLowerCase() === account.toLowerCase() && d.deviceId === deviceId);
  }

  status(key: DeviceKey): Promise<PushStatus> {
    return readPushStatus(this.#d.state, key);
  }

  /** What the engine reports: open sessions postpone SANs; the session after a SAN is recorded. */
  readonly observer: SessionObserver = {
    sessionStarted: (e) => {
      const key = { account: e.account, deviceId: e.deviceId };
      void this.#d.state.putSession(openKey(key), { sessionId: e.sessionId }, this.#d.sessionTtlSeconds ?? 300)
        .catch((err: unknown) => this.#d.log.warn({ err: describeError(err) }, 'push: open session not recorded'));
    },
    sessionCompleted: (e) => void this.#sessionEnded(e.account, e.deviceId, e.seconds),
    sessionFailed: (e) => {
      if (e.account) void this.#sessionEnded(e.account, e.deviceId);
    },
  };

  // Session tokens are not copied into push state (they are credentials for the session's life).
  async #sessionEnded(account: string, deviceId: string, seconds?: number): Promise<void> {
    const key = { account, deviceId };
    try {
      const open = await this.#d.state.getSession<{ sessionId?: string }>(openKey(key));
      await this.#d.state.deleteSession(openKey(key));
      if (seconds === undefined || !this.device(account, deviceId)) return;
      await writePushStatus(this.#d.state, key, (s) => ({
        ...s,
        lastSession: {
          at: new Date(this.#now()).toISOString(), seconds, source: 'observer',
          ...(open?.sessionId !== undefined && s.lastSan ? { usedSanSessionId: isSanSessionId(open.sessionId, s.lastSan.sessionId) } : {}),
        },
      }));
    } catch (err) {
      this.#d.log.warn({ err: describeError(err) }, 'push: session end not recorded');
    }
  }
}

/** Build a device's SAN (1.2 binary or legacy WBXML) and its WAP Push SMS. */
export function buildPushMessage(device: DevicePushSettings, serverId: string, datastores?: string[], sessionId = randomInt(1, 0x10000)): PushMessage {
  const chosen = device.datastores.filter((d) => !datastores || datastores.includes(d.name));
  let san: Uint8Array;
  let contentType: string;
  if (device.sanVersion === '1.2') {
    san = encodeSan({
      version: 12, uiMode: device.uiMode, initiator: 'server', sessionId, serverId,
      syncs: chosen.map((ds) => ({ syncType: device.syncType, contentType: datastoreContent(ds).code, serverUri: ds.uris[0]! })),
    }, device.password !== undefined ? { password: device.password, nonce: device.nonce } : undefined);
    contentType = SAN_WSP_TYPES.notification;
  } else {
    san = encodeLegacySan({
      version: device.sanVersion, sessionId: String(sessionId), serverId, syncType: device.syncType as SanSyncType,
      datastores: chosen.map((ds) => ({ serverUri: ds.uris[0]!, mimeType: datastoreContent(ds).mime })),
    }, 'wbxml');
    contentType = SAN_WSP_TYPES.legacyWbxml;
  }
  const pdu = wspPushPdu(san, contentType);
  return {
    phone: device.phone, account: device.account, deviceId: device.deviceId, sessionId, san, contentType, pdu,
    segments: wapPushSegments(pdu, { reference: sessionId & 0xff }),
  };
}
