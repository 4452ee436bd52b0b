// Builds one reply message: CmdIDs, the SyncHdr status first, statuses in command order,
// then the server's own commands while they fit into the client's MaxMsgSize.
import type { Command, Item, Meta, StatusCmd, SyncHdr, SyncMLMessage, SyncMLVersion } from '../codec/model.js';
import { MAX_OBJECT_BYTES } from './limits.js';

export type CommandSizer = (cmd: Command) => number;

export class ReplyBuilder {
  readonly msgId: string;
  #cmdId = 0;
  readonly #statuses: StatusCmd[] = [];
  readonly #commands: Command[] = [];
  #used = 0;
  readonly #budget: number;
  readonly #sizer: CommandSizer;
  final = false;

  constructor(msgId: string, budget: number, sizer: CommandSizer) {
    this.msgId = msgId;
    this.#budget = budget;
    this.#sizer = sizer;
  }

  nextCmdId(): string {
    this.#cmdId++;
    return String(this.#cmdId);
  }

  status(s: Omit<StatusCmd, 'kind' | 'cmdId' | 'targetRefs' | 'sourceRefs' | 'items'> & Partial<Pick<StatusCmd, 'targetRefs' | 'sourceRefs' | 'items'>>): StatusCmd {
    const st: StatusCmd = { kind: 'Status', cmdId: this.nextCmdId(), targetRefs: [], sourceRefs: [], items: [], ...s };
    this.#statuses.push(st);
    this.#used += this.#sizer(st);
    return st;
  }

  /** Add a command unconditionally (protocol commands that must go out now). */
  add(cmd: Command): void {
    this.#commands.push(cmd);
    this.#used += this.#sizer(cmd);
  }

  /** Room left for more content, in encoded bytes. */
  get room(): number {
    return this.#budget - this.#used;
  }

  measure(cmd: Command): number {
    return this.#sizer(cmd);
  }

  /** Account for bytes added to a command that is already in the reply (items appended to a Sync). */
  grow(bytes: number): void {
    this.#used += bytes;
  }

  get hasCommands(): boolean {
    return this.#commands.length > 0;
  }

  build(header: SyncHdr, version: SyncMLVersion): SyncMLMessage {
    return { version, header, body: [...this.#statuses, ...this.#commands], final: this.final };
  }
}

export function statusItemsWithAnchor(next: string): Item[] {
  return [{ data: { name: 'Anchor', ns: 'syncml:metinf', children: [{ name: 'Next', children: [next] }] } }];
}

/** What a reply header needs from the settings. */
export interface ReplyHeaderSettings {
  serverUrl: string;
  serverMaxMsgSize: number;
}

/** The reply header; RespURI carries the session token once there is an authenticated session. */
export function replyHeader(h: SyncHdr, msgId: string, s: ReplyHeaderSettings, token?: string): SyncHdr {
  const target = h.source.locName !== undefined ? { locURI: h.source.locURI, locName: h.source.locName } : { locURI: h.source.locURI };
  return {
    verDTD: h.verDTD, verProto: h.verProto, sessionId: h.sessionId, msgId,
    target, source: { locURI: h.target.locURI },
    ...(token ? { respURI: `${s.serverUrl}?sid=${token}` } : {}),
    meta: { maxMsgSize: s.serverMaxMsgSize, maxObjSize: MAX_OBJECT_BYTES },
  };
}

/** A status for the SyncHdr and the same code for every command: nothing was executed. */
export function refusalReply(msg: SyncMLMessage, code: number, s: ReplyHeaderSettings, token?: string, chal?: Meta): SyncMLMessage {
  const h = msg.header;
  const reply = new ReplyBuilder('1', Number.MAX_SAFE_INTEGER, () => 0);
  const st = reply.status({ msgRef: h.msgId, cmdRef: '0', cmd: 'SyncHdr', targetRefs: [h.target.locURI], sourceRefs: [h.source.locURI], data: String(code) });
  if (chal) st.chal = { meta: chal };
  for (const c of msg.body) if (c.kind !== 'Status' && !c.noResp) reply.status({ msgRef: h.msgId, cmdRef: c.cmdId, cmd: cmdName(c), data: String(code) });
  reply.final = true;
  return reply.build(replyHeader(h, '1', s, token), msg.version);
}

/** The element name of a command, as statuses name it. */
export function cmdName(c: Command): string {
  return c.kind === 'Other' ? c.name : c.kind;
}
