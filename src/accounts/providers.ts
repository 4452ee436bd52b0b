// Provider profiles (config/providers/*.yaml): what a DAV provider supports and which quirks the
// store must work around there. Loaded and schema-checked at start-up, like account mappings.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { PACKAGE_ROOT } from '../config.js';
import { GatewayError } from '../errors.js';
import type { ItemKind } from '../datastores/datastore.js';
import type { DavQuirks } from '../datastores/quirks.js';
import type { AccountMapping } from './mappings.js';

export const PROVIDER_NAMES = ['nextcloud', 'google', 'radicale', 'generic'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

const kind = z.enum(['contacts', 'events', 'tasks', 'notes']);

const profileSchema = z.object({
  name: z.enum(PROVIDER_NAMES),
  description: z.string().optional(),
  /** How a dav.url is recognised when the mapping names no provider (never by port: any server can use any port). */
  match: z.object({
    hosts: z.array(z.string().min(1)).optional(),
    paths: z.array(z.string().startsWith('/')).optional(),
  }).strict().optional(),
  /** Discovery roots; `{origin}` is the dav.url's origin. Default: the dav.url. */
  roots: z.array(z.string().min(1)).optional(),
  kinds: z.array(kind).min(1),
  auth: z.array(z.enum(['basic', 'bearer', 'oauth2'])).min(1),
  quirks: z.object({
    ifNoneMatchOnCreate: z.boolean(),
    refetchEtagAfterPut: z.boolean(),
    bumpSequenceOnUpdate: z.boolean(),
    advanceDtstampOnUpdate: z.boolean(),
  }).strict(),
  /** Hints for the vCard converter (convert/), passed on by the composition root. */
  vcard: z.object({
    version: z.enum(['3.0', '4.0']).optional(),
    quotedPrintable: z.boolean().optional(),
    base64: z.boolean().optional(),
  }).strict().optional(),
}).strict();

export interface ProviderProfile {
  name: ProviderName;
  description?: string;
  match?: { hosts?: string[]; paths?: string[] };
  roots?: string[];
  kinds: ItemKind[];
  auth: Array<'basic' | 'bearer' | 'oauth2'>;
  quirks: DavQuirks;
  vcard?: { version?: '3.0' | '4.0'; quotedPrintable?: boolean; base64?: boolean };
  file: string;
}

export type ProviderProfiles = ReadonlyMap<ProviderName, ProviderProfile>;

export const DEFAULT_PROVIDERS_DIR = path.join(PACKAGE_ROOT, 'config', 'providers');

export function parseProviderProfile(text: string, file: string): ProviderProfile {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new GatewayError('CONFIG_INVALID', `${file}: not valid YAML: ${(err as Error).message}`, { cause: err });
  }
  const r = profileSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new GatewayError('CONFIG_INVALID', `${file}: field ${issue.path.join('.') || '(top level)'}: ${issue.message}`);
  }
  return { ...r.data, file };
}

/** Every `*.yaml` in `dir`, keyed by name; `generic` must be among them (it is the fallback). */
export function loadProviderProfiles(dir: string = DEFAULT_PROVIDERS_DIR): ProviderProfiles {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => /\.ya?ml$/i.test(f)).sort();
  } catch (err) {
    throw new GatewayError('CONFIG_INVALID', `provider profiles directory ${dir} cannot be read: ${(err as Error).message}`, { cause: err });
  }
  const out = new Map<ProviderName, ProviderProfile>();
  for (const f of files) {
    const file = path.join(dir, f);
    const p = parseProviderProfile(readFileSync(file, 'utf8'), file);
    const prev = out.get(p.name);
    if (prev) throw new GatewayError('CONFIG_INVALID', `${file}: provider ${p.name} is already defined in ${prev.file}`);
    out.set(p.name, p);
  }
  if (!out.has('generic')) throw new GatewayError('CONFIG_INVALID', `${dir}: no generic.yaml provider profile`);
  return out;
}

/** The mapping's `dav.provider`, else the first profile whose `match` fits dav.url, else generic. */
export function providerFor(mapping: Pick<AccountMapping, 'dav'>, profiles: ProviderProfiles): ProviderProfile {
  const named = mapping.dav.provider;
  if (named) {
    const p = profiles.get(named);
    if (!p) throw new GatewayError('CONFIG_INVALID', `dav.provider ${named}: no such provider profile`);
    return p;
  }
  const url = new URL(mapping.dav.url);
  for (const p of profiles.values()) {
    const m = p.match;
    if (!m) continue;
    if (m.hosts?.includes(url.hostname.toLowerCase())) return p;
    if (m.paths?.some((x) => url.pathname.startsWith(x))) return p;
  }
  return profiles.get('generic')!;
}

/**
 * The provider a DAV server's own answer names, when it does: Nextcloud lists its `nc-`/`oc-`
 * extensions in the DAV response header. Radicale and Xandikos do not identify themselves (their
 * Server header names only the Python HTTP server), so this never says radicale or generic.
 */
export function providerFromServerAnswer(headers: Headers): ProviderName | undefined {
  const dav = (headers.get('dav') ?? '').toLowerCase();
  if (/(^|[\s,])(nc|oc)-[a-z-]+/.test(dav) || /nextcloud/.test(headers.get('server') ?? '')) return 'nextcloud';
  return undefined;
}

/** Discovery roots for an account: the profile's (with `{origin}` filled in) or dav.url. */
export function discoveryRoots(mapping: Pick<AccountMapping, 'dav'>, profile: ProviderProfile): string[] {
  const origin = new URL(mapping.dav.url).origin;
  if (!profile.roots?.length) return [mapping.dav.url];
  // An explicit path in dav.url is the admin's choice: it goes first.
  const roots = profile.roots.map((r) => r.replace('{origin}', origin));
  return new URL(mapping.dav.url).pathname !== '/' ? [mapping.dav.url, ...roots.filter((r) => r !== mapping.dav.url)] : roots;
}

/**
 * Start-up check of one mapping against its provider: every datastore kind must be one the
 * provider serves (Google has no tasks), and the authentication must be one it accepts.
 * Throws CONFIG_INVALID naming the file, the datastore and what to do.
 */
export function validateAccountProvider(mapping: AccountMapping, profiles: ProviderProfiles): ProviderProfile {
  const p = providerFor(mapping, profiles);
  for (const ds of mapping.datastores) {
    if (!p.kinds.includes(ds.kind)) {
      const why = p.name === 'google' && ds.kind === 'tasks'
        ? 'Google CalDAV has no tasks (VTODO); Google Tasks is a separate API the gateway does not speak'
        : `${p.name} serves only ${p.kinds.join(', ')}`;
      throw new GatewayError('CONFIG_INVALID', `${mapping.file}: datastore ${ds.name} (${ds.kind}) cannot be mapped to provider ${p.name}: ${why}; remove the datastore or map it to another server`);
    }
  }
  if (p.auth.includes('oauth2') && !p.auth.includes('basic') && !mapping.dav.oauth2) {
    throw new GatewayError('CONFIG_INVALID', `${mapping.file}: provider ${p.name} needs dav.oauth2 (clientId, clientSecret, refreshToken); run \`syncml-gateway oauth google\``);
  }
  if (mapping.dav.oauth2 && !p.auth.includes('oauth2') && !p.auth.includes('bearer')) {
    throw new GatewayError('CONFIG_INVALID', `${mapping.file}: provider ${p.name} does not take OAuth2 bearer tokens`);
  }
  return p;
}

/** validateAccountProvider for every mapping (call at start-up). */
export function validateAccountProviders(mappings: readonly AccountMapping[], profiles: ProviderProfiles): void {
  for (const m of mappings) validateAccountProvider(m, profiles);
}
