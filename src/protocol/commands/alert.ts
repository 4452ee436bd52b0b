// Alert (package 1): 222 (next message), 224 (suspend), 225 (resume) and the sync Alerts 200-210
// per datastore: anchors compared with those saved at the end of the last completed session (a
// mismatch gives 508 and a slow sync), the server's own Alert with its anchors in reply.
import { randomUUID } from 'node:crypto';
import type { AlertCmd } from '../../codec/model.js';
import { unknownDatastoreHint } from '../../accounts/datastore-names.js';
import { AccountRegistry } from '../../accounts/mappings.js';
import { queuedCount } from '../../sync/outgoing-queue.js';
import { emptyStats, type DatastoreSessionState, type OutgoingChange, type SyncMode } from '../../sync/types.js';
import { applyFilter, chooseDeviceFormat, filterFor } from '../device-format.js';
import { deviceRecord, syncFor, updateDevice, type MessageContext } from '../message-context.js';
import { statusItemsWithAnchor } from '../reply.js';
import type { SessionState } from '../session.js';
import { sessionLogId } from '../session-binding.js';
import { resolveSent } from '../sent-changes.js';
import { Status } from '../status.js';

const MODE_BY_ALERT: Record<string, SyncMode> = {
  '200': 'two-way', '201': 'slow', '202': 'one-way-from-client', '203': 'refresh-from-client',
  '204': 'one-way-from-server', '205': 'refresh-from-server',
  '206': 'two-way', '207': 'one-way-from-client', '208': 'refresh-from-client', '209': 'one-way-from-server', '210': 'refresh-from-server',
};

const ALERT_BY_MODE: Record<SyncMode, string> = {
  'two-way': '200', slow: '201', 'one-way-from-client': '202', 'refresh-from-client': '203',
  'one-way-from-server': '204', 'refresh-from-server': '205',
};

/** A two-way-ish request whose anchors do not match falls back to its slow counterpart (508). */
const SLOW_COUNTERPART: Record<SyncMode, SyncMode> = {
  'two-way': 'slow', slow: 'slow', 'one-way-from-client': 'refresh-from-client', 'refresh-from-client': 'refresh-from-client',
  'one-way-from-server': 'refresh-from-server', 'refresh-from-server': 'refresh-from-server',
};

/** Modes the engine carries out so far; others are answered with 406 (not silently mis-synced). */
const SUPPORTED_MODES = new Set<SyncMode>(['two-way', 'slow', 'one-way-from-client', 'refresh-from-client', 'one-way-from-server', 'refresh-from-server']);

type Resumable = { session: SessionState; ds: DatastoreSessionState };

export async function onAlert(ctx: MessageContext, cmd: AlertCmd): Promise<void> {
  const { msg, reply, session, log } = ctx;
  const ref = { msgRef: msg.header.msgId, cmdRef: cmd.cmdId, cmd: 'Alert' };
  const code = cmd.data ?? '';
  if (code === '222') {
    if (!cmd.noResp) reply.status({ ...ref, data: String(Status.OK) });
    return;
  }
  if (code === '224') {
    // Suspend: nothing is committed; the session ends with this message and can be resumed.
    if (!cmd.noResp) reply.status({ ...ref, data: String(Status.OK) });
    session.phase = 'suspended';
    return;
  }
  // Resume (1.2): the datastore continues the device's interrupted session in the mode it had;
  // when there is nothing to continue, 509 and a normal sync (libsynthesis does the same).
  const resume = code === '225' && session.version === '1.2';
  const requested = resume ? 'two-way' : MODE_BY_ALERT[code];
  if (!requested) {
    log.info({ alert: code }, 'alert code not supported; answered 406');
    if (!cmd.noResp) reply.status({ ...ref, data: String(Status.NOT_SUPPORTED) });
    return;
  }
  const item = cmd.items[0];
  const targetUri = item?.target?.locURI ?? '';
  const sourceUri = item?.source?.locURI ?? '';
  const refs = { targetRefs: targetUri ? [targetUri] : [], sourceRefs: sourceUri ? [sourceUri] : [] };
  const dsMap = AccountRegistry.findDatastore(ctx.mapping, targetUri);
  if (!dsMap) {
    // Say which name the phone used and the mapping line that would serve it; `devices list`
    // shows the last few, so an admin need not read logs to find them.
    const rxType = session.deviceInfo?.datastores.find((d) => d.sourceRef === sourceUri)?.rxPref?.type;
    const hint = unknownDatastoreHint(ctx.mapping, targetUri, sourceUri || undefined, rxType);
    log.warn({ uri: targetUri, source: sourceUri, hint: hint.message }, 'phone asked for a datastore that the account mapping does not name');
    const seen = { uri: targetUri, ...(sourceUri ? { source: sourceUri } : {}), at: new Date().toISOString(), hint: hint.message };
    await updateDevice(ctx, ctx.mapping.account, (r) => ({
      ...r, unknownDatastores: [...(r.unknownDatastores ?? []).filter((u) => u.uri !== targetUri), seen].slice(-10),
    }));
    reply.status({ ...ref, ...refs, data: String(Status.NOT_FOUND) });
    return;
  }
  const translator = ctx.translatorFor(dsMap);
  if (!translator) {
    log.warn({ ds: dsMap.name, kind: dsMap.kind }, 'datastore kind not supported yet; answered 406');
    reply.status({ ...ref, ...refs, data: String(Status.NOT_SUPPORTED) });
    return;
  }
  const dsKey = { account: session.account!, deviceId: session.deviceId, datastore: dsMap.name };
  const saved = await ctx.deps.state.getAnchors(dsKey);
  const anchor = item?.meta?.anchor ?? cmd.meta?.anchor ?? {};
  let resumed: Resumable | undefined;
  if (resume) {
    const prior = await resumableDatastore(ctx, dsMap.name);
    // The device's Last must still be the saved one (or absent, as libsynthesis sends it).
    if (prior && (anchor.last === undefined || anchor.last === '' || anchor.last === (saved?.client ?? ''))) resumed = prior;
    else log.info({ ds: dsMap.name, hadSession: !!prior }, 'resume requested but there is no interrupted session to continue: 509 and a normal sync');
  }
  let mode = resumed?.ds.mode ?? requested;
  let status: number = Status.OK;
  const isFull = requested === 'slow' || requested === 'refresh-from-client' || requested === 'refresh-from-server';
  if (resume && !resumed) status = Status.CANNOT_RESUME;
  if (!resumed && !isFull && (!saved || saved.client === '' || saved.client !== (anchor.last ?? ''))) {
    mode = SLOW_COUNTERPART[requested];
    status = Status.REFRESH_REQUIRED;
    log.info({ ds: dsMap.name, requested, storedAnchor: saved?.client ?? null, clientLast: anchor.last ?? null }, 'anchors do not match: slow sync required (508)');
  }
  if (!SUPPORTED_MODES.has(mode)) {
    log.warn({ ds: dsMap.name, mode }, 'sync mode not supported yet; answered 406');
    reply.status({ ...ref, ...refs, data: String(Status.NOT_SUPPORTED) });
    return;
  }
  const deviceFormat = chooseDeviceFormat(dsMap.kind, translator, session.deviceInfo, sourceUri);
  const ds: DatastoreSessionState = resumed
    ? continueDatastore(ctx, resumed)
    : {
      name: dsMap.name, mode, clientUri: sourceUri, serverUri: targetUri, clientNext: '', serverNext: newAnchor(), deviceFormat,
      touched: [], claimed: [], seenLuids: [], outgoing: [], outgoingComputed: false, awaitingMap: {}, tempGuidCounter: 0,
      // Done only on the client's Final of package 3, even when it sends nothing (refresh from
      // the server): a Sync before that is refused by clients (SyncEvolution: 400, then 514).
      clientDone: false, serverDone: false, stats: emptyStats(),
    };
  Object.assign(ds, { clientUri: sourceUri, serverUri: targetUri, clientNext: anchor.next ?? ds.clientNext, deviceFormat });
  applyFilter(ds, filterFor(ctx.deps.deviceProfiles ?? [], dsMap.kind, session.deviceInfo, sourceUri, deviceFormat));
  const token = (await deviceRecord(ctx)).syncTokens?.[dsMap.name];
  if (!resumed && token && status === Status.OK) ds.syncToken = token;
  session.datastores = session.datastores.filter((d) => d.name !== ds.name);
  session.datastores.push(ds);
  if (mode === 'refresh-from-server' && !resumed) await syncFor(ctx, ds).resetMap();
  reply.status({ ...ref, ...refs, data: String(status), items: anchor.next !== undefined ? statusItemsWithAnchor(anchor.next) : [] });
  const alertId = reply.nextCmdId();
  reply.add({
    kind: 'Alert', cmdId: alertId, data: ALERT_BY_MODE[mode],
    items: [{
      target: { locURI: sourceUri }, source: { locURI: targetUri },
      meta: { anchor: saved?.server ? { last: saved.server, next: ds.serverNext } : { next: ds.serverNext } },
    }],
  });
  session.sentAlerts[`${reply.msgId}:${alertId}`] = ds.name;
  log.info({ ds: ds.name, requested, mode, format: ds.deviceFormat, ...(resumed ? { resumedSession: sessionLogId(resumed.session.key) } : {}) }, 'sync alerted');
}

/** The device's interrupted or suspended session and its state for one datastore, if any. */
async function resumableDatastore(ctx: MessageContext, name: string): Promise<Resumable | undefined> {
  const { session } = ctx;
  if (ctx.prior === undefined) {
    const rec = await deviceRecord(ctx);
    const prior = rec.openSession && rec.openSession !== session.key ? await ctx.deps.state.getSession<SessionState>(rec.openSession) : undefined;
    const usable = prior && prior.account === session.account && prior.deviceId === session.deviceId && prior.phase !== 'done';
    ctx.prior = usable ? prior : null;
  }
  const ds = ctx.prior?.datastores.find((d) => d.name === name && !d.failed);
  return ctx.prior && ds ? { session: ctx.prior, ds } : undefined;
}

/**
 * A datastore's state where an interrupted session left it: same mode, what the device already
 * sent stays applied and mapped, and the server sends only what the device has not confirmed.
 */
function continueDatastore(ctx: MessageContext, prior: Resumable): DatastoreSessionState {
  const old = prior.ds;
  // Changes sent but never confirmed go out again (an Add with the same id), before the rest.
  const chunk = prior.session.outChunk?.ds === old.name ? [prior.session.outChunk] : [];
  const sentBefore = Object.values(prior.session.sent).filter((r) => r.ds === old.name).flatMap((r) => resolveSent(prior.session, r) ?? []);
  const unconfirmed: OutgoingChange[] = [...sentBefore, ...chunk]
    .map((s) => ({ op: s.op, href: s.href, ...(s.luid !== undefined ? { luid: s.luid } : {}), ...(s.guid !== undefined ? { guid: s.guid } : {}) }));
  if (prior.session.inChunk?.ds === old.name) ctx.session.inChunk = prior.session.inChunk;
  ctx.log.info({
    ds: old.name, mode: old.mode, resumedSession: sessionLogId(prior.session.key), unconfirmed: unconfirmed.length, queued: queuedCount(old),
    outgoingComputed: old.outgoingComputed, applied: old.stats,
  }, 'interrupted session resumed');
  return { ...old, outgoing: [...unconfirmed, ...old.outgoing], clientDone: false, serverDone: false };
}

/** Name this session in the device record as the one a later Alert 225 continues. */
export async function markResumable(ctx: MessageContext): Promise<void> {
  const { session } = ctx;
  if (!session.account) return;
  await updateDevice(ctx, session.account, (r) => ({ ...r, openSession: session.key }));
  session.resumable = true;
}

function newAnchor(): string {
  return `${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15)}Z-${randomUUID().slice(0, 8)}`;
}
