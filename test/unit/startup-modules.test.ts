// The idle gateway loads only what it uses (issue #15, memory): a started gateway with embedded
// state and no admin password has not loaded ioredis, tsdav, piscina or the admin router. Each of
// them costs RSS and heap at startup and is loaded on first use instead (docs/performance.md).
// Runs in a fresh node process: this one has loaded every module the other tests use.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { makeTempDir, repoRoot } from '../support/processes.js';

/**
 * Every module URL the gateway process loaded while starting and closing, as a load hook wrote
 * them. The hook appends to a file synchronously: `module.register` hooks run on their own thread,
 * whose `process.stderr` is forwarded asynchronously, and the lines of the modules loaded last
 * (the embedded store, imported on first use) could be lost when the process exits right after.
 */
function modulesLoadedByIdleGateway(env: Record<string, string> = {}): string[] {
  const dir = makeTempDir('startup-modules');
  const mappings = path.join(dir, 'mappings');
  mkdirSync(mappings, { recursive: true });
  // The DAV server is never contacted while the gateway is idle.
  writeFileSync(path.join(mappings, 'alice.yaml'), 'account: alice\nauth: passthrough\ndav:\n  url: http://127.0.0.1:9/dav/\ndatastores:\n  contacts:\n    uris: [contacts]\n    collection: http://127.0.0.1:9/dav/alice/contacts/\n');
  const hooks = path.join(dir, 'hooks.mjs');
  const loadedFile = path.join(dir, 'loaded.txt');
  writeFileSync(loadedFile, '');
  writeFileSync(hooks, `import { appendFileSync } from 'node:fs';\nexport async function load(url, context, next) { appendFileSync(${JSON.stringify(loadedFile)}, url + '\\n'); return next(url, context); }\n`);
  const register = `import { register } from 'node:module'; register(${JSON.stringify(pathToFileURL(hooks).href)});`;
  const script = `const { startGateway } = await import(${JSON.stringify(pathToFileURL(path.join(repoRoot, 'src', 'main.ts')).href)});
const gw = await startGateway({ port: 0, host: '127.0.0.1', mappingsDir: ${JSON.stringify(mappings)}, stateDir: ${JSON.stringify(path.join(dir, 'state'))}, redisUrl: '', logLevel: 'silent', mappingsWatch: false });
await gw.close(0);`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--import', `data:text/javascript,${encodeURIComponent(register)}`, '--input-type=module', '-e', script], {
    cwd: repoRoot, encoding: 'utf8', timeout: 60_000, env: { ...withoutAdminOrPush(process.env), ...env },
  });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  return readFileSync(loadedFile, 'utf8').split('\n').filter(Boolean);
}

/** The environment without an admin password or push settings that a developer may have set. */
function withoutAdminOrPush(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !/^(ADMIN_|PUSH_|KANNEL_|GAMMU_)/.test(k)));
}

describe('startup: the idle gateway loads only the modules it uses', function () {
  this.timeout(90_000);

  it('embedded state, no admin password: no ioredis, tsdav, piscina or admin router', function () {
    const loaded = modulesLoadedByIdleGateway();
    // The hook saw the gateway start (else an empty list would pass).
    assert.ok(loaded.some((u) => u.endsWith('/src/main.ts')), 'the load hook saw src/main.ts');
    assert.ok(loaded.some((u) => u.includes('/node_modules/better-sqlite3/')), 'the embedded store is loaded');
    for (const lazy of ['/node_modules/ioredis/', '/node_modules/tsdav/', '/node_modules/piscina/', '/src/admin/router.ts']) {
      assert.deepEqual(loaded.filter((u) => u.includes(lazy)), [], `${lazy} is loaded at startup`);
    }
  });
});

describe('startup: the V8 memory flags of the shipped start commands', function () {
  // 2 MB semi-spaces instead of up to 16 MB: 5-32 MB less peak RSS per phase; one V8 helper
  // thread instead of four: 3-8 MB less; CPU within the noise for both (docs/performance.md).
  // `npm start` and the container image both set them.
  it('npm start and the Docker image run node with --max-semi-space-size=2 --v8-pool-size=1', function () {
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    assert.match(pkg.scripts['start']!, /^node --max-semi-space-size=2 --v8-pool-size=1 bin\/syncml-gateway\.js serve$/);
    assert.match(readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8'), /^ENV NODE_OPTIONS="--max-semi-space-size=2 --v8-pool-size=1"$/m);
  });

  it('the node in use accepts --v8-pool-size in NODE_OPTIONS (the image passes it that way)', function () {
    const out = execFileSync(process.execPath, ['-e', 'process.stdout.write("up")'], {
      encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '--max-semi-space-size=2 --v8-pool-size=1' },
    });
    assert.equal(out, 'up');
  });
});
