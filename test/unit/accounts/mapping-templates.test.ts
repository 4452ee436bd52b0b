// Mapping templates (account "*" with {user}), reporting every problem of every file at once,
// reload keeping the last good set, and: every YAML block in README.md and docs/*.md is valid
// YAML, and those that are mappings pass the mapping validation.
/// <reference types="mocha" />
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { AccountRegistry, parseMapping } from '../../../src/accounts/mappings.js';
import { didYouMean } from '../../../src/accounts/mapping-problems.js';
import { loadProviderProfiles, providerFor, providerFromServerAnswer } from '../../../src/accounts/providers.js';
import { isGatewayError } from '../../../src/errors.js';
import { repoRoot } from '../../support/processes.js';

const TEMPLATE = [
  'account: "*"', 'auth: passthrough', 'dav:', '  url: https://cloud.example/remote.php/dav/', 'datastores:',
  '  contacts:', '    uris: [contacts, pb]', '    collection: https://cloud.example/remote.php/dav/addressbooks/users/{user}/contacts/',
  '  calendar:', '    uris: [calendar]', '    collection: personal', '',
].join('\n');
const ALICE = ['account: alice', 'auth: passthrough', 'dav:', '  url: https://other.example/', 'datastores:', '  contacts:',
  '    uris: [contacts]', '    collection: https://other.example/alice/book/', ''].join('\n');

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(isGatewayError(err, 'CONFIG_INVALID'), String(err));
    return err.message.split('\n');
  }
  return assert.fail('expected CONFIG_INVALID');
}

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'mapping-templates-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

describe('account mappings: templates, all problems at once, documentation examples', function () {
  it('a template serves every user, with {user} filled in (URL-encoded in URLs); an own file wins', function () {
    const reg = new AccountRegistry([parseMapping(TEMPLATE, 'all.yaml', {}), parseMapping(ALICE, 'alice.yaml', {})]);
    const bob = reg.get('bob')!;
    assert.equal(bob.account, 'bob');
    assert.equal(bob.auth.mode, 'passthrough');
    assert.deepEqual(bob.datastores.map((d) => d.collection), ['https://cloud.example/remote.php/dav/addressbooks/users/bob/contacts/', 'personal']);
    assert.equal(reg.get('carol@example.org')!.datastores[0]!.collection, 'https://cloud.example/remote.php/dav/addressbooks/users/carol%40example.org/contacts/');
    assert.equal(reg.get('bob'), bob, 'one mapping object per user (caches key on it)');
    assert.equal(reg.get('ALICE')!.file, 'alice.yaml');
    assert.equal(reg.get('../etc'), undefined, 'no path syntax through {user}');
    assert.equal(reg.get('a b'), undefined);
    assert.deepEqual(reg.list().map((m) => m.account), ['alice', '*']);
    assert.equal(new AccountRegistry([parseMapping(ALICE, 'alice.yaml', {})]).get('bob'), undefined, 'no template, no account');
  });

  it('a template needs passthrough; two templates are refused', function () {
    const p = problemsOf(() => parseMapping(TEMPLATE.replace('auth: passthrough', 'auth: { md5: x }'), 't.yaml', {}));
    assert.match(p.join('\n'), /t\.yaml: field auth: a template \(account "\*"\) .* needs auth: passthrough/);
    const dir = dirWith({ 'a.yaml': TEMPLATE, 'b.yaml': TEMPLATE });
    assert.match(problemsOf(() => AccountRegistry.loadDir(dir, {})).join('\n'), /b\.yaml: account "\*" \(template\) is already defined in .*a\.yaml/);
  });

  it('reports every problem of every file in one run, each with file, field, found and accepted', function () {
    const dir = dirWith({
      'a.yaml': ALICE.replace('auth: passthrough', 'auth: pasthrough').replace('uris: [contacts]', 'uris: [contacts]\n    conflict: newest-wins'),
      'b.yaml': ALICE.replace('alice', 'bob').replace('  contacts:', '  foo:').replace('url: https://other.example/', 'url: not-a-url'),
      'c.yaml': ALICE.replace('alice', 'carol').replace('    uris:', '    colection: x\n    uris:'),
      'd.yaml': 'account: [1, 2',
      'e.yaml': ALICE.replace('alice', 'dave').replace('auth: passthrough', 'auth: { md5: ${DAVE_SECRET} }'),
      'ok.yaml': ALICE.replace('alice', 'erin'),
    });
    const p = problemsOf(() => AccountRegistry.loadDir(dir, {}));
    const text = p.join('\n');
    assert.match(text, /a\.yaml: field auth: found "pasthrough"; did you mean passthrough\? \(accepted: passthrough, \{ basic/);
    assert.match(text, /a\.yaml: field datastores\.contacts\.conflict: found "newest-wins"; did you mean newer-wins\? \(accepted: newer-wins, server-wins/);
    assert.match(text, /b\.yaml: field datastores\.foo\.kind: missing; the name "foo" does not say what it holds \(accepted: contacts, events, tasks, notes\)/);
    assert.match(text, /b\.yaml: field dav\.url: .*\(found "not-a-url"\)/);
    assert.match(text, /c\.yaml: field datastores\.contacts: unknown field "colection"; did you mean collection\?/);
    assert.match(text, /d\.yaml: not valid YAML/);
    assert.match(text, /e\.yaml: not valid YAML: .*quote/);
    assert.doesNotMatch(text, /ok\.yaml/);
    assert.ok(p.length >= 7, text);
  });

  it('kind is required when the name does not say it; names that say it need none', function () {
    const named = (name: string): string => ALICE.replace('  contacts:', `  ${name}:`);
    for (const [name, kind] of [['card', 'contacts'], ['pb', 'contacts'], ['agenda', 'events'], ['todo', 'tasks'], ['memo', 'notes']] as const) {
      assert.equal(parseMapping(named(name), 'x.yaml', {}).datastores[0]!.kind, kind, name);
    }
    assert.equal(parseMapping(named('foo').replace('    uris:', '    kind: tasks\n    uris:'), 'x.yaml', {}).datastores[0]!.kind, 'tasks');
    assert.match(problemsOf(() => parseMapping(named('foo'), 'x.yaml', {}))[0]!, /datastores\.foo\.kind: missing/);
  });

  it('a missing ${ENV} is one problem naming the variable (not also "invalid URL")', function () {
    const text = ALICE.replace('url: https://other.example/', 'url: "${DAV_URL}/"');
    assert.deepEqual(problemsOf(() => parseMapping(text, 'x.yaml', {})), ['x.yaml: dav.url: environment variable DAV_URL is not set']);
    assert.equal(parseMapping(text, 'x.yaml', { DAV_URL: 'https://dav.example' }).dav.url, 'https://dav.example/');
  });

  it('secrets from the environment never appear in a problem', function () {
    const text = ALICE.replace('auth: passthrough', 'auth:\n  md5: ${S}').replace('  url: https://other.example/', '  url: https://other.example/\n  pasword: ${S}');
    const p = problemsOf(() => parseMapping(text, 'x.yaml', { S: 'hunter2-secret' })).join('\n');
    assert.match(p, /unknown field "pasword"; did you mean password\?/);
    assert.doesNotMatch(p, /hunter2/);
  });

  it('did you mean: only near misses', function () {
    assert.equal(didYouMean('pasthrough', ['passthrough']), 'passthrough');
    assert.equal(didYouMean('Passthrough', ['passthrough']), undefined, 'case alone is no typo worth a hint');
    assert.equal(didYouMean('banana', ['passthrough']), undefined);
  });

  it('the provider comes from dav.provider or the URL, never from the port', function () {
    const profiles = loadProviderProfiles();
    assert.equal(providerFor({ dav: { url: 'http://127.0.0.1:5232/' } }, profiles).name, 'generic');
    assert.equal(providerFor({ dav: { url: 'http://dav.example:8080/remote.php/dav/' } }, profiles).name, 'nextcloud');
    assert.equal(providerFor({ dav: { url: 'http://127.0.0.1:5232/', provider: 'radicale' } }, profiles).name, 'radicale');
    // The server's own answer (accounts probe): Nextcloud's DAV header; Radicale's says nothing.
    const nextcloud = new Headers({ dav: '1, 3, extended-mkcol, access-control, calendarserver-principal-property-search, oc-resource-sharing, addressbook, nc-calendar-search' });
    assert.equal(providerFromServerAnswer(nextcloud), 'nextcloud');
    assert.equal(providerFromServerAnswer(new Headers({ dav: '1, 2, 3, calendar-access, addressbook, extended-mkcol', server: 'WSGIServer/0.2 CPython/3.11.2' })), undefined);
  });

  it('replace() swaps the set; a reload that fails leaves the registry as it was', function () {
    const dir = dirWith({ 'alice.yaml': ALICE });
    const reg = AccountRegistry.loadDir(dir, {});
    assert.equal(reg.get('bob'), undefined);
    writeFileSync(path.join(dir, 'all.yaml'), TEMPLATE);
    reg.replace(AccountRegistry.loadDir(dir, {}));
    assert.equal(reg.get('bob')!.account, 'bob');
    writeFileSync(path.join(dir, 'all.yaml'), TEMPLATE.replace('passthrough', 'pasthrough'));
    assert.throws(() => reg.replace(AccountRegistry.loadDir(dir, {})), /did you mean passthrough/);
    assert.equal(reg.get('bob')!.account, 'bob', 'the last good set stays');
  });

  describe('YAML blocks in README.md and docs/*.md', function () {
    const docs = ['README.md', ...readdirSync(path.join(repoRoot, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
    const blocks: Array<{ where: string; text: string }> = [];
    for (const doc of docs) {
      const md = readFileSync(path.join(repoRoot, doc), 'utf8');
      for (const m of md.matchAll(/^```ya?ml\n([\s\S]*?)^```/gm)) {
        blocks.push({ where: `${doc}:${md.slice(0, m.index).split('\n').length}`, text: m[1]! });
      }
    }

    it('finds the examples (README has at least three)', function () {
      assert.ok(blocks.filter((b) => b.where.startsWith('README.md')).length >= 3, blocks.map((b) => b.where).join(', '));
    });

    for (const b of blocks) {
      it(`${b.where} is valid YAML${/^account:/m.test(b.text) ? ' and a valid mapping' : ''}`, function () {
        assert.doesNotThrow(() => parseYaml(b.text), b.text);
        if (!/^account:/m.test(b.text)) return;
        const env = Object.fromEntries([...b.text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => [m[1]!, m[1] === 'NEXTCLOUD_URL' ? 'http://nextcloud' : 'x']));
        parseMapping(b.text, b.where, env);
      });
    }
  });

  it('the shipped mappings and examples/mappings/*.yaml are valid', function () {
    const env = { NEXTCLOUD_URL: 'http://nextcloud', DAV_URL: 'http://radicale:5232' };
    for (const dir of ['mappings', path.join('examples', 'mappings')]) {
      const reg = AccountRegistry.loadDir(path.join(repoRoot, dir), env);
      assert.ok(reg.list().length > 0, dir);
    }
  });
});
