// From an account mapping and the session's credentials to a DataStore: provider quirks, OAuth2
// token sources (one per account), collection names resolved (lazily for passthrough), several
// collections behind one MultiCollectionStore. Part of the composition root: it names the
// concrete DAV stores, so neither accounts/ nor datastores/ has to know the other's insides.
import { GatewayError } from '../errors.js';
import type { DataStore, DavCredentials, ItemKind, ItemRef, Listing, StoredItem } from '../datastores/datastore.js';
import type { DavAuth, DavClientOptions, DavRequestEvent } from '../datastores/dav-client.js';
import { createDavStore, supportsSyncCollection } from '../datastores/dav-store.js';
import type { ChangeSet, SyncCollectionSupport } from '../datastores/dav-store.js';
import { MultiCollectionStore } from '../datastores/multi-collection-store.js';
import { OAuth2TokenSource } from '../datastores/oauth2.js';
import type { TokenStore } from '../datastores/oauth2.js';
import { isCollectionName } from '../accounts/mappings.js';
import type { AccountMapping, DatastoreMapping } from '../accounts/mappings.js';
import { providerFor } from '../accounts/providers.js';
import type { ProviderProfiles } from '../accounts/providers.js';
import { CollectionResolver, resolvePaths } from '../accounts/resolve.js';

export interface AccountStoresOptions {
  profiles: ProviderProfiles;
  /** Shared resolver (cache) for collection names; default: a private one. */
  resolver?: CollectionResolver;
  /** Where OAuth2 access tokens are kept between processes (e.g. backed by the StateStore). */
  tokenStore?: TokenStore;
  userAgent?: string;
  dav?: Pick<DavClientOptions, 'timeoutMs' | 'concurrency' | 'retry' | 'onRequest' | 'fetch'> & { batchSize?: number; deferEtag?: boolean };
  /** Every DAV request of the stores, with the account's provider (metrics); overrides `dav.onRequest`. */
  onDavRequest?: (provider: string, e: DavRequestEvent) => void;
}

export class AccountStores {
  readonly #opts: AccountStoresOptions;
  readonly #resolver: CollectionResolver;
  readonly #tokens = new Map<string, OAuth2TokenSource>();

  constructor(opts: AccountStoresOptions) {
    this.#opts = opts;
    this.#resolver = opts.resolver ?? new CollectionResolver({ profiles: opts.profiles, userAgent: opts.userAgent });
  }

  /**
   * The DAV authentication for a mapping: its OAuth2 grant when it has one (the phone's
   * credentials then only unlocked the gateway), else the session's DAV credentials.
   */
  authFor(mapping: AccountMapping, creds: DavCredentials | undefined): DavAuth {
    const o = mapping.dav.oauth2;
    if (o) {
      let src = this.#tokens.get(mapping.account);
      if (!src) {
        src = new OAuth2TokenSource(o, {
          store: this.#opts.tokenStore,
          userAgent: this.#opts.userAgent,
          label: mapping.file,
          fetch: this.#opts.dav?.fetch,
        });
        this.#tokens.set(mapping.account, src);
      }
      return { tokenSource: src };
    }
    if (!creds) throw new GatewayError('AUTH_FAILED', `${mapping.file}: no DAV credentials for account ${mapping.account}`);
    return creds;
  }

  /** Resolve the mapping's collection names for these credentials (cached per user). */
  resolve(mapping: AccountMapping, creds: DavCredentials | undefined): Promise<AccountMapping> {
    return this.#resolver.resolve(mapping, this.authFor(mapping, creds), creds?.username);
  }

  /**
   * The DataStore for one datastore of an account. Synchronous, as the engine wants it: when
   * the mapping uses collection NAMEs, the store resolves them on its first call.
   */
  open(mapping: AccountMapping, ds: DatastoreMapping, creds: DavCredentials | undefined): DataStore {
    const auth = this.authFor(mapping, creds);
    // Only a datastore that names a collection waits for discovery; URLs and /paths do not.
    if (!ds.collections.some(isCollectionName)) {
      const resolved = resolvePaths(mapping).datastores.find((d) => d.name === ds.name) ?? ds;
      return this.#build(mapping, resolved, auth);
    }
    return new LazyStore(ds.kind, mapping.dav.url, async () => {
      const resolved = await this.#resolver.resolve(mapping, auth, creds?.username);
      const d = resolved.datastores.find((x) => x.name === ds.name);
      if (!d) throw new GatewayError('CONFIG_INVALID', `${mapping.file}: datastore ${ds.name} vanished`);
      return this.#build(mapping, d, auth);
    });
  }

  /** A store on one collection URL of the account (a backup's collection, for a restore). */
  openAt(mapping: AccountMapping, kind: ItemKind, collectionUrl: string, creds: DavCredentials | undefined): DataStore {
    return this.#maker(mapping, this.authFor(mapping, creds))(kind, collectionUrl);
  }

  #maker(mapping: AccountMapping, auth: DavAuth): (kind: ItemKind, url: string) => DataStore {
    const profile = providerFor(mapping, this.#opts.profiles);
    const onDav = this.#opts.onDavRequest;
    return (kind, url) => createDavStore({
      kind, collectionUrl: url, credentials: auth, userAgent: this.#opts.userAgent, quirks: profile.quirks,
      // The sync engine fills missing ETags from its listing (no PROPFIND per written item).
      deferEtag: true, ...this.#opts.dav,
      ...(onDav ? { onRequest: (e: DavRequestEvent) => onDav(profile.name, e) } : {}),
    });
  }

  #build(mapping: AccountMapping, ds: DatastoreMapping, auth: DavAuth): DataStore {
    const make = this.#maker(mapping, auth);
    const stores = ds.collections.map((url) => make(ds.kind, url));
    if (ds.tasksCollection !== undefined) {
      // A phone datastore mixing events and to-dos (Nokia, UIQ): VTODOs live in their own collection.
      const tasksAt = stores.length;
      const mixed = [...stores, make('tasks', ds.tasksCollection)];
      return new MultiCollectionStore(mixed, { routeCreate: (data) => (/^BEGIN:VTODO/im.test(data) ? tasksAt : ds.createIn) });
    }
    return stores.length === 1 ? stores[0] : new MultiCollectionStore(stores, { createIn: ds.createIn });
  }
}

/**
 * A DataStore whose collection is known only after discovery. `collectionUrl` is the account's
 * dav.url until then. Offers changesSince(); NOT_SUPPORTED when the real store has none.
 */
class LazyStore implements DataStore, SyncCollectionSupport {
  readonly kind: ItemKind;
  readonly #fallbackUrl: string;
  readonly #make: () => Promise<DataStore>;
  #store: Promise<DataStore> | undefined;
  #ready: DataStore | undefined;

  constructor(kind: ItemKind, fallbackUrl: string, make: () => Promise<DataStore>) {
    this.kind = kind;
    this.#fallbackUrl = fallbackUrl;
    this.#make = make;
  }

  get collectionUrl(): string {
    return this.#ready?.collectionUrl ?? this.#fallbackUrl;
  }

  #get(): Promise<DataStore> {
    this.#store ??= this.#make().then(
      (s) => (this.#ready = s),
      (err: unknown) => {
        this.#store = undefined; // let the next call try again
        throw err;
      },
    );
    return this.#store;
  }

  async list(): Promise<Listing> {
    return (await this.#get()).list();
  }
  async fetch(hrefs: readonly string[]): Promise<StoredItem[]> {
    return (await this.#get()).fetch(hrefs);
  }
  async create(data: string, nameHint: string): Promise<ItemRef> {
    return (await this.#get()).create(data, nameHint);
  }
  async update(href: string, data: string, ifMatch?: string): Promise<ItemRef> {
    return (await this.#get()).update(href, data, ifMatch);
  }
  async delete(href: string, ifMatch?: string): Promise<void> {
    return (await this.#get()).delete(href, ifMatch);
  }
  async changesSince(syncToken: string): Promise<ChangeSet> {
    const s = await this.#get();
    if (!supportsSyncCollection(s)) throw new GatewayError('NOT_SUPPORTED', `${s.collectionUrl} has no sync-collection`);
    return s.changesSince(syncToken);
  }
}
