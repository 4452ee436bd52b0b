// Map (package 5): the phone's LUIDs for the server's Adds, recorded in the ID map.
import type { MapCmd } from '../../codec/model.js';
import { normaliseUri } from '../../accounts/mappings.js';
import { syncFor, type MessageContext } from '../message-context.js';
import { Status } from '../status.js';

export async function onMap(ctx: MessageContext, cmd: MapCmd): Promise<void> {
  const { msg, reply, session, log } = ctx;
  const ref = { msgRef: msg.header.msgId, cmdRef: cmd.cmdId, cmd: 'Map', targetRefs: [cmd.target.locURI], sourceRefs: [cmd.source.locURI] };
  const ds = session.datastores.find((d) => normaliseUri(d.serverUri) === normaliseUri(cmd.target.locURI));
  if (!ds) {
    if (!cmd.noResp) reply.status({ ...ref, data: String(Status.NOT_FOUND) });
    return;
  }
  const sync = syncFor(ctx, ds);
  let unknown = 0;
  await sync.batchMapWrites(async () => {
    for (const mi of cmd.mapItems) if (!(await sync.applyMap(ds, mi.target.locURI, mi.source.locURI))) unknown++;
  });
  if (unknown) log.warn({ ds: ds.name, unknown }, 'Map named items the server did not send in this session');
  if (!cmd.noResp) reply.status({ ...ref, data: String(Status.OK) });
}
