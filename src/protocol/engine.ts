// The SyncML server protocol engine: one client message in, one reply out. Authentication,
// session binding, the per-device lock and resends are the session runner's (session-runner.ts);
// the engine answers the SyncHdr and packages 1-6 (Alert, Put/Get/Results DevInf, Sync, Status,
// Map, Final) of a bound message and hands item work to the sync engine.
import { randomUUID } from 'node:crypto';
import type {
  AlertCmd, Command, Item, ItemCmd, MapCmd, PutGetCmd, ResultsCmd, StatusCmd, SyncCmd, SyncMLMessage, WireFormat,
} from '../codec/model.js';
import { DEVINF_URIS } from '../codec/model.js';
import { decodeUtf8Lossless, encodeUtf8Lossless, restoreUtf8 } from '../codec/lossless-utf8.js';
import { isElement, type SmlElement } from '../codec/tree.js';
import { unknownDatastoreHint } from '../accounts/datastore-names.js';
import { AccountRegistry, normaliseUri, type AccountMapping, type DatastoreMapping } from '../accounts/mappings.js';
import type { DataStore, DavCredentials, ItemKind, StoredItem } from '../datastores/datastore.js';
import { describeError, isGatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { DeviceKey, DeviceRecord, StateStore } from '../state/state-store.js';
import { DatastoreSync } from '../sync/datastore-sync.js';
import {
  clientSends, emptyStats, serverSends, type DatastoreSessionState, type DeviceFormat, type ItemTranslator, type OutgoingChange, type SentChange, type SyncMode,
} from '../sync/types.js';
import type { CredentialVerifier } from './auth.js';
import { buildServerDevInf, parseDevInf, SERVER_FORMATS, type DeviceInfo } from './devinf.js';
import { ReplyBuilder, statusItemsWithAnchor, type CommandSizer } from './reply.js';
import type { SessionState } from './session.js';
import type { SecretBox } from '../state/secret-box.js';
import type { SessionObserver } from './observer.js';
import { cmdName, MAX_OBJECT_BYTES, notify, replyHeader, SessionRunner, sessionLogId, type BoundMessage, type ProcessedMessage, type RunnerSettings, type RunResult } from './session-runner.js';
import { confirmationForStatus, Status, statusForError } from './status.js';
import { mixedCalendarTranslator } from '../sync/mixed-calendar.js';
import { effectiveFilter, matchDeviceProfile, type DeviceProfile, type FieldFilter } from '../convert/filters/index.js';

export interface EngineDeps {
  accounts: AccountRegistry;
  state: StateStore;
  openDataStore(account: AccountMapping, ds: DatastoreMapping, creds: DavCredentials): DataStore;
  verifyCredentials: CredentialVerifier;
  translators: Partial<Record<ItemKind, ItemTranslator>>;
  log: Logger;
  /** Encoded size of one command in the given wire format (for MaxMsgSize). */
  sizer(wire: WireFormat): CommandSizer;
  /** Encode a reply in the client's wire format (the engine caches the bytes for resends). */
  encode(msg: SyncMLMessage, wire: WireFormat): Uint8Array;
  /** Device profiles (config/devices) that correct or fill in what a device's DevInf says. */
  deviceProfiles?: readonly DeviceProfile[];
  /** Saves a collection's items before a destructive refresh; returns where (for the log). */
  backup?(account: string, datastore: string, collectionUrl: string, items: readonly StoredItem[]): Promise<string>;
  /** Seals passthrough DAV passwords in stored sessions (state/secret-box.ts). */
  secrets?: SecretBox;
  /** Told about sessions (metrics, history, push); a throwing observer is logged and ignored. */
  observer?: SessionObserver;
  settings: RunnerSettings & {
    softwareVersion: string;
    /**
     * Keep-alive: after this long the reply goes out with what is ready and the server's package
     * continues in the next message, so phones with short timeouts do not give up.
     */
    replyDeadlineSeconds?: number;
    /** How long an interrupted or suspended session can be resumed (Alert 225). */
    resumeTtlSeconds?: number;
  };
}

/** What one message gives: the encoded reply and the session it belongs to (session-runner.ts). */
export type EngineResult = RunResult;

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

const DEFAULT_CLIENT_MAX_MSG_SIZE = 100_000;
/** Header, statuses' framing and Final: kept free in every reply. */
const REPLY_OVERHEAD = 600;
const OUTGOING_BATCH = 25;
const DONE_TTL_SECONDS = 300;

interface MessageContext {
  msg: SyncMLMessage;
  session: SessionState;
  reply: ReplyBuilder;
  log: Logger;
  mapping: AccountMapping;
  syncs: Map<string, DatastoreSync>;
  /** The Status answering each datastore's Sync in this message (a refused refresh amends it). */
  syncStatuses: Map<string, StatusCmd>;
  /** When this message must be answered (keep-alive). */
  deadline: number;
  /** The device's interrupted or suspended session, loaded once for Alerts 225 (null: none). */
  prior?: SessionState | null;
  /** The device record, read at most once per message and written once at its end (if changed). */
  device?: { key: DeviceKey; record: DeviceRecord; changed: boolean };
}

export class ProtocolEngine {
  readonly #d: EngineDeps;
  readonly #runner: SessionRunner;
  #mixed?: ItemTranslator;

  constructor(deps: EngineDeps) {
    this.#d = deps;
    this.#runner = new SessionRunner(deps, (b) => this.#process(b));
  }

  /**
   * Handle one decoded client message. `urlKey` is the `sid` (session token) from the RespURI,
   * if any; `requestHash` identifies the raw request so that a resent message gets the same reply.
   */
  handle(msg: SyncMLMessage, wire: WireFormat, urlKey?: string, requestHash?: string, remoteAddress?: string): Promise<EngineResult> {
    return this.#runner.run(msg, wire, {
      ...(urlKey !== undefined ? { sid: urlKey } : {}), ...(requestHash !== undefined ? { requestHash } : {}), ...(remoteAddress !== undefined ? { remoteAddress } : {}),
    });
  }

  /** A big body's SyncHdr alone, checked before the body is decoded: the refusal, or undefined. */
  precheck(header: SyncMLMessage, wire: WireFormat, remoteAddress?: string): Promise<EngineResult | undefined> {
    return this.#runner.precheck(header, wire, remoteAddress);
  }

  /** True when `sid` names a live, authenticated session (HTTP allows it the larger body limit). */
  knowsSession(sid: string | undefined): Promise<boolean> {
    return this.#runner.knowsSession(sid);
  }

  /** The commands of a message the runner has bound to its authenticated session. */
  async #process(b: BoundMessage): Promise<ProcessedMessage> {
    const { msg, session, mapping } = b;
    const hdr = msg.header;
    session.lastClientMsgId = hdr.msgId;
    session.serverMsgId++;
    if (hdr.meta?.maxMsgSize) session.clientMaxMsgSize = hdr.meta.maxMsgSize;
    if (hdr.meta?.maxObjSize) session.clientMaxObjSize = hdr.meta.maxObjSize;

    const budget = (session.clientMaxMsgSize ?? DEFAULT_CLIENT_MAX_MSG_SIZE) - REPLY_OVERHEAD;
    const reply = new ReplyBuilder(String(session.serverMsgId), budget, this.#d.sizer(session.wire));
    const log = b.log;
    const ctx: MessageContext = {
      msg, session, reply, log, mapping, syncs: new Map(), syncStatuses: new Map(),
      deadline: Date.now() + (this.#d.settings.replyDeadlineSeconds ?? 60) * 1000,
    };

    // ---- SyncHdr: 212 when this message authenticated (an MD5 account gets its next nonce)
    const hdrStatus = { msgRef: hdr.msgId, cmdRef: '0', cmd: 'SyncHdr', targetRefs: [hdr.target.locURI], sourceRefs: [hdr.source.locURI] };
    if (b.authenticated) {
      const st = reply.status({ ...hdrStatus, data: String(Status.AUTH_ACCEPTED) });
      if (b.authenticated.chal) st.chal = { meta: b.authenticated.chal };
      const nonce = b.authenticated.nextNonce;
      if (nonce) await this.#updateDevice(ctx, mapping.account, (r) => ({ ...r, nextNonce: nonce }));
    } else {
      reply.status({ ...hdrStatus, data: String(Status.OK) });
    }

    // ---- commands, in order
    for (const cmd of msg.body) await this.#command(ctx, cmd);

    // ---- package transitions and the server's own data
    let completed = false;
    if (session.phase === 'suspended') {
      // Alert 224: the session ends here; what was exchanged stays (map entries), anchors do not
      // move, and a later session can continue it (Alert 225).
      reply.final = true;
      log.info({ datastores: session.datastores.map((d) => d.name) }, 'client suspended the session; it can be resumed');
    } else if (session.phase === 'init') {
      if (msg.final) {
        if (!session.deviceInfo && !session.askedDevInf) this.#askDevInf(ctx);
        session.phase = 'sync';
        reply.final = true;
      }
    } else if (session.phase === 'sync') {
      const sending = session.datastores.some((ds) => ds.clientDone && !ds.serverDone);
      if (msg.final || sending) {
        for (const ds of session.datastores) ds.clientDone = true;
        await this.#sendServerChanges(ctx);
        if (session.datastores.every((ds) => ds.serverDone)) {
          reply.final = true;
          session.phase = 'map';
        }
      }
    } else if (session.phase === 'map' && msg.final) {
      await this.#complete(ctx);
      reply.final = true;
      completed = true;
    }
    if (!reply.final && !reply.hasCommands) {
      // More of the client's package is coming, or ours continues: ask for the next message.
      reply.add({ kind: 'Alert', cmdId: reply.nextCmdId(), data: '222', items: [{ target: { locURI: hdr.source.locURI }, source: { locURI: hdr.target.locURI } }] });
    }

    // A completed session is kept briefly (phase done) so that a resend of its last message
    // still finds the cached reply. One that exchanged data is kept long enough to be resumed,
    // and is named in the device record as its open session (every SyncML version alike).
    if (completed) session.phase = 'done';
    else if (!session.resumable && session.datastores.length > 0) await this.#markResumable(ctx);
    await this.#saveDevice(ctx);
    const resumeTtl = Math.max(this.#d.settings.sessionTtlSeconds, this.#d.settings.resumeTtlSeconds ?? 0);
    const ttlSeconds = completed ? DONE_TTL_SECONDS : session.resumable ? resumeTtl : this.#d.settings.sessionTtlSeconds;
    return { reply: reply.build(replyHeader(hdr, String(session.serverMsgId), this.#d.settings, session.key), msg.version), completed, ttlSeconds };
  }

  /** The device record of `account` (read once per message; `{}` for a device not seen yet). */
  async #device(ctx: MessageContext, account = ctx.session.account!): Promise<DeviceRecord> {
    if (ctx.device?.key.account !== account) {
      const key = { account, deviceId: ctx.session.deviceId };
      ctx.device = { key, record: (await this.#d.state.getDevice(key)) ?? {}, changed: false };
    }
    return ctx.device.record;
  }

  /** Change the device record; written once, when the message has been handled (#saveDevice). */
  async #updateDevice(ctx: MessageContext, account: string, change: (r: DeviceRecord) => DeviceRecord): Promise<void> {
    const record = change(await this.#device(ctx, account));
    ctx.device = { key: ctx.device!.key, record, changed: true };
  }

  async #saveDevice(ctx: MessageContext): Promise<void> {
    if (ctx.device?.changed) await this.#d.state.putDevice(ctx.device.key, ctx.device.record);
  }

  async #command(ctx: MessageContext, cmd: Command): Promise<void> {
    const { msg, reply } = ctx;
    const ref = { msgRef: msg.header.msgId, cmdRef: cmd.cmdId, cmd: cmdName(cmd) };
    switch (cmd.kind) {
      case 'Status': return this.#onStatus(ctx, cmd);
      case 'Alert': return this.#onAlert(ctx, cmd);
      case 'Put': return this.#onPut(ctx, cmd);
      case 'Get': return this.#onGet(ctx, cmd);
      case 'Results': return this.#onResults(ctx, cmd);
      case 'Sync': return this.#onSync(ctx, cmd);
      case 'Map': return this.#onMap(ctx, cmd);
      default:
        // Atomic, Sequence, Exec, Search, Copy, Move outside Sync, and unknown commands.
        ctx.log.info({ command: cmdName(cmd) }, 'command not supported; answered 406');
        if (!cmd.noResp) reply.status({ ...ref, data: String(Status.NOT_SUPPORTED) });
    }
  }

  // ------------------------------------------------------------------ Alert (package 1)

  async #onAlert(ctx: MessageContext, cmd: AlertCmd): Promise<void> {
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
      await this.#updateDevice(ctx, ctx.mapping.account, (r) => ({
        ...r, unknownDatastores: [...(r.unknownDatastores ?? []).filter((u) => u.uri !== targetUri), seen].slice(-10),
      }));
      reply.status({ ...ref, ...refs, data: String(Status.NOT_FOUND) });
      return;
    }
    const translator = this.#translatorFor(dsMap);
    if (!translator) {
      log.warn({ ds: dsMap.name, kind: dsMap.kind }, 'datastore kind not supported yet; answered 406');
      reply.status({ ...ref, ...refs, data: String(Status.NOT_SUPPORTED) });
      return;
    }
    const dsKey = { account: session.account!, deviceId: session.deviceId, datastore: dsMap.name };
    const saved = await this.#d.state.getAnchors(dsKey);
    const anchor = item?.meta?.anchor ?? cmd.meta?.anchor ?? {};
    let resumed: { session: SessionState; ds: DatastoreSessionState } | undefined;
    if (resume) {
      const prior = await this.#resumableDatastore(ctx, dsMap.name);
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
      ? this.#continueDatastore(ctx, resumed)
      : {
        name: dsMap.name, mode, clientUri: sourceUri, serverUri: targetUri, clientNext: '', serverNext: newAnchor(), deviceFormat,
        touched: [], claimed: [], seenLuids: [], outgoing: [], outgoingComputed: false, awaitingMap: {}, tempGuidCounter: 0,
        // Done only on the client's Final of package 3, even when it sends nothing (refresh from
        // the server): a Sync before that is refused by clients (SyncEvolution: 400, then 514).
        clientDone: false, serverDone: false, stats: emptyStats(),
      };
    Object.assign(ds, { clientUri: sourceUri, serverUri: targetUri, clientNext: anchor.next ?? ds.clientNext, deviceFormat });
    const { filter } = this.#filterField(dsMap.kind, session.deviceInfo, sourceUri, deviceFormat);
    if (filter) ds.filter = filter;
    else delete ds.filter;
    const token = (await this.#device(ctx)).syncTokens?.[dsMap.name];
    if (!resumed && token && status === Status.OK) ds.syncToken = token;
    session.datastores = session.datastores.filter((d) => d.name !== ds.name);
    session.datastores.push(ds);
    if (mode === 'refresh-from-server' && !resumed) await this.#sync(ctx, ds).resetMap();
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
  async #resumableDatastore(ctx: MessageContext, name: string): Promise<{ session: SessionState; ds: DatastoreSessionState } | undefined> {
    const { session } = ctx;
    if (ctx.prior === undefined) {
      const rec = await this.#device(ctx);
      const prior = rec.openSession && rec.openSession !== session.key ? await this.#d.state.getSession<SessionState>(rec.openSession) : undefined;
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
  #continueDatastore(ctx: MessageContext, prior: { session: SessionState; ds: DatastoreSessionState }): DatastoreSessionState {
    const old = prior.ds;
    // Changes sent but never confirmed go out again (an Add with the same id), before the rest.
    const chunk = prior.session.outChunk?.ds === old.name ? [prior.session.outChunk] : [];
    const unconfirmed: OutgoingChange[] = [...Object.values(prior.session.sent).filter((s) => s.ds === old.name), ...chunk]
      .map((s) => ({ op: s.op, href: s.href, ...(s.luid !== undefined ? { luid: s.luid } : {}), ...(s.guid !== undefined ? { guid: s.guid } : {}) }));
    if (prior.session.inChunk?.ds === old.name) ctx.session.inChunk = prior.session.inChunk;
    ctx.log.info({
      ds: old.name, mode: old.mode, resumedSession: sessionLogId(prior.session.key), unconfirmed: unconfirmed.length, queued: old.outgoing.length,
      outgoingComputed: old.outgoingComputed, applied: old.stats,
    }, 'interrupted session resumed');
    return { ...old, outgoing: [...unconfirmed, ...old.outgoing], clientDone: false, serverDone: false };
  }

  /** Name this session in the device record as the one a later Alert 225 continues. */
  async #markResumable(ctx: MessageContext): Promise<void> {
    const { session } = ctx;
    if (!session.account) return;
    await this.#updateDevice(ctx, session.account, (r) => ({ ...r, openSession: session.key }));
    session.resumable = true;
  }

  // ------------------------------------------------------------------ DevInf

  async #onPut(ctx: MessageContext, cmd: PutGetCmd): Promise<void> {
    const ref = { msgRef: ctx.msg.header.msgId, cmdRef: cmd.cmdId, cmd: 'Put' };
    const item = cmd.items[0];
    const uri = item?.source?.locURI ?? '';
    if (/devinf1[012]$/i.test(uri) && item && isElement(item.data as SmlElement)) {
      await this.#storeDevInf(ctx, item.data as SmlElement);
      if (!cmd.noResp) ctx.reply.status({ ...ref, sourceRefs: [uri], data: String(Status.OK) });
    } else if (!cmd.noResp) {
      ctx.reply.status({ ...ref, sourceRefs: uri ? [uri] : [], data: String(Status.NOT_SUPPORTED) });
    }
  }

  async #onResults(ctx: MessageContext, cmd: ResultsCmd): Promise<void> {
    const item = cmd.items[0];
    if (item && isElement(item.data as SmlElement) && (item.data as SmlElement).name === 'DevInf') {
      await this.#storeDevInf(ctx, item.data as SmlElement);
    }
    if (!cmd.noResp) ctx.reply.status({ msgRef: ctx.msg.header.msgId, cmdRef: cmd.cmdId, cmd: 'Results', data: String(Status.OK) });
  }

  async #storeDevInf(ctx: MessageContext, devInf: SmlElement): Promise<void> {
    const info: DeviceInfo = parseDevInf(devInf);
    ctx.session.deviceInfo = info;
    await this.#updateDevice(ctx, ctx.session.account!, (r) => ({ ...r, devInf: info }));
    ctx.log.info({ man: info.man, mod: info.mod, datastores: info.datastores.map((d) => d.sourceRef) }, 'device information stored');
    // Formats chosen before the DevInf arrived (Put after Alert) are corrected here.
    for (const ds of ctx.session.datastores) {
      const dsMap = ctx.mapping.datastores.find((d) => d.name === ds.name);
      const tr = dsMap && this.#translatorFor(dsMap);
      if (dsMap && tr) {
        ds.deviceFormat = chooseDeviceFormat(dsMap.kind, tr, info, ds.clientUri);
        const f = this.#filterField(dsMap.kind, info, ds.clientUri, ds.deviceFormat);
        if (f.filter) ds.filter = f.filter;
        else delete ds.filter;
      }
    }
  }

  /** The translator for a mapped datastore; a mixed events+tasks datastore gets both. */
  #translatorFor(dsMap: DatastoreMapping): ItemTranslator | undefined {
    const t = this.#d.translators;
    if (dsMap.tasksCollection !== undefined && dsMap.kind === 'events' && t.events && t.tasks) {
      this.#mixed ??= mixedCalendarTranslator(t.events, t.tasks);
      return this.#mixed;
    }
    return t[dsMap.kind];
  }

  /** The field filter for a device datastore: its CTCap, corrected by a matching device profile. */
  #filterField(kind: ItemKind, info: DeviceInfo | undefined, clientUri: string, format: DeviceFormat): { filter?: FieldFilter } {
    if (kind === 'notes') return {};
    const devDs = info?.datastores.find((d) => normaliseUri(d.sourceRef) === normaliseUri(clientUri));
    const identity = { ...(info?.man ? { man: info.man } : {}), ...(info?.mod ? { mod: info.mod } : {}), ...(info?.fwV ? { fwV: info.fwV } : {}), ...(info?.swV ? { swV: info.swV } : {}) };
    const profile = matchDeviceProfile(this.#d.deviceProfiles ?? [], identity);
    const filter = effectiveFilter(devDs?.filters ?? [], profile, format.type, format.version);
    return filter ? { filter } : {};
  }

  async #onGet(ctx: MessageContext, cmd: PutGetCmd): Promise<void> {
    const { msg, reply, session } = ctx;
    const ref = { msgRef: msg.header.msgId, cmdRef: cmd.cmdId, cmd: 'Get' };
    const uri = cmd.items[0]?.target?.locURI ?? '';
    if (!/devinf1[012]$/i.test(uri)) {
      reply.status({ ...ref, targetRefs: uri ? [uri] : [], data: String(Status.NOT_FOUND) });
      return;
    }
    reply.status({ ...ref, targetRefs: [uri], data: String(Status.OK) });
    const devInf = buildServerDevInf({
      version: session.version, serverId: msg.header.target.locURI, softwareVersion: this.#d.settings.softwareVersion,
      datastores: ctx.mapping.datastores.filter((d) => this.#d.translators[d.kind]),
    });
    reply.add({
      kind: 'Results', cmdId: reply.nextCmdId(), msgRef: msg.header.msgId, cmdRef: cmd.cmdId,
      meta: { type: session.wire.encoding === 'wbxml' ? 'application/vnd.syncml-devinf+wbxml' : 'application/vnd.syncml-devinf+xml' },
      items: [{ source: { locURI: DEVINF_URIS[session.version] }, data: devInf }],
    });
  }

  #askDevInf(ctx: MessageContext): void {
    const { reply, session } = ctx;
    session.askedDevInf = true;
    reply.add({
      kind: 'Get', cmdId: reply.nextCmdId(),
      meta: { type: session.wire.encoding === 'wbxml' ? 'application/vnd.syncml-devinf+wbxml' : 'application/vnd.syncml-devinf+xml' },
      items: [{ target: { locURI: DEVINF_URIS[session.version] } }],
    });
  }

  // ------------------------------------------------------------------ Status from the client

  async #onStatus(ctx: MessageContext, st: StatusCmd): Promise<void> {
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
    // Item statuses: one per item we sent, or one Status naming several items.
    const sentKeys = Object.keys(session.sent).filter((k) => k.startsWith(`${key}:`));
    for (const k of sentKeys) {
      const sent = session.sent[k]!;
      delete session.sent[k];
      const ds = session.datastores.find((d) => d.name === sent.ds);
      if (!ds) continue;
      const outcome = confirmationForStatus(code);
      if (outcome !== 'confirmed' && sent.op !== 'Delete') log.warn({ ds: ds.name, op: sent.op, href: sent.href, status: code }, 'device refused a server change');
      await this.#sync(ctx, ds).confirm(ds, sent, outcome);
    }
    if (st.cmd === 'SyncHdr' && (code === Status.INVALID_CREDENTIALS || code === Status.MISSING_CREDENTIALS)) {
      log.warn({ status: code }, 'client rejected the server header');
    }
  }

  // ------------------------------------------------------------------ Sync (package 3)

  #sync(ctx: MessageContext, ds: DatastoreSessionState): DatastoreSync {
    let s = ctx.syncs.get(ds.name);
    if (!s) {
      const dsMap = ctx.mapping.datastores.find((d) => d.name === ds.name)!;
      const store = this.#d.openDataStore(ctx.mapping, dsMap, ctx.session.dav!);
      const key = { account: ctx.session.account!, deviceId: ctx.session.deviceId, datastore: ds.name };
      s = new DatastoreSync(store, this.#d.state, key, this.#translatorFor(dsMap)!, ctx.log, { conflict: dsMap.conflict ?? 'newer-wins', ...(dsMap.match ? { match: dsMap.match } : {}) });
      ctx.syncs.set(ds.name, s);
    }
    return s;
  }

  async #onSync(ctx: MessageContext, cmd: SyncCmd): Promise<void> {
    const { msg, reply, session, log } = ctx;
    const ref = { msgRef: msg.header.msgId, cmdRef: cmd.cmdId, cmd: 'Sync' };
    const targetUri = cmd.target?.locURI ?? '';
    const sourceUri = cmd.source?.locURI ?? '';
    const refs = { targetRefs: targetUri ? [targetUri] : [], sourceRefs: sourceUri ? [sourceUri] : [] };
    const ds = session.datastores.find((d) => normaliseUri(d.serverUri) === normaliseUri(targetUri));
    if (!ds) {
      log.warn({ uri: targetUri }, 'Sync for a datastore that was not alerted in this session');
      if (!cmd.noResp) reply.status({ ...ref, ...refs, data: String(Status.NOT_FOUND) });
      for (const inner of cmd.commands) if (!('noResp' in inner && inner.noResp)) reply.status({ msgRef: msg.header.msgId, cmdRef: inner.cmdId, cmd: cmdName(inner), data: String(Status.NOT_FOUND) });
      return;
    }
    const sync = this.#sync(ctx, ds);
    let refusedNow = false;
    if (ds.mode === 'refresh-from-client' && !ds.failed && !ds.refreshChecked) {
      ds.refreshChecked = true;
      const refusal = await this.#refreshGuardEarly(ctx, ds, sync, cmd.numberOfChanges);
      if (refusal) {
        ds.failed = true;
        refusedNow = true;
        if (!cmd.noResp) reply.status({ ...ref, ...refs, data: String(Status.FORBIDDEN), items: [{ data: refusal }] });
      }
    }
    if (ds.failed) {
      // Refused (refresh guard): nothing of this datastore is executed.
      if (!refusedNow && !cmd.noResp) reply.status({ ...ref, ...refs, data: String(Status.FORBIDDEN) });
      for (const inner of cmd.commands) if (!('noResp' in inner && inner.noResp)) reply.status({ msgRef: msg.header.msgId, cmdRef: inner.cmdId, cmd: cmdName(inner), data: String(Status.FORBIDDEN) });
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
    if (ds.mode !== 'refresh-from-client') {
      const luids = flat.flatMap((c) => (c.kind === 'Add' || c.kind === 'Replace' ? c.items.map((i) => i.source?.locURI ?? i.target?.locURI ?? '') : []));
      await sync.prefetch(luids.filter(Boolean));
    }
    // Whole Adds/Replaces of distinct items go to the DAV server a few at a time (most of a slow
    // sync is waiting for PUTs); their statuses still go out in the order of the commands.
    // Chunked items, Deletes and refresh-from-client writes run one by one.
    const batch: Array<{ iref: { msgRef: string; cmdRef: string; cmd: string }; cmd: ItemCmd; item: Item; luid: string }> = [];
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      const work = batch.splice(0);
      const codes = await mapBounded(work, APPLY_CONCURRENCY, (w) => this.#applyItem(ctx, ds, sync, w.cmd, w.item));
      work.forEach((w, k) => {
        if (!w.cmd.noResp) reply.status({ ...w.iref, sourceRefs: w.luid ? [w.luid] : [], data: String(codes[k]) });
      });
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
          const code = await this.#applyItem(ctx, ds, sync, inner, item);
          if (!inner.noResp) reply.status({ ...iref, sourceRefs: luid ? [luid] : [], data: String(code) });
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
        const code = await this.#applyItem(ctx, ds, sync, inner, item);
        const luid = item.source?.locURI ?? item.target?.locURI ?? '';
        if (!inner.noResp) reply.status({ ...iref, sourceRefs: luid ? [luid] : [], data: String(code) });
      }
    }
    await flush();
  }

  async #applyItem(ctx: MessageContext, ds: DatastoreSessionState, sync: DatastoreSync, cmd: ItemCmd, item: Item): Promise<number> {
    const { session, log } = ctx;
    const luid = item.source?.locURI ?? item.target?.locURI;
    if (!luid) return Status.BAD_REQUEST;
    const meta = { ...cmd.meta, ...item.meta };
    // Contacts and calendars keep bytes that are not UTF-8 (escaped, see codec/lossless-utf8.ts)
    // for the converter's charset handling; notes are plain text without a charset to go by.
    const keepBytes = ctx.mapping.datastores.find((d) => d.name === ds.name)?.kind !== 'notes';
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
      return this.#failed(ctx, ds, luid, out.result === 'failed' ? out.error : undefined);
    }
    const decoded = meta.format === 'b64' ? Buffer.from(raw, 'base64') : undefined;
    const data = decoded ? (keepBytes ? decodeUtf8Lossless(decoded) : decoded.toString('utf8')) : raw;
    const format: DeviceFormat = meta.type ? { type: meta.type } : ds.deviceFormat;
    if (ds.mode === 'refresh-from-client' && (cmd.kind === 'Add' || cmd.kind === 'Replace')) {
      // Applied once the package is complete and the refresh guard has agreed (202 until then).
      (ds.pendingWrites ??= []).push({ kind: cmd.kind, luid, data, format });
      return Status.ACCEPTED;
    }
    const out = cmd.kind === 'Add' ? await sync.applyAdd(ds, luid, data, format) : await sync.applyReplace(ds, luid, data, format);
    switch (out.result) {
      case 'added': case 'replaced-as-add': return Status.ITEM_ADDED;
      case 'merged': return cmd.kind === 'Add' ? Status.ITEM_ADDED : Status.OK;
      case 'replaced': return Status.OK;
      case 'conflict':
        notify(this.#d.observer, log, 'conflict', {
          account: ctx.mapping.account, deviceId: session.deviceId, datastore: ds.name, luid, guid: out.guid,
          policy: ctx.mapping.datastores.find((d) => d.name === ds.name)?.conflict ?? 'newer-wins', resolution: out.resolution, at: new Date().toISOString(),
        });
        return out.resolution === 'server-won' ? Status.CONFLICT_SERVER_WON
          : out.resolution === 'client-won' ? Status.CONFLICT_CLIENT_WON
            : out.resolution === 'duplicated' ? Status.CONFLICT_DUPLICATED : Status.CONFLICT_MERGED;
      case 'failed': return this.#failed(ctx, ds, luid, out.error);
      default: return Status.COMMAND_FAILED;
    }
  }

  #failed(ctx: MessageContext, ds: DatastoreSessionState, luid: string, err: unknown): number {
    const code = statusForError(err);
    const level = isGatewayError(err, 'INVALID_ITEM') || isGatewayError(err, 'REJECTED_BY_SERVER') ? 'warn' : 'error';
    ctx.log[level]({ ds: ds.name, luid, status: code, err: describeError(err) }, 'item not stored');
    // A down DAV server or state store fails the whole message: nothing more is attempted.
    if (isGatewayError(err, 'BACKEND_UNAVAILABLE') || isGatewayError(err, 'STATE_FAILED')) throw err;
    return code;
  }

  // ------------------------------------------------------------------ server changes (package 4)

  async #sendServerChanges(ctx: MessageContext): Promise<void> {
    const { reply, session, log } = ctx;
    const supportsNoc = session.version !== '1.0';
    const largeObjects = session.version !== '1.0' && session.deviceInfo?.supportLargeObjs === true;
    for (const ds of session.datastores) {
      if (ds.serverDone) continue;
      const sync = this.#sync(ctx, ds);
      if (ds.mode === 'refresh-from-client' && !ds.outgoingComputed) await this.#refreshFromClient(ctx, ds, sync);
      await sync.computeOutgoing(ds);
      const first = !session.syncOpened.includes(ds.name);
      const syncCmd: SyncCmd = {
        kind: 'Sync', cmdId: reply.nextCmdId(), target: { locURI: ds.clientUri }, source: { locURI: ds.serverUri }, commands: [],
      };
      if (first && supportsNoc) syncCmd.numberOfChanges = serverSends(ds.mode) ? ds.outgoing.length : 0;
      if (reply.room < reply.measure(syncCmd) + 200 && !first) return; // no room left: continue next message
      reply.add(syncCmd);
      if (first) session.syncOpened.push(ds.name);
      if (session.outChunk?.ds === ds.name && !this.#emitChunk(ctx, ds, syncCmd)) return;
      while (ds.outgoing.length > 0) {
        const batch = await sync.takeOutgoing(ds, OUTGOING_BATCH);
        let i = 0;
        for (; i < batch.length; i++) {
          const ch = batch[i]!;
          const data = ch.data === undefined ? undefined : wireText(ch.data, session.wire);
          if (data !== undefined && session.clientMaxObjSize && byteLength(data) > session.clientMaxObjSize) {
            log.warn({ ds: ds.name, href: ch.change.href, bytes: byteLength(data), maxObjSize: session.clientMaxObjSize }, 'item larger than the device accepts (MaxObjSize); not sent');
            continue;
          }
          const cmd = this.#changeCommand(ctx, ds, sync, ch.change, data);
          const size = reply.measure(cmd);
          if (size > reply.room) {
            if (syncCmd.commands.length > 0) break; // next message
            if (data !== undefined && largeObjects) {
              // Alone in the message and still too large: send it in chunks (MoreData).
              session.outChunk = {
                ds: ds.name, op: ch.change.op as 'Add' | 'Replace', href: ch.change.href, data, offset: 0, type: ds.deviceFormat.type,
                ...(ch.change.luid !== undefined ? { luid: ch.change.luid } : {}),
                ...(cmd.kind === 'Add' ? { guid: cmd.items[0]!.source!.locURI } : {}),
                ...(ch.etag !== undefined ? { etag: ch.etag } : {}), ...(ch.hash !== undefined ? { hash: ch.hash } : {}),
                ...(ch.fields !== undefined ? { fields: ch.fields } : {}),
              };
              sync.requeue(ds, batch.slice(i + 1).map((c) => c.change));
              this.#emitChunk(ctx, ds, syncCmd);
              return;
            }
            if (reply.room < 0 || data === undefined) break;
            log.warn({ ds: ds.name, href: ch.change.href, bytes: size, room: reply.room }, 'item larger than the device message size and the device has no large-object support; not sent');
            continue;
          }
          syncCmd.commands.push(cmd);
          reply.grow(size);
          this.#recordSent(ctx, ds, reply.msgId, cmd, {
            op: ch.change.op, href: ch.change.href,
            ...(ch.change.luid !== undefined ? { luid: ch.change.luid } : {}),
            ...(ch.etag !== undefined ? { etag: ch.etag } : {}), ...(ch.hash !== undefined ? { hash: ch.hash } : {}),
            ...(ch.fields !== undefined ? { fields: ch.fields } : {}),
          });
        }
        if (i < batch.length) {
          sync.requeue(ds, batch.slice(i).map((c) => c.change));
          return; // message full
        }
        if (Date.now() > ctx.deadline && ds.outgoing.length > 0) {
          log.info({ ds: ds.name, left: ds.outgoing.length }, 'reply deadline reached: the rest follows in the next message');
          return;
        }
      }
      ds.serverDone = true;
    }
  }

  /**
   * Refresh from client, before anything is written: the client announces how many items it
   * sends (NumberOfChanges); every server item beyond that number would be deleted. Returns the
   * refusal reason when that exceeds the guard.
   */
  async #refreshGuardEarly(ctx: MessageContext, ds: DatastoreSessionState, sync: DatastoreSync, announced: number | undefined): Promise<string | undefined> {
    if (announced === undefined) return undefined; // checked at the end of the package instead
    const dsMap = ctx.mapping.datastores.find((d) => d.name === ds.name)!;
    const total = await sync.serverCount();
    const atLeast = Math.max(0, total - announced);
    if (total === 0 || atLeast / total <= dsMap.refreshGuard.maxShare || dsMap.refreshGuard.allow) return undefined;
    const reason = `refresh from the phone would delete at least ${atLeast} of ${total} items on the server (more than ${Math.round(dsMap.refreshGuard.maxShare * 100)} %); refused by the refresh guard`;
    ctx.log.error({ ds: ds.name, announced, serverItems: total }, `${reason}: nothing written, anchors kept (set refreshGuard.allow in the mapping to permit it)`);
    this.#refreshRefused(ctx, ds.name, atLeast, total);
    return reason;
  }

  #refreshRefused(ctx: MessageContext, datastore: string, deleted: number, serverItems: number): void {
    notify(this.#d.observer, ctx.log, 'refreshRefused', {
      account: ctx.mapping.account, deviceId: ctx.session.deviceId, datastore, deleted, serverItems, at: new Date().toISOString(),
    });
  }

  /**
   * Refresh from client: the server must end up with exactly the device's items. Deleting more
   * than the guard's share needs the account's permission; what is deleted is backed up first.
   */
  async #refreshFromClient(ctx: MessageContext, ds: DatastoreSessionState, sync: DatastoreSync): Promise<void> {
    const { log, session } = ctx;
    if (ds.failed) return;
    const dsMap = ctx.mapping.datastores.find((d) => d.name === ds.name)!;
    const plan = await sync.planRefreshDeletions(ds);
    const share = plan.total === 0 ? 0 : plan.deletions / plan.total;
    if (share > dsMap.refreshGuard.maxShare && !dsMap.refreshGuard.allow) {
      ds.failed = true;
      delete ds.pendingWrites;
      const reason = `refresh from the phone would delete ${plan.deletions} of ${plan.total} items on the server (more than ${Math.round(dsMap.refreshGuard.maxShare * 100)} %); refused by the refresh guard`;
      log.error({ ds: ds.name, deletions: plan.deletions, serverItems: plan.total }, `${reason}: nothing written, anchors kept (set refreshGuard.allow in the mapping to permit it)`);
      this.#refreshRefused(ctx, ds.name, plan.deletions, plan.total);
      const st = ctx.syncStatuses.get(ds.name);
      if (st) {
        st.data = String(Status.FORBIDDEN);
        st.items = [{ data: reason }];
      } else {
        // The Sync was answered in an earlier message: refuse the server's Sync instead.
        ctx.reply.add({ kind: 'Alert', cmdId: ctx.reply.nextCmdId(), data: '100', items: [{ data: reason }] });
      }
      return;
    }
    if (this.#d.backup && plan.deletions > 0) {
      const where = await this.#d.backup(session.account!, ds.name, dsMap.collection, await sync.snapshot());
      log.info({ ds: ds.name, backup: where }, 'collection backed up before refresh from client');
    }
    let failed = 0;
    for (const w of ds.pendingWrites ?? []) {
      const out = w.kind === 'Add' ? await sync.applyAdd(ds, w.luid, w.data, w.format) : await sync.applyReplace(ds, w.luid, w.data, w.format);
      if (out.result === 'failed') {
        failed++;
        this.#failed(ctx, ds, w.luid, out.error);
      }
    }
    delete ds.pendingWrites;
    if (failed > 0) {
      // Some items did not make it: deleting now could lose data; the next session starts over.
      ds.failed = true;
      log.error({ ds: ds.name, failed }, 'refresh from client: some items could not be stored; nothing deleted, anchors kept');
      return;
    }
    const { items, total } = await sync.refreshDeletions(ds);
    if (items.length === 0) return;
    await sync.deleteServerItems(ds, items);
    log.warn({ ds: ds.name, deleted: items.length, serverItems: total }, 'refresh from client: server items the phone does not have were deleted');
  }

  #recordSent(ctx: MessageContext, ds: DatastoreSessionState, msgId: string, cmd: ItemCmd, change: SentChange): void {
    const sent: SentChange & { ds: string } = { ...change, ds: ds.name, ...(cmd.kind === 'Add' ? { guid: cmd.items[0]!.source!.locURI } : {}) };
    ctx.session.sent[`${msgId}:${cmd.cmdId}:0`] = sent;
    if (cmd.kind === 'Add') ds.awaitingMap[sent.guid!] = sent;
  }

  /** Put the next chunk of a large item into the Sync; true when the item is complete. */
  #emitChunk(ctx: MessageContext, ds: DatastoreSessionState, syncCmd: SyncCmd): boolean {
    const { reply, session } = ctx;
    const ch = session.outChunk!;
    const total = byteLength(ch.data);
    const room = Math.max(256, reply.room - 400);
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
    this.#recordSent(ctx, ds, reply.msgId, cmd, {
      op: ch.op, href: ch.href, ...(ch.luid !== undefined ? { luid: ch.luid } : {}),
      ...(ch.etag !== undefined ? { etag: ch.etag } : {}), ...(ch.hash !== undefined ? { hash: ch.hash } : {}),
      ...(ch.fields !== undefined ? { fields: ch.fields } : {}),
    });
    return true;
  }

  #changeCommand(ctx: MessageContext, ds: DatastoreSessionState, sync: DatastoreSync, change: OutgoingChange, data: string | undefined): ItemCmd {
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

  // ------------------------------------------------------------------ Map (package 5) and completion

  async #onMap(ctx: MessageContext, cmd: MapCmd): Promise<void> {
    const { msg, reply, session, log } = ctx;
    const ref = { msgRef: msg.header.msgId, cmdRef: cmd.cmdId, cmd: 'Map', targetRefs: [cmd.target.locURI], sourceRefs: [cmd.source.locURI] };
    const ds = session.datastores.find((d) => normaliseUri(d.serverUri) === normaliseUri(cmd.target.locURI));
    if (!ds) {
      if (!cmd.noResp) reply.status({ ...ref, data: String(Status.NOT_FOUND) });
      return;
    }
    const sync = this.#sync(ctx, ds);
    let unknown = 0;
    for (const mi of cmd.mapItems) if (!(await sync.applyMap(ds, mi.target.locURI, mi.source.locURI))) unknown++;
    if (unknown) log.warn({ ds: ds.name, unknown }, 'Map named items the server did not send in this session');
    if (!cmd.noResp) reply.status({ ...ref, data: String(Status.OK) });
  }

  async #complete(ctx: MessageContext): Promise<void> {
    const { session, log } = ctx;
    for (const ds of session.datastores) {
      const key = { account: session.account!, deviceId: session.deviceId, datastore: ds.name };
      if (ds.failed) {
        log.warn({ ds: ds.name, mode: ds.mode, ...ds.stats }, 'datastore not completed; anchors kept so the next session starts over');
        continue;
      }
      const pendingMaps = Object.keys(ds.awaitingMap).length;
      if (pendingMaps) log.warn({ ds: ds.name, pendingMaps }, 'session ended without a Map for some server items; they will be sent again');
      await this.#d.state.commitAnchors(key, { client: ds.clientNext, server: ds.serverNext });
      log.info({ ds: ds.name, mode: ds.mode, ...ds.stats }, 'datastore synchronised');
    }
    await this.#updateDevice(ctx, session.account!, (prev) => {
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
    notify(this.#d.observer, log, 'sessionCompleted', {
      account: session.account!, deviceId: session.deviceId, sessionKey: session.key, seconds, at: new Date().toISOString(),
      datastores: session.datastores.map((ds) => ({
        datastore: ds.name, kind: ctx.mapping.datastores.find((d) => d.name === ds.name)?.kind ?? 'unknown', mode: ds.mode, stats: ds.stats, failed: !!ds.failed,
      })),
    });
  }
}


const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8');

function byteLength(s: string): number {
  return utf8.encode(s).length;
}

/** DAV writes in flight per Sync command (the server's own limit may be lower: datastores/limit.ts). */
const APPLY_CONCURRENCY = 4;

/**
 * `fn` over `items` with at most `limit` running at once, results in input order. Waits for every
 * call to settle before rethrowing the first failure, so nothing is left running behind an error.
 */
async function mapBounded<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
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

/**
 * Declared Size vs received data: libsynthesis counts bytes as transported; XML parsing turns
 * CRLF into LF, so a size that counts the CRs is accepted too.
 */
function sizeMatches(bytes: Uint8Array, text: string, declared: number): boolean {
  let lfs = 0;
  for (const b of bytes) if (b === 0x0a) lfs++;
  return declared === bytes.length || declared === bytes.length + lfs || declared === text.length;
}

/** XML parsers hand phones LF line ends anyway (XML 1.0 §2.11); sending LF keeps Size exact. */
function wireText(data: string, wire: WireFormat): string {
  return wire.encoding === 'xml' ? data.replace(/\r\n/g, '\n') : data;
}

/** Up to `maxBytes` UTF-8 bytes of `s` starting at byte `offset`, never splitting a character. */
function utf8Slice(s: string, offset: number, maxBytes: number): { text: string; bytes: number } {
  const all = utf8.encode(s);
  let end = Math.min(all.length, offset + maxBytes);
  while (end < all.length && end > offset && (all[end]! & 0xc0) === 0x80) end--;
  return { text: new TextDecoder().decode(all.subarray(offset, end)), bytes: end - offset };
}


function newAnchor(): string {
  return `${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15)}Z-${randomUUID().slice(0, 8)}`;
}

function chooseDeviceFormat(kind: ItemKind, tr: ItemTranslator, info: DeviceInfo | undefined, clientUri: string): DeviceFormat {
  const accepts = (f: DeviceFormat | undefined): f is DeviceFormat => !!f && tr.deviceFormats.some((t) => t.type.toLowerCase() === f.type.toLowerCase());
  const devDs = info?.datastores.find((d) => normaliseUri(d.sourceRef) === normaliseUri(clientUri));
  if (devDs) {
    if (accepts(devDs.rxPref)) return devDs.rxPref;
    const rx = devDs.rx.find(accepts);
    if (rx) return rx;
  }
  return SERVER_FORMATS[kind]!.pref;
}
