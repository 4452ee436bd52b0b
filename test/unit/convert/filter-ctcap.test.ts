// CTCap parsing against every real DevInf in the corpus and the SyncEvolution fixtures (DevInf
// 1.0/1.1 flat lists, 1.2 nested Property trees, XML and WBXML), plus hand-made edge cases.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { decodeXml } from '../../../src/codec/xml.js';
import { decodeWbxml } from '../../../src/codec/wbxml/index.js';
import { isElement } from '../../../src/codec/tree.js';
import type { SmlElement } from '../../../src/codec/tree.js';
import { capFor, ctCapsForDataStore, parseCtCaps, selectFilter } from '../../../src/convert/filters/index.js';
import type { FieldFilter } from '../../../src/convert/filters/index.js';
import { corpusRoot, sharedRoot } from './vcard-corpus-helpers.js';
import { devInfOf, findDevInf } from './filter-helpers.js';

const corpus = (p: string): string => path.join(corpusRoot, p);
const fixture = (p: string): string => path.join(sharedRoot, 'fixtures', p);

function vcard(filters: FieldFilter[], verCt?: string): FieldFilter {
  const f = selectFilter(filters, verCt === '3.0' ? 'text/vcard' : 'text/x-vcard', verCt);
  assert.ok(f, `no vCard filter among ${filters.map((x) => x.ctType).join(', ')}`);
  return f;
}

describe('CTCap: real DevInf captures', function () {
  it('SyncEvolution, DevInf 1.2 nested (per DataStore, MaxOccur, PropParam TYPE, X-* wildcard)', function () {
    const filters = parseCtCaps(devInfOf(fixture('syncevolution/xml-slow-sync/001-request.xml')));
    const v30 = vcard(filters, '3.0');
    assert.equal(v30.ctType, 'text/vcard');
    assert.equal(v30.properties.N!.maxOccur, 1);
    assert.equal(v30.properties.NOTE!.maxOccur, 1);
    assert.equal(v30.properties.TEL!.maxOccur, undefined);
    assert.deepEqual(v30.properties.EMAIL!.params, { TYPE: ['HOME', 'WORK', 'INTERNET'] });
    assert.ok(v30.properties.TEL!.params!.TYPE!.includes('X-EVOLUTION-TTYTDD'));
    // PHOTO lists TYPE and VALUE without values: any value allowed.
    assert.deepEqual(v30.properties.PHOTO!.params, { TYPE: [], VALUE: [] });
    assert.deepEqual(v30.properties.VERSION!.valEnum, ['3.0']);
    // Mixed-case names are normalised; `X-*` matches any X- property.
    assert.ok(v30.properties['X-KADDRESSBOOK-X-OFFICE']);
    assert.equal(capFor(v30, 'X-SOMETHING-ELSE'), v30.properties['X-*']);
    assert.equal(capFor(v30, 'ANNIVERSARY'), v30.properties['X-ANNIVERSARY']);
    assert.equal(capFor(v30, 'KEY'), undefined);
    const v21 = vcard(filters, '2.1');
    assert.equal(v21.verCt, '2.1');
    // Calendar CTCaps of the other DataStores are read too.
    assert.ok(selectFilter(filters, 'text/calendar'), 'calendar CTCap');
    assert.ok(selectFilter(filters, 'text/calendar')!.properties.RRULE);
  });

  it('SyncEvolution over WBXML: the same CTCap as over XML', function () {
    const xml = parseCtCaps(devInfOf(fixture('syncevolution/xml-slow-sync/001-request.xml')));
    const wb = parseCtCaps(devInfOf(fixture('syncevolution/wbxml-slow-sync/001-request.decoded.xml')));
    assert.deepEqual(vcard(wb, '3.0'), vcard(xml, '3.0'));
  });

  it('SyncEvolution, DevInf 1.1 flat (CTCap at DevInf level, bare 2.1 type ParamNames)', function () {
    const devInf = devInfOf(fixture('syncevolution/xml-slow-sync-syncml11/001-request.xml'));
    const filters = parseCtCaps(devInf);
    const v30 = vcard(filters, '3.0');
    assert.equal(v30.verCt, undefined);
    // 3.0 part: ParamName TYPE followed by ValEnums.
    assert.deepEqual(v30.properties.EMAIL!.params, { TYPE: ['HOME', 'WORK', 'INTERNET'] });
    // 2.1 part: the values themselves are ParamNames.
    const v21 = selectFilter(filters, 'text/x-vcard')!;
    assert.deepEqual(v21.properties.EMAIL!.params, { TYPE: ['HOME', 'WORK', 'INTERNET'] });
    assert.deepEqual(v21.properties.ADR!.params, { TYPE: ['HOME', 'WORK'] });
    assert.deepEqual(v21.properties.PHOTO!.params, { TYPE: [], VALUE: [] });
    assert.deepEqual(v21.properties.BEGIN!.valEnum, ['VCARD']);
    // BEGIN's ValEnum does not leak into the next property.
    assert.equal(v21.properties.END!.valEnum!.length, 1);
    assert.deepEqual(ctCapsForDataStore(devInf, './addressbook').map((f) => f.ctType).sort(), ['text/vcard', 'text/x-vcard']);
    assert.ok(ctCapsForDataStore(devInf, './calendar').every((f) => /calendar/.test(f.ctType)));
    assert.deepEqual(ctCapsForDataStore(devInf, './nope'), []);
  });

  it('Sony Ericsson Z600 (WBXML, DevInf 1.0 flat, several CTTypes in one CTCap)', function () {
    const devInf = devInfOf(corpus('horde-xml-wbxml/examples/z600_client_0.wbxml'));
    const filters = parseCtCaps(devInf);
    assert.deepEqual(filters.map((f) => f.ctType), ['text/x-vcard', 'text/vcard', 'text/x-vcalendar']);
    const v = filters[0]!;
    assert.deepEqual(Object.keys(v.properties), ['BEGIN', 'VERSION', 'N', 'FN', 'TITLE', 'ORG', 'TEL', 'EMAIL', 'END']);
    assert.deepEqual(v.properties.TEL!.params, { TYPE: ['WORK', 'FAX', 'CELL', 'HOME'] });
    assert.deepEqual(v.properties.EMAIL!.params, { TYPE: ['INTERNET'] });
    assert.equal(capFor(v, 'NOTE'), undefined, 'the Z600 has no NOTE');
    assert.deepEqual(filters[2]!.properties.CLASS!.valEnum, ['PUBLIC', 'PRIVATE']);
    assert.deepEqual(ctCapsForDataStore(devInf, 'EriPBDB').map((f) => f.ctType), ['text/x-vcard', 'text/vcard']);
    assert.deepEqual(ctCapsForDataStore(devInf, 'EriCalDB').map((f) => f.ctType), ['text/x-vcalendar']);
  });

  it('Sony Ericsson P900 (DevInf 1.0 XML, vCalendar CTCap with ParamNames and ValEnums)', function () {
    const filters = parseCtCaps(devInfOf(corpus('horde-syncml/testcase_P900_tasksandcalendar/syncml_client_10.xml')));
    assert.equal(filters.length, 1);
    const cal = filters[0]!;
    assert.equal(cal.ctType, 'text/x-vcalendar');
    // Real parameter names stay parameter names (no ValEnum: any value).
    assert.deepEqual(cal.properties.ATTENDEE!.params, { EXPECT: [], ROLE: [], RSVP: [], STATUS: [] });
    assert.deepEqual(cal.properties.CLASS!.valEnum, ['PUBLIC', 'PRIVATE', 'CONFIDENTIAL']);
    assert.deepEqual(cal.properties.BEGIN!.valEnum, ['VCALENDAR', 'VEVENT', 'VTODO']);
    assert.ok(cal.properties.RRULE && cal.properties.AALARM);
  });

  it('Nokia S60 RM-505 (Buteo capture, DevInf 1.1 flat) and a 1.2 nested one with MaxSize 256 everywhere', function () {
    const f11 = parseCtCaps(devInfOf(corpus('buteo-syncml/data/devinf01.txt')));
    const v11 = selectFilter(f11, 'text/x-vcard')!;
    assert.deepEqual(v11.properties.TEL!.params!.TYPE, ['HOME', 'WORK', 'CELL', 'PAGER', 'FAX', 'VOICE', 'CAR', 'VIDEO']);
    assert.ok(v11.properties['X-EPOCSECONDNAME']);
    assert.equal(v11.properties.EMAIL!.params, undefined);
    const cal11 = selectFilter(f11, 'text/x-vcalendar')!;
    assert.deepEqual(cal11.properties.AALARM!.params, { 'X-EPOCSOUND': [] });
    // Its notes store: `<PropName/>` with Size 0, i.e. nothing to filter.
    assert.deepEqual(selectFilter(f11, 'text/plain')!.properties, {});
    const f12 = parseCtCaps(devInfOf(corpus('buteo-syncml/data/devinf02.txt')));
    const v12 = selectFilter(f12, 'text/x-vcard', '2.1')!;
    assert.equal(v12.properties.PHOTO!.maxSize, 256);
    assert.equal(v12.properties.NOTE!.maxSize, 256);
    assert.deepEqual(v12.properties.TEL!.params!.TYPE, ['HOME', 'WORK', 'CELL', 'PAGER', 'FAX', 'VIDEO', 'PREF', 'CAR']);
  });

  it('Funambol Windows Sync Client (DevInf 1.2 in each DataStore)', function () {
    const filters = parseCtCaps(devInfOf(corpus('devaspot-syncml/funambol_sample.xml')));
    const v = selectFilter(filters, 'text/x-vcard', '2.1')!;
    assert.ok(v.properties.N && v.properties.TEL);
    assert.deepEqual(v.properties.CLASS!.valEnum!.slice(0, 2), ['PUBLIC', 'PRIVATE']);
    const cal = selectFilter(filters, 'text/x-vcalendar', '1.0')!;
    assert.ok(cal.properties['X-FUNAMBOL-ALLDAY']);
  });

  it('Funambol SDK test DevInf: repeated Property entries are merged, bare ParamNames are TYPE values', function () {
    const filters = parseCtCaps(devInfOf(corpus('funambol-client-sdk/syncml/SyncML_putDevInf.txt')));
    const v = filters[0]!;
    assert.deepEqual(v.properties.TEL!.params, { TYPE: ['FAX', 'HOME', 'WORK'] });
  });

  it('Synthesis PocketPC client (pretty-printed XML: whitespace inside values)', function () {
    const filters = parseCtCaps(devInfOf(corpus('horde-xml-wbxml/examples/syncml_client_packet_1.xml')));
    const v = selectFilter(filters, 'text/x-vcard')!;
    assert.deepEqual(Object.keys(v.properties), ['BEGIN', 'END', 'VERSION', 'N', 'TITLE', 'ORG', 'BDAY', 'TEL', 'EMAIL', 'URL', 'NOTE', 'ADR']);
    assert.deepEqual(v.properties.VERSION!.valEnum, ['2.1']);
  });

  it('reads every DevInf with a CTCap in the corpus and the fixtures', function () {
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.(xml|txt|wbxml)$/.test(e.name)) files.push(p);
      }
    };
    walk(corpusRoot);
    walk(path.join(sharedRoot, 'fixtures'));
    let n = 0;
    for (const f of files) {
      if (/devInfResults2\.xml$|wrongex\.xml$/.test(f)) continue; // broken on purpose
      const bytes = readFileSync(f);
      const isWb = f.endsWith('.wbxml');
      if (!isWb && !bytes.toString('latin1').includes('CTCap')) continue;
      if (!isWb && !/^\s*(<\?xml|<SyncML|<DevInf)/.test(bytes.toString('latin1'))) continue;
      let root: SmlElement;
      try {
        root = isWb ? decodeWbxml(new Uint8Array(bytes)).root : decodeXml(new Uint8Array(bytes));
      } catch {
        continue; // not a document the codec reads (checked by the codec tests)
      }
      const d = findDevInf(root);
      if (!d || !JSON.stringify(d).includes('"CTCap"')) continue;
      const filters = parseCtCaps(d);
      assert.ok(filters.length > 0, `${f}: no filter`);
      for (const flt of filters) {
        assert.match(flt.ctType, /^[a-z0-9.+-]+\/[a-z0-9.+-]+$/, `${f}: content type ${flt.ctType}`);
        for (const name of Object.keys(flt.properties)) assert.equal(name, name.toUpperCase());
      }
      // text/plain notes may list no property at all (the RM-505's `<PropName/>`), vCards never do.
      for (const flt of filters.filter((y) => /vcard|calendar/.test(y.ctType))) {
        assert.ok(Object.keys(flt.properties).length > 2, `${f}: ${flt.ctType} has almost no properties`);
      }
      n++;
    }
    assert.ok(n >= 25, `only ${n} DevInfs with CTCap found`);
  });
});

describe('CTCap: edge cases', function () {
  const x = (s: string): SmlElement => decodeXml(s);

  it('1.1 flat: DataType/Size belong to the property, not to a parameter after it', function () {
    const f = parseCtCaps(x(
      '<DevInf><CTCap><CTType>text/x-vcard</CTType><PropName>NOTE</PropName><DataType>chr</DataType><Size>80</Size>' +
        '<PropName>TEL</PropName><ParamName>TYPE</ParamName><ValEnum>CELL</ValEnum><Size>9</Size><PropName>tel</PropName><ParamName>HOME</ParamName></CTCap></DevInf>',
    ))[0]!;
    assert.deepEqual(f.properties.NOTE, { dataType: 'chr', maxSize: 80 });
    assert.equal(f.properties.TEL!.maxSize, undefined);
    assert.deepEqual(f.properties.TEL!.params, { TYPE: ['CELL', 'HOME'] });
  });

  it('1.2 nested: NoTruncate, MaxSize 0 means no limit, entries of the same type in two DataStores merge', function () {
    const prop = (n: string, extra: string): string => `<Property><PropName>${n}</PropName>${extra}</Property>`;
    const ds = (p: string): string => `<DataStore><SourceRef>a</SourceRef><CTCap><CTType>text/x-vcard</CTType><VerCT>2.1</VerCT>${p}</CTCap></DataStore>`;
    const filters = parseCtCaps(x(`<DevInf>${ds(prop('NOTE', '<MaxSize>100</MaxSize><NoTruncate/>'))}${ds(prop('FN', '<MaxSize>0</MaxSize>'))}</DevInf>`));
    assert.equal(filters.length, 1);
    assert.deepEqual(filters[0]!.properties.NOTE, { maxSize: 100, noTruncate: true });
    assert.deepEqual(filters[0]!.properties.FN, {});
  });

  it('a DataStore element alone gives its own CTCaps', function () {
    const devInf = devInfOf(fixture('syncevolution/xml-slow-sync/001-request.xml'));
    const ds = devInf.children.filter(isElement).find((c) => c.name === 'DataStore')!;
    assert.deepEqual(parseCtCaps(ds).map((f) => `${f.ctType} ${f.verCt}`), ['text/vcard 3.0', 'text/x-vcard 2.1']);
  });
});
