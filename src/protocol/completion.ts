// The end of a session: on the client's final message after package 4 (Map, package 5) the
// anchors are saved per datastore, sync-tokens kept for the next session, the device record no
// longer names an open session, the pages of long outgoing queues are deleted, and observers
// hear that the session completed.
import { describeError } from '../errors.js';
import { discardOutgoingPages } from '../sync/outgoing-queue.js';
import { SessionSets } from '../sync/session-sets.js';
import { datastoreMapping, updateDevice, type MessageContext } from './message-context.js';
import { notify } from './observer.js';

export async function completeSession(ctx: MessageContext): Promise<void> {
  const { session, log } = ctx;
  for (const ds of session.datastores) {
    const key = { account: session.account!, deviceId: session.deviceId, datastore: ds.name };
    if (ds.failed) {
      log.warn({ ds: ds.name, mode: ds.mode, ...ds.stats }, 'datastore not completed; anchors kept so the next session starts over');
      continue;
    }
    const pendingMaps = Object.keys(ds.awaitingMap).length;
    if (pendingMaps) log.warn({ ds: ds.name, pendingMaps }, 'session ended without a Map for some server items; they will be sent again');
    await ctx.deps.state.commitAnchors(key, { client: ds.clientNext, server: ds.serverNext });
    log.info({ ds: ds.name, mode: ds.mode, ...ds.stats }, 'datastore synchronised');
  }
  await discardQueues(ctx);
  await updateDevice(ctx, session.account!, (prev) => {
    const syncTokens = { ...prev.syncTokens };
    for (const ds of session.datastores) {
      if (ds.failed) continue;
      if (ds.newSyncToken) syncTokens[ds.name] = ds.newSyncToken;
      else delete syncTokens[ds.name];
    }
    // Completed: nothing left for an Alert 225 to continue.
    const { openSession: _done, ...rest } = prev;
    return { ...rest, lastSync: new Date().toISOString(), syncTokens };
  });
  const seconds = (Date.now() - Date.parse(session.startedAt)) / 1000;
  log.info({ seconds }, 'session completed; anchors saved');
  notify(ctx.deps.observer, log, 'sessionCompleted', {
    account: session.account!, deviceId: session.deviceId, sessionKey: session.key, seconds, at: new Date().toISOString(),
    datastores: session.datastores.map((ds) => ({
      datastore: ds.name, kind: datastoreMapping(ctx, ds.name)?.kind ?? 'unknown', mode: ds.mode, stats: ds.stats, failed: !!ds.failed,
    })),
  });
}

/**
 * The pages of the datastores' outgoing queues (sync/outgoing-queue.ts) and their session sets
 * (sync/session-sets.ts) are of no use once the session is complete; a failed delete is logged
 * only (they expire anyway).
 */
async function discardQueues(ctx: MessageContext): Promise<void> {
  for (const ds of ctx.session.datastores) {
    await discardOutgoingPages(ctx.deps.state, ds).catch((err: unknown) => {
      ctx.log.warn({ ds: ds.name, err: describeError(err) }, 'queue pages not deleted; they expire');
    });
    await SessionSets.discard(ctx.deps.state, ds).catch((err: unknown) => {
      ctx.log.warn({ ds: ds.name, err: describeError(err) }, 'session sets not deleted; they expire');
    });
  }
}
