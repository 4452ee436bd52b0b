// Builds one reply message: CmdIDs, the SyncHdr status first, statuses in command order,
// then the server's own commands while they fit into the client's MaxMsgSize.
import type { Command, Item, StatusCmd, SyncHdr, SyncMLMessage, SyncMLVersion } from '../codec/model.js';

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
