// WBXML codec against real captures: same tree as libwbxml's wbxml2xml, round trips, the
// XML twins of the SyncEvolution captures, the spec's worked example, and hostile input.
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { GatewayError } from '../../../src/errors.js';
import { decodeXml } from '../../../src/codec/xml.js';
import { el, textOf, type SmlElement } from '../../../src/codec/tree.js';
import { decodeWbxml, encodeWbxml, isWbxml, PUBLIC_ID } from '../../../src/codec/wbxml/index.js';
import {
  bytesOf,
  corpusWbxmlFiles,
  findFiles,
  haveWbxml2xml,
  normTree,
  normXml,
  sharedDir,
  wbxml2xml,
} from './wbxml-helpers.js';
import { requireShared, skipOrFailInCi } from '../../support/shared.js';

const files = corpusWbxmlFiles();
const rel = (f: string): string => path.relative(sharedDir, f);

/** Spec section 7 worked example: SyncML 1.2 header + Final. */
const WORKED =
  '02 a4 01 6a 00 6d 6c 71 03 31 2e 32 00 01 72 03 53 79 6e 63 4d 4c 2f 31 2e 32 00 01 65 03 31 00 01 5b 03 31 00 01 6e 57 03 68 74 74 70 3a 2f 2f 65 78 61 6d 70 6c 65 2e 63 6f 6d 2f 73 79 6e 63 00 01 01 67 57 03 49 4d 45 49 3a 31 32 33 00 01 01 5a 00 01 4c 03 31 30 30 30 30 00 01 00 00 01 01 6b 12 01 01';

function expectBad(fn: () => unknown, re?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof GatewayError, `expected GatewayError, got ${String(err)}`);
    assert.equal(err.code, 'BAD_MESSAGE');
    if (re) assert.match(err.message, re);
    return true;
  });
}

describe('WBXML codec', function () {
  before(function () {
    requireShared(this);
  });
  it('finds the corpus (22+ WBXML files)', () => {
    assert.ok(files.length >= 22, `only ${files.length} WBXML files under ${sharedDir}`);
  });

  describe('decodes every corpus file to the same tree as wbxml2xml', () => {
    for (const f of files) {
      it(rel(f), function () {
        if (!haveWbxml2xml()) skipOrFailInCi(this, 'wbxml2xml not installed: apt-get install -y libwbxml2-utils');
        const bytes = readFileSync(f);
        // Namespaces included: wbxml2xml writes xmlns exactly where the namespace changes.
        const mine = normTree(decodeWbxml(bytes).root);
        const theirs = normXml(wbxml2xml(bytes), true);
        assert.deepEqual(mine, theirs);
      });
    }
  });

  describe('round trip decode -> encode -> decode keeps the tree', () => {
    for (const f of files) {
      it(rel(f), () => {
        const doc = decodeWbxml(readFileSync(f));
        const again = decodeWbxml(encodeWbxml(doc.root, { publicId: doc.publicId, version: doc.version }));
        assert.deepEqual(again.root, doc.root);
        assert.equal(again.publicId, doc.publicId);
        assert.equal(again.version, doc.version);
      });
    }
  });

  describe('wbxml2xml reads what we encode', () => {
    for (const f of files) {
      it(rel(f), function () {
        if (!haveWbxml2xml()) skipOrFailInCi(this, 'wbxml2xml not installed: apt-get install -y libwbxml2-utils');
        const doc = decodeWbxml(readFileSync(f));
        const out = encodeWbxml(doc.root, { publicId: doc.publicId, version: doc.version });
        assert.deepEqual(normXml(wbxml2xml(out)), normTree(doc.root, false));
      });
    }
  });

  describe('re-encodes libsynthesis and libwbxml output byte for byte', () => {
    // SyncEvolution (libsynthesis), txsyncml (libwbxml) and buteo libdatasync write exactly our
    // style: STR_I text, OPAQUE item data, DevInf as nested document, lazy page switch-back.
    // The Horde/SE/Funambol files differ only in string-table use and OPAQUE-vs-STR_I text.
    const same = files.filter((f) => /syncevolution|txsyncml|basicbasetransport/.test(f));
    it('has the files', () => assert.ok(same.length >= 14, `${same.length}`));
    for (const f of same) {
      it(rel(f), () => {
        const bytes = new Uint8Array(readFileSync(f));
        const doc = decodeWbxml(bytes, { keepDevInfType: true });
        const out = encodeWbxml(doc.root, { publicId: doc.publicId, version: doc.version, keepDevInfType: true });
        assert.equal(Buffer.from(out).toString('hex'), Buffer.from(bytes).toString('hex'));
      });
    }
  });

  describe('matches the recorded wbxml2xml rendering of the SyncEvolution captures', () => {
    // NNN-*.decoded.xml is wbxml2xml's rendering, checked in; this runs without libwbxml.
    const decoded = findFiles(path.join(sharedDir, 'fixtures', 'syncevolution'), '.decoded.xml');
    for (const x of decoded) {
      it(rel(x), () => {
        const w = x.replace(/\.decoded\.xml$/, '.wbxml');
        const fromWbxml = normTree(decodeWbxml(readFileSync(w)).root);
        assert.deepEqual(fromWbxml, normXml(readFileSync(x, 'utf8'), true));
        // and the XML codec reads the same tree from it (namespaces aside: see report)
        assert.deepEqual(normTree(decodeWbxml(readFileSync(w)).root, false), normTree(decodeXml(readFileSync(x)), false));
      });
    }
  });

  it('matches the XML twin of the Horde server packet (real XML/WBXML pair)', () => {
    const dir = path.join(sharedDir, 'corpus', 'horde-xml-wbxml', 'examples');
    const w = normTree(decodeWbxml(readFileSync(path.join(dir, 'syncml_server_packet_1.wbxml'))).root, false);
    const x = normTree(decodeXml(readFileSync(path.join(dir, 'syncml_server_packet_1.xml'))), false);
    assert.deepEqual(w, x);
  });

  it('matches the XML twin of the Funambol Windows client message except DevInf Type', () => {
    const dir = path.join(sharedDir, 'corpus', 'devaspot-syncml');
    if (!existsSync(path.join(dir, 'funambol_sample.xml'))) return assert.fail('funambol_sample.xml missing');
    const w = normTree(decodeWbxml(readFileSync(path.join(dir, 'sample.wbxml'))).root, false);
    const x = normTree(decodeXml(readFileSync(path.join(dir, 'funambol_sample.xml'))), false);
    assert.deepEqual(w, x);
  });

  describe('header and tokens', () => {
    it('decodes the spec worked example (section 7)', () => {
      const doc = decodeWbxml(bytesOf(WORKED));
      assert.equal(doc.version, 2);
      assert.equal(doc.publicId, PUBLIC_ID.SYNCML_12);
      assert.equal(doc.charset, 'UTF-8');
      const expected = el(
        'SyncML',
        [
          el('SyncHdr', [
            el('VerDTD', ['1.2']),
            el('VerProto', ['SyncML/1.2']),
            el('SessionID', ['1']),
            el('MsgID', ['1']),
            el('Target', [el('LocURI', ['http://example.com/sync'])]),
            el('Source', [el('LocURI', ['IMEI:123'])]),
            el('Meta', [el('MaxMsgSize', ['10000'], 'syncml:metinf')]),
          ]),
          el('SyncBody', [el('Final')]),
        ],
        'SYNCML:SYNCML1.2',
      );
      assert.deepEqual(doc.root, expected);
    });

    it('encodes the worked example byte for byte, switching back to page 0 lazily', () => {
      // The spec example switches back to page 0 before </Meta>; libsynthesis (and we) switch
      // only when the next page-0 tag needs it (END is global, WAP-192 5.8.1). Both are valid.
      const lazy = WORKED.replace('00 01 00 00 01 01 6b', '00 01 01 01 00 00 6b');
      const doc = decodeWbxml(bytesOf(WORKED));
      assert.equal(Buffer.from(encodeWbxml(doc.root)).toString('hex'), Buffer.from(bytesOf(lazy)).toString('hex'));
    });

    it('reads the public id from the string table without a NUL (Sony Ericsson K500i)', () => {
      const doc = decodeWbxml(readFileSync(path.join(sharedDir, 'corpus/horde-xml-wbxml/examples/k500i_client_0.wbxml')));
      assert.equal(doc.publicId, '-//SYNCML//DTD SyncML 1.1//EN');
      assert.equal(doc.root.ns, 'SYNCML:SYNCML1.1');
      // SE phones send all text as OPAQUE: kept as bytes, read through textOf().
      const verDtd = (doc.root.children[0] as SmlElement).children[0] as SmlElement;
      assert.equal(textOf(verDtd), '1.1');
      assert.ok(typeof verDtd.children[0] === 'object' && 'opaque' in verDtd.children[0]);
    });

    it('decodes the nested DevInf 1.0 of the Sony Ericsson Z600 into elements', () => {
      const doc = decodeWbxml(readFileSync(path.join(sharedDir, 'corpus/horde-xml-wbxml/examples/z600_client_0.wbxml')));
      const put = (doc.root.children[1] as SmlElement).children[0] as SmlElement;
      assert.equal(put.name, 'Put');
      const meta = put.children[1] as SmlElement;
      // Type +wbxml is presented as +xml, as in the XML form of the message.
      assert.deepEqual(meta.children[0], el('Type', ['application/vnd.syncml-devinf+xml'], 'syncml:metinf'));
      const data = (put.children[2] as SmlElement).children[1] as SmlElement;
      const devInf = data.children[0] as SmlElement;
      assert.equal(devInf.name, 'DevInf');
      assert.equal(devInf.ns, 'syncml:devinf');
      assert.deepEqual(devInf.children[0], el('VerDTD', ['1.0']));
    });

    it('keepDevInfType leaves the +wbxml type as sent', () => {
      const doc = decodeWbxml(readFileSync(path.join(sharedDir, 'corpus/horde-xml-wbxml/examples/z600_client_0.wbxml')), {
        keepDevInfType: true,
      });
      assert.ok(JSON.stringify(normTree(doc.root)).includes('devinf+wbxml'));
    });

    it('names DevInf token 0x1C Size in 1.1 and MaxSize in 1.2', () => {
      const body = (pid: string): Uint8Array => bytesOf(`02 ${pid} 6a 00 4a 65 03 31 2e 31 00 01 5c 03 39 00 01 01`);
      const d11 = decodeWbxml(body('9f 54')).root;
      const d12 = decodeWbxml(body('a4 03')).root;
      assert.equal((d11.children[1] as SmlElement).name, 'Size');
      assert.equal((d12.children[1] as SmlElement).name, 'MaxSize');
      // unknown public id: VerDTD 1.1 inside decides
      assert.equal((decodeWbxml(body('01')).root.children[1] as SmlElement).name, 'Size');
    });

    it('detects SyncML with public id 0x01 (unknown) and takes the version from VerDTD', () => {
      const b = bytesOf(WORKED);
      const unknown = new Uint8Array([b[0], 0x01, ...b.slice(3)]);
      const doc = decodeWbxml(unknown);
      assert.equal(doc.publicId, 1);
      assert.equal(doc.root.ns, 'SYNCML:SYNCML1.2');
      assert.deepEqual(normTree(doc.root), normTree(decodeWbxml(b).root));
    });

    it('handles STR_T, ENTITY, LITERAL tags and skips attribute lists', () => {
      // string table "abc\0Foo\0"; SyncML > [Cred(attrs: 0x05 STR_I "x") > Data(STR_T 0 ENTITY 0xE9)], LITERAL_C "Foo" STR_I "z"
      const doc = decodeWbxml(
        bytesOf('03 a4 01 6a 08 61 62 63 00 46 6f 6f 00 6d ce 05 03 78 00 01 4f 83 00 02 81 69 01 01 44 04 03 7a 00 01 01'),
      );
      assert.deepEqual(
        doc.root,
        el('SyncML', [el('Cred', [el('Data', ['abcé'])]), el('Foo', ['z'])], 'SYNCML:SYNCML1.2'),
      );
    });

    it('decodes ISO-8859-1 text (MIBenum 4)', () => {
      const doc = decodeWbxml(bytesOf('02 a4 01 04 00 6d 4f 03 4d fc 6c 6c 65 72 00 01 01'));
      assert.equal(doc.charset, 'ISO-8859-1');
      assert.deepEqual(doc.root.children[0], el('Data', ['Müller']));
    });

    it('decodes UTF-16BE text with two-byte terminators (MIBenum 1013)', () => {
      const doc = decodeWbxml(bytesOf('02 a4 01 87 75 00 6d 4f 03 00 41 00 e9 00 00 01 01'));
      assert.deepEqual(doc.root.children[0], el('Data', ['Aé']));
    });

    it('keeps invalid UTF-8 in STR_I as opaque bytes (lossless)', () => {
      const doc = decodeWbxml(bytesOf('02 a4 01 6a 00 6d 4f 03 4d fc 00 01 01'));
      const data = doc.root.children[0] as SmlElement;
      assert.deepEqual(data.children, [{ opaque: new Uint8Array([0x4d, 0xfc]) }]);
    });

    it('returns opaque copies, not views into the input Buffer', () => {
      const input = Buffer.from(bytesOf('02 a4 01 6a 00 6d 4f c3 02 41 42 01 01'));
      const doc = decodeWbxml(input);
      input.fill(0);
      const data = doc.root.children[0] as SmlElement;
      assert.deepEqual(data.children, [{ opaque: new Uint8Array([0x41, 0x42]) }]);
      assert.equal(Object.getPrototypeOf((data.children[0] as { opaque: Uint8Array }).opaque), Uint8Array.prototype);
    });

    it('keeps a broken nested DevInf as opaque bytes instead of failing the message', () => {
      const doc = decodeWbxml(bytesOf('02 a4 01 6a 00 6d 4f c3 05 02 a4 03 6a 00 01 01'));
      const data = doc.root.children[0] as SmlElement;
      assert.deepEqual(data.children, [{ opaque: bytesOf('02 a4 03 6a 00') }]);
    });

    it('isWbxml tells WBXML from XML', () => {
      assert.equal(isWbxml(bytesOf(WORKED)), true);
      assert.equal(isWbxml(new TextEncoder().encode('<?xml version="1.0"?><SyncML/>')), false);
      assert.equal(isWbxml(new Uint8Array([0xef, 0xbb, 0xbf, 0x3c])), false);
      assert.equal(isWbxml(new Uint8Array([2])), false);
    });
  });

  describe('encoder', () => {
    const hdr = (v = '1.2'): SmlElement => el('SyncHdr', [el('VerDTD', [v]), el('VerProto', [`SyncML/${v}`])]);

    it('writes item Data as OPAQUE and other text as STR_I', () => {
      const vcard = 'BEGIN:VCARD\r\nVERSION:2.1\r\nN:M\u00fcller\r\nEND:VCARD\r\n';
      const root = el(
        'SyncML',
        [hdr(), el('SyncBody', [el('Add', [el('CmdID', ['1']), el('Item', [el('Data', [vcard])])])])],
        'SYNCML:SYNCML1.2',
      );
      const bytes = encodeWbxml(root);
      const vbytes = new TextEncoder().encode(vcard);
      const hexAll = Buffer.from(bytes).toString('hex');
      assert.ok(hexAll.includes(`c3${vbytes.length.toString(16)}${Buffer.from(vbytes).toString('hex')}01`), 'OPAQUE item data');
      assert.ok(hexAll.includes('4b033100'), 'CmdID as STR_I');
      const back = decodeWbxml(bytes).root;
      assert.deepEqual(normTree(back), normTree(root));
    });

    it('writes DevInf as a nested WBXML document with the DevInf public id and +wbxml type', () => {
      const devinf = el('DevInf', [el('VerDTD', ['1.1']), el('Man', ['ACME']), el('CTCap', [el('Size', ['9'])])], 'syncml:devinf');
      const root = el(
        'SyncML',
        [
          hdr('1.1'),
          el('SyncBody', [
            el('Put', [
              el('CmdID', ['1']),
              el('Meta', [el('Type', ['application/vnd.syncml-devinf+xml'], 'syncml:metinf')]),
              el('Item', [el('Source', [el('LocURI', ['./devinf11'])]), el('Data', [devinf])]),
            ]),
          ]),
        ],
        'SYNCML:SYNCML1.1',
      );
      const bytes = encodeWbxml(root);
      assert.deepEqual([...bytes.slice(0, 5)], [0x02, 0x9f, 0x53, 0x6a, 0x00]);
      const hexAll = Buffer.from(bytes).toString('hex');
      assert.ok(hexAll.includes('029f546a004a'), 'nested DevInf 1.1 header + DevInf tag');
      assert.ok(hexAll.includes(Buffer.from('devinf+wbxml').toString('hex')));
      assert.deepEqual(decodeWbxml(bytes).root, root);
    });

    it('writes SyncML 1.0 with the FPI in the string table (as libsynthesis does)', () => {
      const root = el('SyncML', [hdr('1.0'), el('SyncBody', [el('Final')])], 'SYNCML:SYNCML1.0');
      const bytes = encodeWbxml(root);
      const fpi = '-//SYNCML//DTD SyncML 1.0//EN';
      assert.deepEqual([...bytes.slice(0, 5)], [0x02, 0x00, 0x00, 0x6a, fpi.length + 1]);
      const doc = decodeWbxml(bytes);
      assert.equal(doc.publicId, fpi);
      assert.deepEqual(doc.root, root);
    });

    it('uses the public id and WBXML version it is given', () => {
      const root = el('SyncML', [hdr('1.1'), el('SyncBody', [el('Final')])], 'SYNCML:SYNCML1.1');
      const doc = decodeWbxml(encodeWbxml(root, { publicId: '-//SYNCML//DTD SyncML 1.1//EN', version: 3 }));
      assert.equal(doc.version, 3);
      assert.equal(doc.publicId, '-//SYNCML//DTD SyncML 1.1//EN');
    });

    it('finds the MetInf page for elements built without ns and switches back lazily', () => {
      const root = el('SyncML', [el('SyncHdr', [el('Meta', [el('MaxMsgSize', ['1']), el('MaxObjSize', ['2'])]), el('MsgID', ['1'])])], 'SYNCML:SYNCML1.2');
      const hexAll = Buffer.from(encodeWbxml(root)).toString('hex');
      assert.ok(hexAll.endsWith('5a00014c03310001550332000101' + '00005b033100010101'), hexAll);
    });

    it('drops indentation whitespace between elements and merges adjacent text', () => {
      const root = el('SyncML', ['\n  ', el('SyncBody', ['\n', el('Final'), '\n']), el('SyncHdr', [el('MsgID', ['1', '2'])])], 'SYNCML:SYNCML1.2');
      const back = decodeWbxml(encodeWbxml(root)).root;
      assert.deepEqual(back, el('SyncML', [el('SyncBody', [el('Final')]), el('SyncHdr', [el('MsgID', ['12'])])], 'SYNCML:SYNCML1.2'));
    });

    it('throws BAD_MESSAGE for an element that has no token', () => {
      expectBad(() => encodeWbxml(el('SyncML', [el('Bogus')], 'SYNCML:SYNCML1.2')), /Bogus/);
    });
  });

  describe('hostile input', () => {
    const cases: [string, string, RegExp][] = [
      ['empty input', '', /truncated/],
      ['WBXML 1.0', '00 a4 01 6a 00 6d 01', /version/],
      ['version 0x04', '04 a4 01 6a 00 6d 01', /version/],
      ['unknown charset', '02 a4 01 8f 7f 00 6d 01', /charset/],
      ['string table past end', '02 a4 01 6a 8f ff ff ff 7f 6d 01', /string table length/],
      ['public id index out of range', '02 00 05 6a 00 6d 01', /index/],
      ['mb_u_int32 longer than 5 bytes', '02 a4 01 6a 00 6d 4f c3 80 80 80 80 80 01 01', /mb_u_int32/],
      ['mb_u_int32 overflow', '02 a4 01 6a 00 6d 4f c3 9f ff ff ff 7f 01 01', /overflow/],
      ['OPAQUE length past end', '02 a4 01 6a 00 6d 4f c3 8f ff ff ff 7f 01 01', /OPAQUE length/],
      ['STR_T index out of range', '02 a4 01 6a 02 61 00 6d 4f 83 05 01 01', /index 5/],
      ['unknown tag token', '02 a4 01 6a 00 6d 70 01', /unknown tag token 0x30/],
      ['unknown code page', '02 a4 01 6a 00 6d 00 07 01', /code page 7/],
      ['EXT token', '02 a4 01 6a 00 6d c0 01', /global token 0xc0/],
      ['missing END', '02 a4 01 6a 00 6d 6b 12', /truncated/],
      ['unterminated STR_I', '02 a4 01 6a 00 6d 4f 03 41 42', /unterminated/],
      ['no root element', '02 a4 01 6a 00 03 41 00', /root element/],
      ['surrogate ENTITY', '02 a4 01 6a 00 6d 4f 02 83 b0 00 01 01', /ENTITY/],
    ];
    for (const [name, hex, re] of cases) {
      it(`rejects ${name}`, () => expectBad(() => decodeWbxml(bytesOf(hex)), re));
    }

    it('rejects nesting deeper than maxDepth', () => {
      const deep = (n: number): Uint8Array => bytesOf(`02 a4 01 6a 00 6d ${'48 '.repeat(n)}${'01 '.repeat(n)}01`);
      assert.ok(decodeWbxml(deep(60)));
      expectBad(() => decodeWbxml(deep(65)), /deeper than 64/);
      expectBad(() => decodeWbxml(deep(10), { maxDepth: 5 }), /deeper than 5/);
      expectBad(() => decodeWbxml(deep(100_000)), /deeper/); // no stack overflow
    });

    it('stops string-table amplification at maxOutput', () => {
      const big = 'x'.repeat(10_000);
      const tbl = Buffer.from(big + '\0').toString('hex');
      const refs = '83 00 '.repeat(5000);
      // 10 KB table referenced 5000 times = 50 MB of text from 20 KB of input
      const input = bytesOf(`02 a4 01 6a ce 11 ${tbl} 6d 4f ${refs} 01 01`);
      expectBad(() => decodeWbxml(input), /maxOutput/);
      expectBad(() => decodeWbxml(input, { maxOutput: 100_000 }), /maxOutput/);
    });

    it('rejects every truncation of a real message', () => {
      const bytes = new Uint8Array(readFileSync(path.join(sharedDir, 'fixtures/syncevolution/wbxml-slow-sync/001-request.wbxml')));
      for (let n = 0; n < bytes.length; n += 7) expectBad(() => decodeWbxml(bytes.subarray(0, n)));
    });
  });
});
