// `syncml-gateway accounts check|probe`: validate the account mappings, and show what the
// gateway sees on the DAV server for one account (principal, homes, collections, capabilities).
import path from 'node:path';
import { AccountStores } from '../composition/account-stores.js';
import { AccountRegistry, isCollectionName } from '../accounts/mappings.js';
import type { AccountMapping } from '../accounts/mappings.js';
import { DEFAULT_PROVIDERS_DIR, discoveryRoots, loadProviderProfiles, providerFromServerAnswer, validateAccountProvider } from '../accounts/providers.js';
import { DavClient } from '../datastores/dav-client.js';
import type { ProviderProfiles } from '../accounts/providers.js';
import { matchCollection } from '../accounts/resolve.js';
import { loadSettings } from '../config.js';
import { describeError, GatewayError } from '../errors.js';
import type { DavCredentials } from '../datastores/datastore.js';
import { discoverAccount } from '../datastores/discovery.js';
import type { DiscoveryOptions } from '../datastores/discovery.js';
import { HelpRequested, parseCommand, UsageError, VERSION } from './usage.js';

export const ACCOUNTS_USAGE = `usage: syncml-gateway accounts <command>

  check                       validate every mapping in MAPPINGS_DIR against the provider profiles
  probe <account> [--user U]  show the account's principal, homes and collections as the gateway sees them
                              (passthrough accounts: user from --user, DAV_USER or the account name;
                              password from DAV_PASSWORD)
options: --mappings DIR, --providers DIR
`;

export interface CliIo {
  out?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  /** For tests: instrument DAV requests. */
  dav?: DiscoveryOptions;
}

const OPTIONS = { mappings: { type: 'string' }, providers: { type: 'string' }, user: { type: 'string' } } as const;

function load(values: { mappings?: string; providers?: string }, env: NodeJS.ProcessEnv): { registry: AccountRegistry; profiles: ProviderProfiles } {
  const mappingsDir = values.mappings ?? loadSettings(env).mappingsDir;
  return {
    registry: AccountRegistry.loadDir(path.resolve(mappingsDir), env),
    profiles: loadProviderProfiles(values.providers ?? DEFAULT_PROVIDERS_DIR),
  };
}

export async function runAccounts(argv: string[], io: CliIo = {}): Promise<void> {
  const out = io.out ?? ((l: string) => console.log(l));
  const env = io.env ?? process.env;
  const [cmd, ...args] = argv;
  switch (cmd) {
    case undefined: case 'help': case '--help': case '-h':
      out(ACCOUNTS_USAGE.trimEnd());
      return;
    case '--version': case '-V':
      throw new HelpRequested(`syncml-gateway ${VERSION}\n`);
    case 'check': {
      const { values } = parseCommand(args, OPTIONS, ACCOUNTS_USAGE, 0);
      const { registry, profiles } = load(values, env);
      for (const a of registry.list()) {
        const p = validateAccountProvider(a, profiles);
        const ds = a.datastores.map((d) => `${d.name}(${d.kind}) -> ${d.collections.join(' + ')}`).join(', ');
        out(`${a.account}\t${a.file}\t${p.name}\t${ds}`);
      }
      out(`${registry.list().length} account mapping(s) valid`);
      return;
    }
    case 'probe': {
      const { values, positionals: [name] } = parseCommand(args, OPTIONS, ACCOUNTS_USAGE, 1);
      if (!name) throw new UsageError('accounts probe needs an account', ACCOUNTS_USAGE);
      const { registry, profiles } = load(values, env);
      const mapping = registry.get(name);
      if (!mapping) throw new GatewayError('NOT_FOUND', `no account ${name} in the mappings (${registry.list().map((a) => a.account).join(', ') || 'none'})`);
      await probe(mapping, profiles, credentialsFor(mapping, values.user, env), out, io.dav);
      return;
    }
    default:
      throw new UsageError(`unknown accounts command ${cmd}`, ACCOUNTS_USAGE);
  }
}

function credentialsFor(mapping: AccountMapping, user: string | undefined, env: NodeJS.ProcessEnv): DavCredentials | undefined {
  if (mapping.dav.oauth2) return undefined;
  if (mapping.dav.username && mapping.dav.password !== undefined && !user) {
    return { username: mapping.dav.username, password: mapping.dav.password };
  }
  const password = env.DAV_PASSWORD;
  if (password === undefined) {
    throw new GatewayError('CONFIG_INVALID', `${mapping.file}: no DAV password in the mapping: set DAV_PASSWORD (and --user or DAV_USER) to probe`);
  }
  return { username: user ?? env.DAV_USER ?? mapping.dav.username ?? mapping.account, password };
}

async function probe(
  mapping: AccountMapping,
  profiles: ProviderProfiles,
  creds: DavCredentials | undefined,
  out: (line: string) => void,
  dav: DiscoveryOptions | undefined,
): Promise<void> {
  const profile = validateAccountProvider(mapping, profiles);
  const stores = new AccountStores({ profiles });
  const auth = stores.authFor(mapping, creds);
  const roots = discoveryRoots(mapping, profile);
  out(`account      ${mapping.account} (${mapping.file})`);
  out(`provider     ${profile.name}`);
  out(`dav user     ${creds?.username ?? '(OAuth2)'}`);
  out(`roots        ${roots.join(', ')}`);
  const t0 = performance.now();
  let requests = 0;
  const found = await discoverAccount(roots, auth, {
    ...dav,
    onRequest: (e) => {
      requests++;
      dav?.onRequest?.(e);
    },
  });
  // The server's own answer can name the provider (Nextcloud behind a path the URL does not show).
  const options = await new DavClient({ credentials: auth, retry: false, ...(dav?.fetch ? { fetch: dav.fetch } : {}) })
    .fetch(roots[0]!, { method: 'OPTIONS' }).catch(() => undefined);
  const said = options ? providerFromServerAnswer(options.headers) : undefined;
  if (said && said !== profile.name) {
    out(`provider?    the server answers like ${said}: add "provider: ${said}" under dav: in ${mapping.file}`);
  }
  out(`principal    ${found.principal}`);
  out(`address home ${found.addressbookHome ?? '-'}`);
  out(`calendar home ${found.calendarHome ?? '-'}`);
  out(`collections  ${found.collections.length} (${requests} requests, ${Math.round(performance.now() - t0)} ms)`);
  const rows = [['NAME', 'KIND', 'COMPONENTS', 'SYNC-COLLECTION', 'URL']];
  for (const c of found.collections) {
    rows.push([
      c.displayName ?? '-',
      c.kind,
      c.kind === 'calendar' ? (c.components?.join(',') ?? 'any') : '-',
      c.syncToken ? 'yes' : 'no',
      c.url,
    ]);
  }
  for (const line of table(rows)) out(`  ${line}`);
  out('datastores');
  for (const ds of mapping.datastores) {
    const targets = ds.collections.map((ref) => {
      try {
        if (isCollectionName(ref)) return `${ref} -> ${matchCollection(ref, ds.kind, found, ds.name).url}`;
        const url = new URL(ref, mapping.dav.url).toString();
        const known = found.collections.some((c) => c.url === url || c.url === `${url}/`);
        return `${url}${known ? '' : ' (not among the discovered collections)'}`;
      } catch (err) {
        return `${ref}: ${describeError(err)}`;
      }
    });
    out(`  ${ds.name} (${ds.kind}): ${targets.join('; ')}`);
  }
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join('  '));
}
