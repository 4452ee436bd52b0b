// Composition root: the only place that names concrete implementations and wires the layers.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Server } from 'node:http';
import { AccountRegistry } from './accounts/mappings.js';
import { commandSizer, encodeMessage } from './codec/index.js';
import { loadSettings, PACKAGE_ROOT, publicSyncUrl, type Settings } from './config.js';
import { verifyDavCredentials } from './datastores/index.js';
import { AccountStores } from './accounts/account-stores.js';
import { loadProviderProfiles, validateAccountProviders } from './accounts/providers.js';
import type { AccountMapping } from './accounts/mappings.js';
import type { TokenStore } from './datastores/oauth2.js';
import { createApp } from './http/app.js';
import { DecodePool } from './http/decode-pool.js';
import { createLogger, type Logger } from './logger.js';
import { ProtocolEngine } from './protocol/engine.js';
import { createStateStore } from './state/index.js';
import { loadSecretBox } from './state/secret-box.js';
import type { SessionObserver } from './protocol/observer.js';
import type { StateStore } from './state/state-store.js';
import { contactsTranslator } from './sync/translators.js';
import { calendarTranslators } from './sync/calendar-translators.js';
import { loadDeviceProfiles } from './convert/filters/index.js';
import { writeBackup } from './accounts/backup.js';

export const VERSION: string = (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

export interface RunningGateway {
  url: string;
  port: number;
  server: Server;
  state: StateStore;
  log: Logger;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Told about sessions (metrics, admin history, push). */
  observer?: SessionObserver;
  env?: NodeJS.ProcessEnv;
  /** Log destination (tests write to a file); default stdout. */
  logDestination?: Parameters<typeof createLogger>[1];
}

export async function startGateway(overrides: Partial<Settings> = {}, opts: StartOptions = {}): Promise<RunningGateway> {
  const env = opts.env ?? process.env;
  const settings = loadSettings(env, overrides);
  const log = createLogger(settings.logLevel, opts.logDestination);
  const accounts = AccountRegistry.loadDir(path.resolve(settings.mappingsDir), env);
  // STATE_SECRET is read here and never becomes a setting (settings may be printed).
  const stateSecret = env['STATE_SECRET'] || undefined;
  if (settings.redisUrl && !stateSecret) loadSecretBox({ redis: true, stateDir: settings.stateDir }); // throws: refuse to start
  const state = await createStateStore({ ...(settings.redisUrl ? { redisUrl: settings.redisUrl } : {}), stateDir: path.resolve(settings.stateDir) });
  const secrets = loadSecretBox({ ...(stateSecret ? { stateSecret } : {}), redis: !!settings.redisUrl, stateDir: path.resolve(settings.stateDir) });
  const userAgent = `syncml-dav-gateway/${VERSION}`;
  const providerProfiles = loadProviderProfiles(path.join(PACKAGE_ROOT, 'config', 'providers'));
  validateAccountProviders(accounts.list(), providerProfiles);
  const tokenStore = tokenStoreOn(state);
  const stores = new AccountStores({ profiles: providerProfiles, userAgent, tokenStore, dav: { timeoutMs: settings.davTimeoutSeconds * 1000 } });
  let serverUrl = publicSyncUrl(settings);
  const engine = new ProtocolEngine({
    accounts,
    state,
    openDataStore: (account, ds, creds) => stores.open(account, ds, creds),
    // One authenticated PROPFIND: on the first collection when its URL is known, else the server root.
    verifyCredentials: (account, creds) => verifyDavCredentials(credentialCheckUrl(account), creds, { userAgent }),
    translators: { contacts: contactsTranslator, ...calendarTranslators({ defaultTimezone: settings.deviceTimezone }) },
    deviceProfiles: loadDeviceProfiles(path.join(PACKAGE_ROOT, 'config', 'devices')),
    backup: (account, datastore, collectionUrl, items) => writeBackup(path.resolve(settings.stateDir, 'backups'), account, datastore, collectionUrl, items),
    log,
    secrets,
    ...(opts.observer ? { observer: opts.observer } : {}),
    sizer: commandSizer,
    encode: encodeMessage,
    settings: {
      get serverUrl() { return serverUrl; },
      sessionTtlSeconds: settings.sessionTtlSeconds,
      serverMaxMsgSize: settings.serverMaxMsgSize,
      authCacheSeconds: settings.authCacheSeconds,
      replyDeadlineSeconds: settings.replyDeadlineSeconds,
      resumeTtlSeconds: settings.resumeTtlSeconds,
      challengeTtlSeconds: settings.challengeTtlSeconds,
      authFailuresPerAddress: settings.authFailuresPerAddress,
      authFailuresPerAccount: settings.authFailuresPerAccount,
      authFailureWindowSeconds: settings.authFailureWindowSeconds,
      softwareVersion: VERSION,
    },
  });
  const decodePool = new DecodePool();
  const app = createApp({ engine, state, log, decodePool, syncmlPath: settings.syncmlPath, maxBodyBytes: settings.maxBodyBytes, preAuthMaxBodyBytes: settings.preAuthMaxBodyBytes, version: VERSION });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(settings.port, settings.host, () => resolve(s));
    s.once('error', reject);
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : settings.port;
  serverUrl = publicSyncUrl(settings, port);
  log.info({ url: serverUrl, accounts: accounts.list().map((a) => a.account), store: settings.redisUrl ? 'redis' : 'embedded' }, 'gateway listening');
  return {
    url: serverUrl, port, server, state, log,
    close: async () => {
      await new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections?.();
      await decodePool.close();
      await state.close();
    },
  };
}

function credentialCheckUrl(account: AccountMapping): string {
  const first = account.datastores[0]?.collection;
  return first && /^https?:\/\//i.test(first) ? first : account.dav.url;
}

/**
 * OAuth2 access tokens live in the state store (TTL'd entries beside the sessions), so several
 * gateway processes share one token instead of each refreshing its own.
 */
export function tokenStoreOn(state: StateStore): TokenStore {
  return {
    get: (key) => state.getSession<string>(`oauth2:${key}`),
    set: (key, value, ttlSeconds) => state.putSession(`oauth2:${key}`, value, ttlSeconds ?? 3600),
  };
}
