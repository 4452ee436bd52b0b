// The admin page (express Router mounted at /admin): read-mostly overview of accounts, devices,
// last syncs, conflicts and backups; POST actions reset / forget a device and restore a backup.
// Every request needs the admin credential; every POST a CSRF token. See docs/admin.md.
import { randomUUID } from 'node:crypto';
import express, { type Request, type Response } from 'express';
import type { AccountMapping } from '../accounts/mappings.js';
import { listBackups } from '../accounts/backup.js';
import type { DavCredentials } from '../datastores/datastore.js';
import type { Logger } from '../logger.js';
import type { DeviceInfo } from '../protocol/devinf.js';
import type { DeviceKey, StateStore } from '../state/state-store.js';
import type { AdminAuth } from './auth.js';
import type { HistoryEntry, SyncHistory } from './history.js';
import { renderPage, type AccountView, type DatastoreView, type DeviceView } from './pages.js';

export interface AdminDeps {
  state: StateStore;
  history: SyncHistory;
  auth: AdminAuth;
  /** The account mappings as loaded now. */
  accounts(): readonly AccountMapping[];
  /** STATE_DIR/backups */
  backupsDir: string;
  /** Put back what is missing from a backup's collection (accounts/backup.ts restoreBackup). */
  restore(account: string, file: string, login?: DavCredentials): Promise<{ restored: number; present: number }>;
  version: string;
  log: Logger;
}

const FLASH_TTL_MS = 60_000;

export function adminRouter(d: AdminDeps): express.Router {
  const router = express.Router();
  const flashes = new Map<string, { at: number; message?: string; error?: string }>();
  const flash = (f: { message?: string; error?: string }): string => {
    const now = Date.now();
    for (const [k, v] of flashes) if (now - v.at > FLASH_TTL_MS) flashes.delete(k);
    const id = randomUUID();
    flashes.set(id, { at: now, ...f });
    return id;
  };

  router.use((_req, res, next) => {
    res.set({
      'Cache-Control': 'no-store',
      'X-Frame-Options': 'DENY',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    });
    next();
  });
  router.use(d.auth.middleware());
  router.use(express.urlencoded({ extended: false, limit: '16kb' }));

  router.get('/', async (req, res) => {
    const f = typeof req.query['flash'] === 'string' ? flashes.get(req.query['flash']) : undefined;
    const accounts = await buildAccounts(d);
    res.type('html').send(renderPage({ version: d.version, base: req.baseUrl, csrf: d.auth.csrfToken(), accounts, ...f }).text);
  });

  /** POST handlers: CSRF first, then the action; the answer is a redirect to the page (303). */
  const action = (run: (body: Record<string, string>) => Promise<string>) => async (req: Request, res: Response) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (!d.auth.verifyCsrf(body['csrf'])) {
      d.log.warn({ path: req.path }, 'admin: POST without a valid CSRF token refused');
      res.status(403).type('text/plain').send('missing or invalid CSRF token: reload the admin page and try again\n');
      return;
    }
    const fields: Record<string, string> = {};
    for (const [k, v] of Object.entries(body)) if (typeof v === 'string') fields[k] = v;
    let id: string;
    try {
      id = flash({ message: await run(fields) });
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      d.log.warn({ path: req.path, err: reason }, 'admin action failed');
      id = flash({ error: reason });
    }
    res.redirect(303, `${req.baseUrl}/?flash=${id}`);
  };

  router.post('/reset', action(async (f) => {
    const key = deviceOf(f);
    const device = await requireDevice(d.state, key);
    // One datastore (also one already reset: harmless) or all the device has state for.
    const targets = f['datastore'] ? [f['datastore']] : device.datastores;
    for (const ds of targets) await d.state.resetDatastore({ ...key, datastore: ds });
    const what = `reset anchors of ${targets.join(', ') || 'no datastore'}`;
    await d.history.add(key, { type: 'admin', at: new Date().toISOString(), action: what, datastores: targets });
    d.log.info({ account: key.account, device: key.deviceId, datastores: targets }, 'admin: device reset');
    return `${key.account} ${key.deviceId}: ${what}; ${targets.length === 1 ? 'its next session is' : 'their next sessions are'} a slow sync`;
  }));

  router.post('/forget', action(async (f) => {
    const key = deviceOf(f);
    await requireDevice(d.state, key);
    await d.state.forgetDevice(key);
    await d.history.forget(key);
    d.log.info({ account: key.account, device: key.deviceId }, 'admin: device forgotten');
    return `${key.account} ${key.deviceId} forgotten: its next session starts from scratch`;
  }));

  router.post('/restore', action(async (f) => {
    const account = need(f, 'account');
    const file = need(f, 'file');
    // Only a file the page listed for this account: no paths, no other accounts' backups.
    if (!listBackups(d.backupsDir, account, Infinity).some((b) => b.file === file)) throw new Error(`no backup ${file} for account ${account}`);
    const login = f['davUser'] && f['davPassword'] !== undefined ? { username: f['davUser'], password: f['davPassword'] } : undefined;
    const { restored, present } = await d.restore(account, file, login);
    d.log.info({ account, file, restored, present }, 'admin: backup restored');
    return `restored ${restored} items from ${file} (${present} were still there)`;
  }));

  return router;
}

function need(f: Record<string, string>, name: string): string {
  const v = f[name];
  if (!v) throw new Error(`missing field ${name}`);
  return v;
}

function deviceOf(f: Record<string, string>): DeviceKey {
  return { account: need(f, 'account'), deviceId: need(f, 'device') };
}

async function requireDevice(state: StateStore, key: DeviceKey): Promise<{ datastores: string[] }> {
  const found = (await state.listDevices(key.account)).find((x) => x.deviceId === key.deviceId);
  if (!found) throw new Error(`no device ${key.deviceId} for account ${key.account}`);
  return found;
}

async function buildAccounts(d: AdminDeps): Promise<AccountView[]> {
  const devices = await d.state.listDevices();
  const byAccount = new Map<string, AccountView>();
  for (const m of d.accounts()) {
    byAccount.set(m.account, {
      account: m.account,
      auth: m.auth.mode === 'passthrough' ? 'passthrough (DAV password)' : 'gateway secret',
      davUrl: withoutUserInfo(m.dav.url),
      datastores: m.datastores.map((ds) => ({ name: ds.name, kind: ds.kind, uris: ds.uris, collections: ds.collections.map(withoutUserInfo), conflict: ds.conflict })),
      devices: [],
      backups: listBackups(d.backupsDir, m.account),
      restoreNeedsLogin: !m.dav.oauth2 && !(m.dav.username && m.dav.password !== undefined),
    });
  }
  for (const dev of devices) {
    let a = byAccount.get(dev.account);
    if (!a) {
      a = { account: dev.account, auth: 'no mapping', datastores: [], devices: [], backups: listBackups(d.backupsDir, dev.account), restoreNeedsLogin: true };
      byAccount.set(dev.account, a);
    }
    a.devices.push(await deviceView(d, dev));
  }
  return [...byAccount.values()].sort((x, y) => x.account.localeCompare(y.account));
}

async function deviceView(d: AdminDeps, dev: DeviceKey & { record: { devInf?: unknown; lastSync?: string }; datastores: string[] }): Promise<DeviceView> {
  const history = await d.history.list(dev);
  const syncs = history.filter((e): e is Extract<HistoryEntry, { type: 'sync' }> => e.type === 'sync');
  // A reset datastore has no state left: it stays listed through its history (next sync slow).
  const names = new Set(dev.datastores);
  for (const e of history) {
    if (e.type === 'sync') for (const o of e.datastores) names.add(o.datastore);
    if (e.type === 'admin') for (const n of e.datastores ?? []) names.add(n);
  }
  const datastores: DatastoreView[] = [];
  for (const name of [...names].sort()) {
    const key = { account: dev.account, deviceId: dev.deviceId, datastore: name };
    const [anchors, map] = await Promise.all([d.state.getAnchors(key), d.state.getMap(key)]);
    const view: DatastoreView = { name, anchored: !!anchors, items: map.length };
    for (const s of syncs) {
      const outcome = s.datastores.find((o) => o.datastore === name);
      if (outcome) {
        view.last = { at: s.at, outcome };
        break;
      }
    }
    datastores.push(view);
  }
  const info = (dev.record.devInf ?? {}) as Partial<DeviceInfo>;
  const model = [info.man, info.mod].filter(Boolean).join(' ');
  const details = [
    info.devTyp && `type ${info.devTyp}`, info.swV && `software ${info.swV}`, info.fwV && `firmware ${info.fwV}`,
    Array.isArray(info.datastores) && info.datastores.length ? `datastores ${info.datastores.map((x) => x.sourceRef + (x.rxPref ? ` (${x.rxPref.type})` : '')).join(', ')}` : undefined,
  ].filter((x): x is string => typeof x === 'string' && x !== '');
  return {
    deviceId: dev.deviceId,
    ...(dev.record.lastSync ? { lastSync: dev.record.lastSync } : {}),
    ...(model ? { model } : {}),
    details,
    datastores,
    events: history.filter((e) => e.type !== 'sync').slice(0, 20),
    syncs: syncs.slice(0, 10),
  };
}

function withoutUserInfo(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return url;
  }
}
