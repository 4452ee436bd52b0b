// Collection references in mappings -> URLs: `/paths` against dav.url, NAMEs (display name or
// last path segment) through discovery. At start-up when the mapping has DAV credentials;
// lazily, per user and cached, on the first authenticated session for passthrough accounts.
import { GatewayError } from '../errors.js';
import type { ItemKind } from '../datastores/datastore.js';
import type { DavAuth } from '../datastores/dav-client.js';
import { discoverAccount } from '../datastores/discovery.js';
import type { DiscoveredCollection, DiscoveryOptions, DiscoveryResult } from '../datastores/discovery.js';
import { collectionBase } from '../datastores/href.js';
import { isCollectionName, needsDiscovery } from './mappings.js';
import type { AccountMapping, DatastoreMapping } from './mappings.js';
import { discoveryRoots, providerFor } from './providers.js';
import type { ProviderProfiles } from './providers.js';

export interface ResolveOptions extends DiscoveryOptions {
  /** To find the discovery roots of a provider (Google: two hosts); default: dav.url. */
  profiles?: ProviderProfiles;
}

const COMPONENT: Record<ItemKind, string | undefined> = {
  contacts: undefined,
  events: 'VEVENT',
  tasks: 'VTODO',
  notes: 'VJOURNAL',
};

function lastSegment(url: string): string {
  const segs = new URL(url).pathname.split('/').filter(Boolean);
  const last = segs[segs.length - 1] ?? '';
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

function describe(c: DiscoveredCollection): string {
  const comps = c.components ? ` [${c.components.join(',')}]` : '';
  return `"${c.displayName ?? lastSegment(c.url)}" (${c.url}${comps})`;
}

/**
 * The discovered collection a NAME means for a datastore of `kind`: same kind (address book for
 * contacts, calendar otherwise), display name or last path segment equal ignoring case; among
 * several, the ones that accept the datastore's component. CONFIG_INVALID when none or many.
 */
export function matchCollection(
  ref: string,
  kind: ItemKind,
  found: DiscoveryResult,
  where: string,
): DiscoveredCollection {
  const want = kind === 'contacts' ? 'addressbook' : 'calendar';
  const comp = COMPONENT[kind];
  const name = ref.trim().toLowerCase();
  const ofKind = found.collections.filter((c) => c.kind === want);
  let hits = ofKind.filter(
    (c) => c.displayName?.trim().toLowerCase() === name || lastSegment(c.url).toLowerCase() === name,
  );
  if (hits.length > 1 && comp) {
    const fitting = hits.filter((c) => !c.components || c.components.includes(comp));
    if (fitting.length > 0) hits = fitting;
  }
  if (hits.length > 1) {
    // Exact display name beats a segment match ("Work" vs a collection at /work/).
    const exact = hits.filter((c) => c.displayName?.trim() === ref.trim());
    if (exact.length === 1) hits = exact;
  }
  if (hits.length === 1) {
    const c = hits[0];
    if (comp && c.components && !c.components.includes(comp)) {
      throw new GatewayError('CONFIG_INVALID', `${where}: collection ${describe(c)} does not accept ${comp}`);
    }
    return c;
  }
  const list = ofKind.map(describe).join(', ') || 'none';
  if (hits.length === 0) {
    throw new GatewayError('CONFIG_INVALID', `${where}: no ${want} named "${ref}" for ${found.principal}; available: ${list}`);
  }
  throw new GatewayError('CONFIG_INVALID', `${where}: "${ref}" matches several collections: ${hits.map(describe).join(', ')}; use the URL`);
}

function withCollections(ds: DatastoreMapping, collections: string[]): DatastoreMapping {
  return { ...ds, collections, collection: collections[ds.createIn] };
}

/** Resolve `/path` references against dav.url (no request needed); names stay as they are. */
export function resolvePaths(mapping: AccountMapping): AccountMapping {
  return {
    ...mapping,
    datastores: mapping.datastores.map((ds) =>
      withCollections(
        ds,
        ds.collections.map((c) => (c.startsWith('/') ? collectionBase(new URL(c, mapping.dav.url).toString()) : c)),
      ),
    ),
  };
}

/**
 * A copy of `mapping` in which every collection reference is an absolute URL. Discovery runs
 * only when a NAME is used (then `auth` is needed): one principal lookup and one PROPFIND per
 * home. Throws CONFIG_INVALID for an unknown or ambiguous name, AUTH_FAILED/BACKEND_UNAVAILABLE
 * from discovery.
 */
export async function resolveCollections(
  mapping: AccountMapping,
  auth: DavAuth | undefined,
  opts: ResolveOptions = {},
): Promise<AccountMapping> {
  const withPaths = resolvePaths(mapping);
  if (!needsDiscovery(withPaths)) return withPaths;
  if (!auth) {
    throw new GatewayError('CONFIG_INVALID', `${mapping.file}: collections named by name need DAV credentials to be resolved`);
  }
  const { profiles, ...discoveryOpts } = opts;
  const roots = profiles ? discoveryRoots(mapping, providerFor(mapping, profiles)) : [mapping.dav.url];
  const found = await discoverAccount(roots, auth, discoveryOpts);
  return {
    ...withPaths,
    datastores: withPaths.datastores.map((ds) =>
      withCollections(
        ds,
        ds.collections.map((c) =>
          isCollectionName(c)
            ? matchCollection(c, ds.kind, found, `${mapping.file}: datastores.${ds.name}.collection`).url
            : c,
        ),
      ),
    ),
  };
}

export interface CollectionResolverOptions extends ResolveOptions {
  /** How long a resolution is reused (default 1 hour): collections are rarely renamed. */
  ttlMs?: number;
}

/**
 * resolveCollections with a cache per account and DAV user, for passthrough accounts whose
 * credentials arrive with the phone. Concurrent sessions share one discovery; failures are not
 * cached (the next session tries again).
 */
export class CollectionResolver {
  readonly #opts: CollectionResolverOptions;
  readonly #cache = new Map<string, { at: number; value: Promise<AccountMapping> }>();

  constructor(opts: CollectionResolverOptions = {}) {
    this.#opts = opts;
  }

  /** The mapping with URLs for `auth`'s user (`user` names the cache entry, never a password). */
  resolve(mapping: AccountMapping, auth: DavAuth | undefined, user?: string): Promise<AccountMapping> {
    if (!needsDiscovery(mapping)) return Promise.resolve(resolvePaths(mapping));
    const who = user ?? (auth && 'username' in auth ? auth.username : '');
    const key = `${mapping.account.toLowerCase()}\0${who}`;
    const hit = this.#cache.get(key);
    if (hit && Date.now() - hit.at < (this.#opts.ttlMs ?? 3_600_000)) return hit.value;
    const { ttlMs: _ttl, ...opts } = this.#opts;
    const value = resolveCollections(mapping, auth, opts);
    this.#cache.set(key, { at: Date.now(), value });
    value.catch(() => {
      if (this.#cache.get(key)?.value === value) this.#cache.delete(key);
    });
    return value;
  }

  /** Forget every resolution of an account (e.g. after a NOT_FOUND on a resolved collection). */
  forget(account: string): void {
    const prefix = `${account.toLowerCase()}\0`;
    for (const k of this.#cache.keys()) if (k.startsWith(prefix)) this.#cache.delete(k);
  }
}
