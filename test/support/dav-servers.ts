// Real CardDAV/CalDAV servers for integration tests: Radicale (htpasswd user alice/secret) and
// Xandikos (no auth), each with an address book, a VEVENT calendar, a VTODO list and a VJOURNAL list, plus
// small HTTP helpers so tests can look at and edit the server side directly.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import {
  getFreePort, isListening, makeTempDir, removeTempDir, requireBinary, spawnService, waitUntil,
} from './processes.js';
import type { ServiceProcess } from './processes.js';

export type CollectionKey = 'contacts' | 'calendar' | 'tasks' | 'notes';

export interface DavItem {
  /** Path on the server exactly as the server spells it in its multistatus, e.g. /alice/contacts/x%40y.vcf */
  href: string;
  etag?: string;
  /** Item text with CRLF line endings. */
  data: string;
}

export interface DavServerHandle {
  readonly kind: 'radicale' | 'xandikos';
  /** http://127.0.0.1:PORT (no trailing slash) */
  readonly baseUrl: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** Absolute collection URLs, ending in '/'. */
  readonly collections: Record<CollectionKey, string>;
  /** Where the server keeps its files (Radicale: the user's folder below collection-root). */
  readonly storageDir: string;
  /** Root folder of this server instance (config, log, storage). */
  readonly dir: string;
  readonly logFile: string;
  stop(): Promise<void>;
  /** Start again after stop(): same port, same data. */
  start(): Promise<void>;
  /** Stop and (if the dir was created by the helper) delete everything. */
  dispose(): Promise<void>;
  listItems(collection: CollectionKey): Promise<DavItem[]>;
  /**
   * PUT into a collection (key or absolute URL).  `name` is a URL path segment used as written
   * (e.g. 'a%40b.vcf'; percent-encode it yourself).  Returns the href and the new ETag.
   */
  putItem(collection: CollectionKey | string, name: string, data: string): Promise<{ href: string; etag?: string }>;
  /** GET one item (href: path or absolute URL); undefined on 404. */
  getItem(href: string): Promise<DavItem | undefined>;
  /** DELETE one item (href: path or absolute URL). */
  deleteItem(href: string): Promise<void>;
  /** Raw HTTP request with the server's credentials (for PROPFIND etc. in tests). */
  request(method: string, url: string, init?: { headers?: Record<string, string>; body?: string }): Promise<Response>;
}

export interface DavServerOptions {
  /** Folder to keep the server's data in (kept after the run); default: a temp dir. */
  dir?: string;
  port?: number;
  user?: string;
  password?: string;
  /** Radicale only: more htpasswd users, each with the same four collections below /USER/. */
  extraUsers?: Array<{ user: string; password: string }>;
}

// ---- HTTP -------------------------------------------------------------------------------

type Requester = DavServerHandle['request'];

function makeRequester(baseUrl: string, user: string, password: string, withAuth: boolean): Requester {
  const auth = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  return async (method, url, init = {}) => {
    const headers: Record<string, string> = { ...(init.headers ?? {}) };
    if (withAuth) headers.Authorization = auth;
    return fetch(new URL(url, `${baseUrl}/`), { method, headers, body: init.body, redirect: 'manual' });
  };
}

async function expectStatus(res: Response, ok: number[], what: string): Promise<void> {
  if (ok.includes(res.status)) return;
  const body = await res.text().catch(() => '');
  throw new Error(`${what}: HTTP ${res.status} ${res.statusText} ${body.slice(0, 300)}`);
}

const xml = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: false,
  parseTagValue: false,
  trimValues: false,
  isArray: (name) => name === 'response' || name === 'propstat',
});

interface PropStat {
  status?: string;
  prop?: Record<string, unknown>;
}
interface MultiResponse {
  href: string;
  /** Response-level status (Xandikos answers a PROPFIND on a missing path with 207 + 404 here). */
  status?: string;
  propstat?: PropStat[];
}

/** The <response> elements of a 207 multistatus body. */
export function parseMultistatus(body: string): MultiResponse[] {
  const doc = xml.parse(body) as { multistatus?: { response?: MultiResponse[] } };
  return doc.multistatus?.response ?? [];
}

function textOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && '#text' in v) return String((v as Record<string, unknown>)['#text']);
  return undefined;
}

function okProp(r: MultiResponse): Record<string, unknown> {
  const ps = (r.propstat ?? []).find((p) => !p.status || / 200 /.test(p.status));
  return ps?.prop ?? {};
}

const toCrlf = (s: string): string => s.replace(/\r?\n/g, '\r\n');

const mkAddressbookBody = `<?xml version="1.0" encoding="utf-8"?>
<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop>
<D:resourcetype><D:collection/><C:addressbook/></D:resourcetype>
<D:displayname>Contacts</D:displayname></D:prop></D:set></D:mkcol>`;

const CALENDAR_NAMES = { VEVENT: 'Calendar', VTODO: 'Tasks', VJOURNAL: 'Notes' } as const;

const mkCalendarBody = (comp: keyof typeof CALENDAR_NAMES): string => `<?xml version="1.0" encoding="utf-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>
<D:displayname>${CALENDAR_NAMES[comp]}</D:displayname>
<C:supported-calendar-component-set><C:comp name="${comp}"/></C:supported-calendar-component-set>
</D:prop></D:set></C:mkcalendar>`;

async function exists(req: Requester, url: string): Promise<boolean> {
  const res = await req('PROPFIND', url, { headers: { Depth: '0' } });
  if (res.status !== 207) {
    await res.arrayBuffer();
    return false;
  }
  const first = parseMultistatus(await res.text())[0];
  return first !== undefined && !/ 404 /.test(first.status ?? '');
}

async function ensureCollection(req: Requester, url: string, kind: 'addressbook' | keyof typeof CALENDAR_NAMES): Promise<void> {
  if (await exists(req, url)) return;
  const res = kind === 'addressbook'
    ? await req('MKCOL', url, { headers: { 'Content-Type': 'application/xml' }, body: mkAddressbookBody })
    : await req('MKCALENDAR', url, { headers: { 'Content-Type': 'application/xml' }, body: mkCalendarBody(kind) });
  await expectStatus(res, [201], `creating ${kind} collection ${url}`);
}

const queryBody: Record<CollectionKey, string> = {
  contacts: `<?xml version="1.0" encoding="utf-8"?>
<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">
<D:prop><D:getetag/><C:address-data/></D:prop></C:addressbook-query>`,
  calendar: calendarQuery(),
  tasks: calendarQuery(),
  notes: calendarQuery(),
};

function calendarQuery(): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
<D:prop><D:getetag/><C:calendar-data/></D:prop>
<C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>`;
}

/** The handle methods shared by both servers (everything but start/stop). */
function davOps(req: Requester, collections: Record<CollectionKey, string>): Pick<DavServerHandle, 'listItems' | 'putItem' | 'getItem' | 'deleteItem'> {
  return {
    async listItems(key) {
      const res = await req('REPORT', collections[key], {
        headers: { Depth: '1', 'Content-Type': 'application/xml; charset=utf-8' },
        body: queryBody[key],
      });
      await expectStatus(res, [207], `REPORT ${collections[key]}`);
      const items: DavItem[] = [];
      for (const r of parseMultistatus(await res.text())) {
        const prop = okProp(r);
        const data = textOf(prop['address-data']) ?? textOf(prop['calendar-data']);
        if (data === undefined) continue;
        items.push({ href: String(r.href).trim(), etag: textOf(prop.getetag), data: toCrlf(data) });
      }
      return items.sort((a, b) => a.href.localeCompare(b.href));
    },
    async putItem(collection, name, data) {
      const base = collection in collections ? collections[collection as CollectionKey] : collection;
      // `name` is a path segment used as written: callers percent-encode it themselves if needed.
      const url = new URL(name, base).toString();
      const type = /^BEGIN:VCARD/i.test(data.trimStart()) ? 'text/vcard' : 'text/calendar';
      const res = await req('PUT', url, { headers: { 'Content-Type': `${type}; charset=utf-8` }, body: data });
      await expectStatus(res, [201, 204], `PUT ${url}`);
      await res.arrayBuffer();
      return { href: new URL(url).pathname, etag: res.headers.get('etag') ?? undefined };
    },
    async getItem(href) {
      const res = await req('GET', href);
      if (res.status === 404) {
        await res.arrayBuffer();
        return undefined;
      }
      await expectStatus(res, [200], `GET ${href}`);
      const data = toCrlf(await res.text());
      return { href: new URL(res.url).pathname, etag: res.headers.get('etag') ?? undefined, data };
    },
    async deleteItem(href) {
      const res = await req('DELETE', href);
      await expectStatus(res, [200, 204], `DELETE ${href}`);
      await res.arrayBuffer();
    },
  };
}

async function waitHttp(baseUrl: string, proc: ServiceProcess, what: string): Promise<void> {
  await waitUntil(
    async () => {
      const res = await fetch(`${baseUrl}/`, { method: 'OPTIONS' });
      await res.arrayBuffer();
      return true;
    },
    what,
    10_000,
    proc.exitReason,
  );
}

function prepareDir(opts: DavServerOptions, prefix: string): { dir: string; owned: boolean } {
  if (opts.dir) {
    mkdirSync(opts.dir, { recursive: true });
    return { dir: path.resolve(opts.dir), owned: false };
  }
  return { dir: makeTempDir(prefix), owned: true };
}

// ---- Radicale ---------------------------------------------------------------------------

/**
 * Radicale 3.1 with htpasswd auth.  'plain' encryption because bcrypt would need python3-bcrypt
 * or passlib; `delay = 0` because Radicale otherwise sleeps after each failed login.
 */
export async function startRadicale(opts: DavServerOptions = {}): Promise<DavServerHandle> {
  const bin = requireBinary('radicale', 'radicale');
  const user = opts.user ?? 'alice';
  const password = opts.password ?? 'secret';
  const port = opts.port ?? (await getFreePort());
  const { dir, owned } = prepareDir(opts, 'radicale');
  const storage = path.join(dir, 'collections');
  mkdirSync(storage, { recursive: true });
  const users = [{ user, password }, ...(opts.extraUsers ?? [])];
  writeFileSync(path.join(dir, 'users'), users.map((u) => `${u.user}:${u.password}\n`).join(''));
  const configFile = path.join(dir, 'config');
  writeFileSync(configFile, [
    '[server]', `hosts = 127.0.0.1:${port}`,
    '[auth]', 'type = htpasswd', `htpasswd_filename = ${path.join(dir, 'users')}`,
    'htpasswd_encryption = plain', 'delay = 0',
    '[rights]', 'type = owner_only',
    '[storage]', `filesystem_folder = ${storage}`,
    '[web]', 'type = none',
    '[logging]', 'level = warning', '',
  ].join('\n'));
  const baseUrl = `http://127.0.0.1:${port}`;
  const logFile = path.join(dir, 'radicale.log');
  const req = makeRequester(baseUrl, user, password, true);
  const collections: Record<CollectionKey, string> = {
    contacts: `${baseUrl}/${user}/contacts/`,
    calendar: `${baseUrl}/${user}/calendar/`,
    tasks: `${baseUrl}/${user}/tasks/`,
    notes: `${baseUrl}/${user}/notes/`,
  };
  const handle = await runServer({
    kind: 'radicale', baseUrl, port, user, password, collections, storageDir: path.join(storage, 'collection-root', user), dir, owned, logFile, req,
    // Radicale reads ~/.config/radicale too; pin HOME so a developer's config cannot leak in.
    spawn: () => spawnService(bin, ['--config', configFile], logFile, {
      cwd: dir,
      env: { ...process.env, HOME: dir, XDG_CONFIG_HOME: path.join(dir, '.config') },
    }),
  });
  // PROPFIND on the principal makes Radicale create the user's home collection.
  const home = await req('PROPFIND', `/${user}/`, { headers: { Depth: '0' } });
  await expectStatus(home, [207], `radicale: PROPFIND /${user}/ as ${user}`);
  await home.arrayBuffer();
  await ensureCollection(req, collections.contacts, 'addressbook');
  await ensureCollection(req, collections.calendar, 'VEVENT');
  await ensureCollection(req, collections.tasks, 'VTODO');
  await ensureCollection(req, collections.notes, 'VJOURNAL');
  for (const extra of opts.extraUsers ?? []) {
    const r = makeRequester(baseUrl, extra.user, extra.password, true);
    const h = await r('PROPFIND', `/${extra.user}/`, { headers: { Depth: '0' } });
    await expectStatus(h, [207], `radicale: PROPFIND /${extra.user}/ as ${extra.user}`);
    await h.arrayBuffer();
    await ensureCollection(r, `${baseUrl}/${extra.user}/contacts/`, 'addressbook');
    await ensureCollection(r, `${baseUrl}/${extra.user}/calendar/`, 'VEVENT');
    await ensureCollection(r, `${baseUrl}/${extra.user}/tasks/`, 'VTODO');
    await ensureCollection(r, `${baseUrl}/${extra.user}/notes/`, 'VJOURNAL');
  }
  return handle;
}

// ---- Xandikos ---------------------------------------------------------------------------

/**
 * Xandikos 0.2 (git-backed).  It has no authentication of its own (any credentials pass);
 * `--defaults` creates /USER/calendars/calendar/ and /USER/contacts/addressbook/, the VTODO
 * list is made with MKCALENDAR.
 */
export async function startXandikos(opts: DavServerOptions = {}): Promise<DavServerHandle> {
  const bin = requireBinary('xandikos', 'xandikos');
  const user = opts.user ?? 'alice';
  const password = opts.password ?? 'secret';
  const port = opts.port ?? (await getFreePort());
  const { dir, owned } = prepareDir(opts, 'xandikos');
  const storage = path.join(dir, 'data');
  const baseUrl = `http://127.0.0.1:${port}`;
  const logFile = path.join(dir, 'xandikos.log');
  const req = makeRequester(baseUrl, user, password, true);
  const collections: Record<CollectionKey, string> = {
    contacts: `${baseUrl}/${user}/contacts/addressbook/`,
    calendar: `${baseUrl}/${user}/calendars/calendar/`,
    tasks: `${baseUrl}/${user}/calendars/tasks/`,
    notes: `${baseUrl}/${user}/calendars/notes/`,
  };
  const handle = await runServer({
    kind: 'xandikos', baseUrl, port, user, password, collections, storageDir: storage, dir, owned, logFile, req,
    spawn: () => {
      const args = ['-d', storage, '--current-user-principal', `/${user}/`, '-l', '127.0.0.1', '-p', String(port)];
      // --defaults only on first start: it would try to create what already exists.
      if (!existsSync(storage)) args.push('--defaults');
      return spawnService(bin, args, logFile, { cwd: dir, env: { ...process.env, HOME: dir } });
    },
  });
  await ensureCollection(req, collections.tasks, 'VTODO');
  await ensureCollection(req, collections.notes, 'VJOURNAL');
  return handle;
}

/** Start/stop/dispose around one server process, and the handle both servers return. */
async function runServer(o: {
  kind: DavServerHandle['kind']; baseUrl: string; port: number; user: string; password: string; collections: Record<CollectionKey, string>;
  storageDir: string; dir: string; owned: boolean; logFile: string; req: Requester; spawn: () => ServiceProcess;
}): Promise<DavServerHandle> {
  let proc: ServiceProcess | undefined;
  const start = async (): Promise<void> => {
    if (proc) return;
    if (await isListening(o.port)) throw new Error(`${o.kind}: port ${o.port} is already in use`);
    const p = o.spawn();
    proc = p;
    await waitHttp(o.baseUrl, p, `${o.kind} on port ${o.port}`);
  };
  const stop = async (): Promise<void> => {
    const p = proc;
    proc = undefined;
    await p?.stop();
  };
  await start();
  return {
    kind: o.kind, baseUrl: o.baseUrl, port: o.port, user: o.user, password: o.password, collections: o.collections,
    storageDir: o.storageDir, dir: o.dir, logFile: o.logFile, start, stop,
    dispose: async () => {
      await stop();
      if (o.owned) removeTempDir(o.dir);
    },
    request: o.req,
    ...davOps(o.req, o.collections),
  };
}
