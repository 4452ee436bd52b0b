// The DataStore on a CardDAV addressbook or CalDAV calendar collection, built on tsdav:
// PROPFIND listing, batched multiget reads, conditional PUT/DELETE, and the optional RFC 6578
// sync-collection capability (sync-collection.ts). Every failure leaves as a GatewayError
// (see dav-errors.ts).
import { randomUUID } from 'node:crypto';
import type { DAVResponse } from 'tsdav';
import { GatewayError, isGatewayError } from '../errors.js';
import type { DataStore, ItemKind, ItemRef, Listing, StoredItem } from './datastore.js';
import { DavClient, propText } from './dav-client.js';
import type { DavAuth, DavClientOptions, DavReply } from './dav-client.js';
import { NS, dialectFor, ensureUid, extractUid } from './dav-dialect.js';
import type { DavDialect } from './dav-dialect.js';
import { davHttpError, writeStatus } from './dav-errors.js';
import { canonicalHref, collectionBase, hrefUrl, safeName } from './href.js';
import { chunk } from './limit.js';
import { DEFAULT_QUIRKS, maxSequence, touchICalendar } from './quirks.js';
import type { DavQuirks } from './quirks.js';
import { ListingPart } from './listing.js';
import { SyncChanges, readSyncCollection, syncCollectionBody, syncCollectionError } from './sync-collection.js';

export const DEFAULT_BATCH_SIZE = 50;

export interface DavStoreOptions {
  kind: ItemKind;
  collectionUrl: string;
  credentials: DavAuth;
  userAgent?: string;
  /** Most requests in flight at once (default 4). */
  concurrency?: number;
  /** Per request (default 30 000 ms). */
  timeoutMs?: number;
  /** Hrefs per multiget REPORT (default 50). */
  batchSize?: number;
  /** Underlying fetch (default: global fetch); for instrumentation and tests. */
  fetch?: DavClientOptions['fetch'];
  onRequest?: DavClientOptions['onRequest'];
  /** Retries on 429/503/timeouts (default 3 within 30 s); `false`: none. */
  retry?: DavClientOptions['retry'];
  /** Server quirks to work around (from the provider profile); default: none. */
  quirks?: Partial<DavQuirks>;
  /**
   * When a PUT answer carries no usable ETag, return `etag: ''` instead of asking for it with a
   * PROPFIND per item; the caller reads the ETags of many items at once later (the sync engine
   * takes them from the listing it makes anyway). Default false: one PROPFIND per such write.
   */
  deferEtag?: boolean;
}

import type { ChangeSet, SyncCollectionSupport } from './datastore.js';
export type { ChangeSet, SyncCollectionSupport } from './datastore.js';
export { supportsSyncCollection } from './datastore.js';

export { SyncTokenInvalidError } from './sync-collection.js';

export { needsFullListing } from './datastore.js';


/**
 * The XML parser normalises line ends to LF (XML 1.0 §2.11) and trims text content: give the
 * item its CRLF line ends (RFC 6350/5545) and the line break that ends every object back.
 */
function restoreLineEnds(data: string): string {
  const crlf = data.includes('\n') && !data.includes('\r') ? data.replace(/\n/g, '\r\n') : data;
  return /\n$/.test(crlf) ? crlf : `${crlf}\r\n`;
}


export class DavStore implements DataStore, SyncCollectionSupport {
  readonly kind: ItemKind;
  readonly collectionUrl: string;
  readonly client: DavClient;
  readonly #dialect: DavDialect;
  readonly #batchSize: number;
  readonly #collectionPath: string;
  readonly quirks: DavQuirks;
  readonly #deferEtag: boolean;

  constructor(opts: DavStoreOptions) {
    this.#deferEtag = opts.deferEtag ?? false;
    this.quirks = { ...DEFAULT_QUIRKS, ...opts.quirks };
    this.kind = opts.kind;
    this.collectionUrl = collectionBase(opts.collectionUrl);
    this.#collectionPath = canonicalHref(this.collectionUrl, this.collectionUrl);
    this.#dialect = dialectFor(opts.kind);
    this.#batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE;
    this.client = new DavClient({
      credentials: opts.credentials,
      userAgent: opts.userAgent,
      concurrency: opts.concurrency,
      timeoutMs: opts.timeoutMs,
      fetch: opts.fetch,
      onRequest: opts.onRequest,
      retry: opts.retry,
    });
  }

  /**
   * CardDAV: one PROPFIND Depth 1 (every member's ETag plus the collection's sync-token or
   * CTag). CalDAV: a calendar-query REPORT filtered to this store's component, because one
   * calendar may hold VEVENTs and VTODOs (Nextcloud does; Radicale 3.1 and Xandikos 0.2 accept
   * a VTODO in a VEVENT-only calendar), plus a PROPFIND Depth 0 for the version, in parallel.
   */
  async list(): Promise<Listing> {
    const component = this.#dialect.component;
    // Read response by response (eachItem): only the ItemRefs stay, never the whole answer.
    let members = new ListingPart(this.collectionUrl, this.#collectionPath);
    let query: ListingPart | undefined;
    await Promise.all([
      this.client.eachItem({
        url: this.collectionUrl,
        method: 'PROPFIND',
        depth: component ? '0' : '1',
        scope: 'collection',
        body: {
          'd:propfind': {
            _attributes: NS,
            'd:prop': { 'd:getetag': {}, 'd:resourcetype': {}, 'cs:getctag': {}, 'd:sync-token': {} },
          },
        },
      }, () => (members = new ListingPart(this.collectionUrl, this.#collectionPath)).take),
      component ? this.#calendarQuery(component, () => (query = new ListingPart(this.collectionUrl, this.#collectionPath)).take) : undefined,
    ]);
    // Xandikos answers a PROPFIND on a missing collection with 207 + a 404 response inside:
    // that must not read as an empty collection (the engine would delete everything).
    const self = members.self;
    if (!self?.ok) {
      throw davHttpError({
        method: 'PROPFIND',
        url: this.collectionUrl,
        status: self?.status ?? 404,
        statusText: self?.statusText ?? 'collection missing from the answer',
        scope: 'collection',
      });
    }
    // Prefer the sync-token: it is what changesSince() accepts.
    const version = propText(self.props?.syncToken) ?? propText(self.props?.getctag);
    const items = query ? [...members.items, ...query.items] : members.items;
    return version === undefined ? { items } : { items, version };
  }

  /** RFC 4791 §7.8 calendar-query: the ETags of the members holding `component`, each to `begin()`'s function. */
  async #calendarQuery(component: string, begin: () => (r: DAVResponse) => void): Promise<void> {
    await this.client.eachItem({
      url: this.collectionUrl,
      method: 'REPORT',
      depth: '1',
      scope: 'collection',
      body: {
        'c:calendar-query': {
          _attributes: NS,
          'd:prop': { 'd:getetag': {} },
          'c:filter': {
            'c:comp-filter': { _attributes: { name: 'VCALENDAR' }, 'c:comp-filter': { _attributes: { name: component } } },
          },
        },
      },
    }, begin);
  }

  /** Multiget REPORTs of at most `batchSize` hrefs, run in parallel under the client's limit. */
  async fetch(hrefs: readonly string[]): Promise<StoredItem[]> {
    // Answer with the caller's spelling of each href, whatever encoding the server echoes.
    const wanted = new Map<string, string>();
    for (const h of hrefs) wanted.set(canonicalHref(h, this.collectionUrl), h);
    const batches = chunk([...wanted.keys()], this.#batchSize);
    const results = await Promise.all(batches.map((b) => this.#multiget(b)));
    const out: StoredItem[] = [];
    for (const r of results.flat()) {
      const key = canonicalHref(r.href, this.collectionUrl);
      const href = wanted.get(key);
      if (href === undefined) continue;
      wanted.delete(key); // a server listing one href twice must not duplicate the item
      out.push({ ...r, href });
    }
    return out;
  }

  async #multiget(hrefs: string[]): Promise<StoredItem[]> {
    const d = this.#dialect;
    const res = await this.client.items({
      url: this.collectionUrl,
      method: 'REPORT',
      depth: '1',
      scope: 'collection',
      body: {
        [d.multiget]: {
          _attributes: NS,
          'd:prop': { 'd:getetag': {}, [d.dataProp]: {} },
          'd:href': hrefs,
        },
      },
    });
    const out: StoredItem[] = [];
    for (const r of res) {
      // Missing items come back as per-href 404s: they are simply absent (DataStore contract).
      if (!r.href || !r.ok) continue;
      const etag = propText(r.props?.getetag);
      const data = propText(r.props?.[d.dataKey]);
      if (etag === undefined || data === undefined) continue;
      // Same view as list(): a VTODO in the calendar is not one of an events store's items.
      if (d.component && !new RegExp(`^BEGIN:${d.component}\\b`, 'im').test(data)) continue;
      out.push({ href: r.href, etag, data: restoreLineEnds(data) });
    }
    return out;
  }

  /**
   * PUT a new item with `If-None-Match: *` under a name taken from its UID (else the hint, else
   * a random id; an item without UID gets one). When the name is taken by an item with the
   * same UID -> ALREADY_EXISTS; by another item -> retry once with a random suffix.
   */
  async create(data: string, nameHint: string): Promise<ItemRef> {
    const uid = extractUid(data);
    const base = safeName(uid ?? '') || safeName(nameHint) || randomUUID();
    const body = uid === undefined ? ensureUid(data, randomUUID()) : data;
    try {
      return await this.#createAs(base, body);
    } catch (err) {
      if (!isGatewayError(err, 'ETAG_MISMATCH')) throw err;
      await this.#failIfSameUid(base, uid, err);
    }
    try {
      return await this.#createAs(`${base.slice(0, 80)}-${randomUUID().slice(0, 8)}`, body);
    } catch (err) {
      if (!isGatewayError(err, 'ETAG_MISMATCH')) throw err;
      throw new GatewayError('ALREADY_EXISTS', `DAV PUT ${base}: name already taken`, {
        cause: err,
      });
    }
  }

  /** After a 412 on create: is the resource at that name the same item (same UID)? */
  async #failIfSameUid(name: string, uid: string | undefined, err: GatewayError): Promise<void> {
    if (uid === undefined) return;
    const href = `${this.#collectionPath}${encodeURIComponent(name)}${this.#dialect.extension}`;
    const [existing] = await this.fetch([href]);
    if (existing && extractUid(existing.data) === uid) {
      // Xandikos accepts duplicate UIDs under other names, so this check must be ours.
      throw new GatewayError('ALREADY_EXISTS', `an item with UID ${uid} exists at ${href}`, {
        cause: err,
        details: { href, etag: existing.etag },
      });
    }
  }

  async #createAs(name: string, data: string): Promise<ItemRef> {
    const href = `${this.#collectionPath}${encodeURIComponent(name)}${this.#dialect.extension}`;
    const url = hrefUrl(href, this.collectionUrl);
    const reply = await this.client.put(
      url,
      data,
      this.#dialect.contentType,
      this.quirks.ifNoneMatchOnCreate ? { 'If-None-Match': '*' } : {},
    );
    this.#checkWrite(reply, 'PUT', url, true);
    // A server may store the item elsewhere and say so in Location (RFC 7231 §7.1.2).
    const location = reply.headers.get('Location');
    const finalHref = location ? canonicalHref(location, url) : href;
    return { href: finalHref, etag: await this.#etagAfterWrite(reply, finalHref) };
  }

  async update(href: string, data: string, ifMatch?: string): Promise<ItemRef> {
    const canonical = canonicalHref(href, this.collectionUrl);
    const url = hrefUrl(canonical, this.collectionUrl);
    data = await this.#touchForUpdate(canonical, data);
    // Without ifMatch this is an unconditional PUT. (`If-Match: *` would make a gone item fail,
    // but Radicale 3.1 compares `*` literally with the ETag and answers 412 for every item.)
    const reply = await this.client.put(
      url,
      data,
      this.#dialect.contentType,
      ifMatch ? { 'If-Match': ifMatch } : {},
    );
    try {
      this.#checkWrite(reply, 'PUT', url);
    } catch (err) {
      // Radicale answers 412 (not 404) for an If-Match PUT on a deleted item: tell them apart.
      if (isGatewayError(err, 'ETAG_MISMATCH') && (await this.#etagOf(canonical)) === undefined) {
        throw new GatewayError('NOT_FOUND', `DAV PUT ${url}: item no longer exists`, {
          cause: err,
        });
      }
      throw err;
    }
    return { href, etag: await this.#etagAfterWrite(reply, canonical) };
  }

  /** Provider touch-ups (SEQUENCE/DTSTAMP) before an iCalendar update; see quirks.ts. */
  async #touchForUpdate(href: string, data: string): Promise<string> {
    const q = this.quirks;
    if (this.#dialect.protocol !== 'caldav') return data;
    if (!q.bumpSequenceOnUpdate && !q.advanceDtstampOnUpdate) return data;
    // The stored SEQUENCE is what the server compares with; the device's copy may be older.
    const previous = q.bumpSequenceOnUpdate ? (await this.fetch([href]))[0] : undefined;
    return touchICalendar(data, q, previous ? maxSequence(previous.data) : 0);
  }

  async delete(href: string, ifMatch?: string): Promise<void> {
    const url = hrefUrl(href, this.collectionUrl);
    const reply = await this.client.delete(url, ifMatch);
    const status = writeStatus(reply);
    if (status === 404 || status === 410) return; // already gone: fine (DataStore contract)
    this.#checkWrite(reply, 'DELETE', url);
  }

  /** RFC 6578 sync-collection, sync-level 1, following truncated results (507) to the end. */
  async changesSince(syncToken: string): Promise<ChangeSet> {
    const changes = new SyncChanges(this.collectionUrl, this.#collectionPath, (type) => this.#otherComponent(type));
    let token = syncToken;
    for (let round = 0; round < 100; round++) {
      let res: DAVResponse[];
      try {
        // Bypasses tsdav's syncCollection(): it omits an empty <sync-token/> (initial sync,
        // RFC 6578 §3.4 requires the element) and would not show the token as text anyway.
        res = await this.client.items({ url: this.collectionUrl, method: 'REPORT', depth: '0', scope: 'collection', body: syncCollectionBody(token) });
      } catch (err) {
        throw syncCollectionError(err, token, this.collectionUrl);
      }
      const page = readSyncCollection(res, this.collectionUrl, this.#collectionPath);
      changes.add(page.responses);
      token = page.nextToken;
      if (!page.truncated) break;
    }
    return changes.result(token);
  }

  /**
   * True when a content type names another component (`text/calendar;component=VTODO` in an
   * events store). Only Radicale says so; elsewhere such items stay in `changed` and the
   * following fetch() leaves them out.
   */
  #otherComponent(contentType: string | undefined): boolean {
    const m = /;\s*component=([\w-]+)/i.exec(contentType ?? '');
    return !!m && !!this.#dialect.component && m[1].toUpperCase() !== this.#dialect.component;
  }

  /** Throw the mapped GatewayError unless the write succeeded (2xx, no failing inner status). */
  #checkWrite(reply: DavReply, method: string, url: string, creating = false): void {
    const status = writeStatus(reply);
    if (status >= 200 && status < 300) return;
    throw davHttpError({
      method,
      url,
      status,
      statusText: status === reply.status ? reply.statusText : '',
      body: reply.body,
      scope: 'item',
      creating,
    });
  }

  async #etagAfterWrite(reply: DavReply, href: string): Promise<string> {
    const fromHeader = reply.headers.get('ETag');
    if (fromHeader && !this.quirks.refetchEtagAfterPut) return fromHeader;
    if (this.#deferEtag) return '';
    // RFC 4918 lets servers omit the ETag (e.g. when they rewrote the data): ask for it
    // (DAViCal does so after every vCard PUT: 146 PROPFINDs per 1000 contacts).
    const etag = await this.#etagOf(href);
    if (etag === undefined) {
      throw new GatewayError('BACKEND_UNAVAILABLE', `DAV PUT ${href}: stored item has no ETag`);
    }
    return etag;
  }

  /** The item's current ETag via PROPFIND Depth 0, or undefined when it does not exist. */
  async #etagOf(href: string): Promise<string | undefined> {
    try {
      const res = await this.client.items({
        url: hrefUrl(href, this.collectionUrl),
        method: 'PROPFIND',
        depth: '0',
        scope: 'item',
        body: { 'd:propfind': { _attributes: NS, 'd:prop': { 'd:getetag': {} } } },
      });
      const r = res.find((x) => x.ok);
      return r ? propText(r.props?.getetag) : undefined;
    } catch (err) {
      if (isGatewayError(err, 'NOT_FOUND')) return undefined;
      throw err;
    }
  }
}

/** A DataStore for one CardDAV (contacts) or CalDAV (events, tasks, notes) collection. */
export function createDavStore(opts: DavStoreOptions): DavStore {
  return new DavStore(opts);
}
