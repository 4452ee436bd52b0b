// Sync-engine vocabulary: sync modes, per-datastore session state and item translation.
// No SyncML and no DAV in here: the protocol layer maps codes, the datastores do I/O.
import type { ItemKind } from '../datastores/datastore.js';
import type { FieldFilter } from '../convert/filters/index.js';

export type { FieldFilter };

export type SyncMode =
  | 'two-way'
  | 'slow'
  | 'one-way-from-client'
  | 'refresh-from-client'
  | 'one-way-from-server'
  | 'refresh-from-server';

/** Whether the server sends its changes in this mode. */
export function serverSends(mode: SyncMode): boolean {
  return mode !== 'one-way-from-client' && mode !== 'refresh-from-client';
}

/** Whether the client sends its changes in this mode. */
export function clientSends(mode: SyncMode): boolean {
  return mode !== 'one-way-from-server' && mode !== 'refresh-from-server';
}

/** A content type as the device names it (`text/x-vcard` + `2.1`). */
export interface DeviceFormat {
  type: string;
  version?: string;
}

/**
 * Converts items between the device's format and the server's. Pure; one per item kind.
 * `fingerprint` identifies "the same" item for slow-sync matching (normalised name + phone/e-mail,
 * or UID / summary + start); `hash` detects content changes, ignoring volatile fields (REV…).
 */
export interface ItemTranslator {
  readonly kind: ItemKind;
  /** Formats the server can take from a device, most preferred first. */
  readonly deviceFormats: readonly DeviceFormat[];
  /**
   * `filter`: what the device declared (its CTCap/profile), for value scales such as PRIORITY.
   * `onWarning`: what the conversion repaired or could not keep (logged with the session).
   */
  toServer(data: string, from: DeviceFormat, filter?: FieldFilter, onWarning?: (message: string) => void): string;
  /** Server item in the device's format, reduced to what the device can store (`filter`). */
  toDevice(serverData: string, to: DeviceFormat, filter?: FieldFilter): string;
  /**
   * The server item to write: the device's item (as converted by `toServer`) merged into the
   * current server item, keeping server fields the device cannot store. `serverData` undefined
   * = a new item.
   */
  mergeFromDevice(serverData: string | undefined, deviceAsServer: string, filter?: FieldFilter): string;
  fingerprints(serverData: string): string[];
  hash(serverData: string): string;
  /**
   * `hash` and `toDevice` of one server item from a single parse, for the outgoing path that
   * needs both (a refresh sends every item). Optional; when present it gives exactly what the two
   * calls give, errors included (`hash`'s when called, `toDevice`'s from `toDevice`).
   */
  prepareOutgoing?(serverData: string): PreparedOutgoing;
  /** Last-modified time the item carries (REV, LAST-MODIFIED), for the newer-wins policy. */
  modifiedAt?(serverData: string): Date | undefined;
  /**
   * Per-field digests of an item in the device's format (see field-digests.ts), for
   * `MapEntry.fields`: taken from what the server sends and from what the device sends back, so
   * that a field the device did not edit has the same digest both times.
   */
  fieldDigests?(deviceData: string, from: DeviceFormat): string;
  /** A server-format item without the named fields (the device did not edit them). */
  withoutFields?(serverData: string, names: readonly string[]): string;
}

/** A server item parsed once for sending: its content hash, and its form for the device. */
export interface PreparedOutgoing {
  readonly hash: string;
  toDevice(to: DeviceFormat, filter?: FieldFilter): string;
}

/** What happens when an item changed on both sides since the last sync (per datastore). */
export type ConflictPolicy = 'newer-wins' | 'server-wins' | 'client-wins' | 'merge' | 'duplicate';

/** Kinds of fingerprints used to pair items in a slow sync (see `fingerprintKind`). */
export type MatchRule = 'uid' | 'name+phone' | 'name+email' | 'name' | 'summary+start';

/** Which rule a translator's fingerprint key belongs to (the keys' prefixes are the contract). */
export function fingerprintKind(key: string): MatchRule {
  if (key.startsWith('uid:')) return 'uid';
  if (key.includes('|tel:')) return 'name+phone';
  if (key.includes('|mail:')) return 'name+email';
  if (/^(vevent|vtodo|vjournal|note)\|/i.test(key)) return 'summary+start';
  return 'name';
}

/** A server-side change waiting to be sent to the device. */
export interface OutgoingChange {
  op: 'Add' | 'Replace' | 'Delete';
  href: string;
  /** Device id for Replace/Delete. */
  luid?: string;
  /** An Add sent before a suspend goes out again with the same Source id (the device may map it). */
  guid?: string;
}

/**
 * Pages of a long outgoing queue, stored as session entries `${prefix}:${n}` (n = 1..last), each a
 * JSON OutgoingChange[]; pages `next`..`last` (`count` changes) follow the inline `outgoing`.
 */
export interface OutgoingPages {
  prefix: string;
  next: number;
  last: number;
  count: number;
}

/** What the device must confirm for a sent change (see SentRecord for how session state keeps it). */
export interface SentChange {
  op: 'Add' | 'Replace' | 'Delete';
  href: string;
  luid?: string;
  /** Id sent as Source/LocURI of an Add (href, or a short temporary id). */
  guid?: string;
  etag?: string;
  hash?: string;
  /** Field digests of what the device gets (see `ItemTranslator.fieldDigests`). */
  fields?: string;
}

/**
 * A sent change awaiting the device's Status, in session state by `${msgId}:${cmdId}:0`: a Replace
 * or Delete whole; an Add by its guid only, its details staying in the datastore's `awaitingMap`
 * until the device's Map (kept in both, they were ~400 KB at the peak of a 1000-item refresh,
 * serialised with every message). A record with `href` is whole (also an Add stored so by an
 * older version).
 */
export type SentRecord = (SentChange & { ds: string }) | { ds: string; op: 'Add'; guid: string; href?: undefined };

/** Per-datastore state of one running session (JSON-serialisable; lives in the state store). */
export interface DatastoreSessionState {
  name: string;
  mode: SyncMode;
  clientUri: string;
  serverUri: string;
  clientNext: string;
  serverNext: string;
  deviceFormat: DeviceFormat;
  /** What the device can store (its CTCap, corrected by a device profile); none = everything. */
  filter?: FieldFilter;
  /** hrefs the device wrote in this session: not sent back (echo suppression). See `sideSets`. */
  touched: string[];
  /** Slow/refresh: hrefs already paired with a device item in this session. */
  claimed: string[];
  /** Slow sync: luids the device sent in this session. */
  seenLuids: string[];
  /** Slow sync: server items by fingerprint, built once per session (inline only without `sideSets`). */
  matchIndex?: Record<string, string[]>;
  /**
   * Where the sets above and the match index are kept beside the session (session-sets.ts); the
   * arrays then hold only what was added since the session was last saved.
   */
  sideSets?: { prefix: string; matchIndexBuilt?: boolean; matchIndexEmpty?: boolean };
  /** Head of the queue of server changes to send; a long queue continues in `outgoingPages`. */
  outgoing: OutgoingChange[];
  /** The rest of a long queue, stored apart from the session (see outgoing-queue.ts). */
  outgoingPages?: OutgoingPages;
  outgoingComputed: boolean;
  /**
   * Bytes a change of this session has taken in a message so far (a running mean): how many
   * changes to fetch and convert for the room a message has left (protocol/package-builder.ts).
   */
  outgoingItemBytes?: number;
  /** Server Adds waiting for the device's Map: sent guid -> change. */
  awaitingMap: Record<string, SentChange>;
  tempGuidCounter: number;
  clientDone: boolean;
  serverDone: boolean;
  /** Something (e.g. the refresh guard) stopped this datastore: anchors are not committed. */
  failed?: boolean;
  /** DAV sync-token saved at the end of this device's last completed session (RFC 6578). */
  syncToken?: string;
  /** The collection's sync-token as of this session's change detection; saved on completion. */
  newSyncToken?: string;
  /**
   * Refresh from client: the device's items, held back until its whole package is in, so that a
   * refresh the guard refuses writes nothing at all.
   */
  pendingWrites?: Array<{ kind: 'Add' | 'Replace'; luid: string; data: string; format: DeviceFormat }>;
  /** Refresh from client: the guard has looked at the client's announced item count. */
  refreshChecked?: boolean;
  stats: SyncStats;
}

export interface SyncStats {
  clientAdded: number;
  clientReplaced: number;
  clientDeleted: number;
  clientFailed: number;
  serverAdded: number;
  serverReplaced: number;
  serverDeleted: number;
  matched: number;
  conflicts: number;
}

export function emptyStats(): SyncStats {
  return { clientAdded: 0, clientReplaced: 0, clientDeleted: 0, clientFailed: 0, serverAdded: 0, serverReplaced: 0, serverDeleted: 0, matched: 0, conflicts: 0 };
}

/**
 * The device's answer to a change the server sent (the protocol layer maps its SyncML status):
 * taken, no longer there (the item is gone on the device), or refused.
 */
export type ChangeConfirmation = 'confirmed' | 'refused' | 'gone';

/** Outcome of applying one device change; the protocol layer turns it into a SyncML status. */
export type ClientChangeOutcome =
  | { result: 'added'; guid: string }
  | { result: 'replaced'; guid: string }
  | { result: 'replaced-as-add'; guid: string }
  | { result: 'merged'; guid: string }
  | { result: 'conflict'; resolution: 'server-won' | 'client-won' | 'merged' | 'duplicated'; guid: string }
  | { result: 'deleted' }
  | { result: 'not-found' }
  | { result: 'failed'; error: unknown };
