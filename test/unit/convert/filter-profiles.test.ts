// Device profiles (config/devices/*.yaml): loading and validation, matching on DevInf Man/Mod,
// and how a profile corrects or supplies a device's field filter. Also the `convert` command.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runConvert } from '../../../src/cli/convert.js';
import { parseContact } from '../../../src/convert/contacts.js';
import { effectiveFilter, loadDeviceProfiles, matchDeviceProfile, parseCtCaps, parseDeviceProfile } from '../../../src/convert/filters/index.js';
import type { FieldFilter } from '../../../src/convert/filters/index.js';
import { GatewayError } from '../../../src/errors.js';
import { corpusRoot, repoRoot } from './vcard-corpus-helpers.js';
import { devInfOf } from './filter-helpers.js';

const devicesDir = path.join(repoRoot, 'config', 'devices');

function rejects(text: string, pattern: RegExp): void {
  assert.throws(() => parseDeviceProfile(text, 'bad.yaml'), (err: unknown) => {
    assert.ok(err instanceof GatewayError);
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.match(err.message, pattern);
    return true;
  });
}

describe('device profiles', function () {
  it('loads the shipped profiles and matches devices on Man/Mod', function () {
    const profiles = loadDeviceProfiles(devicesDir);
    assert.deepEqual(profiles.map((p) => p.name).sort(), ['default', 'nokia-s40', 'palm', 'palm-sysync', 'sony-ericsson']);
    assert.equal(matchDeviceProfile(profiles, { man: 'Palm, Inc.', mod: 'Tungsten T5' })?.name, 'palm');
    assert.equal(matchDeviceProfile(profiles, { man: 'Synthesis AG', mod: 'Synthesis Sync Client 2.1.0.3 Palm PRO' })?.name, 'palm-sysync');
    assert.equal(matchDeviceProfile(profiles, { man: 'Nokia', mod: 'Nokia 7210c' })?.name, 'nokia-s40');
    assert.equal(matchDeviceProfile(profiles, { man: 'NOKIA', mod: '6300' })?.name, 'nokia-s40');
    assert.equal(matchDeviceProfile(profiles, { man: 'Nokia', mod: 'N95' })?.name, 'default');
    assert.equal(matchDeviceProfile(profiles, { man: 'Sony Ericsson', mod: 'P900' })?.name, 'sony-ericsson');
    assert.equal(matchDeviceProfile(profiles, { man: 'SonyEricsson' })?.name, 'sony-ericsson'); // Z600 writes it as one word
    assert.equal(matchDeviceProfile(profiles, { man: 'Patrick Ohly', mod: 'SyncEvolution' })?.name, 'default');
    assert.equal(matchDeviceProfile(profiles, {})?.name, 'default');
    assert.equal(matchDeviceProfile([], { man: 'Nokia' }), undefined);
  });

  it('rejects invalid files with the file and the field named', function () {
    rejects('match: { man: "([" }', /bad\.yaml: field match\.man: not a valid regular expression/);
    rejects('defaultTimezone: Mars/Olympus', /field defaultTimezone: not a known IANA time zone/);
    rejects('format: { contacts: vcard22 }', /field format\.contacts/);
    rejects('filters: [{ ctType: text/x-vcard, properties: { NOTE: { maxSize: -3 } } }]', /field filters\.0\.properties\.NOTE/);
    rejects('colour: blue', /bad\.yaml: field \(top level\)/);
    rejects('match: [', /bad\.yaml: not valid YAML/);
    const dir = mkdtempSync(path.join(tmpdir(), 'profiles-'));
    try {
      writeFileSync(path.join(dir, 'a.yaml'), 'name: same\n');
      writeFileSync(path.join(dir, 'b.yml'), 'name: same\n');
      assert.throws(() => loadDeviceProfiles(dir), /b\.yml: field name: profile "same" is already defined in .*a\.yaml/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.throws(() => loadDeviceProfiles(path.join(dir, 'gone')), /device profile directory .* cannot be read/);
  });

  it('patches the device CTCap: lifts a PHOTO MaxSize, changes a limit, removes a property', function () {
    // The Buteo capture announces MaxSize 256 for every property, PHOTO included.
    const filters = parseCtCaps(devInfOf(path.join(corpusRoot, 'buteo-syncml/data/devinf02.txt')));
    const profile = parseDeviceProfile(
      [
        'filters:',
        '  - ctType: text/x-vcard',
        '    properties:',
        '      PHOTO: { maxSize: null }',
        '      note: { maxSize: 1000, noTruncate: true }',
        '      X-SIP: false',
        '      KEY: { maxSize: null }',
        '  - ctType: text/calendar',
        '    properties: { X-FOO: {} }',
      ].join('\n'),
      'p.yaml',
    );
    const f = effectiveFilter(filters, profile, 'text/x-vcard', '2.1')!;
    assert.equal(f.properties.PHOTO!.maxSize, undefined);
    assert.equal(f.properties.NOTE!.maxSize, 1000);
    assert.equal(f.properties.NOTE!.noTruncate, true);
    assert.equal(f.properties['X-SIP'], undefined);
    assert.equal(f.properties.KEY, undefined, 'lifting a limit does not add a property');
    // The device's own filter objects are not changed.
    assert.equal(filters.find((x) => x.ctType === 'text/x-vcard')!.properties.PHOTO!.maxSize, 256);
    // No profile: the device's filter as is.
    assert.deepEqual(effectiveFilter(filters, undefined, 'TEXT/X-VCARD', '2.1'), filters.find((x) => x.ctType === 'text/x-vcard'));
  });

  it('fills in a filter for a device without CTCap (fill), replaces it (replace), patch alone gives none', function () {
    const profiles = loadDeviceProfiles(devicesDir);
    const nokia = profiles.find((p) => p.name === 'nokia-s40')!;
    const f = effectiveFilter([], nokia, 'text/x-vcard', '2.1')!;
    assert.equal(f.properties.TEL!.maxOccur, 5);
    assert.equal(f.properties.EMAIL!.maxOccur, 3);
    assert.equal(f.properties.ADR!.maxOccur, 1);
    assert.equal(f.properties.NOTE!.maxSize, 80);
    assert.equal(f.properties.PHOTO!.maxSize, undefined);
    assert.deepEqual(nokia.format, { contacts: 'vcard21', events: 'vcal10', tasks: 'vcal10' });
    // With the device's own CTCap the fill entry only patches it.
    const own: FieldFilter[] = [{ ctType: 'text/x-vcard', properties: { N: {}, PHOTO: { maxSize: 256 } } }];
    const patched = effectiveFilter(own, nokia, 'text/x-vcard')!;
    assert.equal(patched.properties.PHOTO!.maxSize, undefined);
    assert.equal(patched.properties.TEL!.maxOccur, 5);
    const replace = parseDeviceProfile('filters: [{ ctType: text/x-vcard, mode: replace, properties: { FN: {} } }]', 'r.yaml');
    assert.deepEqual(Object.keys(effectiveFilter(own, replace, 'text/x-vcard')!.properties), ['FN']);
    const patchOnly = parseDeviceProfile('filters: [{ ctType: text/x-vcard, properties: { FN: {} } }]', 'p.yaml');
    assert.equal(effectiveFilter([], patchOnly, 'text/x-vcard'), undefined);
    // VerCT given on both sides must agree.
    const v30 = parseDeviceProfile('filters: [{ ctType: text/x-vcard, verCt: 3.0, mode: replace }]', 'v.yaml');
    assert.equal(v30.filters[0]!.verCt, '3.0');
    assert.equal(effectiveFilter([], v30, 'text/x-vcard', '2.1'), undefined);
    assert.ok(effectiveFilter([], v30, 'text/x-vcard', '3.0'));
  });

  it('a profile gives a default time zone', function () {
    const p = parseDeviceProfile('match: { man: "^Sony" }\ndefaultTimezone: Europe/Stockholm\n', 'se.yaml');
    assert.equal(p.defaultTimezone, 'Europe/Stockholm');
    assert.equal(p.name, 'se');
    assert.equal(matchDeviceProfile([p], { man: 'sony ericsson' }), p);
  });
});

describe('syncml-gateway convert', function () {
  function run(args: string[]): Promise<string> {
    let out = '';
    return runConvert(args, { write: (t) => void (out += t) }).then(() => out);
  }

  it('converts every vCard of a corpus file (Sony Ericsson vCard 2.1 -> 3.0)', async function () {
    const out = await run([path.join(corpusRoot, 'gammu/vcards/se-1.vcf'), '--to', 'vcard30']);
    assert.match(out, /^BEGIN:VCARD\r\nVERSION:3\.0\r\n/);
    const c = parseContact(out);
    assert.equal(c.properties.filter((p) => p.name === 'TEL').length, 5);
  });

  it('applies a device profile filter (Nokia S40: one ADR, NOTE of 80 characters)', async function () {
    const file = path.join(corpusRoot, 'gammu/vcards/se-1.vcf');
    const plain = parseContact(await run([file, '--to', 'vcard21']));
    const nokia = parseContact(await run([file, '--to=vcard21', '--device-profile', 'nokia-s40']));
    assert.equal(plain.properties.filter((p) => p.name === 'ADR').length, 2);
    assert.equal(nokia.properties.filter((p) => p.name === 'ADR').length, 1);
    assert.equal(nokia.properties.some((p) => p.name === 'X-IRMC-LUID'), false);
  });

  it('converts many items of a stream and calendars (vCalendar 1.0 -> iCalendar 2.0)', async function () {
    const out = await run([path.join(corpusRoot, 'funambol-cpp-client-api/testcases/vcard21.vcf'), '--to', 'vcard40']);
    assert.equal(out.match(/^BEGIN:VCARD/gm)!.length, 16);
    const cal = await run([path.join(corpusRoot, 'gammu/vcal/k770.vcs'), '--to', 'ical20']);
    assert.match(cal, /BEGIN:VCALENDAR\r\nVERSION:2\.0/);
    assert.match(cal, /RRULE:FREQ=YEARLY/);
  });

  it('names the file, the line and the problem of an item that fails', async function () {
    const dir = mkdtempSync(path.join(tmpdir(), 'convert-'));
    try {
      const f = path.join(dir, 'three.vcs');
      const ev = (summary: string): string => `BEGIN:VEVENT\r\nDTSTART:20240102T100000Z\r\nDTEND:20240102T110000Z\r\nSUMMARY:${summary}\r\nEND:VEVENT\r\n`;
      writeFileSync(
        f,
        `BEGIN:VCALENDAR\r\nVERSION:1.0\r\n${ev('Good one')}END:VCALENDAR\r\n\r\n` +
          // line 10: a VEVENT cut off before its END (truncated object)
          'BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VEVENT\r\nSUMMARY:cut\r\nEND:VCALENDAR\r\n' +
          // line 15: never closed
          `BEGIN:VCALENDAR\r\nVERSION:1.0\r\n${ev('open')}`,
      );
      let out = '';
      await assert.rejects(runConvert([f, '--to', 'ical20'], { write: (t) => void (out += t) }), (err: unknown) => {
        assert.ok(err instanceof GatewayError);
        assert.equal(err.code, 'INVALID_ITEM');
        assert.match(err.message, /2 of 3 item\(s\)/);
        assert.match(err.message, /three\.vcs:10: .*truncated calendar object: line 14: END:VCALENDAR closes unterminated VEVENT/);
        assert.match(err.message, /three\.vcs:15: BEGIN:VCALENDAR is never closed/);
        return true;
      });
      assert.match(out, /SUMMARY:Good one/, 'the good item is still printed');
      await assert.rejects(run([f, '--to', 'vcard30']), /three\.vcs: no BEGIN:VCARD found/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects bad arguments with the usage', async function () {
    await assert.rejects(run([]), (err: unknown) => {
      assert.match(String(err), /convert needs a file/);
      assert.match((err as { usage?: string }).usage ?? '', /usage:/);
      return true;
    });
    await assert.rejects(run(['x.vcf']), /convert needs --to/);
    await assert.rejects(run(['x.vcf', '--to', 'vcard22']), /unknown format vcard22/);
    await assert.rejects(run(['x.vcf', '--to', 'vcard30', '--frobnicate']), /unknown option '?--frobnicate/i);
    await assert.rejects(run(['/nonexistent/x.vcf', '--to', 'vcard30']), /x\.vcf: cannot be read/);
    await assert.rejects(run([path.join(corpusRoot, 'gammu/vcards/se-1.vcf'), '--to', 'vcard30', '--device-profile', 'nope']), /no device profile nope .*have: default/);
  });
});
