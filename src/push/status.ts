// What push remembers per device in the state store: the last SAN and the session that followed.
import type { DeviceKey, StateStore } from '../state/state-store.js';

export interface SanRecord {
  at: string;
  sessionId: number;
  datastores: string[];
  transport: string;
  trigger: 'change' | 'test' | 'cli';
  outcome: 'sent' | 'failed';
  attempts: number;
  error?: string;
  /** Milliseconds from the first detected change to the hand-over to the transport. */
  latencyMs?: number;
}

export interface SessionRecord {
  at: string;
  /** The session used the SessionID the SAN named. */
  usedSanSessionId?: boolean;
  seconds?: number;
  source: 'observer' | 'device record';
}

export interface PushStatus {
  lastSan?: SanRecord;
  lastSession?: SessionRecord;
}

const TTL_SECONDS = 90 * 24 * 3600;
export const statusKey = (k: DeviceKey): string => `push:status:${k.account}:${k.deviceId}`;
export const openKey = (k: DeviceKey): string => `push:open:${k.account}:${k.deviceId}`;

export async function readPushStatus(state: StateStore, key: DeviceKey): Promise<PushStatus> {
  const status = (await state.getSession<PushStatus>(statusKey(key))) ?? {};
  const san = status.lastSan;
  if (!san || san.outcome !== 'sent') return status;
  // The session that followed: the observer's record, else the device record's last sync.
  if (status.lastSession && status.lastSession.at >= san.at) return status;
  const rec = await state.getDevice(key);
  if (rec?.lastSync && rec.lastSync >= san.at) {
    return { ...status, lastSession: { at: rec.lastSync, source: 'device record' } };
  }
  return status;
}

/** Whether a session's SyncML SessionID is the SAN's session id (phones write it in decimal or hex). */
export function isSanSessionId(sessionId: string, sanSessionId: number): boolean {
  return [String(sanSessionId), sanSessionId.toString(16).toUpperCase(), sanSessionId.toString(16)].includes(sessionId);
}

export async function writePushStatus(state: StateStore, key: DeviceKey, change: (s: PushStatus) => PushStatus): Promise<void> {
  const cur = (await state.getSession<PushStatus>(statusKey(key))) ?? {};
  await state.putSession(statusKey(key), change(cur), TTL_SECONDS);
}

export function describePushStatus(s: PushStatus): string {
  if (!s.lastSan) return 'no SAN sent';
  const san = s.lastSan;
  let line = `last SAN ${san.at} ${san.outcome} via ${san.transport} (session id ${san.sessionId}, ${san.trigger}, ${san.datastores.join(',') || 'all datastores'}${san.error ? `: ${san.error}` : ''})`;
  if (s.lastSession) {
    line += `; session ${s.lastSession.at}${s.lastSession.usedSanSessionId ? ' with the SAN session id' : s.lastSession.usedSanSessionId === false ? ' with its own session id' : ''}`;
  } else if (san.outcome === 'sent') {
    line += '; no session since';
  }
  return line;
}
