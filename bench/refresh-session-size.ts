// Session state size per message during bench/e2e-phases.ts (`--current`): the largest session
// state the gateway serialises (saveMessage/putSession, JSON bytes) while a datastore is in
// refresh-from-server and in slow sync, and how much of it is `sent` and `awaitingMap`. Written
// with every client message, so its size is CPU per message. `queue` is the outgoing-change
// queue kept inline in the session (`outgoing` of every datastore; see src/sync/outgoing-queue.ts
// for the part paged out into separate state entries). Not a test.
// Run: npx tsx bench/refresh-session-size.ts [N]
import type { SessionState } from '../src/protocol/session.js';
import type { MessageSave } from '../src/state/state-store.js';
import { SqliteStateStore } from '../src/state/sqlite-store.js';

interface Peak { bytes: number; sentBytes: number; awaitingMapBytes: number; sentEntries: number; awaitingEntries: number; queueBytes: number; queueEntries: number }
/** Largest inline queue seen in any saved session, per mode (not necessarily at the session peak). */
const queuePeaks: Record<string, { bytes: number; entries: number }> = {};
const peaks: Record<string, Peak> = {};
const bytes = (v: unknown): number => Buffer.byteLength(JSON.stringify(v) ?? '');

function record(state: unknown): void {
  const s = state as Partial<SessionState>;
  const mode = s.datastores?.[0]?.mode;
  if (!mode || !s.datastores) return;
  const size = bytes(s);
  const queueBytes = bytes(s.datastores.map((d) => d.outgoing));
  const queueEntries = s.datastores.reduce((n, d) => n + (d.outgoing?.length ?? 0), 0);
  if (queueBytes > (queuePeaks[mode]?.bytes ?? 0)) queuePeaks[mode] = { bytes: queueBytes, entries: queueEntries };
  if (size <= (peaks[mode]?.bytes ?? 0)) return;
  peaks[mode] = {
    bytes: size, sentBytes: bytes(s.sent), awaitingMapBytes: bytes(s.datastores.map((d) => d.awaitingMap)),
    sentEntries: Object.keys(s.sent ?? {}).length, awaitingEntries: s.datastores.reduce((n, d) => n + Object.keys(d.awaitingMap).length, 0),
    queueBytes, queueEntries,
  };
}

const proto = SqliteStateStore.prototype as unknown as {
  saveMessage: <T>(this: SqliteStateStore, save: MessageSave<T>) => Promise<void>;
  putSession: <T>(this: SqliteStateStore, key: string, state: T, ttl: number) => Promise<void>;
};
const saveMessage = proto.saveMessage;
proto.saveMessage = function <T>(this: SqliteStateStore, save: MessageSave<T>): Promise<void> {
  record(save.session);
  return saveMessage.call(this, save);
};
const putSession = proto.putSession;
proto.putSession = function <T>(this: SqliteStateStore, key: string, state: T, ttl: number): Promise<void> {
  record(state);
  return putSession.call(this, key, state, ttl);
};

const n = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a))) || 1000;
const { benchE2eCurrent } = await import('./e2e-phases.js');
const rows = await benchE2eCurrent(n, false);
for (const [k, v] of Object.entries(rows)) console.log(`  ${k.padEnd(64)} ${v}`);
for (const [mode, p] of Object.entries(peaks)) {
  console.log(`  peak session state, ${mode}: ${p.bytes} bytes (sent ${p.sentBytes} in ${p.sentEntries} entries, awaitingMap ${p.awaitingMapBytes} in ${p.awaitingEntries}, inline queue ${p.queueBytes} in ${p.queueEntries})`);
}
for (const [mode, q] of Object.entries(queuePeaks)) console.log(`  peak inline queue, ${mode}: ${q.bytes} bytes in ${q.entries} entries`);
