// Sync history for the admin page: what the engine reported per device (completed sessions with
// their per-datastore outcome, failures, conflicts, refused refreshes, admin actions), kept in the
// state store beside the sessions with a 90-day retention. Written by HistoryObserver. Refused
// logins are not recorded per device (anyone can send them; the metrics count them).
import type { Logger } from '../logger.js';
import type { DatastoreOutcome, SessionObserver } from '../protocol/observer.js';
import type { DeviceKey, StateStore } from '../state/state-store.js';

type Event<K extends keyof SessionObserver> = Parameters<NonNullable<SessionObserver[K]>>[0];

export const HISTORY_RETENTION_DAYS = 90;
/** Most entries kept per device (the oldest go first). */
export const HISTORY_MAX_ENTRIES = 200;

export type HistoryEntry =
  | { type: 'sync'; at: string; seconds: number; datastores: DatastoreOutcome[] }
  | { type: 'failed'; at: string; reason: string }
  | { type: 'conflict'; at: string; datastore: string; luid?: string; guid: string; policy: string; resolution: string }
  | { type: 'refresh-refused'; at: string; datastore: string; deleted: number; serverItems: number }
  | { type: 'admin'; at: string; action: string; datastores?: string[] };

export class SyncHistory {
  readonly #state: StateStore;
  readonly #now: () => number;
  /** Per device, writes queued one after the other (read-modify-write of one entry list). */
  readonly #queues = new Map<string, Promise<void>>();

  constructor(state: StateStore, now: () => number = Date.now) {
    this.#state = state;
    this.#now = now;
  }

  static key(d: DeviceKey): string {
    return `admin-history:${JSON.stringify([d.account, d.deviceId])}`;
  }

  /** Entries of one device, newest first, none older than the retention. */
  async list(d: DeviceKey): Promise<HistoryEntry[]> {
    const stored = (await this.#state.getSession<HistoryEntry[]>(SyncHistory.key(d))) ?? [];
    const cutoff = this.#now() - HISTORY_RETENTION_DAYS * 86400_000;
    return stored.filter((e) => Date.parse(e.at) >= cutoff).reverse();
  }

  add(d: DeviceKey, entry: HistoryEntry): Promise<void> {
    const key = SyncHistory.key(d);
    const prev = this.#queues.get(key) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(async () => {
      const stored = (await this.#state.getSession<HistoryEntry[]>(key)) ?? [];
      const cutoff = this.#now() - HISTORY_RETENTION_DAYS * 86400_000;
      const kept = [...stored.filter((e) => Date.parse(e.at) >= cutoff), entry].slice(-HISTORY_MAX_ENTRIES);
      await this.#state.putSession(key, kept, HISTORY_RETENTION_DAYS * 86400);
    });
    this.#queues.set(key, next);
    void next.finally(() => {
      if (this.#queues.get(key) === next) this.#queues.delete(key);
    }).catch(() => undefined);
    return next;
  }

  /** Writes still queued (tests and shutdown wait for them). */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.#queues.values()]);
  }

  forget(d: DeviceKey): Promise<void> {
    return this.#state.deleteSession(SyncHistory.key(d));
  }
}

/** Records session events into the SyncHistory; store failures are logged, never thrown. */
export class HistoryObserver implements SessionObserver {
  readonly #h: SyncHistory;
  readonly #log: Pick<Logger, 'warn'>;

  constructor(history: SyncHistory, log: Pick<Logger, 'warn'>) {
    this.#h = history;
    this.#log = log;
  }

  #add(account: string | undefined, deviceId: string, entry: HistoryEntry): void {
    if (account === undefined) return;
    this.#h.add({ account, deviceId }, entry).catch((err: unknown) => {
      this.#log.warn({ device: deviceId, err: err instanceof Error ? err.message : String(err) }, 'sync history not written');
    });
  }

  sessionCompleted(e: Event<'sessionCompleted'>): void {
    this.#add(e.account, e.deviceId, { type: 'sync', at: e.at, seconds: e.seconds, datastores: e.datastores });
  }

  sessionFailed(e: Event<'sessionFailed'>): void {
    this.#add(e.account, e.deviceId, { type: 'failed', at: new Date().toISOString(), reason: e.reason });
  }

  conflict(e: Event<'conflict'>): void {
    this.#add(e.account, e.deviceId, {
      type: 'conflict', at: e.at, datastore: e.datastore, ...(e.luid !== undefined ? { luid: e.luid } : {}), guid: e.guid, policy: e.policy, resolution: e.resolution,
    });
  }

  refreshRefused(e: Event<'refreshRefused'>): void {
    this.#add(e.account, e.deviceId, { type: 'refresh-refused', at: e.at, datastore: e.datastore, deleted: e.deleted, serverItems: e.serverItems });
  }
}
