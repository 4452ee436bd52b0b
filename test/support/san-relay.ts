// Hands a SAN to SyncEvolution the way a phone's push stack would: through syncevo-dbus-server's
// Connection API (org.syncevolution.Server.Connect + Connection.Process with the SAN's content
// type). SyncEvolution picks the config whose syncURL equals the SAN's server id and starts a
// client session; this script carries its messages to the URL it names (HTTP POST) and the
// answers back, like syncevo-http-server does for the opposite role.
// Run inside `dbus-run-session` with the phone's HOME/XDG variables:
//   node --import tsx test/support/san-relay.ts <san-file> <content-type>
// Prints one JSON line per client message ({ sessionId, bytes }) and { done: true } at the end.
import { readFileSync } from 'node:fs';
import dbus from 'dbus-next';

const [sanFile, contentType = 'application/vnd.syncml.ds.notification'] = process.argv.slice(2);
if (!sanFile) throw new Error('usage: san-relay.ts <san-file> [content-type]');
const out = (o: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(o)}\n`);

const bus = dbus.sessionBus();
const server = (await bus.getProxyObject('org.syncevolution', '/org/syncevolution/Server')).getInterface('org.syncevolution.Server');
const connPath = (await server['Connect']!({ description: 'SAN relay (test)', transport: 'HTTP' }, false, '')) as string;
const conn = (await bus.getProxyObject('org.syncevolution', connPath)).getInterface('org.syncevolution.Connection');
const timeout = setTimeout(() => {
  out({ error: 'timeout' });
  process.exit(2);
}, 120_000);

let chain = Promise.resolve();
conn.on('Reply', (data: Buffer, type: string, meta: Record<string, string>, final: boolean) => {
  chain = chain.then(async () => {
    const text = Buffer.from(data).toString('utf8');
    const cred = /<Cred>.*?<Data>([^<]*)<\/Data>/s.exec(text)?.[1];
    // Only the user name of basic credentials is printed (SyncEvolution 2.0 sends ":" here).
    const user = cred !== undefined ? Buffer.from(cred, 'base64').toString('utf8').split(':')[0] : null;
    out({ user, sessionId: /<SessionID>([^<]*)<\/SessionID>/.exec(text)?.[1] ?? null, bytes: data.length, type, url: meta['URL'] ?? null, final });
    if (data.length === 0 || !meta['URL']) return;
    const res = await fetch(meta['URL'], { method: 'POST', headers: { 'content-type': type }, body: data });
    const body = Buffer.from(await res.arrayBuffer());
    if (final) return;
    await conn['Process']!(body, (res.headers.get('content-type') ?? type).split(';')[0]!.trim());
  }).catch((err: unknown) => {
    out({ error: String(err) });
    process.exit(3);
  });
});
conn.on('Abort', () => {
  out({ aborted: true });
});
server.on('SessionChanged', (path: string, active: boolean) => {
  if (active) return;
  void chain.then(() => {
    clearTimeout(timeout);
    out({ done: true, session: path });
    bus.disconnect();
    process.exit(0);
  });
});
await conn['Process']!(readFileSync(sanFile), contentType);
