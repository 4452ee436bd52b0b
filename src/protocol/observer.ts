// What the protocol engine reports about sessions to whoever watches (metrics, the admin page's
// history, push suppression). The engine calls these after the fact; an observer never changes a
// session's outcome, and a throwing observer is logged and ignored by the caller.
import { describeError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { SyncMode, SyncStats } from '../sync/types.js';

export type AuthFailureReason =
  | 'no-credentials'
  | 'unknown-account'
  | 'wrong-password'
  | 'wrong-type'
  | 'bad-nonce'
  | 'oversized'
  | 'rate-limited'
  | 'session-token';

export interface DatastoreOutcome {
  datastore: string;
  kind: string;
  mode: SyncMode;
  stats: SyncStats;
  /** The datastore did not complete (anchors kept, next session starts over). */
  failed: boolean;
}

export interface SessionObserver {
  /** A message authenticated the start of a new session (`sessionId`: the SyncML SessionID). */
  sessionStarted?(e: { account: string; deviceId: string; sessionKey: string; sessionId: string; syncmlVersion: string }): void;
  /** Authentication refused (the reply carries 401/407 and a Chal); nothing executed. */
  authFailed?(e: { account?: string; user?: string; deviceId: string; reason: AuthFailureReason; remoteAddress?: string }): void;
  /** A session completed: anchors of every non-failed datastore were committed. */
  sessionCompleted?(e: { account: string; deviceId: string; sessionKey: string; seconds: number; datastores: DatastoreOutcome[]; at: string }): void;
  /** A message failed as a whole (backend or state store down, bug); nothing committed. */
  sessionFailed?(e: { account?: string; deviceId: string; sessionKey?: string; reason: string }): void;
  /** A device change met a server change (see sync/datastore-sync.ts for the policies). */
  conflict?(e: { account: string; deviceId: string; datastore: string; luid?: string; guid: string; policy: string; resolution: string; at: string }): void;
  /** The refresh guard refused a refresh from the phone (nothing written). */
  refreshRefused?(e: { account: string; deviceId: string; datastore: string; deleted: number; serverItems: number; at: string }): void;
}

/** Call an observer; one that throws is logged and ignored. */
export function notify<K extends keyof SessionObserver>(o: SessionObserver | undefined, log: Logger, event: K, e: Parameters<NonNullable<SessionObserver[K]>>[0]): void {
  const fn = o?.[event] as ((e: unknown) => void) | undefined;
  if (!fn) return;
  try {
    fn.call(o, e);
  } catch (err) {
    log.warn({ event, err: describeError(err) }, 'session observer failed; ignored');
  }
}
