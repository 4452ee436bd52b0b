// Issue #13, defects 10 and 12: DevInf sent as text inside an XML Put (SyncML 1.0 clients: CDATA
// or escaped), and `decode` of a standalone DevInf document (XML, and WBXML made by libwbxml's
// xml2wbxml). Fixtures: test/fixtures/convert/fidelity/devinf-*.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeDocument, decodeMessage, formatXml } from '../../../src/codec/index.js';
import type { PutGetCmd } from '../../../src/codec/model.js';
import { childText, isElement, type SmlElement } from '../../../src/codec/tree.js';
import { parseDevInf } from '../../../src/protocol/devinf.js';

const FIX = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'convert', 'fidelity');
const bytes = (name: string): Uint8Array => new Uint8Array(readFileSync(path.join(FIX, name)));

function putData(name: string): unknown {
  const { message } = decodeMessage(bytes(name), 'xml');
  const put = message.body.find((c): c is PutGetCmd => c.kind === 'Put');
  assert.ok(put, 'Put decoded');
  return put.items[0]?.data;
}

describe('fidelity (#13) defect 10: DevInf as text in an XML Put', () => {
  for (const file of ['devinf-cdata-put.xml', 'devinf-escaped-put.xml']) {
    it(`${file}: the text is read as the DevInf element, field by field`, () => {
      const data = putData(file);
      assert.ok(typeof data === 'object' && data !== null && isElement(data as SmlElement), `element, got ${typeof data}`);
      const devInf = data as SmlElement;
      assert.equal(devInf.name, 'DevInf');
      const info = parseDevInf(devInf);
      assert.equal(info.man, 'Ericsson');
      assert.equal(info.mod, 'T68');
      assert.equal(info.devId, 'IMEI:350000000000010');
      assert.equal(info.datastores.length, 1);
      const ds = info.datastores[0]!;
      assert.equal(ds.sourceRef, 'EriPBDB');
      assert.equal(ds.maxGuidSize, 8);
      assert.deepEqual(ds.rxPref, { type: 'text/x-vcard', version: '2.1' });
      assert.deepEqual(ds.syncTypes, [1, 2]);
      assert.ok(ds.filters.some((f) => f.ctType === 'text/x-vcard' && 'TEL' in f.properties), 'CTCap read');
    });
  }

  it('item text that merely mentions DevInf stays text', () => {
    const xml = new TextDecoder().decode(bytes('devinf-cdata-put.xml')).replace(/<!\[CDATA\[[\s\S]*?\]\]>/, '<![CDATA[BEGIN:VCARD <DevInf> END:VCARD]]>');
    const { message } = decodeMessage(new TextEncoder().encode(xml), 'xml');
    const put = message.body.find((c) => c.kind === 'Put') as PutGetCmd;
    assert.equal(put.items[0]?.data, 'BEGIN:VCARD <DevInf> END:VCARD');
  });
});

describe('fidelity (#13) defect 12: decode of a standalone DevInf document', () => {
  for (const file of ['devinf-standalone.xml', 'devinf-standalone.wbxml']) {
    it(`${file} decodes to the DevInf tree (was: "root element is <DevInf>")`, () => {
      const root = decodeDocument(bytes(file));
      assert.equal(root.name, 'DevInf');
      assert.equal(childText(root, 'Man'), 'Motorola');
      const info = parseDevInf(root);
      assert.equal(info.datastores[0]?.sourceRef, '/cal');
      assert.deepEqual(info.datastores[0]?.txPref, { type: 'text/x-vcalendar', version: '1.0' });
      assert.match(formatXml(root), /<DevInf xmlns="syncml:devinf">/);
    });
  }

  it('a SyncML message still decodes through the message model', () => {
    const root = decodeDocument(bytes('devinf-cdata-put.xml'));
    assert.equal(root.name, 'SyncML');
    assert.match(formatXml(root), /<Man>Ericsson<\/Man>/, 'the DevInf text is printed as elements');
  });
});
