// The command line as an admin meets it: `--help` and `--version` for every command, and the exit
// status of each kind of outcome (0 ok, 1 not found or failed, 2 usage, 3 configuration invalid;
// docs/admin.md). Most cases call main() in-process; a few run the real process end to end.
/// <reference types="mocha" />
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { main } from '../../../src/cli/main.js';
import { EXIT } from '../../../src/cli/usage.js';
import { repoRoot } from '../../support/processes.js';
import { runCli } from './run-cli.js';

const VERSION = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const saved = process.exitCode;
  try {
    const code = await main(argv, { stdout: { write: (s: string | Uint8Array) => (out += String(s)) }, stderr: { write: (s: string) => (err += s) } });
    return { code, out, err };
  } finally {
    process.exitCode = saved;
  }
}

const GOOD = ['account: alice', 'auth: passthrough', 'dav:', '  url: http://127.0.0.1:5232/', 'datastores:', '  contacts:',
  '    uris: [contacts]', '    collection: http://127.0.0.1:5232/alice/contacts/', ''].join('\n');

describe('cli: commands, --help, --version and exit codes', function () {
  let dir: string;
  before(function () {
    dir = mkdtempSync(path.join(tmpdir(), 'sgw-cli-'));
  });
  after(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  const COMMANDS: string[][] = [
    [], ['serve'], ['decode'], ['encode'], ['convert'], ['restore'], ['accounts'], ['accounts', 'check'], ['accounts', 'probe'],
    ['devices'], ['devices', 'list'], ['devices', 'reset'], ['devices', 'forget'], ['devices', 'export'], ['devices', 'push-test'], ['san'], ['oauth'], ['oauth', 'google'],
  ];

  for (const cmd of COMMANDS) {
    it(`${['syncml-gateway', ...cmd].join(' ')} --help prints its usage and exits 0`, async function () {
      const r = await cli(...cmd, '--help');
      assert.equal(r.code, EXIT.OK, r.err);
      assert.match(r.out, /^usage: syncml-gateway/m);
      if (cmd[0]) assert.match(r.out, new RegExp(`syncml-gateway ${cmd[0]}|${cmd[0]}`));
      assert.equal(r.err, '');
    });
    it(`${['syncml-gateway', ...cmd].join(' ')} --version prints the version and exits 0`, async function () {
      const r = await cli(...cmd, '--version');
      assert.equal(r.code, EXIT.OK, r.err);
      assert.equal(r.out, `syncml-gateway ${VERSION}\n`);
    });
  }

  it('usage mistakes exit 2 with the message and the usage on stderr', async function () {
    for (const argv of [['frobnicate'], ['convert', 'x.vcf'], ['convert', 'x.vcf', '--to', 'vcard99'], ['convert', '--bogus'],
      ['decode'], ['decode', 'a', 'b'], ['accounts', 'probe'], ['accounts', 'frob'], ['devices', 'list', '--acount', 'x'], ['oauth', 'yahoo'],
      ['serve', 'extra']]) {
      const r = await cli(...argv);
      assert.equal(r.code, EXIT.USAGE, `${argv.join(' ')}: ${r.err}`);
      assert.match(r.err, /usage: syncml-gateway/, argv.join(' '));
      assert.equal(r.out, '', argv.join(' '));
    }
    assert.match((await cli('frobnicate')).err, /unknown command frobnicate/);
    assert.match((await cli('convert', 'x.vcf')).err, /convert needs --to/);
  });

  it('accounts without a subcommand prints the accounts usage (no blank account name)', async function () {
    const r = await cli('accounts');
    assert.equal(r.code, EXIT.OK);
    assert.match(r.out, /usage: syncml-gateway accounts <command>/);
    assert.match(r.out, /probe <account>/);
  });

  it('not found or failed exits 1; an invalid configuration exits 3 and lists every problem', async function () {
    const good = path.join(dir, 'good');
    const bad = path.join(dir, 'bad');
    for (const d of [good, bad]) rmSync(d, { recursive: true, force: true });
    const { mkdirSync } = await import('node:fs');
    mkdirSync(good);
    mkdirSync(bad);
    writeFileSync(path.join(good, 'alice.yaml'), GOOD);
    writeFileSync(path.join(bad, 'a.yaml'), GOOD.replace('auth: passthrough', 'auth: pasthrough'));
    writeFileSync(path.join(bad, 'b.yaml'), GOOD.replace('alice', 'bob').replace('  contacts:', '  foo:'));
    const ok = await cli('accounts', 'check', '--mappings', good);
    assert.equal(ok.code, EXIT.OK, ok.err);
    assert.match(ok.out, /1 account mapping\(s\) valid/);
    const missing = await cli('accounts', 'probe', 'carol', '--mappings', good);
    assert.equal(missing.code, EXIT.FAILED);
    assert.match(missing.err, /no account carol in the mappings \(alice\)/);
    assert.equal((await cli('decode', path.join(dir, 'no-such-file.xml'))).code, EXIT.FAILED);
    const invalid = await cli('accounts', 'check', '--mappings', bad);
    assert.equal(invalid.code, EXIT.CONFIG, invalid.err);
    assert.match(invalid.err, /a\.yaml: field auth: found "pasthrough"; did you mean passthrough\?/);
    assert.match(invalid.err, /b\.yaml: field datastores\.foo\.kind: missing; the name "foo" does not say/);
  });

  it('devices list --account for an account without devices exits 1 (docs/admin.md)', async function () {
    const saved = { STATE_DIR: process.env.STATE_DIR, REDIS_URL: process.env.REDIS_URL };
    process.env.STATE_DIR = path.join(dir, 'state');
    process.env.REDIS_URL = '';
    try {
      const r = await cli('devices', 'list', '--account', 'bob');
      assert.equal(r.code, EXIT.FAILED);
      assert.match(r.err, /no devices for account bob/);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('the real process: --version, convert --help, unknown command, invalid mappings', async function () {
    const version = await runCli(['--version']);
    assert.equal(version.code, 0, version.stderr);
    assert.equal(version.stdout, `syncml-gateway ${VERSION}\n`);
    const help = await runCli(['convert', '--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /usage: syncml-gateway convert <file> --to/);
    const unknown = await runCli(['--frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command --frobnicate/);
    const bad = path.join(dir, 'bad');
    const invalid = await runCli(['accounts', 'check'], { MAPPINGS_DIR: bad });
    assert.equal(invalid.code, 3, invalid.stderr);
    assert.equal(invalid.stderr.trim().split('\n').length >= 2, true, invalid.stderr);
  });
});
