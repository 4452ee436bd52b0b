// Status from the client: the answer to our Alert (508: the client lost its state, slow sync) or
// to server changes we sent (handed to the sync layer as a plain outcome, see status.ts).
import type { StatusCmd } from '../../codec/model.js';
import type { DatastoreSessionState } from '../../sync/types.js';
import { syncFor, type MessageContext } from '../message-context.js';
import { resolveSent, sentKey } from '../sent-changes.js';
import { confirmationForStatus, Status } from '../status.js';

/**
 * A run of Status commands (a client message opens with them): the map writes of their
 * confirmations are batched per datastore, one state write for the run (IdMap.batched, bounded)
 * instead of one per confirmed item; the in-memory map sees each at once.
 */
export async function onStatusRun(ctx: MessageContext, statuses: readonly StatusCmd[]): Promise<void> {
  const names = new Set<string>();
  for (const st of statuses) {
    const rec = ctx.session.sent[sentKey(st.msgRef, st.cmdRef)];
    if (rec) names.add(rec.ds);
  }
  const confirming = ctx.session.datastores.filter((d) => names.has(d.name));
  const run = async (): Promise<void> => {
    for (const st of statuses) await onStatus(ctx, st);
  };
  await batchedFor(ctx, confirming, run);
}

/** Run `fn` inside the map-write batches of all `datastores` (nested). */
function batchedFor(ctx: MessageContext, datastores: readonly DatastoreSessionState[], fn: () => Promise<void>): Promise<void> {
  const [first, ...rest] = datastores;
  if (!first) return fn();
  return syncFor(ctx, first).batchMapWrites(() => batchedFor(ctx, rest, fn));
}

export async function onStatus(ctx: MessageContext, st: StatusCmd): Promise<void> {
  const { session, log } = ctx;
  const code = Number(st.data);
  const key = `${st.msgRef}:${st.cmdRef}`;
  const alertDs = session.sentAlerts[key];
  if (alertDs !== undefined) {
    delete session.sentAlerts[key];
    const ds = session.datastores.find((d) => d.name === alertDs);
    if (ds && code === Status.REFRESH_REQUIRED && ds.mode !== 'slow') {
      // The client lost its state (libsynthesis engHandleAlertStatus): switch to slow sync.
      log.info({ ds: ds.name }, 'client answered our Alert with 508: switching to slow sync');
      ds.mode = 'slow';
    }
    return;
  }
  // Item statuses: one per item we sent (one item per command), found by where it went.
  const itemKey = sentKey(st.msgRef, st.cmdRef);
  const rec = session.sent[itemKey];
  if (rec) {
    delete session.sent[itemKey];
    const ds = session.datastores.find((d) => d.name === rec.ds);
    // An Add no longer awaiting its Map has nothing left to confirm (its Map came first).
    const sent = ds ? resolveSent(session, rec) : undefined;
    if (ds && sent) {
      const outcome = confirmationForStatus(code);
      if (outcome !== 'confirmed' && sent.op !== 'Delete') log.warn({ ds: ds.name, op: sent.op, href: sent.href, status: code }, 'device refused a server change');
      await syncFor(ctx, ds).confirm(ds, sent, outcome);
    }
  }
  if (st.cmd === 'SyncHdr' && (code === Status.INVALID_CREDENTIALS || code === Status.MISSING_CREDENTIALS)) {
    log.warn({ status: code }, 'client rejected the server header');
  }
}
