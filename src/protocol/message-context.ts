// What every room of the protocol works with while one message is handled: the engine's
// dependencies, the message, its session, the reply being built, and the per-message caches
// (device record, one DatastoreSync per datastore).
import type { SyncMLMessage, StatusCmd, WireFormat } from '../codec/model.js';
import type { AccountMapping, AccountRegistry, DatastoreMapping } from '../accounts/mappings.js';
import type { DataStore, DavCredentials, ItemKind, StoredItem } from '../datastores/datastore.js';
import type { Logger } from '../logger.js';
import type { DeviceKey, DeviceRecord, StateStore } from '../state/state-store.js';
import type { SecretBox } from '../state/secret-box.js';
import { DatastoreSync } from '../sync/datastore-sync.js';
import { pageTtlSeconds } from '../sync/outgoing-queue.js';
import type { DatastoreSessionState, ItemTranslator } from '../sync/types.js';
import type { DeviceProfile } from '../convert/filters/index.js';
import type { CredentialVerifier } from './auth.js';
import type { SessionObserver } from './observer.js';
import type { ReplyBuilder, CommandSizer } from './reply.js';
import type { RunnerSettings } from './session-runner.js';
import type { SessionState } from './session.js';

export interface EngineDeps {
  accounts: AccountRegistry;
  state: StateStore;
  openDataStore(account: AccountMapping, ds: DatastoreMapping, creds: DavCredentials): DataStore;
  verifyCredentials: CredentialVerifier;
  translators: Partial<Record<ItemKind, ItemTranslator>>;
  log: Logger;
  /** Encoded size of one command in the given wire format (for MaxMsgSize). */
  sizer(wire: WireFormat): CommandSizer;
  /** Encode a reply in the client's wire format (the engine caches the bytes for resends). */
  encode(msg: SyncMLMessage, wire: WireFormat): Uint8Array;
  /** Device profiles (config/devices) that correct or fill in what a device's DevInf says. */
  deviceProfiles?: readonly DeviceProfile[];
  /** Saves a collection's items before a destructive refresh; returns where (for the log). */
  backup?(account: string, datastore: string, collectionUrl: string, items: readonly StoredItem[]): Promise<string>;
  /** Seals passthrough DAV passwords in stored sessions (state/secret-box.ts). */
  secrets?: SecretBox;
  /** Told about sessions (metrics, history, push); a throwing observer is logged and ignored. */
  observer?: SessionObserver;
  settings: RunnerSettings & {
    softwareVersion: string;
    /**
     * Keep-alive: after this long the reply goes out with what is ready and the server's package
     * continues in the next message, so phones with short timeouts do not give up.
     */
    replyDeadlineSeconds?: number;
    /** How long an interrupted or suspended session can be resumed (Alert 225). */
    resumeTtlSeconds?: number;
  };
}

export interface MessageContext {
  deps: EngineDeps;
  /** The translator for a mapped datastore (a mixed events+tasks datastore gets both). */
  translatorFor(dsMap: DatastoreMapping): ItemTranslator | undefined;
  msg: SyncMLMessage;
  session: SessionState;
  reply: ReplyBuilder;
  log: Logger;
  mapping: AccountMapping;
  syncs: Map<string, DatastoreSync>;
  /** The Status answering each datastore's Sync in this message (a refused refresh amends it). */
  syncStatuses: Map<string, StatusCmd>;
  /** When this message must be answered (keep-alive). */
  deadline: number;
  /** The device's interrupted or suspended session, loaded once for Alerts 225 (null: none). */
  prior?: SessionState | null;
  /** The device record, read at most once per message and written once at its end (if changed). */
  device?: { key: DeviceKey; record: DeviceRecord; changed: boolean };
}

/** The mapping of a datastore of this session. */
export function datastoreMapping(ctx: MessageContext, name: string): DatastoreMapping | undefined {
  return ctx.mapping.datastores.find((d) => d.name === name);
}

/** The sync engine of one datastore, made once per message. */
export function syncFor(ctx: MessageContext, ds: DatastoreSessionState): DatastoreSync {
  let s = ctx.syncs.get(ds.name);
  if (!s) {
    const dsMap = datastoreMapping(ctx, ds.name)!;
    const store = ctx.deps.openDataStore(ctx.mapping, dsMap, ctx.session.dav!);
    const key = { account: ctx.session.account!, deviceId: ctx.session.deviceId, datastore: ds.name };
    const { sessionTtlSeconds, resumeTtlSeconds } = ctx.deps.settings;
    const queue = { sessionKey: ctx.session.key, ttlSeconds: pageTtlSeconds(sessionTtlSeconds, resumeTtlSeconds) };
    s = new DatastoreSync(store, ctx.deps.state, key, ctx.translatorFor(dsMap)!, ctx.log, { conflict: dsMap.conflict ?? 'newer-wins', ...(dsMap.match ? { match: dsMap.match } : {}), queue });
    ctx.syncs.set(ds.name, s);
  }
  return s;
}

/** The device record of `account` (read once per message; `{}` for a device not seen yet). */
export async function deviceRecord(ctx: MessageContext, account = ctx.session.account!): Promise<DeviceRecord> {
  if (ctx.device?.key.account !== account) {
    const key = { account, deviceId: ctx.session.deviceId };
    ctx.device = { key, record: (await ctx.deps.state.getDevice(key)) ?? {}, changed: false };
  }
  return ctx.device.record;
}

/** Change the device record; written once, when the message has been handled (saveDevice). */
export async function updateDevice(ctx: MessageContext, account: string, change: (r: DeviceRecord) => DeviceRecord): Promise<void> {
  const record = change(await deviceRecord(ctx, account));
  ctx.device = { key: ctx.device!.key, record, changed: true };
}

export async function saveDevice(ctx: MessageContext): Promise<void> {
  if (ctx.device?.changed) await ctx.deps.state.putDevice(ctx.device.key, ctx.device.record);
}
