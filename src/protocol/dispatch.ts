// The dispatch table: command name -> handler. Commands run one after another in the order the
// message gives them (a Status may confirm what a later Sync relies on; statuses go out in order).
import type { Command, StatusCmd } from '../codec/model.js';
import { onAlert } from './commands/alert.js';
import { onMap } from './commands/map.js';
import { onGet, onPut, onResults } from './commands/put-get.js';
import { onStatus, onStatusRun } from './commands/status.js';
import { onSync } from './commands/sync.js';
import type { MessageContext } from './message-context.js';
import { cmdName } from './reply.js';
import { Status } from './status.js';

/** The command type whose `kind` admits K (Put and Get share one interface). */
type CommandOfKind<C, K> = C extends { kind: infer CK } ? (K extends CK ? C : never) : never;
type Handler<K extends Command['kind']> = (ctx: MessageContext, cmd: CommandOfKind<Command, K>) => Promise<void>;
export type CommandHandlers = { [K in Command['kind']]?: Handler<K> };

export const COMMAND_HANDLERS: CommandHandlers = {
  Status: onStatus,
  Alert: onAlert,
  Put: onPut,
  Get: onGet,
  Results: onResults,
  Sync: onSync,
  Map: onMap,
};

/**
 * Run the message's commands in order; one without a handler is answered 406. Consecutive Status
 * commands run as one run (onStatusRun: their map writes are batched) when Status has the
 * default handler.
 */
export async function runCommands(ctx: MessageContext, commands: readonly Command[], handlers: CommandHandlers = COMMAND_HANDLERS): Promise<void> {
  for (let i = 0; i < commands.length; i++) {
    const cmd = commands[i]!;
    if (cmd.kind === 'Status' && handlers.Status === onStatus) {
      const run: StatusCmd[] = [cmd];
      for (let next = commands[i + 1]; next?.kind === 'Status'; next = commands[i + 1]) {
        run.push(next);
        i++;
      }
      await onStatusRun(ctx, run);
      continue;
    }
    const handler = handlers[cmd.kind] as ((ctx: MessageContext, cmd: Command) => Promise<void>) | undefined;
    if (handler) {
      await handler(ctx, cmd);
      continue;
    }
    // Atomic, Sequence, Exec, Search, Copy, Move outside Sync, and unknown commands.
    ctx.log.info({ command: cmdName(cmd) }, 'command not supported; answered 406');
    if (!('noResp' in cmd && cmd.noResp)) ctx.reply.status({ msgRef: ctx.msg.header.msgId, cmdRef: cmd.cmdId, cmd: cmdName(cmd), data: String(Status.NOT_SUPPORTED) });
  }
}
