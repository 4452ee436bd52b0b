// Composition root: the only place that names concrete implementations and wires the layers.
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { Server } from 'node:http';
import { AccountRegistry } from './accounts/mappings.js';
import { commandSizer, encodeMessage } from './codec/index.js';
import { loadSettings, PACKAGE_ROOT, publicSyncUrl, type Settings } from './config.js';
import { verifyDavCredentials } from './datastores/index.js';
import { AccountStores } from './composition/account-stores.js';
import type { AccountStoresOptions } from './composition/account-stores.js';
import { loadProviderProfiles, validateAccountProviders } from './accounts/providers.js';
import type { AccountMapping } from './accounts/mappings.js';
import type { TokenStore } from './datastores/oauth2.js';
import { createApp } from './http/app.js';
import { Admission } from './http/admission.js';
import { configureDavTransport } from './datastores/http-transport.js';
import { applyHeapGrowingPercent } from './heap-tuning.js';
import { createOpsApp } from './http/ops-routes.js';
import { closeGracefully, createHttpServer, createHttpsServer, listenOn } from './http/listen.js';
import { MappingProblems } from './accounts/mapping-problems.js';
import { DecodePool } from './http/decode-pool.js';
import { createLogger, type Logger } from './logger.js';
import { ProtocolEngine } from './protocol/engine.js';
import { createStateStore } from './state/open.js';
import { loadSecretBox, type SecretBox } from './state/secret-box.js';
import type { SessionObserver } from './protocol/observer.js';
import type { StateStore } from './state/state-store.js';
import { contactsTranslator } from './sync/translators.js';
import { calendarTranslators } from './sync/calendar-translators.js';
import { loadDeviceProfiles } from './convert/filters/index.js';
import { backupFolder, readBackup, restoreBackup, writeBackup } from './accounts/backup.js';
import { providerFor } from './accounts/providers.js';
// The admin router (express pages, HTML) is imported only when ADMIN_PASSWORD enables it.
import { AdminAuth, adminSettingsFrom } from './admin/auth.js';
import { HistoryObserver, SyncHistory } from './admin/history.js';
import { combineObservers, davRequestRecorder, defaultMetrics, MetricsObserver, ReadinessChecker, timedStateStore } from './metrics/index.js';
import { describeError, GatewayError } from './errors.js';
import { createPushService, type PushService } from './push/index.js';

export const VERSION: string = (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

export interface RunningGateway {
  url: string;
  port: number;
  server: Server;
  /** The separate admin listener (ADMIN_PORT: /metrics, /readyz, /admin), when configured. */
  admin?: { server: Server; port: number; url: string };
  state: StateStore;
  /** Sync history shown on the admin page (written by the session observer). */
  history: SyncHistory;
  log: Logger;
  /** Port of the HTTPS listener, when TLS_CERT_FILE/TLS_KEY_FILE are set. */
  tlsPort?: number;
  /** Read MAPPINGS_DIR again (SIGHUP); an invalid set is logged and the last good one kept. */
  reloadMappings(): boolean;
  /** Stop listening; running requests get `graceMs` (default SHUTDOWN_GRACE_SECONDS) to finish. */
  close(graceMs?: number): Promise<void>;
  push: PushService;
}

export interface StartOptions {
  /** Told about sessions (metrics, admin history, push). */
  observer?: SessionObserver;
  env?: NodeJS.ProcessEnv;
  /** Log destination (tests write to a file); default stdout. */
  logDestination?: Parameters<typeof createLogger>[1];
  /** DAV client instrumentation for benchmarks: request accounting, or fetch instead of node:http. */
  dav?: Pick<NonNullable<AccountStoresOptions['dav']>, 'onRequest' | 'fetch' | 'deferEtag'>;
  /** The gateway owns the process (`serve`): apply process-wide V8 settings (HEAP_GROWING_PERCENT). */
  ownsProcess?: boolean;
}

export async function startGateway(overrides: Partial<Settings> = {}, opts: StartOptions = {}): Promise<RunningGateway> {
  const env = opts.env ?? process.env;
  const settings = loadSettings(env, overrides);
  const log = createLogger(settings.logLevel, opts.logDestination);
  if (opts.ownsProcess) applyHeapGrowingPercent(settings.heapGrowingPercent);
  const mappingsDir = path.resolve(settings.mappingsDir);
  const accounts = AccountRegistry.loadDir(mappingsDir, env);
  const adminSettings = adminSettingsFrom(env);
  const metrics = defaultMetrics();
  // STATE_SECRET is read here and never becomes a setting (settings may be printed).
  const stateSecret = env['STATE_SECRET'] || undefined;
  if (settings.redisUrl && !stateSecret) loadSecretBox({ redis: true, stateDir: settings.stateDir }); // throws: refuse to start
  const rawState = await createStateStore({ ...(settings.redisUrl ? { redisUrl: settings.redisUrl } : {}), stateDir: path.resolve(settings.stateDir) });
  const state = timedStateStore(rawState, metrics.stateStoreDuration);
  const secrets = loadSecretBox({ ...(stateSecret ? { stateSecret } : {}), redis: !!settings.redisUrl, stateDir: path.resolve(settings.stateDir) });
  const history = new SyncHistory(state);
  const metricsObserver = new MetricsObserver(metrics, { openTtlSeconds: Math.max(settings.sessionTtlSeconds, settings.resumeTtlSeconds) });
  const observer = combineObservers(log, metricsObserver, new HistoryObserver(history, log));
  const recordDav = davRequestRecorder(metrics);
  const backupsDir = path.resolve(settings.stateDir, 'backups');
  const userAgent = `syncml-dav-gateway/${VERSION}`;
  const providerProfiles = loadProviderProfiles(path.join(PACKAGE_ROOT, 'config', 'providers'));
  validateAccountProviders(accounts.list(), providerProfiles);
  const tokenStore = tokenStoreOn(state, secrets);
  const benchOnRequest = opts.dav?.onRequest;
  configureDavTransport({ maxConnections: settings.davMaxConnections, maxResponseBytes: settings.davMaxResponseBytes });
  const stores = new AccountStores({ profiles: providerProfiles, userAgent, tokenStore, dav: { timeoutMs: settings.davTimeoutSeconds * 1000, ...opts.dav }, onDavRequest: (provider, e) => {
    recordDav(provider, e);
    benchOnRequest?.(e);
    // LOG_LEVEL=debug: one line per DAV request (no credentials: they travel in headers).
    log.debug({ method: e.method, url: e.url, status: e.status, ms: Math.round(e.durationMs) }, 'DAV request');
  } });
  let serverUrl = publicSyncUrl(settings);
  // Server-alerted sync; `push.observer` hears about sessions (no SAN while one is open).
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
    // Same timeout as every other DAV request: a busy server must not fail the login sooner.
    verifyCredentials: (account, creds) => verifyDavCredentials(credentialCheckUrl(account), creds, {
      userAgent, timeoutMs: settings.davTimeoutSeconds * 1000, onRequest: (e) => recordDav(providerFor(account, providerProfiles).name, e),
    }),
    translators: { contacts: contactsTranslator, ...calendarTranslators({ defaultTimezone: settings.deviceTimezone }) },
    deviceProfiles: loadDeviceProfiles(path.join(PACKAGE_ROOT, 'config', 'devices')),
    backup: (account, datastore, collectionUrl, items) => writeBackup(backupsDir, account, datastore, collectionUrl, items),
    log,
    secrets,
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
    // The engine reports sessions to `observer` (protocol/observer.ts): metrics, history, push.
    // Spread from a variable so that this compiles before and after EngineDeps has the option.
    observer: combineObservers(log, observer, push.observer, opts.observer),
  });
  const readiness = new ReadinessChecker({
    pingState: () => state.ping(),
    davUrls: () => accounts.list().flatMap((a) => [a.dav.url, ...a.datastores.flatMap((d) => d.collections.filter((c) => /^https?:\/\//i.test(c)))]),
    userAgent,
  });
  const admin = adminSettings.credential ? (await import('./admin/router.js')).adminRouter({
    state, history, auth: new AdminAuth(adminSettings.credential), accounts: () => accounts.list(), backupsDir, version: VERSION, log,
    restore: async (accountName, file, login) => {
      const mapping = accounts.get(accountName);
      if (!mapping) throw new GatewayError('NOT_FOUND', `account ${accountName} has no mapping`);
      const backup = readBackup(path.join(backupFolder(backupsDir, accountName), file));
      const kind = mapping.datastores.find((d) => d.name === backup.datastore)?.kind ?? 'contacts';
      const held = mapping.dav.username && mapping.dav.password !== undefined ? { username: mapping.dav.username, password: mapping.dav.password } : undefined;
      return restoreBackup(backup, stores.openAt(mapping, kind, backup.collectionUrl, login ?? held));
    },
  }) : undefined;
  const separateAdmin = adminSettings.port !== undefined;
  const decodePool = new DecodePool();
  // No bound (the default): no admission at all, so no turn and no wait metric per message.
  const admission = settings.maxConcurrentMessages > 0 ? new Admission({
    maxRunning: settings.maxConcurrentMessages, maxQueued: settings.maxQueuedMessages,
    onWait: (s) => metrics.admissionWait.observe(s), onQueued: (n) => metrics.admissionQueued.set(n),
  }) : undefined;
  const app = createApp({
    engine, state, log, decodePool, syncmlPath: settings.syncmlPath, maxBodyBytes: settings.maxBodyBytes, preAuthMaxBodyBytes: settings.preAuthMaxBodyBytes, version: VERSION,
    metrics, serveMetrics: !separateAdmin, readiness, ...(admin && !separateAdmin ? { admin } : {}), ...(admission ? { admission } : {}),
  });
  const server = createHttpServer(app);
  const servers: Server[] = [server];
  let port: number;
  let tlsPort: number | undefined;
  let adminListener: RunningGateway['admin'];
  try {
    port = await listenOn(server, settings.port, settings.host);
    if (settings.tlsCertFile || settings.tlsKeyFile) {
      const tls = createHttpsServer(app, { certFile: settings.tlsCertFile, keyFile: settings.tlsKeyFile, port: settings.tlsPort, profile: settings.tlsProfile });
      servers.push(tls);
      tlsPort = await listenOn(tls, settings.tlsPort, settings.host);
    }
    if (separateAdmin) {
      // /metrics, /readyz and /admin on their own port, so they need not be reachable by phones.
      const opsServer = createHttpServer(createOpsApp({ metrics, readiness, log, ...(admin ? { admin } : {}) }));
      servers.push(opsServer);
      const host = adminSettings.host ?? settings.host;
      const p = await listenOn(opsServer, adminSettings.port!, host);
      adminListener = { server: opsServer, port: p, url: `http://${host.includes(':') ? `[${host}]` : host}:${p}` };
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
      // Push settings live in the mappings too: watch what the new set names.
      push.reload(next.list()).catch((err: unknown) => log.error({ err: describeError(err) }, 'push: reloading the settings failed'));
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
  log.info({
    url: serverUrl, ...(tlsPort !== undefined ? { tlsPort, tlsProfile: settings.tlsProfile } : {}), accounts: accounts.list().map((a) => a.account), store: settings.redisUrl ? 'redis' : 'embedded',
    admin: admin ? (adminListener ? `${adminListener.url}/admin` : '/admin') : 'off', ...(adminListener ? { metrics: `${adminListener.url}/metrics` } : {}),
  }, 'gateway listening');
  return {
    url: serverUrl, port, server, state, log, push, reloadMappings, history, ...(adminListener ? { admin: adminListener } : {}),
    ...(tlsPort !== undefined ? { tlsPort } : {}),
    close: async (graceMs = settings.shutdownGraceSeconds * 1000) => {
      watcher?.close();
      await push.stop();
      const dropped = await closeGracefully(servers, graceMs);
      if (dropped) log.warn({ dropped, graceMs }, 'shutdown: connections still busy after the grace period were closed');
      metricsObserver.detach();
      await history.flush();
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
 * gateway processes share one token instead of each refreshing its own. They are sealed like the
 * passthrough password: a bearer token in clear in Redis or the SQLite file would be a password at
 * rest. A value that does not open (older plain entry, STATE_SECRET changed) counts as missing, so
 * the gateway simply refreshes the token.
 */
export function tokenStoreOn(state: StateStore, secrets: SecretBox): TokenStore {
  const purpose = (key: string): string => `oauth2-access-token:${key}`;
  return {
    get: async (key) => {
      const sealed = await state.getSession<string>(`oauth2:${key}`);
      if (sealed === undefined) return undefined;
      try {
        return secrets.open(sealed, purpose(key));
      } catch {
        return undefined;
      }
    },
    set: (key, value, ttlSeconds) => state.putSession(`oauth2:${key}`, secrets.seal(value, purpose(key)), ttlSeconds ?? 3600),
  };
}
