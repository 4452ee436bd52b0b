import assert from 'node:assert/strict';
import { decodeMessage, PRE_AUTH_LIMITS, prescanXml, SESSION_LIMITS } from '../../../src/codec/index.js';
import { encodeWbxml } from '../../../src/codec/wbxml/index.js';
import { isGatewayError } from '../../../src/errors.js';

const tooLarge = (e: unknown): boolean => isGatewayError(e, 'TOO_LARGE');
const hdr = '<SyncHdr><VerDTD>1.2</VerDTD><VerProto>SyncML/1.2</VerProto><SessionID>1</SessionID><MsgID>1</MsgID><Target><LocURI>s</LocURI></Target><Source><LocURI>d</LocURI></Source></SyncHdr>';
const doc = (body: string): Uint8Array => new TextEncoder().encode(`<SyncML xmlns="SYNCML:SYNCML1.2">${hdr}<SyncBody>${body}<Final/></SyncBody></SyncML>`);

describe('codec: decode limits (pre-scan before the XML parser, WBXML element cap)', function () {
  it('an ordinary message passes the pre-auth limits', function () {
    const m = decodeMessage(doc('<Alert><CmdID>1</CmdID><Data>200</Data></Alert>'), 'xml', PRE_AUTH_LIMITS);
    assert.equal(m.message.body.length, 1);
  });

  it('too many elements, attributes or references: TOO_LARGE, fast', function () {
    const t0 = performance.now();
    assert.throws(() => decodeMessage(doc('<X/>'.repeat(10_001)), 'xml', PRE_AUTH_LIMITS), tooLarge);
    assert.doesNotThrow(() => prescanXml('<X/>'.repeat(10_001), SESSION_LIMITS));
    const attrs = Array.from({ length: 300_000 }, (_, i) => ` a${i}="x"`).join('');
    assert.throws(() => decodeMessage(doc(`<Alert${attrs}/>`), 'xml', SESSION_LIMITS), tooLarge);
    assert.throws(() => decodeMessage(doc(`<Data>${'&#65;'.repeat(20_001)}</Data>`), 'xml', PRE_AUTH_LIMITS), tooLarge);
    assert.throws(() => prescanXml(`<a b="${'&amp;'.repeat(100_001)}"/>`, SESSION_LIMITS), tooLarge);
    assert.ok(performance.now() - t0 < 2000, 'refused without parsing');
  });

  it('CDATA, comments and end tags are not elements', function () {
    assert.doesNotThrow(() => prescanXml(`<a>${'<![CDATA[<x/><y/>]]>'.repeat(5)}<!-- <z/> --></a>`, { maxElements: 1, maxAttributes: 0, maxReferences: 0 }));
    assert.throws(() => prescanXml('<a><b/></a>', { maxElements: 1, maxAttributes: 0, maxReferences: 0 }), tooLarge);
  });

  it('WBXML: more elements than the cap is refused', function () {
    const tree = { name: 'SyncML', ns: 'SYNCML:SYNCML1.2', children: [{ name: 'SyncBody', children: Array.from({ length: 20 }, () => ({ name: 'Final', children: [] })) }] };
    const bytes = encodeWbxml(tree);
    assert.throws(() => decodeMessage(bytes, 'wbxml', { maxElements: 10, maxAttributes: 0, maxReferences: 0 }), (e: unknown) => isGatewayError(e, 'BAD_MESSAGE'));
  });
});
