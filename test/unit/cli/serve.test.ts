// `syncml-gateway serve` as a process: a port that is already taken ends it with exit status 1
// and the reason (issue #13, defect 13: it used to log "gateway listening" and idle or exit 0),
// with the embedded store and with Redis; SIGTERM ends it within the grace period; the optional
// HTTPS listener speaks TLS 1.0 with AES128-SHA in the `legacy` profile and refuses it in `modern`.
/// <reference types="mocha" />
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { findBinary, getFreePort, makeTempDir, repoRoot, waitUntil } from '../../support/processes.js';
import { startRedis, type RedisHandle } from '../../support/redis.js';
import { runCli } from './run-cli.js';
import { skipOrFailInCi } from '../../support/shared.js';

const MAPPING = ['account: alice', 'auth: passthrough', 'dav:', '  url: http://127.0.0.1:9/', 'datastores:', '  contacts:',
  '    uris: [contacts]', '    collection: http://127.0.0.1:9/alice/contacts/', ''].join('\n');

function occupy(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

describe('cli: syncml-gateway serve', function () {
  let dir: string;
  let mappings: string;
  before(function () {
    dir = makeTempDir('serve-cli');
    mappings = path.join(dir, 'mappings');
    mkdirSync(mappings);
    writeFileSync(path.join(mappings, 'alice.yaml'), MAPPING);
  });

  describe('a port already in use', function () {
    let port: number;
    let blocker: Server;
    let redis: RedisHandle | undefined;
    before(async function () {
      port = await getFreePort();
      blocker = await occupy(port);
    });
    after(async function () {
      blocker?.close();
      await redis?.dispose();
    });

    it('embedded store: exits 1 with "port is already in use", never "gateway listening"', async function () {
      const r = await runCli(['serve'], { PORT: String(port), HOST: '127.0.0.1', MAPPINGS_DIR: mappings, STATE_DIR: path.join(dir, 'state') });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the port is already in use`));
      assert.doesNotMatch(r.stdout, /gateway listening/);
    });

    it('Redis store: exits 1 as well (no idling with an open Redis connection)', async function () {
      redis = await startRedis();
      const r = await runCli(['serve'], { PORT: String(port), HOST: '127.0.0.1', MAPPINGS_DIR: mappings, REDIS_URL: redis.url, STATE_SECRET: 'serve-test-secret-0123456789' });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /the port is already in use/);
    });

    it('an invalid mapping exits 3 and names the problem', async function () {
      const bad = path.join(dir, 'bad');
      mkdirSync(bad, { recursive: true });
      writeFileSync(path.join(bad, 'a.yaml'), MAPPING.replace('auth: passthrough', 'auth: pasthrough'));
      const r = await runCli(['serve'], { PORT: '0', HOST: '127.0.0.1', MAPPINGS_DIR: bad, STATE_DIR: path.join(dir, 'state3') });
      assert.equal(r.code, 3, r.stdout + r.stderr);
      assert.match(r.stderr, /did you mean passthrough\?/);
    });
  });

  it('SIGTERM: stops and exits 0 within SHUTDOWN_GRACE_SECONDS', async function () {
    const port = await getFreePort();
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src', 'cli', 'run.ts'), 'serve'], {
      cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, REDIS_URL: '', PORT: String(port), HOST: '127.0.0.1', MAPPINGS_DIR: mappings, STATE_DIR: path.join(dir, 'state-term'), SHUTDOWN_GRACE_SECONDS: '2' },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    try {
      await waitUntil(() => Promise.resolve(out.includes('gateway listening')), 'gateway listening', 20_000);
      // A client that keeps a request open (headers never finished) must not hold the exit up.
      const { connect } = await import('node:net');
      const hung = connect(port, '127.0.0.1');
      hung.on('error', () => undefined);
      hung.write('POST /sync HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc');
      await new Promise((r) => setTimeout(r, 200));
      const t0 = Date.now();
      child.kill('SIGTERM');
      assert.equal(await exited, 0, out);
      const took = Date.now() - t0;
      assert.ok(took < 5000, `took ${took} ms`);
      assert.match(out, /shutting down/);
      assert.match(out, /"dropped":1,.*connections still busy after the grace period were closed/);
      hung.destroy();
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('MAPPINGS_WATCH: a changed file is picked up without SIGHUP; an invalid one is refused', async function () {
    const { startGateway } = await import('../../../src/main.js');
    const { Writable } = await import('node:stream');
    const watched = path.join(dir, 'watched');
    mkdirSync(watched);
    writeFileSync(path.join(watched, 'alice.yaml'), MAPPING);
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({ write(chunk: Buffer, _enc, cb) { for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>); cb(); } });
    const gw = await startGateway({ port: 0, host: '127.0.0.1', mappingsDir: watched, stateDir: path.join(dir, 'state-watch'), redisUrl: '', mappingsWatch: true, logLevel: 'info' }, { logDestination: sink });
    try {
      const reloaded = (n: number): Promise<void> => waitUntil(() => Promise.resolve(lines.filter((l) => /^mappings (not )?reloaded/.test(String(l['msg']))).length >= n), 'reload', 10_000);
      writeFileSync(path.join(watched, 'bob.yaml'), MAPPING.replace('alice', 'bob'));
      await reloaded(1);
      assert.deepEqual(lines.find((l) => l['msg'] === 'mappings reloaded')?.['accounts'], ['alice', 'bob']);
      writeFileSync(path.join(watched, 'bob.yaml'), MAPPING.replace('alice', 'bob').replace('passthrough', 'pasthrough'));
      await waitUntil(() => Promise.resolve(lines.some((l) => String(l['msg']).startsWith('mappings not reloaded'))), 'refused reload', 10_000);
      assert.match((lines.find((l) => String(l['msg']).startsWith('mappings not reloaded'))!['problems'] as string[])[0]!, /bob\.yaml: field auth/);
    } finally {
      await gw.close(1000);
    }
  });

  describe('what the container image runs (built dist/, as npm install leaves it)', function () {
    before(function () {
      if (!existsSync(path.join(repoRoot, 'dist', 'cli', 'main.js'))) skipOrFailInCi(this, 'dist/ not built: npm run build');
    });

    it('syncml-gateway through a symlink on PATH (as /usr/local/bin in the image) runs the CLI', function () {
      const bin = path.join(dir, 'path-bin');
      mkdirSync(bin, { recursive: true });
      symlinkSync(path.join(repoRoot, 'bin', 'syncml-gateway.js'), path.join(bin, 'syncml-gateway'));
      const out = execFileSync('syncml-gateway', ['--version'], { env: { ...process.env, PATH: `${bin}:${process.env['PATH']}` }, encoding: 'utf8' });
      assert.match(out, /^syncml-gateway \d+\.\d+\.\d+\n$/);
    });

    it('bin/healthcheck.js checks the configured port, 0.0.0.0 on loopback; 1 when nothing answers', async function () {
      const port = await getFreePort();
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src', 'cli', 'run.ts'), 'serve'], {
        cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, REDIS_URL: '', PORT: String(port), HOST: '0.0.0.0', MAPPINGS_DIR: mappings, STATE_DIR: path.join(dir, 'state-health') },
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const health = (env: Record<string, string>): number => {
        try {
          execFileSync(process.execPath, [path.join(repoRoot, 'bin', 'healthcheck.js')], { env: { ...process.env, ...env }, stdio: 'ignore' });
          return 0;
        } catch (err) {
          return (err as { status: number }).status;
        }
      };
      try {
        await waitUntil(() => Promise.resolve(out.includes('gateway listening')), 'gateway listening', 20_000);
        assert.equal(health({ HOST: '0.0.0.0', PORT: String(port) }), 0);
        assert.equal(health({ HOST: '127.0.0.1', PORT: String(await getFreePort()) }), 1);
      } finally {
        child.kill('SIGKILL');
      }
    });
  });

  describe('HTTPS listener', function () {
    let cert: string;
    let key: string;
    before(function () {
      const openssl = findBinary('openssl');
      if (!openssl) this.skip();
      cert = path.join(dir, 'cert.pem');
      key = path.join(dir, 'key.pem');
      execFileSync(openssl!, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost'], { stdio: 'ignore' });
    });

    async function handshake(profile: 'modern' | 'legacy'): Promise<{ legacy: string; modern: string }> {
      const port = await getFreePort();
      const tlsPort = await getFreePort();
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src', 'cli', 'run.ts'), 'serve'], {
        cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, REDIS_URL: '', PORT: String(port), HOST: '127.0.0.1', MAPPINGS_DIR: mappings, STATE_DIR: path.join(dir, `state-${profile}`),
          TLS_CERT_FILE: cert, TLS_KEY_FILE: key, TLS_PORT: String(tlsPort), TLS_PROFILE: profile },
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      try {
        await waitUntil(() => Promise.resolve(out.includes('gateway listening')), `gateway listening (${out})`, 20_000);
        // What an old phone offers: TLS 1.0 only, RSA key exchange, AES128-SHA.
        const oldPhone = await connectTls(tlsPort, { minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'AES128-SHA:@SECLEVEL=0' });
        const current = await connectTls(tlsPort, {});
        return { legacy: oldPhone, modern: current };
      } finally {
        child.kill('SIGKILL');
      }
    }

    it('legacy: an old phone (TLS 1.0, AES128-SHA) gets a session and GET /healthz', async function () {
      const r = await handshake('legacy');
      assert.equal(r.legacy, 'TLSv1 AES128-SHA 200');
      assert.match(r.modern, /^TLSv1\.3 .* 200$/);
    });

    it('modern: TLS 1.0 is refused, TLS 1.3 works', async function () {
      const r = await handshake('modern');
      assert.match(r.legacy, /^refused/);
      assert.match(r.modern, /^TLSv1\.3 .* 200$/);
    });
  });
});

/** "PROTOCOL CIPHER HTTP-STATUS" of GET /healthz over TLS, or "refused: reason". */
function connectTls(port: number, opts: tls.ConnectionOptions): Promise<string> {
  return new Promise((resolve) => {
    const sock = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...opts }, () => {
      const head = `${sock.getProtocol()} ${sock.getCipher().name}`;
      sock.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
      let body = '';
      sock.on('data', (d: Buffer) => (body += d.toString()));
      sock.on('end', () => resolve(`${head} ${/^HTTP\/1\.1 (\d+)/.exec(body)?.[1] ?? '?'}`));
    });
    sock.on('error', (err) => resolve(`refused: ${err.message}`));
  });
}
