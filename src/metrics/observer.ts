// Session observers: metrics from what the protocol engine reports (protocol/observer.ts), and
// combineObservers() so that several observers (metrics, admin history, push) receive every event
// and one that throws does not keep the others from theirs.
import type { Logger } from '../logger.js';
import type { DatastoreOutcome, SessionObserver } from '../protocol/observer.js';
import { serverSends, clientSends, type SyncStats } from '../sync/types.js';
import { labelValue, type GatewayMetrics } from './registry.js';

type Handler = keyof SessionObserver;
const HANDLERS: readonly Handler[] = ['sessionStarted', 'authFailed', 'sessionCompleted', 'sessionFailed', 'conflict', 'refreshRefused'];

export function combineObservers(log: Pick<Logger, 'warn'> | undefined, ...observers: Array<SessionObserver | undefined>): SessionObserver {
  const list = observers.filter((o): o is SessionObserver => o !== undefined);
  const combined: SessionObserver = {};
  for (const name of HANDLERS) {
    const targets = list.filter((o) => typeof o[name] === 'function');
    if (targets.length === 0) continue;
    (combined as Record<Handler, (e: unknown) => void>)[name] = (e: unknown) => {
      for (const o of targets) {
        try {
          (o[name] as (e: unknown) => void).call(o, e);
        } catch (err) {
          log?.warn({ observer: o.constructor?.name, event: name, err: err instanceof Error ? err.message : String(err) }, 'session observer failed');
        }
      }
    };
  }
  return combined;
}

/** stats field -> [operation, direction] for syncml_items_total. */
const ITEM_COUNTS: ReadonlyArray<[keyof SyncStats, string, 'from-device' | 'to-device']> = [
  ['clientAdded', 'add', 'from-device'],
  ['clientReplaced', 'replace', 'from-device'],
  ['clientDeleted', 'delete', 'from-device'],
  ['clientFailed', 'failed', 'from-device'],
  ['matched', 'matched', 'from-device'],
  ['serverAdded', 'add', 'to-device'],
  ['serverReplaced', 'replace', 'to-device'],
  ['serverDeleted', 'delete', 'to-device'],
];

export interface MetricsObserverOptions {
  /** Sessions not heard of for this long no longer count as open (default 3600 s). */
  openTtlSeconds?: number;
  now?: () => number;
}

/** Turns session events into the syncml_* counters (see registry.ts). */
export class MetricsObserver implements SessionObserver {
  readonly #m: GatewayMetrics;
  readonly #open = new Map<string, number>();
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(metrics: GatewayMetrics, opts: MetricsObserverOptions = {}) {
    this.#m = metrics;
    this.#ttlMs = (opts.openTtlSeconds ?? 3600) * 1000;
    this.#now = opts.now ?? Date.now;
    // The gauge is computed when scraped: sessions abandoned by their phone expire instead of
    // counting as open forever.
    this.detach = metrics.addOpenSessionsSource(() => this.openSessions());
  }

  /** Stops counting this observer's sessions in syncml_sessions_open (gateway closed). */
  readonly detach: () => void;

  openSessions(): number {
    const t = this.#now();
    for (const [k, started] of this.#open) if (t - started > this.#ttlMs) this.#open.delete(k);
    return this.#open.size;
  }

  sessionStarted(e: { sessionKey: string }): void {
    this.#m.sessionsStarted.inc();
    this.#open.set(e.sessionKey, this.#now());
  }

  authFailed(e: { reason: string }): void {
    this.#m.authFailures.inc({ reason: labelValue(e.reason) });
  }

  sessionCompleted(e: { sessionKey: string; seconds: number; datastores: DatastoreOutcome[] }): void {
    this.#m.sessionsCompleted.inc();
    this.#m.sessionDuration.observe(e.seconds);
    this.#open.delete(e.sessionKey);
    for (const ds of e.datastores) {
      const kind = labelValue(ds.kind);
      this.#m.datastoreSyncs.inc({ kind, mode: ds.mode, result: ds.failed ? 'failed' : 'ok' });
      for (const [field, operation, direction] of ITEM_COUNTS) {
        const n = ds.stats[field];
        // Counted only where the mode lets that side send (a 0 is still exported once).
        if (direction === 'from-device' ? !clientSends(ds.mode) : !serverSends(ds.mode)) continue;
        this.#m.items.inc({ kind, operation, direction }, n);
      }
    }
  }

  sessionFailed(e: { sessionKey?: string; reason: string }): void {
    this.#m.sessionsFailed.inc({ reason: failureReason(e.reason) });
    if (e.sessionKey) this.#open.delete(e.sessionKey);
  }

  conflict(e: { policy: string; resolution: string }): void {
    this.#m.conflicts.inc({ policy: labelValue(e.policy), outcome: labelValue(e.resolution) });
  }

  refreshRefused(): void {
    this.#m.refreshRefused.inc();
  }
}

/** `BACKEND_UNAVAILABLE: PUT … failed` (describeError of a GatewayError) -> its code; else a short label. */
export function failureReason(reason: string): string {
  const code = /^([A-Z][A-Z0-9_]{2,39})(?::|$)/.exec(reason);
  return code ? code[1]! : labelValue(reason);
}
