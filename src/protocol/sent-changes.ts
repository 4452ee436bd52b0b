// Server changes awaiting the device's Status, as session state keeps them (`session.sent`, see
// SentRecord): an Add only by its guid, its details in the datastore's awaitingMap.
import type { DatastoreSessionState, SentChange, SentRecord } from '../sync/types.js';
import type { SessionState } from './session.js';

/** Key of a sent change in `session.sent`: where it went (one item per command). */
export function sentKey(msgId: string, cmdId: string): string {
  return `${msgId}:${cmdId}:0`;
}

/** Record a sent change for the device's Status; an Add also waits for the device's Map. */
export function recordSentChange(session: SessionState, ds: DatastoreSessionState, key: string, change: SentChange, addGuid?: string): void {
  if (addGuid === undefined) {
    session.sent[key] = { ...change, ds: ds.name };
    return;
  }
  ds.awaitingMap[addGuid] = { ...change, guid: addGuid };
  session.sent[key] = { ds: ds.name, op: 'Add', guid: addGuid };
}

/**
 * The whole change a record stands for, or undefined for an Add no longer awaiting its Map (the
 * Map came first, or the Add was refused): nothing of it is left to confirm or to send again.
 */
export function resolveSent(session: SessionState, rec: SentRecord): (SentChange & { ds: string }) | undefined {
  if (rec.href !== undefined) return rec;
  const details = session.datastores.find((d) => d.name === rec.ds)?.awaitingMap[rec.guid];
  return details ? { ...details, ds: rec.ds } : undefined;
}
