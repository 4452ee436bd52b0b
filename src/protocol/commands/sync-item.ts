// One item of a client Sync (Add/Replace/Delete) applied through the sync layer, and its status:
// large objects (MoreData chunks assembled by bytes, Size checked), refresh-from-client items held
// back by the refresh guard (202), conflicts reported to the observer, failures mapped by status.ts.
import type { Item, ItemCmd } from '../../codec/model.js';
import { decodeUtf8Lossless, encodeUtf8Lossless, restoreUtf8 } from '../../codec/lossless-utf8.js';
import { describeError, isGatewayError } from '../../errors.js';
import type { DatastoreSync } from '../../sync/datastore-sync.js';
import { holdRefreshWrite } from '../../sync/refresh-guard.js';
import type { DatastoreSessionState, DeviceFormat } from '../../sync/types.js';
import { datastoreMapping, type MessageContext } from '../message-context.js';
import { MAX_OBJECT_BYTES } from '../limits.js';
import { notify } from '../observer.js';
import { Status, statusForError } from '../status.js';
import { byteLength } from '../utf8.js';

const utf8Decoder = new TextDecoder('utf-8');

export async function applyItem(ctx: MessageContext, ds: DatastoreSessionState, sync: DatastoreSync, cmd: ItemCmd, item: Item): Promise<number> {
  const { session, log } = ctx;
  const luid = item.source?.locURI ?? item.target?.locURI;
  if (!luid) return Status.BAD_REQUEST;
  const meta = { ...cmd.meta, ...item.meta };
  // Contacts and calendars keep bytes that are not UTF-8 (escaped, see codec/lossless-utf8.ts)
  // for the converter's charset handling; notes are plain text without a charset to go by.
  const keepBytes = datastoreMapping(ctx, ds.name)?.kind !== 'notes';
  let raw = typeof item.data === 'string' ? item.data : '';

  // Large objects (SyncML 1.1+): chunks with MoreData are buffered in the session until the last.
  const pending = session.inChunk;
  const continues = pending && pending.ds === ds.name && pending.luid === luid && pending.kind === cmd.kind;
  if (pending && !continues) {
    log.warn({ ds: ds.name, luid: pending.luid }, 'chunked item interrupted by another item; partial data dropped (Alert 223)');
    ctx.reply.add({ kind: 'Alert', cmdId: ctx.reply.nextCmdId(), data: '223', items: [{ target: { locURI: pending.luid }, source: { locURI: ds.serverUri } }] });
    delete session.inChunk;
  }
  if (item.moreData) {
    if (cmd.kind !== 'Add' && cmd.kind !== 'Replace') return Status.BAD_REQUEST;
    const chunk = continues
      ? { ...pending, data: pending.data + raw }
      : { ds: ds.name, kind: cmd.kind, luid, data: raw, ...(meta.size !== undefined ? { size: meta.size } : {}) };
    session.inChunk = chunk;
    if (byteLength(chunk.data) > MAX_OBJECT_BYTES) {
      delete session.inChunk;
      return Status.TOO_LARGE;
    }
    return Status.CHUNK_ACCEPTED;
  }
  if (continues) {
    // Chunks are cut by bytes: join them as bytes, check Size, then read the characters.
    const bytes = encodeUtf8Lossless(pending.data + raw);
    delete session.inChunk;
    // Bytes that are not UTF-8 stay escaped: the converter decodes them with the charset the
    // item (or the device profile) declares (issue 13, Shift_JIS cards).
    raw = keepBytes ? decodeUtf8Lossless(bytes) : utf8Decoder.decode(bytes);
    if (pending.size !== undefined && !sizeMatches(bytes, raw, pending.size)) {
      log.warn({ ds: ds.name, luid, declared: pending.size, received: bytes.length }, 'chunked item size mismatch (424)');
      return Status.SIZE_MISMATCH;
    }
  } else if (!keepBytes) {
    raw = restoreUtf8(raw);
  }

  if (cmd.kind === 'Delete') {
    const out = await sync.applyDelete(ds, luid);
    if (out.result === 'deleted') return Status.OK;
    if (out.result === 'not-found') return Status.ITEM_NOT_DELETED;
    return itemFailed(ctx, ds, luid, out.result === 'failed' ? out.error : undefined);
  }
  const decoded = meta.format === 'b64' ? Buffer.from(raw, 'base64') : undefined;
  const data = decoded ? (keepBytes ? decodeUtf8Lossless(decoded) : decoded.toString('utf8')) : raw;
  const format: DeviceFormat = meta.type ? { type: meta.type } : ds.deviceFormat;
  // Refresh from client: applied once the package is complete and the refresh guard has agreed.
  if ((cmd.kind === 'Add' || cmd.kind === 'Replace') && holdRefreshWrite(ds, { kind: cmd.kind, luid, data, format })) return Status.ACCEPTED;
  const out = cmd.kind === 'Add' ? await sync.applyAdd(ds, luid, data, format) : await sync.applyReplace(ds, luid, data, format);
  switch (out.result) {
    case 'added': case 'replaced-as-add': return Status.ITEM_ADDED;
    case 'merged': return cmd.kind === 'Add' ? Status.ITEM_ADDED : Status.OK;
    case 'replaced': return Status.OK;
    case 'conflict':
      notify(ctx.deps.observer, log, 'conflict', {
        account: ctx.mapping.account, deviceId: session.deviceId, datastore: ds.name, luid, guid: out.guid,
        policy: datastoreMapping(ctx, ds.name)?.conflict ?? 'newer-wins', resolution: out.resolution, at: new Date().toISOString(),
      });
      return out.resolution === 'server-won' ? Status.CONFLICT_SERVER_WON
        : out.resolution === 'client-won' ? Status.CONFLICT_CLIENT_WON
          : out.resolution === 'duplicated' ? Status.CONFLICT_DUPLICATED : Status.CONFLICT_MERGED;
    case 'failed': return itemFailed(ctx, ds, luid, out.error);
    default: return Status.COMMAND_FAILED;
  }
}

/** The status for an item that was not stored; a down DAV server or state store fails the message. */
export function itemFailed(ctx: MessageContext, ds: DatastoreSessionState, luid: string, err: unknown): number {
  const code = statusForError(err);
  const level = isGatewayError(err, 'INVALID_ITEM') || isGatewayError(err, 'REJECTED_BY_SERVER') ? 'warn' : 'error';
  ctx.log[level]({ ds: ds.name, luid, status: code, err: describeError(err) }, 'item not stored');
  // The session's stored sets are gone (sync/session-sets.ts): pairing and echo suppression
  // cannot be trusted, so this datastore does not complete; its next session starts it again.
  if (isGatewayError(err, 'STATE_EXPIRED')) ds.failed = true;
  // A down DAV server or state store fails the whole message: nothing more is attempted.
  if (isGatewayError(err, 'BACKEND_UNAVAILABLE') || isGatewayError(err, 'STATE_FAILED')) throw err;
  return code;
}

/**
 * Declared Size vs received data: libsynthesis counts bytes as transported; XML parsing turns
 * CRLF into LF, so a size that counts the CRs is accepted too.
 */
export function sizeMatches(bytes: Uint8Array, text: string, declared: number): boolean {
  let lfs = 0;
  for (const b of bytes) if (b === 0x0a) lfs++;
  return declared === bytes.length || declared === bytes.length + lfs || declared === text.length;
}
