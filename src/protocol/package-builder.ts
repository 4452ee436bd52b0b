// The server's package 4: each datastore's changes packed into as many messages as the client's
// MaxMsgSize requires. What does not fit waits for the next message (the queue is the session's,
// a long one paged out of it: sync/outgoing-queue.ts; a page gone when needed fails the
// datastore, 508); an item too large for any message goes out in chunks (MoreData, Size in the
// first) when the device supports large objects; the keep-alive deadline ends a message early.
// Every change sent is recorded so that the client's Status (and Map, for Adds) can confirm it.
import type { Item, ItemCmd, SyncCmd, WireFormat } from '../codec/model.js';
import { normaliseUri } from '../accounts/mappings.js';
import type { DatastoreSync, MaterialisedChange } from '../sync/datastore-sync.js';
import { serverSends, type DatastoreSessionState, type OutgoingChange, type SentChange } from '../sync/types.js';
import { isGatewayError } from '../errors.js';
import { queuedCount } from '../sync/outgoing-queue.js';
import { datastoreFailed, finishRefreshFromClient } from './commands/sync.js';
import { syncFor, type MessageContext } from './message-context.js';
import { recordSentChange, sentKey } from './sent-changes.js';
import { byteLength, utf8Slice } from './utf8.js';

/** Changes materialised (fetched and converted) at a time, at most. */
const OUTGOING_BATCH = 25;
/** Left free in a message beside a chunk (its command, item and meta framing). */
const CHUNK_FRAMING = 400;
/** Smallest chunk ever sent, even into a nearly full message. */
const MIN_CHUNK = 256;
/** A Sync continued in a later message needs at least this much room beside its own framing. */
const SYNC_MIN_ROOM = 200;

/**
 * Add as much of the server's changes as fits into this reply. A datastore whose changes have all
 * gone out gets `serverDone`; the caller sends Final once every datastore is done.
 */
export async function sendServerChanges(ctx: MessageContext): Promise<void> {
  const { reply, session, log } = ctx;
  const supportsNoc = session.version !== '1.0';
  const largeObjects = session.version !== '1.0' && session.deviceInfo?.supportLargeObjs === true;
  for (const ds of session.datastores) {
    if (ds.serverDone) continue;
    const sync = syncFor(ctx, ds);
    if (ds.mode === 'refresh-from-client' && !ds.outgoingComputed) await finishRefreshFromClient(ctx, ds, sync);
    await sync.computeOutgoing(ds);
    const first = !session.syncOpened.includes(ds.name);
    const syncCmd: SyncCmd = {
      kind: 'Sync', cmdId: reply.nextCmdId(), target: { locURI: ds.clientUri }, source: { locURI: ds.serverUri }, commands: [],
    };
    if (first && supportsNoc) syncCmd.numberOfChanges = serverSends(ds.mode) ? queuedCount(ds) : 0;
    if (reply.room < reply.measure(syncCmd) + SYNC_MIN_ROOM && !first) return; // no room left: continue next message
    reply.add(syncCmd);
    if (first) session.syncOpened.push(ds.name);
    if (session.outChunk?.ds === ds.name && !emitChunk(ctx, ds, syncCmd)) return;
    while (queuedCount(ds) > 0) {
      let batch: MaterialisedChange[];
      try {
        batch = await sync.takeOutgoing(ds, batchFor(ds, reply.room));
      } catch (err) {
        if (!isGatewayError(err, 'STATE_EXPIRED')) throw err;
        datastoreFailed(ctx, ds, err); // what was sent stays sent; the datastore is done for this session
        break;
      }
      let i = 0;
      let measured = 0;
      let measuredBytes = 0;
      for (; i < batch.length; i++) {
        const ch = batch[i]!;
        const data = ch.data === undefined ? undefined : wireText(ch.data, session.wire);
        if (data !== undefined && session.clientMaxObjSize && byteLength(data) > session.clientMaxObjSize) {
          log.warn({ ds: ds.name, href: ch.change.href, bytes: byteLength(data), maxObjSize: session.clientMaxObjSize }, 'item larger than the device accepts (MaxObjSize); not sent');
          continue;
        }
        const cmd = changeCommand(ctx, ds, sync, ch.change, data);
        const size = reply.measure(cmd);
        measured++;
        measuredBytes += size;
        const sent: SentChange = {
          op: ch.change.op, href: ch.change.href,
          ...(ch.change.luid !== undefined ? { luid: ch.change.luid } : {}),
          ...(ch.etag !== undefined ? { etag: ch.etag } : {}), ...(ch.hash !== undefined ? { hash: ch.hash } : {}),
          ...(ch.fields !== undefined ? { fields: ch.fields } : {}),
        };
        if (size > reply.room) {
          if (syncCmd.commands.length > 0) break; // next message
          if (data !== undefined && largeObjects) {
            // Alone in the message and still too large: send it in chunks (MoreData).
            session.outChunk = {
              ...sent, ds: ds.name, op: ch.change.op as 'Add' | 'Replace', data, offset: 0, type: ds.deviceFormat.type,
              ...(cmd.kind === 'Add' ? { guid: cmd.items[0]!.source!.locURI } : {}),
            };
            sync.requeue(ds, batch.slice(i + 1).map((c) => c.change));
            emitChunk(ctx, ds, syncCmd);
            return;
          }
          if (reply.room < 0 || data === undefined) break;
          log.warn({ ds: ds.name, href: ch.change.href, bytes: size, room: reply.room }, 'item larger than the device message size and the device has no large-object support; not sent');
          continue;
        }
        syncCmd.commands.push(cmd);
        reply.grow(size);
        recordSent(ctx, ds, reply.msgId, cmd, sent);
      }
      if (measured > 0) {
        const mean = measuredBytes / measured;
        ds.outgoingItemBytes = Math.ceil(ds.outgoingItemBytes === undefined ? mean : (ds.outgoingItemBytes + mean) / 2);
      }
      if (i < batch.length) {
        sync.requeue(ds, batch.slice(i).map((c) => c.change));
        return; // message full
      }
      if (Date.now() > ctx.deadline && queuedCount(ds) > 0) {
        log.info({ ds: ds.name, left: queuedCount(ds) }, 'reply deadline reached: the rest follows in the next message');
        return;
      }
    }
    ds.serverDone = true;
  }
}

/**
 * How many changes to fetch and convert for `room` bytes: a whole batch until the session knows
 * its items' size, then about what fits. Changes that do not fit go back to the queue and are
 * fetched and converted again for the next message: with 30 KB photo contacts, 3 of a batch of 25
 * fitted, and each item was materialised ~7 times.
 */
function batchFor(ds: DatastoreSessionState, room: number): number {
  const per = ds.outgoingItemBytes;
  if (per === undefined || per <= 0) return OUTGOING_BATCH;
  return Math.max(1, Math.min(OUTGOING_BATCH, Math.floor(room / per)));
}

/** Put the next chunk of a large item into the Sync; true when the item is complete. */
function emitChunk(ctx: MessageContext, ds: DatastoreSessionState, syncCmd: SyncCmd): boolean {
  const { reply, session } = ctx;
  const ch = session.outChunk!;
  const total = byteLength(ch.data);
  const room = Math.max(MIN_CHUNK, reply.room - CHUNK_FRAMING);
  const piece = utf8Slice(ch.data, ch.offset, room);
  const last = ch.offset + piece.bytes >= total;
  const cmdId = reply.nextCmdId();
  const item: Item = ch.op === 'Add' ? { source: { locURI: ch.guid! } } : { target: { locURI: ch.luid! } };
  item.data = piece.text;
  if (ch.offset === 0) item.meta = { size: total };
  if (!last) item.moreData = true;
  const cmd: ItemCmd = { kind: ch.op, cmdId, meta: { type: ch.type }, items: [item] };
  syncCmd.commands.push(cmd);
  reply.grow(reply.measure(cmd));
  ch.offset += piece.bytes;
  if (!last) return false;
  delete session.outChunk;
  recordSent(ctx, ds, reply.msgId, cmd, {
    op: ch.op, href: ch.href, ...(ch.luid !== undefined ? { luid: ch.luid } : {}),
    ...(ch.etag !== undefined ? { etag: ch.etag } : {}), ...(ch.hash !== undefined ? { hash: ch.hash } : {}),
    ...(ch.fields !== undefined ? { fields: ch.fields } : {}),
  });
  return true;
}

/** A sent change, keyed by where it went, for the client's Status; an Add also waits for a Map. */
function recordSent(ctx: MessageContext, ds: DatastoreSessionState, msgId: string, cmd: ItemCmd, change: SentChange): void {
  recordSentChange(ctx.session, ds, sentKey(msgId, cmd.cmdId), change, cmd.kind === 'Add' ? cmd.items[0]!.source!.locURI : undefined);
}

function changeCommand(ctx: MessageContext, ds: DatastoreSessionState, sync: DatastoreSync, change: OutgoingChange, data: string | undefined): ItemCmd {
  const { op, href, luid } = change;
  const cmdId = ctx.reply.nextCmdId();
  const meta = { type: ds.deviceFormat.type };
  if (op === 'Add') {
    const devDs = ctx.session.deviceInfo?.datastores.find((d) => normaliseUri(d.sourceRef) === normaliseUri(ds.clientUri));
    const guid = change.guid ?? sync.guidFor(ds, href, devDs?.maxGuidSize);
    return { kind: 'Add', cmdId, meta, items: [{ source: { locURI: guid }, data: data ?? '' }] };
  }
  if (op === 'Replace') return { kind: 'Replace', cmdId, meta, items: [{ target: { locURI: luid! }, data: data ?? '' }] };
  return { kind: 'Delete', cmdId, items: [{ target: { locURI: luid! } }] };
}

/** XML parsers hand phones LF line ends anyway (XML 1.0 §2.11); sending LF keeps Size exact. */
export function wireText(data: string, wire: WireFormat): string {
  return wire.encoding === 'xml' ? data.replace(/\r\n/g, '\n') : data;
}
