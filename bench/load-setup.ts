// The services of bench/load.ts: Redis, Radicale with one user per simulated phone, the counting
// DAV proxy (its own process), two gateway processes sharing Redis, and the phones' material
// (vCards from the shared corpus, the recorded DevInf Put of SyncEvolution).
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { decodeAny } from '../src/codec/index.js';
import type { PutGetCmd } from '../src/codec/model.js';
import { isElement, type SmlElement } from '../src/codec/tree.js';
import { convertContact } from '../src/convert/index.js';
import type { DavRecord, ProxyMessage } from './load-dav-proxy.js';
import { markCard } from './load-phone.js';
import type { DavServerHandle } from '../test/support/index.js';
import { getFreePort, repoRoot, spawnService, waitUntil, type ServiceProcess } from '../test/support/processes.js';
import { SHARED_CORPUS, SHARED_FIXTURES, listFilesBelow } from '../test/support/shared.js';

export const TEST_STATE_SECRET = 'load-bench-state-secret-0123456789abcdef';

/**
 * Single vCard 2.1 cards of the shared corpus (what phones send) that are valid UTF-8, at most
 * `maxBytes`, and that the project's converter reads; sorted by path for a stable order.
 */
export function corpusCards(maxBytes = 6000): string[] {
  if (!existsSync(SHARED_CORPUS)) throw new Error(`shared corpus not found at ${SHARED_CORPUS} (SHARED_DIR)`);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const cards: string[] = [];
  for (const file of listFilesBelow(SHARED_CORPUS)) {
    if (!file.endsWith('.vcf') || /[/\\](Invalid|compare)[/\\]/.test(file)) continue;
    let text: string;
    try {
      text = utf8.decode(readFileSync(file));
    } catch {
      continue;
    }
    for (const m of text.matchAll(/^BEGIN:VCARD\r?\n[\s\S]*?^END:VCARD\r?$/gim)) {
      const card = m[0].replace(/\r?\n/g, '\r\n');
      if (card.length > maxBytes || !/^VERSION:2\.1\r?$/m.test(card)) continue;
      try {
        convertContact(card, 'vcard30');
        cards.push(card);
      } catch {
        /* not a card the gateway takes: not a load benchmark's business */
      }
    }
  }
  return cards;
}

/**
 * The cards the DAV server takes once converted (Radicale refuses some corpus cards, e.g. with a
 * property twice that may occur once): a refused card is a fidelity matter, not load. Each is
 * PUT once as vCard 3.0 with a fresh UID into the server's own user's address book.
 */
export async function cardsTheServerTakes(dav: DavServerHandle, cards: string[]): Promise<string[]> {
  const kept: string[] = [];
  for (const [i, card] of cards.entries()) {
    const v3 = convertContact(markCard(card, `check-${i}`), 'vcard30').replace(/^VERSION:3\.0\r\n/m, `VERSION:3.0\r\nUID:load-check-${i}\r\n`);
    const res = await dav.request('PUT', `${dav.collections.contacts}load-check-${i}.vcf`, { headers: { 'Content-Type': 'text/vcard; charset=utf-8' }, body: v3 });
    await res.arrayBuffer();
    if (res.status === 201 || res.status === 204) kept.push(card);
  }
  return kept;
}

/** The DevInf Put of SyncEvolution's recorded first message, with `deviceId` as its DevID. */
export function recordedDevInfPut(deviceId: string): PutGetCmd {
  const file = path.join(SHARED_FIXTURES, 'syncevolution', 'xml-slow-sync-legacy-formats', '001-request.xml');
  const put = decodeAny(new Uint8Array(readFileSync(file))).message.body.find((c): c is PutGetCmd => c.kind === 'Put');
  if (!put) throw new Error(`no Put in ${file}`);
  const copy = structuredClone(put);
  const setDevId = (e: SmlElement): void => {
    if (e.name === 'DevID') e.children = [deviceId];
    for (const c of e.children) if (isElement(c)) setDevId(c);
  };
  for (const item of copy.items) if (item.data && typeof item.data !== 'string') setDevId(item.data);
  return copy;
}

/** A template mapping: every Radicale user is an account, its address book behind the proxy. */
export function writeTemplateMapping(dir: string, proxyBase: string): string {
  const mappings = path.join(dir, 'mappings');
  mkdirSync(mappings, { recursive: true });
  writeFileSync(path.join(mappings, 'all-users.yaml'), [
    'account: "*"', 'auth: passthrough', 'dav:', `  url: ${proxyBase}/`, 'datastores:', '  contacts:',
    '    uris: [addressbook, ./contacts, contacts, card]', `    collection: ${proxyBase}/{user}/contacts/`, '',
  ].join('\n'));
  return mappings;
}

export interface DavProxy {
  readonly baseUrl: string;
  readonly pid: number;
  /** Records since the last dump, and the proxy's CPU so far. */
  dump(): Promise<{ records: DavRecord[]; cpuMs: number }>;
  close(): void;
}

export async function startDavProxy(targetPort: number, maxUpstream: number): Promise<DavProxy> {
  const port = await getFreePort();
  const child: ChildProcess = fork(path.join(import.meta.dirname, 'load-dav-proxy.ts'), [String(port), String(targetPort), String(maxUpstream)], {
    execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', (m: ProxyMessage) => (m.kind === 'ready' ? resolve() : reject(new Error('proxy: unexpected message'))));
    child.once('exit', (code) => reject(new Error(`proxy exited (${code})`)));
  });
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    dump: () => new Promise((resolve) => {
      child.once('message', (m: ProxyMessage) => {
        if (m.kind === 'records') resolve({ records: m.records, cpuMs: m.cpuMs });
      });
      child.send('dump');
    }),
    close: () => {
      child.disconnect();
      child.kill('SIGTERM');
    },
  };
}

export interface GatewayChild {
  readonly url: string;
  readonly pid: number;
  readonly logFile: string;
  stop(): Promise<void>;
}

/** Newest modification time of the files below `dir` (ms). */
function newestMtime(dir: string): number {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .reduce((t, d) => Math.max(t, statSync(path.join(d.parentPath, d.name)).mtimeMs), 0);
}

/** `node bin/syncml-gateway.js` when dist/ is newer than src/, else the sources through tsx. */
export function gatewayCommand(): { args: string[]; how: string } {
  const built = path.join(repoRoot, 'dist', 'cli', 'main.js');
  if (existsSync(built) && statSync(built).mtimeMs >= newestMtime(path.join(repoRoot, 'src'))) {
    return { args: [path.join(repoRoot, 'bin', 'syncml-gateway.js'), 'serve'], how: 'dist/ (built)' };
  }
  return { args: ['--import', 'tsx', path.join(repoRoot, 'src', 'cli', 'run.ts'), 'serve'], how: 'src/ through tsx (dist/ missing or older than src/: run `npm run build`)' };
}

export async function spawnGatewayChild(o: { dir: string; name: string; env: Record<string, string>; nodeArgs: string[] }): Promise<GatewayChild> {
  const port = await getFreePort();
  const logFile = path.join(o.dir, `${o.name}.log`);
  const env: NodeJS.ProcessEnv = { ...process.env };
  // Settings never come from the bench's own environment.
  for (const k of Object.keys(env)) if (/^(PORT|HOST|SYNCML_PATH|MAPPINGS_DIR|STATE_DIR|REDIS_URL|LOG_LEVEL|PUBLIC_URL|AUTH_CACHE_SECONDS)$/.test(k)) delete env[k];
  Object.assign(env, { LOG_LEVEL: 'info', STATE_SECRET: TEST_STATE_SECRET, ...o.env, PORT: String(port), HOST: '127.0.0.1' });
  const p: ServiceProcess = spawnService(process.execPath, [...o.nodeArgs, ...gatewayCommand().args], logFile, { cwd: repoRoot, env });
  await waitUntil(async () => {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    await res.arrayBuffer();
    return res.status === 200;
  }, `gateway ${o.name} on port ${port} (log ${logFile})`, 60_000, p.exitReason);
  return { url: `http://127.0.0.1:${port}/sync`, pid: p.pid, logFile, stop: () => p.stop(15_000) };
}

/** Lines of a pino log at level error or fatal, and the count of lines in total. */
export function logErrors(file: string): { errors: string[]; lines: number } {
  const errors: string[] = [];
  let lines = 0;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    lines++;
    if (!line.startsWith('{')) {
      if (/Error|error/.test(line)) errors.push(line.slice(0, 300));
      continue;
    }
    try {
      const l = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } };
      if ((l.level ?? 0) >= 50) errors.push(`${l.msg ?? ''} ${l.err?.message ?? ''}`.slice(0, 300));
    } catch {
      /* a line cut short */
    }
  }
  return { errors, lines };
}
