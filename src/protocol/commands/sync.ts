// Sync (package 3): the client's Add/Replace/Delete for one datastore, statuses in command order.
// Whole Adds/Replaces of distinct items go to the DAV server a few at a time; chunked items,
// Deletes and refresh-from-client writes run one by one. A refresh from the client is first put
// to the refresh guard (sync/refresh-guard.ts), whose refusal becomes 403 here.
import type { Command, Item, ItemCmd, SyncCmd } from '../../codec/model.js';
import { normaliseUri } from '../../accounts/mappings.js';
import { describeError } from '../../errors.js';
import type { DatastoreSync } from '../../sync/datastore-sync.js';
import { dropQueued } from '../../sync/outgoing-queue.js';
import { checkAnnouncedRefresh, runRefreshFromClient, type RefreshRefusal } from '../../sync/refresh-guard.js';
import { clientSends, type DatastoreSessionState } from '../../sync/types.js';
import { datastoreMapping, syncFor, type MessageContext } from '../message-context.js';
import { notify } from '../observer.js';
import { cmdName } from '../reply.js';
import { Status, statusForError } from '../status.js';
import { applyItem, itemFailed } from './sync-item.js';

/** DAV writes in flight per Sync command (the server's own limit may be lower: datastores/limit.ts). */
export const APPLY_CONCURRENCY = 4;

type ItemRef = { msgRef: string; cmdRef: string; cmd: string };

export async function onSync(ctx: MessageContext, cmd: SyncCmd): Promise<void> {
  const { msg, reply, session, log } = ctx;
  const ref = { msgRef: msg.header.msgId, cmdRef: cmd.cmdId, cmd: 'Sync' };
  const targetUri = cmd.target?.locURI ?? '';
  const sourceUri = cmd.source?.locURI ?? '';
  const refs = { targetRefs: targetUri ? [targetUri] : [], sourceRefs: sourceUri ? [sourceUri] : [] };
  const answerAll = (code: number): void => {
    for (const inner of cmd.commands) if (!('noResp' in inner && inner.noResp)) reply.status({ msgRef: msg.header.msgId, cmdRef: inner.cmdId, cmd: cmdName(inner), data: String(code) });
  };
  const ds = session.datastores.find((d) => normaliseUri(d.serverUri) === normaliseUri(targetUri));
  if (!ds) {
    log.warn({ uri: targetUri }, 'Sync for a datastore that was not alerted in this session');
    if (!cmd.noResp) reply.status({ ...ref, ...refs, data: String(Status.NOT_FOUND) });
    answerAll(Status.NOT_FOUND);
    return;
  }
  const sync = syncFor(ctx, ds);
  const refusal = await checkAnnouncedRefresh(ds, sync, datastoreMapping(ctx, ds.name)!.refreshGuard, cmd.numberOfChanges, log);
  if (refusal) {
    refreshRefused(ctx, ds.name, refusal);
    if (!cmd.noResp) reply.status({ ...ref, ...refs, data: String(Status.FORBIDDEN), items: [{ data: refusal.reason }] });
  }
  if (ds.failed) {
    // Refused (refresh guard): nothing of this datastore is executed.
    if (!refusal && !cmd.noResp) reply.status({ ...ref, ...refs, data: String(Status.FORBIDDEN) });
    answerAll(Status.FORBIDDEN);
    return;
  }
  if (!cmd.noResp) ctx.syncStatuses.set(ds.name, reply.status({ ...ref, ...refs, data: String(Status.OK) }));
  // A Sequence inside Sync is executed in order (it is what Sync does anyway); an Atomic would
  // need a rollback DAV servers cannot give, so it is refused whole (406) before anything runs.
  const flat: Command[] = [];
  for (const inner of cmd.commands) {
    if (inner.kind === 'Sequence') {
      if (!inner.noResp) reply.status({ msgRef: msg.header.msgId, cmdRef: inner.cmdId, cmd: 'Sequence', data: String(Status.OK) });
      flat.push(...inner.commands);
    } else flat.push(inner);
  }
  // One state write for the map entries of all items of this Sync (see IdMap.batched).
  await sync.batchMapWrites(() => applyCommands(ctx, ds, sync, flat));
}

/** The Sync's item commands, in order; whole Adds/Replaces of distinct items a few at a time. */
async function applyCommands(ctx: MessageContext, ds: DatastoreSessionState, sync: DatastoreSync, flat: Command[]): Promise<void> {
  const { msg, reply, session, log } = ctx;
  if (ds.mode !== 'refresh-from-client') {
    const luids = flat.flatMap((c) => (c.kind === 'Add' || c.kind === 'Replace' ? c.items.map((i) => i.source?.locURI ?? i.target?.locURI ?? '') : []));
    await sync.prefetch(ds, luids.filter(Boolean));
  }
  const itemStatus = (iref: ItemRef, inner: ItemCmd, luid: string, code: number): void => {
    if (!inner.noResp) reply.status({ ...iref, sourceRefs: luid ? [luid] : [], data: String(code) });
  };
  const batch: Array<{ iref: ItemRef; cmd: ItemCmd; item: Item; luid: string }> = [];
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const work = batch.splice(0);
    const codes = await mapBounded(work, APPLY_CONCURRENCY, (w) => applyItem(ctx, ds, sync, w.cmd, w.item));
    work.forEach((w, k) => itemStatus(w.iref, w.cmd, w.luid, codes[k]!));
  };
  for (const inner of flat) {
    const iref = { msgRef: msg.header.msgId, cmdRef: inner.cmdId, cmd: cmdName(inner) };
    const parallel = (inner.kind === 'Add' || inner.kind === 'Replace') && clientSends(ds.mode) && ds.mode !== 'refresh-from-client';
    if (parallel) {
      for (const item of inner.items) {
        const luid = item.source?.locURI ?? item.target?.locURI ?? '';
        if (luid && !item.moreData && !session.inChunk && !batch.some((b) => b.luid === luid)) {
          batch.push({ iref, cmd: inner, item, luid });
          if (batch.length >= APPLY_CONCURRENCY * 4) await flush();
          continue;
        }
        await flush();
        itemStatus(iref, inner, luid, await applyItem(ctx, ds, sync, inner, item));
      }
      continue;
    }
    await flush();
    if (inner.kind === 'Atomic') {
      log.warn('Atomic inside Sync refused (406): its commands cannot be rolled back on a DAV server');
      if (!inner.noResp) reply.status({ ...iref, data: String(Status.NOT_SUPPORTED) });
      for (const a of inner.commands) if (!('noResp' in a && a.noResp)) reply.status({ msgRef: msg.header.msgId, cmdRef: a.cmdId, cmd: cmdName(a), data: String(Status.NOT_SUPPORTED) });
      continue;
    }
    if (inner.kind !== 'Add' && inner.kind !== 'Replace' && inner.kind !== 'Delete') {
      log.info({ command: cmdName(inner) }, 'command inside Sync not supported; answered 406');
      if (!('noResp' in inner && inner.noResp)) reply.status({ ...iref, data: String(Status.NOT_SUPPORTED) });
      continue;
    }
    if (!clientSends(ds.mode)) {
      if (!inner.noResp) reply.status({ ...iref, data: String(Status.FORBIDDEN) });
      continue;
    }
    for (const item of inner.items) {
      const code = await applyItem(ctx, ds, sync, inner, item);
      itemStatus(iref, inner, item.source?.locURI ?? item.target?.locURI ?? '', code);
    }
  }
  await flush();
}

/**
 * Refresh from client, when the client's package is complete (before the server's changes): the
 * sync layer writes the held-back items and deletes the rest, or refuses. A refusal amends this
 * message's Sync status to 403, or, when that Sync was answered earlier, goes out as an Alert 100.
 */
export async function finishRefreshFromClient(ctx: MessageContext, ds: DatastoreSessionState, sync: DatastoreSync): Promise<void> {
  const dsMap = datastoreMapping(ctx, ds.name)!;
  const { deps } = ctx;
  const refusal = await sync.batchMapWrites(() => runRefreshFromClient(ds, sync, dsMap.refreshGuard, {
    log: ctx.log,
    ...(deps.backup ? { backup: (items) => deps.backup!(ctx.session.account!, ds.name, dsMap.collection, items) } : {}),
    onItemFailed: (luid, error) => { itemFailed(ctx, ds, luid, error); },
  }));
  if (!refusal) return;
  refreshRefused(ctx, ds.name, refusal);
  reportDatastoreFailure(ctx, ds.name, Status.FORBIDDEN, refusal.reason);
}

/**
 * Tell the device that a datastore failed in this session: this message's Status for its Sync
 * gets `code` and the reason, or, when that Sync was answered in an earlier message, an Alert 100
 * (display) carries the reason instead.
 */
export function reportDatastoreFailure(ctx: MessageContext, datastore: string, code: number, reason: string): void {
  const st = ctx.syncStatuses.get(datastore);
  if (st) {
    st.data = String(code);
    st.items = [{ data: reason }];
  } else {
    ctx.reply.add({ kind: 'Alert', cmdId: ctx.reply.nextCmdId(), data: '100', items: [{ data: reason }] });
  }
}

/**
 * A datastore that cannot go on (e.g. its queued server changes expired, STATE_EXPIRED): marked
 * failed, so its anchors are not committed and the next session starts it over, and its server
 * package ends here; the device is told with the error's status (status.ts).
 */
export function datastoreFailed(ctx: MessageContext, ds: DatastoreSessionState, err: unknown): void {
  const code = statusForError(err);
  ctx.log.error({ ds: ds.name, mode: ds.mode, status: code, err: describeError(err) }, 'datastore failed; the next session synchronises it again');
  ds.failed = true;
  ds.serverDone = true;
  dropQueued(ds);
  reportDatastoreFailure(ctx, ds.name, code, `${code} ${describeError(err)}`);
}

/** Tell the observer (metrics, history) that the refresh guard refused a refresh. */
export function refreshRefused(ctx: MessageContext, datastore: string, r: RefreshRefusal): void {
  notify(ctx.deps.observer, ctx.log, 'refreshRefused', {
    account: ctx.mapping.account, deviceId: ctx.session.deviceId, datastore, deleted: r.deleted, serverItems: r.serverItems, at: new Date().toISOString(),
  });
}

/**
 * `fn` over `items` with at most `limit` running at once, results in input order. Waits for every
 * call to settle before rethrowing the first failure, so nothing is left running behind an error.
 */
export async function mapBounded<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<PromiseSettledResult<R>>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!).then((value) => ({ status: 'fulfilled', value }) as const, (reason: unknown) => ({ status: 'rejected', reason }) as const);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<R>).value);
}
