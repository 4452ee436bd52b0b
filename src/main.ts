// Composition root: the only place that names concrete implementations and wires the layers.
import { readFileSync, watch, type FSWatcher } from 'node:fs';
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
import { closeGracefully, createHttpServer, createHttpsServer, listenOn } from './http/listen.js';
import { MappingProblems } from './accounts/mapping-problems.js';
import { createLogger, type Logger } from './logger.js';
import { ProtocolEngine } from './protocol/engine.js';
import { createStateStore } from './state/index.js';
import type { StateStore } from './state/state-store.js';
import { contactsTranslator } from './sync/translators.js';
import { calendarTranslators } from './sync/calendar-translators.js';
import { loadDeviceProfiles } from './convert/filters/index.js';
import { writeBackup } from './accounts/backup.js';
import { describeError } from './errors.js';
import { createPushService, type PushService } from './push/index.js';

export const VERSION: string = (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

export interface RunningGateway {
  url: string;
  port: number;
  server: Server;
  state: StateStore;
  log: Logger;
  push: PushService;
  /** Port of the HTTPS listener, when TLS_CERT_FILE/TLS_KEY_FILE are set. */
  tlsPort?: number;
  /** Read MAPPINGS_DIR again (SIGHUP); an invalid set is logged and the last good one kept. */
  reloadMappings(): boolean;
  /** Stop listening; running requests get `graceMs` (default SHUTDOWN_GRACE_SECONDS) to finish. */
  close(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  /** Log destination (tests write to a file); default stdout. */
  logDestination?: Parameters<typeof createLogger>[1];
}

export async function startGateway(overrides: Partial<Settings> = {}, opts: StartOptions = {}): Promise<RunningGateway> {
  const env = opts.env ?? process.env;
  const settings = loadSettings(env, overrides);
  const log = createLogger(settings.logLevel, opts.logDestination);
  const mappingsDir = path.resolve(settings.mappingsDir);
  const accounts = AccountRegistry.loadDir(mappingsDir, env);
  const state = await createStateStore({ ...(settings.redisUrl ? { redisUrl: settings.redisUrl } : {}), stateDir: path.resolve(settings.stateDir) });
  const userAgent = `syncml-dav-gateway/${VERSION}`;
  const providerProfiles = loadProviderProfiles(path.join(PACKAGE_ROOT, 'config', 'providers'));
  validateAccountProviders(accounts.list(), providerProfiles);
  const tokenStore = tokenStoreOn(state);
  const stores = new AccountStores({ profiles: providerProfiles, userAgent, tokenStore, dav: {
    timeoutMs: settings.davTimeoutSeconds * 1000,
    // LOG_LEVEL=debug: one line per DAV request (no credentials: they travel in headers).
    onRequest: (e) => log.debug({ method: e.method, url: e.url, status: e.status, ms: Math.round(e.durationMs) }, 'DAV request'),
  } });
  let serverUrl = publicSyncUrl(settings);
  // Server-alerted sync; its `push.observer` receives the engine's session reports
  // (add `observer: push.observer` to the engine's deps once it takes a SessionObserver).
  const push = createPushService({
    accounts: accounts.list(), state, log, env, serverId: () => serverUrl, sessionTtlSeconds: settings.sessionTtlSeconds,
    openStore: (mapping, name) => stores.open(mapping, mapping.datastores.find((d) => d.name === name)!,
      mapping.dav.username && mapping.dav.password !== undefined ? { username: mapping.dav.username, password: mapping.dav.password } : undefined),
  });
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
    sizer: commandSizer,
    encode: encodeMessage,
    settings: {
      get serverUrl() { return serverUrl; },
      sessionTtlSeconds: settings.sessionTtlSeconds,
      serverMaxMsgSize: settings.serverMaxMsgSize,
      authCacheSeconds: settings.authCacheSeconds,
      replyDeadlineSeconds: settings.replyDeadlineSeconds,
      resumeTtlSeconds: settings.resumeTtlSeconds,
      softwareVersion: VERSION,
    },
  });
  const app = createApp({ engine, state, log, syncmlPath: settings.syncmlPath, maxBodyBytes: settings.maxBodyBytes, version: VERSION });
  const server = createHttpServer(app);
  const servers: Server[] = [server];
  let port: number;
  let tlsPort: number | undefined;
  try {
    port = await listenOn(server, settings.port, settings.host);
    if (settings.tlsCertFile || settings.tlsKeyFile) {
      const tls = createHttpsServer(app, { certFile: settings.tlsCertFile, keyFile: settings.tlsKeyFile, port: settings.tlsPort, profile: settings.tlsProfile });
      servers.push(tls);
      tlsPort = await listenOn(tls, settings.tlsPort, settings.host);
    }
  } catch (err) {
    for (const s of servers) s.close();
    await state.close();
    throw err;
  }
  serverUrl = publicSyncUrl(settings, port);
  const reloadMappings = (): boolean => {
    try {
      const next = AccountRegistry.loadDir(mappingsDir, env);
      validateAccountProviders(next.list(), providerProfiles);
      accounts.replace(next);
      log.info({ accounts: next.list().map((a) => a.account) }, 'mappings reloaded');
      return true;
    } catch (err) {
      const problems = err instanceof MappingProblems ? err.problems : [describeError(err)];
      log.error({ problems }, 'mappings not reloaded: the new set is invalid; keeping the last good one');
      return false;
    }
  };
  let watcher: FSWatcher | undefined;
  if (settings.mappingsWatch) {
    let timer: NodeJS.Timeout | undefined;
    watcher = watch(mappingsDir, () => {
      clearTimeout(timer);
      timer = setTimeout(reloadMappings, 300); // editors write a file in several steps
    });
  }
  push.start();
  log.info({ url: serverUrl, ...(tlsPort !== undefined ? { tlsPort, tlsProfile: settings.tlsProfile } : {}), accounts: accounts.list().map((a) => a.account), store: settings.redisUrl ? 'redis' : 'embedded' }, 'gateway listening');
  return {
    url: serverUrl, port, server, state, log, reloadMappings, push,
    ...(tlsPort !== undefined ? { tlsPort } : {}),
    close: async (graceMs = settings.shutdownGraceSeconds * 1000) => {
      watcher?.close();
      await push.stop();
      const dropped = await closeGracefully(servers, graceMs);
      if (dropped) log.warn({ dropped, graceMs }, 'shutdown: connections still busy after the grace period were closed');
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
