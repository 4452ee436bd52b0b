// Kannel on loopback for push tests: bearerbox + smsbox (Debian `kannel`) and the fake SMSC
// `fakesmsc` (Debian `kannel-extras`), which prints every SMS the bearerbox delivers to it.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { findBinary, getFreePort, makeTempDir, spawnService, waitUntil } from './processes.js';
import type { ServiceProcess } from './processes.js';

export interface FakeSms {
  from: string;
  to: string;
  udh: Uint8Array;
  data: Uint8Array;
  /** When the test read it from fakesmsc's output (ms since epoch). */
  seenAt: number;
}

export interface KannelHandle {
  /** smsbox sendsms URL (http://127.0.0.1:PORT/cgi-bin/sendsms). */
  sendsmsUrl: string;
  username: string;
  password: string;
  /** Every SMS fakesmsc received so far (polled from its log). */
  messages(): FakeSms[];
  stop(): Promise<void>;
}

const FAKESMSC = '/usr/lib/kannel/test/fakesmsc';

function need(bin: string, pkg: string): string {
  const found = bin.startsWith('/') ? (existsSync(bin) ? bin : undefined) : findBinary(bin);
  if (!found) throw new Error(`${bin} not found: install the Debian package ${pkg}`);
  return found;
}

/** URL-encoded bytes as fakesmsc prints them (%XX, + for space, the rest literal). */
function urlBytes(s: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%') {
      out.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      out.push(s[i] === '+' ? 0x20 : s.charCodeAt(i));
    }
  }
  return Uint8Array.from(out);
}

/** fakesmsc logs `Got message N: <from to udh %XX.. data %XX..>`. */
function parseFakeLog(text: string, seen: Map<number, number>): FakeSms[] {
  const out: FakeSms[] = [];
  for (const m of text.matchAll(/Got message (\d+): <(\S+) (\S+) udh (\S+) data (\S*)>/g)) {
    const n = Number(m[1]);
    if (!seen.has(n)) seen.set(n, Date.now());
    out.push({ from: m[2]!, to: m[3]!, udh: urlBytes(m[4]!), data: urlBytes(m[5]!), seenAt: seen.get(n)! });
  }
  return out;
}

export async function startKannel(): Promise<KannelHandle> {
  const bearerbox = need('/usr/sbin/bearerbox', 'kannel');
  const smsbox = need('/usr/sbin/smsbox', 'kannel');
  const fake = need(FAKESMSC, 'kannel-extras');
  const dir = makeTempDir('kannel');
  const [admin, box, smsc, sendsms] = await Promise.all([getFreePort(), getFreePort(), getFreePort(), getFreePort()]);
  const conf = path.join(dir, 'kannel.conf');
  const username = 'gw';
  const password = 'pw';
  writeFileSync(conf, [
    'group = core', `admin-port = ${admin}`, 'admin-password = adm', 'admin-interface = 127.0.0.1', `smsbox-port = ${box}`,
    'box-allow-ip = 127.0.0.1', 'log-level = 1', '',
    'group = smsc', 'smsc = fake', 'smsc-id = fake', `port = ${smsc}`, 'connect-allow-ip = 127.0.0.1', '',
    'group = smsbox', 'bearerbox-host = 127.0.0.1', `sendsms-port = ${sendsms}`, 'sendsms-interface = 127.0.0.1', 'log-level = 1', '',
    'group = sendsms-user', `username = ${username}`, `password = ${password}`, 'max-messages = 10', '',
    'group = sms-service', 'keyword = default', 'text = "nothing"', 'catch-all = true', '',
  ].join('\n'));
  const procs: ServiceProcess[] = [];
  const fakeLog = path.join(dir, 'fakesmsc.log');
  const stop = async (): Promise<void> => {
    for (const p of procs.reverse()) await p.stop(3000);
  };
  try {
    const bb = spawnService(bearerbox, ['-v', '1', conf], path.join(dir, 'bearerbox.log'));
    procs.push(bb);
    await waitUntil(async () => {
      const res = await fetch(`http://127.0.0.1:${admin}/status?password=adm`).catch(() => undefined);
      await res?.arrayBuffer();
      return res?.status === 200;
    }, 'bearerbox admin port', 20_000, bb.exitReason);
    const fk = spawnService(fake, ['-H', '127.0.0.1', '-r', String(smsc), '-m', '0', '-i', '1', '1 2 text x'], fakeLog);
    procs.push(fk);
    await waitUntil(async () => readFileSync(path.join(dir, 'bearerbox.log'), 'utf8').includes('Fakesmsc client connected'), 'fakesmsc connected', 20_000, fk.exitReason);
    const sb = spawnService(smsbox, ['-v', '1', conf], path.join(dir, 'smsbox.log'));
    procs.push(sb);
    await waitUntil(async () => {
      const res = await fetch(`http://127.0.0.1:${sendsms}/cgi-bin/sendsms`).catch(() => undefined);
      await res?.arrayBuffer();
      return res !== undefined;
    }, 'smsbox sendsms port', 20_000, sb.exitReason);
  } catch (err) {
    await stop();
    throw err;
  }
  const seen = new Map<number, number>();
  return {
    sendsmsUrl: `http://127.0.0.1:${sendsms}/cgi-bin/sendsms`,
    username, password,
    messages: () => parseFakeLog(readFileSync(fakeLog, 'utf8'), seen),
    stop,
  };
}
