// A MessageContext for protocol room tests: a session with one datastore, a reply builder with a
// simple, exact sizer (item bytes + a fixed frame), and a fake sync layer whose queue is a list.
import type { Command, SyncMLMessage } from '../../../src/codec/model.js';
import type { DataStore, ItemRef, Listing, StoredItem } from '../../../src/datastores/datastore.js';
import type { DatastoreKey, MapEntry } from '../../../src/state/state-store.js';
import { SqliteStateStore } from '../../../src/state/sqlite-store.js';
import type { AccountMapping } from '../../../src/accounts/mappings.js';
import { createLogger } from '../../../src/logger.js';
import type { DatastoreSync, MaterialisedChange } from '../../../src/sync/datastore-sync.js';
import { emptyStats, type DatastoreSessionState, type OutgoingChange } from '../../../src/sync/types.js';
import type { EngineDeps, MessageContext } from '../../../src/protocol/message-context.js';
import { ReplyBuilder } from '../../../src/protocol/reply.js';
import type { SessionState } from '../../../src/protocol/session.js';

/** Frame of every command; an item command is its frame plus its data's UTF-8 bytes. */
export const FRAME = 50;
const utf8 = new TextEncoder();

export function sizer(cmd: Command): number {
  if ('items' in cmd && Array.isArray(cmd.items)) {
    return FRAME + cmd.items.reduce((n, i) => n + (typeof i.data === 'string' ? utf8.encode(i.data).length : 0), 0);
  }
  return FRAME;
}

export function datastore(over: Partial<DatastoreSessionState> = {}): DatastoreSessionState {
  return {
    name: 'contacts', mode: 'two-way', clientUri: './contacts', serverUri: 'contacts', clientNext: '2', serverNext: 's2',
    deviceFormat: { type: 'text/x-vcard', version: '2.1' }, touched: [], claimed: [], seenLuids: [], outgoing: [],
    outgoingComputed: false, awaitingMap: {}, tempGuidCounter: 0, clientDone: true, serverDone: false, stats: emptyStats(), ...over,
  };
}

export function session(ds: DatastoreSessionState[], over: Partial<SessionState> = {}): SessionState {
  return {
    key: 'token', sessionId: '1', deviceId: 'IMEI:1', version: '1.2', wire: { encoding: 'xml' }, startedAt: new Date().toISOString(),
    account: 'alice', authenticated: true, lastClientMsgId: '2', serverMsgId: 2, phase: 'sync', datastores: ds,
    sentAlerts: {}, sent: {}, syncOpened: [], askedDevInf: true, ...over,
  };
}

/**
 * The sync layer as the package builder uses it: `items` are the server changes (href -> data),
 * taken from the datastore's queue in order.
 */
export function fakeSync(items: Record<string, string>): DatastoreSync {
  const fake = {
    async computeOutgoing(s: DatastoreSessionState): Promise<void> {
      if (s.outgoingComputed) return;
      s.outgoing = Object.keys(items).map((href): OutgoingChange => ({ op: 'Add', href }));
      s.outgoingComputed = true;
    },
    async takeOutgoing(s: DatastoreSessionState, max: number): Promise<MaterialisedChange[]> {
      return s.outgoing.splice(0, max).map((change) => ({ change, data: items[change.href]!, etag: `"${change.href}"` }));
    },
    requeue(s: DatastoreSessionState, changes: OutgoingChange[]): void {
      s.outgoing.unshift(...changes);
    },
    guidFor(_s: DatastoreSessionState, href: string): string {
      return href;
    },
  };
  return fake as unknown as DatastoreSync;
}

/** A context for the next message of `sess`, with `budget` bytes of room. */
export function context(sess: SessionState, sync: DatastoreSync, budget: number, msg: Partial<SyncMLMessage> = {}): MessageContext {
  sess.serverMsgId++;
  return {
    deps: {} as EngineDeps,
    translatorFor: () => undefined,
    msg: {
      version: '1.2', final: true, body: [],
      header: { verDTD: '1.2', verProto: 'SyncML/1.2', sessionId: '1', msgId: '3', target: { locURI: 'http://gw/sync' }, source: { locURI: 'IMEI:1' } },
      ...msg,
    },
    session: sess,
    reply: new ReplyBuilder(String(sess.serverMsgId), budget, sizer),
    log: createLogger('silent'),
    mapping: { account: 'alice', datastores: [] } as unknown as AccountMapping,
    syncs: new Map(sess.datastores.map((d) => [d.name, sync])),
    syncStatuses: new Map(),
    deadline: Date.now() + 60_000,
  };
}

/** A contacts collection in memory; a created item's href comes from `hrefFor` (default: its name hint). */
export class MemoryDataStore implements DataStore {
  readonly kind = 'contacts' as const;
  readonly collectionUrl = 'http://dav.test/alice/contacts/';
  readonly items = new Map<string, string>();
  #created = 0;
  constructor(private readonly hrefFor: (nameHint: string, n: number) => string = (hint) => `/alice/contacts/${hint}.vcf`) {}
  async list(): Promise<Listing> {
    return { items: [...this.items.keys()].map((href) => ({ href, etag: '"1"' })) };
  }
  async fetch(hrefs: readonly string[]): Promise<StoredItem[]> {
    return hrefs.flatMap((href) => (this.items.has(href) ? [{ href, etag: '"1"', data: this.items.get(href)! }] : []));
  }
  async create(data: string, nameHint: string): Promise<ItemRef> {
    const href = this.hrefFor(nameHint, ++this.#created);
    this.items.set(href, data);
    return { href, etag: '"1"' };
  }
  async update(href: string, data: string): Promise<ItemRef> {
    this.items.set(href, data);
    return { href, etag: '"2"' };
  }
  async delete(href: string): Promise<void> {
    this.items.delete(href);
  }
}

/** The real SQLite store, counting map writes (entries per write) and whole-map reads. */
export class CountingStateStore extends SqliteStateStore {
  puts: number[] = [];
  wholeMapReads = 0;
  override putMapEntries(key: DatastoreKey, entries: readonly MapEntry[]): Promise<void> {
    this.puts.push(entries.length);
    return super.putMapEntries(key, entries);
  }
  override getMap(key: DatastoreKey): Promise<MapEntry[]> {
    this.wholeMapReads++;
    return super.getMap(key);
  }
}
