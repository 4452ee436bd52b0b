// Account mappings: one YAML file per account in MAPPINGS_DIR, validated at start-up.
// Errors name the file, the field and the problem; `${ENV}` secrets are resolved here and never logged.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { GatewayError } from '../errors.js';
import { describeIssues, MappingProblems } from './mapping-problems.js';
import { instantiateTemplate } from './templates.js';
import type { ItemKind } from '../datastores/datastore.js';

const secret = z.string().min(1);

/**
 * A collection reference: an absolute URL (as before), a path on the dav.url server
 * (`/alice/contacts/`), or a NAME (display name or last path segment) that discovery resolves.
 */
const collectionRef = z.string().trim().min(1).refine(
  (v) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(v) || /^https?:\/\/[^\s]+$/i.test(v),
  'must be an http(s) URL, a /path or a collection name',
);

const datastoreSchema = z.object({
  uris: z.array(z.string().min(1)).min(1),
  collection: z.union([collectionRef, z.array(collectionRef).min(1)]),
  /** With several collections: the one that receives new items (default the first). */
  createIn: collectionRef.optional(),
  kind: z.enum(['contacts', 'events', 'tasks', 'notes']).optional(),
  /** A phone datastore mixing events and to-dos: its VTODOs go to this collection (URL or /path). */
  tasksCollection: z.string().url().optional(),
  /** Slow-sync matching: which fingerprints make a phone item "the same" as a server item. */
  match: z.array(z.enum(['uid', 'name+phone', 'name+email', 'name', 'summary+start'])).min(1).optional(),
  /** What happens when an item changed on both sides since the last sync. */
  conflict: z.enum(['newer-wins', 'server-wins', 'client-wins', 'merge', 'duplicate']).optional(),
  /** Refuse a refresh-from-client that would delete more than `maxShare` of the server's items. */
  refreshGuard: z.object({ maxShare: z.number().min(0).max(1).optional(), allow: z.boolean().optional() }).strict().optional(),
}).strict();

const oauth2Schema = z.object({
  clientId: z.string().min(1),
  clientSecret: secret,
  refreshToken: secret,
  tokenUrl: z.string().url().optional(),
}).strict();

const mappingSchema = z.object({
  account: z.string().min(1).regex(/^[^\s:]+$/, 'must not contain spaces or ":"'),
  auth: z.union([
    z.literal('passthrough'),
    z.object({ basic: secret.optional(), md5: secret.optional() }).strict(),
  ]),
  dav: z.object({
    url: z.string().url(),
    username: z.string().min(1).optional(),
    password: secret.optional(),
    /** Provider profile (config/providers); default: recognised from url, else generic. */
    provider: z.enum(['nextcloud', 'google', 'radicale', 'generic']).optional(),
    oauth2: oauth2Schema.optional(),
  }).strict(),
  datastores: z.record(z.string().regex(/^[A-Za-z0-9_-]+$/, 'datastore names are letters, digits, - and _'), datastoreSchema)
    .refine((d) => Object.keys(d).length > 0, 'at least one datastore is needed'),
  /** Server-alerted sync settings, validated by push/settings.ts. */
  push: z.record(z.string(), z.unknown()).optional(),
}).strict();

export type AccountMappingFile = z.infer<typeof mappingSchema>;

export interface DatastoreMapping {
  name: string;
  kind: ItemKind;
  uris: string[];
  /** The first (or `createIn`) collection reference: a URL unless it is a name or path. */
  collection: string;
  /** Every collection reference, in mapping order (one element for a single collection). */
  collections: string[];
  /** Index in `collections` of the one that receives new items. */
  createIn: number;
  conflict: ConflictPolicy;
  refreshGuard: { maxShare: number; allow: boolean };
  /** Fingerprint kinds used for slow-sync matching; undefined = all the translator offers. */
  match?: MatchRule[];
  /** Events datastore that also carries the phone's to-dos, stored in this collection. */
  tasksCollection?: string;
}

export type MatchRule = 'uid' | 'name+phone' | 'name+email' | 'name' | 'summary+start';

export type ConflictPolicy = 'newer-wins' | 'server-wins' | 'client-wins' | 'merge' | 'duplicate';

export interface OAuth2Mapping {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  tokenUrl?: string;
}

export interface AccountMapping {
  account: string;
  file: string;
  auth: { mode: 'passthrough' } | { mode: 'secret'; basic?: string; md5?: string };
  dav: {
    url: string;
    username?: string;
    password?: string;
    provider?: 'nextcloud' | 'google' | 'radicale' | 'generic';
    oauth2?: OAuth2Mapping;
  };
  datastores: DatastoreMapping[];
  /** The `push:` block as written (push/settings.ts reads it). */
  push?: Record<string, unknown>;
}

/** The kind a datastore's name says (contacts, card, calendar, tasks …); undefined when it says none. */
export function kindFromName(name: string): ItemKind | undefined {
  const n = name.toLowerCase();
  if (/(task|todo)/.test(n)) return 'tasks';
  if (/(note|memo|journal)/.test(n)) return 'notes';
  if (/(cal|event|agenda)/.test(n)) return 'events';
  if (/(contact|card|address|phonebook|people|^pb$)/.test(n)) return 'contacts';
  return undefined;
}

/** Replace `${NAME}` with the environment value; a missing variable is a problem of the file. */
function resolveEnv(value: unknown, file: string, field: string, env: NodeJS.ProcessEnv, problems: string[]): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
      const v = env[name];
      if (v === undefined) {
        problems.push(`${file}: ${field}: environment variable ${name} is not set`);
        return '';
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => resolveEnv(v, file, `${field}[${i}]`, env, problems));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = resolveEnv(v, file, field ? `${field}.${k}` : k, env, problems);
    return out;
  }
  return value;
}

/** The account name of a mapping template: it serves every user without a file of their own. */
export const TEMPLATE_ACCOUNT = '*';

const MAX_TEMPLATE_USERS = 10_000;

/** One mapping file; throws MappingProblems listing every problem of the file. */
export function parseMapping(text: string, file: string, env: NodeJS.ProcessEnv = process.env): AccountMapping {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new MappingProblems([`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]} (quote values with \${...} inside { }: md5: "\${SECRET}")`]);
  }
  // ${ENV} first, so that a URL or name may come from the environment (dav.url: "${NEXTCLOUD_URL}").
  const problems: string[] = [];
  raw = resolveEnv(raw, file, '', env, problems);
  const result = mappingSchema.safeParse(raw);
  if (!result.success) {
    // A field whose ${ENV} is missing is reported once, not again as "invalid URL".
    const unset = new Set(problems.map((p) => p.slice(file.length + 2).split(':')[0]));
    problems.push(...describeIssues(file, result.error.issues.filter((i) => !unset.has(i.path.join('.'))), raw));
  }
  // Kinds are checked even when other fields are wrong: every problem in one run.
  const rawStores = (raw as { datastores?: unknown } | null)?.datastores;
  if (rawStores && typeof rawStores === 'object') {
    for (const [name, ds] of Object.entries(rawStores as Record<string, unknown>)) {
      const kind = (ds as { kind?: unknown } | null)?.kind;
      if (kind === undefined && kindFromName(name) === undefined) {
        problems.push(`${file}: field datastores.${name}.kind: missing; the name "${name}" does not say what it holds (accepted: contacts, events, tasks, notes)`);
      }
    }
  }
  if (!result.success) throw new MappingProblems(problems);
  const m: AccountMappingFile = result.data;
  if (m.account === TEMPLATE_ACCOUNT && m.auth !== 'passthrough') {
    problems.push(`${file}: field auth: a template (account "*") serves every user with their own password: it needs auth: passthrough`);
  }
  const datastores = Object.entries(m.datastores).map(([name, ds]): DatastoreMapping => {
    const collections = Array.isArray(ds.collection) ? ds.collection : [ds.collection];
    if (new Set(collections).size !== collections.length) {
      problems.push(`${file}: field datastores.${name}.collection: a collection is listed twice`);
    }
    let createIn = ds.createIn === undefined ? 0 : collections.indexOf(ds.createIn);
    if (createIn < 0) {
      problems.push(`${file}: field datastores.${name}.createIn: "${ds.createIn}" is not one of its collections`);
      createIn = 0;
    }
    return {
      name, kind: ds.kind ?? kindFromName(name) ?? 'contacts', uris: ds.uris,
      collection: collections[createIn]!, collections, createIn,
      ...(ds.tasksCollection !== undefined ? { tasksCollection: ds.tasksCollection } : {}),
      ...(ds.match ? { match: ds.match } : {}),
      conflict: ds.conflict ?? 'newer-wins',
      refreshGuard: { maxShare: ds.refreshGuard?.maxShare ?? 0.5, allow: ds.refreshGuard?.allow ?? false },
    };
  });
  const seen = new Map<string, string>();
  for (const ds of datastores) for (const uri of ds.uris) {
    const key = normaliseUri(uri);
    const other = seen.get(key);
    if (other && other !== ds.name) problems.push(`${file}: field datastores.${ds.name}.uris: "${uri}" is also used by datastore ${other}`);
    seen.set(key, ds.name);
  }
  if (problems.length) throw new MappingProblems(problems);
  return {
    account: m.account,
    file,
    auth: m.auth === 'passthrough' ? { mode: 'passthrough' } : { mode: 'secret', ...m.auth },
    dav: m.dav,
    datastores,
    ...(m.push ? { push: m.push } : {}),
  };
}

/** True when a collection reference is a NAME that only discovery can turn into a URL. */
export function isCollectionName(ref: string): boolean {
  return !/^https?:\/\//i.test(ref) && !ref.startsWith('/');
}

/** True when some datastore names a collection by NAME (resolveCollections needed). */
export function needsDiscovery(mapping: AccountMapping): boolean {
  return mapping.datastores.some((ds) => ds.collections.some(isCollectionName));
}

/** Phones write `./contacts`, `Contacts`, `contacts/`: compare without case, `./` and slashes. */
export function normaliseUri(uri: string): string {
  // Synthesis clients append a filter (`events?/dr(-30,90)`): the datastore is the part before it.
  return uri.trim().replace(/\?.*$/, '').replace(/^\.\//, '').replace(/^\/+|\/+$/g, '').toLowerCase();
}

export class AccountRegistry {
  #accounts = new Map<string, AccountMapping>();
  #template: AccountMapping | undefined;
  /** Mappings made from the template, per user (one object per user: caches key on it). */
  #fromTemplate = new Map<string, AccountMapping>();

  constructor(mappings: AccountMapping[]) {
    const problems: string[] = [];
    for (const m of mappings) {
      if (m.account === TEMPLATE_ACCOUNT) {
        if (this.#template) problems.push(`${m.file}: account "*" (template) is already defined in ${this.#template.file}`);
        else this.#template = m;
        continue;
      }
      const prev = this.#accounts.get(m.account.toLowerCase());
      if (prev) problems.push(`${m.file}: account ${m.account} is already defined in ${prev.file}`);
      else this.#accounts.set(m.account.toLowerCase(), m);
    }
    if (problems.length) throw new MappingProblems(problems);
  }

  /** Every `*.yaml` of `dir`; MappingProblems lists the problems of all files at once. */
  static loadDir(dir: string, env: NodeJS.ProcessEnv = process.env): AccountRegistry {
    let files: string[];
    try {
      files = readdirSync(dir).filter((f) => /\.ya?ml$/i.test(f)).sort();
    } catch (err) {
      throw new GatewayError('CONFIG_INVALID', `mappings directory ${dir} cannot be read: ${(err as Error).message}`, { cause: err });
    }
    const problems: string[] = [];
    const mappings: AccountMapping[] = [];
    for (const f of files) {
      const file = path.join(dir, f);
      try {
        mappings.push(parseMapping(readFileSync(file, 'utf8'), file, env));
      } catch (err) {
        if (err instanceof MappingProblems) problems.push(...err.problems);
        else if (err instanceof Error) problems.push(`${file}: ${err.message}`);
        else throw err;
      }
    }
    try {
      const registry = new AccountRegistry(mappings);
      if (problems.length) throw new MappingProblems(problems);
      return registry;
    } catch (err) {
      if (err instanceof MappingProblems && err.problems !== problems) throw new MappingProblems([...problems, ...err.problems]);
      throw err;
    }
  }

  /** Take over the mappings of `next` (a reload): sessions look accounts up per message. */
  replace(next: AccountRegistry): void {
    this.#accounts = next.#accounts;
    this.#template = next.#template;
    this.#fromTemplate = new Map();
  }

  /** The account's own mapping, else the template's mapping for this user, else undefined. */
  get(account: string): AccountMapping | undefined {
    const key = account.toLowerCase();
    const own = this.#accounts.get(key);
    if (own || !this.#template || !isTemplateUser(account)) return own;
    let m = this.#fromTemplate.get(key);
    if (!m) {
      m = instantiateTemplate(this.#template, account);
      // Names arrive before authentication: keep the cache bounded (oldest out first).
      if (this.#fromTemplate.size >= MAX_TEMPLATE_USERS) this.#fromTemplate.delete(this.#fromTemplate.keys().next().value!);
      this.#fromTemplate.set(key, m);
    }
    return m;
  }

  /** The template mapping (account "*"), if any. */
  template(): AccountMapping | undefined {
    return this.#template;
  }

  /** Every mapping: explicit accounts, then the template (account "*"). */
  list(): AccountMapping[] {
    return [...this.#accounts.values(), ...(this.#template ? [this.#template] : [])];
  }

  static findDatastore(mapping: AccountMapping, uri: string): DatastoreMapping | undefined {
    const key = normaliseUri(uri);
    return mapping.datastores.find((ds) => ds.uris.some((u) => normaliseUri(u) === key) || normaliseUri(ds.name) === key);
  }
}

/** A user name a template may serve: no path or URL syntax that could escape `{user}`. */
export function isTemplateUser(user: string): boolean {
  return /^[A-Za-z0-9._@+-]{1,128}$/.test(user) && user !== '.' && user !== '..';
}
