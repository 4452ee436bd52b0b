// Status from the client: the answer to our Alert (508: the client lost its state, slow sync) or
// to server changes we sent (handed to the sync layer as a plain outcome, see status.ts).
import type { StatusCmd } from '../../codec/model.js';
import { syncFor, type MessageContext } from '../message-context.js';
import { confirmationForStatus, Status } from '../status.js';

export async function onStatus(ctx: MessageContext, st: StatusCmd): Promise<void> {
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
    await syncFor(ctx, ds).confirm(ds, sent, outcome);
  }
  if (st.cmd === 'SyncHdr' && (code === Status.INVALID_CREDENTIALS || code === Status.MISSING_CREDENTIALS)) {
    log.warn({ status: code }, 'client rejected the server header');
  }
}
