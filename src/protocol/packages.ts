// The package state machine, run after a message's commands: init (package 1/2) -> sync
// (packages 3/4, the server's changes over as many messages as needed) -> map (package 5/6) ->
// done; suspended after an Alert 224. Final goes out only with the last message of a package.
import { askDevInf } from './commands/put-get.js';
import { completeSession } from './completion.js';
import type { MessageContext } from './message-context.js';
import { sendServerChanges } from './package-builder.js';

/** Move the session on after this message; true when it completed. */
export async function advancePackages(ctx: MessageContext): Promise<boolean> {
  const { msg, reply, session, log } = ctx;
  let completed = false;
  if (session.phase === 'suspended') {
    // Alert 224: the session ends here; what was exchanged stays (map entries), anchors do not
    // move, and a later session can continue it (Alert 225).
    reply.final = true;
    log.info({ datastores: session.datastores.map((d) => d.name) }, 'client suspended the session; it can be resumed');
  } else if (session.phase === 'init') {
    if (msg.final) {
      if (!session.deviceInfo && !session.askedDevInf) askDevInf(ctx);
      session.phase = 'sync';
      reply.final = true;
    }
  } else if (session.phase === 'sync') {
    const sending = session.datastores.some((ds) => ds.clientDone && !ds.serverDone);
    if (msg.final || sending) {
      for (const ds of session.datastores) ds.clientDone = true;
      await sendServerChanges(ctx);
      if (session.datastores.every((ds) => ds.serverDone)) {
        reply.final = true;
        session.phase = 'map';
      }
    }
  } else if (session.phase === 'map' && msg.final) {
    await completeSession(ctx);
    reply.final = true;
    completed = true;
  }
  if (!reply.final && !reply.hasCommands) {
    // More of the client's package is coming, or ours continues: ask for the next message.
    const hdr = msg.header;
    reply.add({ kind: 'Alert', cmdId: reply.nextCmdId(), data: '222', items: [{ target: { locURI: hdr.source.locURI }, source: { locURI: hdr.target.locURI } }] });
  }
  return completed;
}
