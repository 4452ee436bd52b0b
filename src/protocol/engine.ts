// The SyncML server protocol engine: one client message in, one reply out. Authentication,
// session binding, the per-device lock and resends are the session runner's (session-runner.ts);
// the engine only wires the rooms for a bound message: the SyncHdr status, the commands through
// the dispatch table (dispatch.ts, commands/*), the package state machine (packages.ts, which
// sends the server's changes through package-builder.ts and completes through completion.ts),
// and the reply (reply.ts).
import type { SyncMLMessage, WireFormat } from '../codec/model.js';
import type { DatastoreMapping } from '../accounts/mappings.js';
import type { ItemTranslator } from '../sync/types.js';
import { mixedCalendarTranslator } from '../sync/mixed-calendar.js';
import { markResumable } from './commands/alert.js';
import { runCommands } from './dispatch.js';
import { saveDevice, updateDevice, type EngineDeps, type MessageContext } from './message-context.js';
import { advancePackages } from './packages.js';
import { ReplyBuilder, replyHeader } from './reply.js';
import { SessionRunner, type BoundMessage, type ProcessedMessage, type RunOptions, type RunResult, type SessionPeek } from './session-runner.js';
import { Status } from './status.js';

export type { EngineDeps } from './message-context.js';

/** What one message gives: the encoded reply and the session it belongs to (session-runner.ts). */
export type EngineResult = RunResult;

const DEFAULT_CLIENT_MAX_MSG_SIZE = 100_000;
/** Header, statuses' framing and Final: kept free in every reply. */
const REPLY_OVERHEAD = 600;
const DONE_TTL_SECONDS = 300;

export class ProtocolEngine {
  readonly #d: EngineDeps;
  readonly #runner: SessionRunner;
  #mixed?: ItemTranslator;

  constructor(deps: EngineDeps) {
    this.#d = deps;
    this.#runner = new SessionRunner(deps, (b) => this.#process(b));
  }

  /**
   * Handle one decoded client message. `o.sid` is the session token from the RespURI, if any;
   * `o.requestHash` identifies the raw request so that a resent message gets the same reply.
   */
  handle(msg: SyncMLMessage, wire: WireFormat, o: RunOptions = {}): Promise<EngineResult> {
    return this.#runner.run(msg, wire, o);
  }

  /** A big body's SyncHdr alone, checked before the body is decoded: the refusal, or undefined. */
  precheck(header: SyncMLMessage, wire: WireFormat, remoteAddress?: string): Promise<EngineResult | undefined> {
    return this.#runner.precheck(header, wire, remoteAddress);
  }

  /** The session `sid` names (a live, authenticated one is allowed the larger body limit); pass it to `handle`. */
  peekSession(sid: string | undefined): Promise<SessionPeek | undefined> {
    return this.#runner.peekSession(sid);
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
    const ctx: MessageContext = {
      deps: this.#d, translatorFor: (dsMap) => this.#translatorFor(dsMap),
      msg, session, reply, log: b.log, mapping, syncs: new Map(), syncStatuses: new Map(),
      deadline: Date.now() + (this.#d.settings.replyDeadlineSeconds ?? 60) * 1000,
    };

    // ---- SyncHdr: 212 when this message authenticated (an MD5 account gets its next nonce)
    const hdrStatus = { msgRef: hdr.msgId, cmdRef: '0', cmd: 'SyncHdr', targetRefs: [hdr.target.locURI], sourceRefs: [hdr.source.locURI] };
    if (b.authenticated) {
      const st = reply.status({ ...hdrStatus, data: String(Status.AUTH_ACCEPTED) });
      if (b.authenticated.chal) st.chal = { meta: b.authenticated.chal };
      const nonce = b.authenticated.nextNonce;
      if (nonce) await updateDevice(ctx, mapping.account, (r) => ({ ...r, nextNonce: nonce }));
    } else {
      reply.status({ ...hdrStatus, data: String(Status.OK) });
    }

    await runCommands(ctx, msg.body);
    const completed = await advancePackages(ctx);

    // A completed session is kept briefly (phase done) so that a resend of its last message
    // still finds the cached reply. One that exchanged data is kept long enough to be resumed,
    // and is named in the device record as its open session (every SyncML version alike).
    if (completed) session.phase = 'done';
    else if (!session.resumable && session.datastores.length > 0) await markResumable(ctx);
    await saveDevice(ctx);
    const resumeTtl = Math.max(this.#d.settings.sessionTtlSeconds, this.#d.settings.resumeTtlSeconds ?? 0);
    const ttlSeconds = completed ? DONE_TTL_SECONDS : session.resumable ? resumeTtl : this.#d.settings.sessionTtlSeconds;
    return { reply: reply.build(replyHeader(hdr, String(session.serverMsgId), this.#d.settings, session.key), msg.version), completed, ttlSeconds };
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
}
