// The refresh guard: a refresh from the client leaves the server with exactly the device's items,
// so it may delete many. The device's items are held back until its whole package is in; deleting
// more than the mapping's share is refused (nothing written, anchors kept) unless the mapping
// allows it; what an allowed refresh deletes is backed up first. The protocol layer only turns a
// refusal into a SyncML status.
import type { StoredItem } from '../datastores/datastore.js';
import type { Logger } from '../logger.js';
import type { DatastoreSync } from './datastore-sync.js';
import type { DatastoreSessionState } from './types.js';

type HeldWrite = NonNullable<DatastoreSessionState['pendingWrites']>[number];

/** The mapping's `refreshGuard` (accounts/mappings.ts). */
export interface RefreshGuardPolicy {
  /** Largest share of the server's items a refresh may delete (0..1). */
  maxShare: number;
  /** The account permits any refresh. */
  allow: boolean;
}

/** Why a refresh was refused, for the log, the observer and the status item. */
export interface RefreshRefusal {
  /** Items that would have been deleted (at least this many, when judged from the announcement). */
  deleted: number;
  serverItems: number;
  reason: string;
}

const ADVICE = 'nothing written, anchors kept (set refreshGuard.allow in the mapping to permit it)';

/**
 * Before anything is written: the client announces how many items it sends (NumberOfChanges);
 * every server item beyond that number would be deleted.
 */
export function verdictFromAnnounced(policy: RefreshGuardPolicy, serverItems: number, announced: number): RefreshRefusal | undefined {
  const atLeast = Math.max(0, serverItems - announced);
  if (serverItems === 0 || atLeast / serverItems <= policy.maxShare || policy.allow) return undefined;
  return {
    deleted: atLeast, serverItems,
    reason: `refresh from the phone would delete at least ${atLeast} of ${serverItems} items on the server (more than ${Math.round(policy.maxShare * 100)} %); refused by the refresh guard`,
  };
}

/** With the whole package in: the server items the device's items leave unpaired would be deleted. */
export function verdictFromPlan(policy: RefreshGuardPolicy, plan: { deletions: number; total: number }): RefreshRefusal | undefined {
  const share = plan.total === 0 ? 0 : plan.deletions / plan.total;
  if (!(share > policy.maxShare && !policy.allow)) return undefined;
  return {
    deleted: plan.deletions, serverItems: plan.total,
    reason: `refresh from the phone would delete ${plan.deletions} of ${plan.total} items on the server (more than ${Math.round(policy.maxShare * 100)} %); refused by the refresh guard`,
  };
}

/**
 * The first Sync of a refresh from client: judge the announced item count once. A refusal marks
 * the datastore failed (nothing of it is executed); undefined when it may go on.
 */
export async function checkAnnouncedRefresh(ds: DatastoreSessionState, sync: Pick<DatastoreSync, 'serverCount'>, policy: RefreshGuardPolicy,
  announced: number | undefined, log: Logger): Promise<RefreshRefusal | undefined> {
  if (ds.mode !== 'refresh-from-client' || ds.failed || ds.refreshChecked) return undefined;
  ds.refreshChecked = true;
  if (announced === undefined) return undefined; // judged at the end of the package instead
  const total = await sync.serverCount();
  const refusal = verdictFromAnnounced(policy, total, announced);
  if (!refusal) return undefined;
  log.error({ ds: ds.name, announced, serverItems: total }, `${refusal.reason}: ${ADVICE}`);
  ds.failed = true;
  return refusal;
}

/** Refresh from client: a device Add/Replace is held back until the package is complete. True when held. */
export function holdRefreshWrite(ds: DatastoreSessionState, write: HeldWrite): boolean {
  if (ds.mode !== 'refresh-from-client') return false;
  (ds.pendingWrites ??= []).push(write);
  return true;
}

export interface RefreshRunOptions {
  log: Logger;
  /** Saves the collection before items are deleted; returns where (for the log). */
  backup?: (items: readonly StoredItem[]) => Promise<string>;
  /** A held-back item could not be stored (may throw to fail the whole message). */
  onItemFailed(luid: string, error: unknown): void;
}

/**
 * Refresh from client, once the device's package is complete: the server must end up with exactly
 * the device's items. Returns the refusal when the guard stops it (the datastore is then failed
 * and nothing is written).
 */
export async function runRefreshFromClient(ds: DatastoreSessionState, sync: DatastoreSync, policy: RefreshGuardPolicy,
  o: RefreshRunOptions): Promise<RefreshRefusal | undefined> {
  const { log } = o;
  if (ds.failed) return undefined;
  const plan = await sync.planRefreshDeletions(ds);
  const refusal = verdictFromPlan(policy, plan);
  if (refusal) {
    ds.failed = true;
    delete ds.pendingWrites;
    log.error({ ds: ds.name, deletions: plan.deletions, serverItems: plan.total }, `${refusal.reason}: ${ADVICE}`);
    return refusal;
  }
  if (o.backup && plan.deletions > 0) {
    const where = await o.backup(await sync.snapshot());
    log.info({ ds: ds.name, backup: where }, 'collection backed up before refresh from client');
  }
  let failed = 0;
  for (const w of ds.pendingWrites ?? []) {
    const out = w.kind === 'Add' ? await sync.applyAdd(ds, w.luid, w.data, w.format) : await sync.applyReplace(ds, w.luid, w.data, w.format);
    if (out.result === 'failed') {
      failed++;
      o.onItemFailed(w.luid, out.error);
    }
  }
  delete ds.pendingWrites;
  if (failed > 0) {
    // Some items did not make it: deleting now could lose data; the next session starts over.
    ds.failed = true;
    log.error({ ds: ds.name, failed }, 'refresh from client: some items could not be stored; nothing deleted, anchors kept');
    return undefined;
  }
  const { items, total } = await sync.refreshDeletions(ds);
  if (items.length === 0) return undefined;
  await sync.deleteServerItems(ds, items);
  log.warn({ ds: ds.name, deleted: items.length, serverItems: total }, 'refresh from client: server items the phone does not have were deleted');
  return undefined;
}
