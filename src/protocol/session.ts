// State of one SyncML session between HTTP requests. It lives in the state store (not in process
// memory) so that any gateway process can continue a session.
import type { SyncMLVersion, WireFormat } from '../codec/model.js';
import type { DavCredentials } from '../datastores/datastore.js';
import type { DatastoreSessionState, SentRecord } from '../sync/types.js';
import type { DeviceInfo } from './devinf.js';

/** `suspended`: the client sent Alert 224; the session can be resumed by a later one (Alert 225). */
export type SessionPhase = 'init' | 'sync' | 'map' | 'suspended' | 'done';

export interface SessionState {
  /** The session token (144 random bits, `RespURI?sid=`); see session-runner.ts. */
  key: string;
  sessionId: string;
  deviceId: string;
  version: SyncMLVersion;
  wire: WireFormat;
  startedAt: string;
  account?: string;
  authenticated: boolean;
  /**
   * DAV credentials for this session (passthrough: the phone's). Never stored as such: the runner
   * stores a passthrough password sealed (`davSealed`) and re-derives gateway-held ones.
   */
  dav?: DavCredentials;
  lastClientMsgId: string;
  serverMsgId: number;
  clientMaxMsgSize?: number;
  clientMaxObjSize?: number;
  deviceInfo?: DeviceInfo;
  phase: SessionPhase;
  datastores: DatastoreSessionState[];
  /** Server Alerts sent, `${msgId}:${cmdId}` -> datastore name (a 508 answer forces slow sync). */
  sentAlerts: Record<string, string>;
  /** Server item changes sent, `${msgId}:${cmdId}:0` -> what to record on success (see SentRecord). */
  sent: Record<string, SentRecord>;
  /** Datastores whose server Sync has been opened in some message (NumberOfChanges only once). */
  syncOpened: string[];
  askedDevInf: boolean;
  /** The device record names this session as the one to resume if it is interrupted. */
  resumable?: boolean;
  /** A chunked item from the device, being assembled (large objects). */
  inChunk?: { ds: string; kind: 'Add' | 'Replace'; luid: string; data: string; size?: number };
  /** A large server item being sent in chunks. */
  outChunk?: {
    ds: string; op: 'Add' | 'Replace'; href: string; luid?: string; guid?: string; data: string; offset: number;
    type: string; etag?: string; hash?: string; fields?: string;
  };
}
