// Account discovery: from a server URL to the user's address books and calendars.
// RFC 6764 (/.well-known/carddav|caldav), RFC 5397 (current-user-principal), RFC 6352 §7.1.1
// (addressbook-home-set), RFC 4791 §6.2.1 (calendar-home-set) and §5.2.3 (components).
import type { DAVResponse } from 'tsdav';
import { GatewayError, isGatewayError } from '../errors.js';
import { DavClient, propText } from './dav-client.js';
import type { DavAuth, DavClientOptions } from './dav-client.js';
import { NS } from './dav-dialect.js';
import { collectionBase } from './href.js';

export type CollectionKindName = 'addressbook' | 'calendar';

export interface DiscoveredCollection {
  /** Absolute URL ending in `/`. */
  url: string;
  displayName?: string;
  kind: CollectionKindName;
  /** Calendar components the collection accepts (VEVENT, VTODO, VJOURNAL); absent: any. */
  components?: string[];
  ctag?: string;
  /** The collection offers the RFC 6578 sync-collection report. */
  syncToken?: boolean;
}

export interface DiscoveryResult {
  /** Absolute URL of the user's principal. */
  principal: string;
  addressbookHome?: string;
  calendarHome?: string;
  collections: DiscoveredCollection[];
}

export type DiscoveryOptions = Pick<
  DavClientOptions,
  'userAgent' | 'timeoutMs' | 'fetch' | 'onRequest' | 'retry' | 'concurrency'
>;

const PROPFIND = (props: Record<string, unknown>): Record<string, unknown> => ({
  'd:propfind': { _attributes: NS, 'd:prop': props },
});

/** True when `key` occurs anywhere in a tsdav-parsed property tree (camelCased names). */
function hasKey(value: unknown, key: string, depth = 0): boolean {
  if (!value || typeof value !== 'object' || depth > 8) return false;
  if (Array.isArray(value)) return value.some((v) => hasKey(v, key, depth + 1));
  return Object.entries(value).some(([k, v]) => k === key || hasKey(v, key, depth + 1));
}

/** The first `<href>` text inside a property (`{ href: '/x/' }` or `{ href: ['/x/'] }`). */
function hrefIn(value: unknown): string | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const h: unknown = (value as { href?: unknown }).href;
  if (Array.isArray(h)) return propText(h[0]);
  return propText(h);
}

/** Component names of a supported-calendar-component-set (`<comp name="VEVENT"/>`…). */
function componentsIn(value: unknown): string[] | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const comp: unknown = (value as { comp?: unknown }).comp;
  const list = Array.isArray(comp) ? comp : comp ? [comp] : [];
  const names = list
    .map((c: unknown) => (c && typeof c === 'object' ? (c as { _attributes?: { name?: unknown } })._attributes?.name : undefined))
    .filter((n): n is string => typeof n === 'string')
    .map((n) => n.toUpperCase());
  return names.length ? names : undefined;
}

/**
 * RFC 6764 §5: `/.well-known/carddav` (or caldav) redirects to the context path. Returns the
 * redirect target, the well-known URL itself when it answers 207, undefined otherwise.
 */
async function wellKnown(client: DavClient, origin: string, service: 'carddav' | 'caldav'): Promise<string | undefined> {
  const url = new URL(`/.well-known/${service}`, origin).toString();
  const res = await client.fetch(url, {
    method: 'PROPFIND',
    redirect: 'manual',
    headers: { Depth: '0', 'Content-Type': 'application/xml; charset=utf-8' },
    body:
      '<?xml version="1.0" encoding="utf-8"?>' +
      `<d:propfind xmlns:d="DAV:"><d:prop><d:current-user-principal/></d:prop></d:propfind>`,
  });
  const location = res.headers.get('Location');
  if (res.status >= 300 && res.status < 400 && location) return new URL(location, url).toString();
  if (res.status === 207) return url;
  return undefined;
}

async function principalAt(client: DavClient, url: string): Promise<string | undefined> {
  const res = await client.multistatus({
    url,
    method: 'PROPFIND',
    depth: '0',
    scope: 'collection',
    body: PROPFIND({ 'd:current-user-principal': {} }),
  });
  for (const r of res) {
    const href = hrefIn(r.props?.currentUserPrincipal);
    if (href) return new URL(href, url).toString();
  }
  return undefined;
}

/**
 * Find the principal: from the URL as given when it has a path, else from the well-known
 * URLs first (Nextcloud's `/` is a web page; its DAV root is `/remote.php/dav`).
 */
async function findPrincipal(client: DavClient, serverUrl: string): Promise<string> {
  const base = collectionBase(serverUrl);
  const candidates: string[] = [];
  const hasPath = new URL(base).pathname !== '/';
  if (hasPath) candidates.push(base);
  for (const service of ['carddav', 'caldav'] as const) {
    const ctx = await wellKnown(client, base, service);
    if (ctx && !candidates.includes(ctx)) candidates.push(ctx);
  }
  if (!hasPath) candidates.push(base);
  const failures: string[] = [];
  for (const c of candidates) {
    try {
      const principal = await principalAt(client, c);
      if (principal) return principal;
      failures.push(`${c}: no current-user-principal`);
    } catch (err) {
      // Wrong credentials, an unreachable server or one that floods us do not get better at the next candidate.
      if (isGatewayError(err, 'AUTH_FAILED') || isGatewayError(err, 'BACKEND_UNAVAILABLE') || isGatewayError(err, 'BACKEND_RESPONSE_TOO_LARGE')) throw err;
      failures.push(`${c}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  throw new GatewayError('NOT_FOUND', `no DAV principal found from ${base} (${failures.join('; ')})`);
}

async function homes(client: DavClient, principal: string): Promise<{ addressbookHome?: string; calendarHome?: string }> {
  const res = await client.multistatus({
    url: principal,
    method: 'PROPFIND',
    depth: '0',
    scope: 'collection',
    body: PROPFIND({ 'card:addressbook-home-set': {}, 'c:calendar-home-set': {} }),
  });
  const out: { addressbookHome?: string; calendarHome?: string } = {};
  for (const r of res) {
    const ab = hrefIn(r.props?.addressbookHomeSet);
    const cal = hrefIn(r.props?.calendarHomeSet);
    if (ab) out.addressbookHome ??= collectionBase(new URL(ab, principal).toString());
    if (cal) out.calendarHome ??= collectionBase(new URL(cal, principal).toString());
  }
  return out;
}

function toCollection(r: DAVResponse, home: string): DiscoveredCollection | undefined {
  if (!r.href || !r.ok) return undefined;
  const rt: unknown = r.props?.resourcetype;
  const kind: CollectionKindName | undefined = hasKey(rt, 'addressbook')
    ? 'addressbook'
    : hasKey(rt, 'calendar')
      ? 'calendar'
      : undefined;
  if (!kind) return undefined;
  const c: DiscoveredCollection = { url: collectionBase(new URL(r.href, home).toString()), kind };
  const name = propText(r.props?.displayname);
  if (name) c.displayName = name;
  if (kind === 'calendar') {
    const comps = componentsIn(r.props?.supportedCalendarComponentSet);
    if (comps) c.components = comps;
  }
  const ctag = propText(r.props?.getctag);
  if (ctag) c.ctag = ctag;
  // supported-report-set (RFC 3253 §3.1.5) is the promise; a sync-token property is the
  // evidence on servers that do not list their reports.
  c.syncToken = hasKey(r.props?.supportedReportSet, 'syncCollection') || propText(r.props?.syncToken) !== undefined;
  return c;
}

async function collectionsIn(client: DavClient, home: string): Promise<DiscoveredCollection[]> {
  const res = await client.multistatus({
    url: home,
    method: 'PROPFIND',
    depth: '1',
    scope: 'collection',
    body: PROPFIND({
      'd:resourcetype': {},
      'd:displayname': {},
      'cs:getctag': {},
      'd:sync-token': {},
      'd:supported-report-set': {},
      'c:supported-calendar-component-set': {},
    }),
  });
  return res.map((r) => toCollection(r, home)).filter((c): c is DiscoveredCollection => !!c);
}

/**
 * Everything the gateway can see for an account, starting from each of `serverUrl` (several
 * roots when a provider serves CardDAV and CalDAV from different places, as Google does).
 * Failures: AUTH_FAILED, BACKEND_UNAVAILABLE, NOT_FOUND (no principal).
 * Requests: 2 well-known probes (root URLs only), 1 principal, 1 homes, 1 per distinct home.
 */
export async function discoverAccount(
  serverUrl: string | readonly string[],
  auth: DavAuth,
  opts: DiscoveryOptions = {},
): Promise<DiscoveryResult> {
  const roots = typeof serverUrl === 'string' ? [serverUrl] : [...serverUrl];
  if (roots.length === 0) throw new GatewayError('CONFIG_INVALID', 'discoverAccount: no server URL');
  const client = new DavClient({ ...opts, credentials: auth });
  let result: DiscoveryResult | undefined;
  const seen = new Set<string>();
  for (const root of roots) {
    const principal = await findPrincipal(client, root);
    const h = await homes(client, principal);
    result ??= { principal, collections: [] };
    if (h.addressbookHome) result.addressbookHome ??= h.addressbookHome;
    if (h.calendarHome) result.calendarHome ??= h.calendarHome;
    const homeUrls = [...new Set([h.addressbookHome, h.calendarHome].filter((u): u is string => !!u))];
    // No home set at all: some servers keep the collections right below the principal.
    if (homeUrls.length === 0) homeUrls.push(collectionBase(principal));
    const lists = await Promise.all(homeUrls.map((u) => collectionsIn(client, u)));
    for (const c of lists.flat()) {
      if (seen.has(c.url)) continue;
      seen.add(c.url);
      result.collections.push(c);
    }
  }
  return result!;
}
