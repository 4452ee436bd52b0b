// The SyncHdr of a WBXML message decoded alone: how the gateway checks the Cred of a big body
// before it decodes the body (http/app.ts). The body after the header is never read.
import assert from 'node:assert/strict';
import { decodeWbxmlHeader, encodeMessage, PRE_AUTH_LIMITS } from '../../../src/codec/index.js';
import type { SyncMLMessage } from '../../../src/codec/model.js';

const message: SyncMLMessage = {
  version: '1.2', final: true,
  header: {
    verDTD: '1.2', verProto: 'SyncML/1.2', sessionId: '7', msgId: '2',
    target: { locURI: 'http://gw/sync' }, source: { locURI: 'IMEI:1234' },
    cred: { meta: { type: 'syncml:auth-basic', format: 'b64' }, data: 'YWxpY2U6cHc=' },
  },
  body: [{ kind: 'Alert', cmdId: '1', data: '200', items: [{ target: { locURI: './contacts' }, source: { locURI: 'contacts' }, meta: { anchor: { next: '1' } } }] }],
};

describe('codec: WBXML header decoded alone', function () {
  const bytes = encodeMessage(message, { encoding: 'wbxml' });

  it('gives the SyncHdr with its Cred and an empty body', function () {
    const hdr = decodeWbxmlHeader(bytes, PRE_AUTH_LIMITS);
    assert.ok(hdr);
    assert.equal(hdr.header.cred?.data, 'YWxpY2U6cHc=');
    assert.equal(hdr.header.sessionId, '7');
    assert.deepEqual(hdr.body, []);
  });

  it('does not read past the header: a body cut off, or garbage after the header, does not matter', function () {
    const hdrEnd = findHeaderEnd(bytes);
    const cut = new Uint8Array([...bytes.subarray(0, hdrEnd), 0xff, 0xff, 0xff]);
    assert.equal(decodeWbxmlHeader(cut, PRE_AUTH_LIMITS)?.header.cred?.data, 'YWxpY2U6cHc=');
  });

  it('a header that is itself cut off gives undefined, not an exception', function () {
    assert.equal(decodeWbxmlHeader(bytes.subarray(0, 20), PRE_AUTH_LIMITS), undefined);
  });
});

/** Offset just after the SyncHdr: the shortest prefix from which the header decodes. */
function findHeaderEnd(bytes: Uint8Array): number {
  for (let n = 8; n <= bytes.length; n++) {
    const hdr = decodeWbxmlHeader(bytes.subarray(0, n), PRE_AUTH_LIMITS);
    if (hdr?.header.cred) return n;
  }
  throw new Error('header never decodes');
}

describe('codec: WBXML header decoding is bounded (it runs before authentication)', function () {
  it('a header with a 1 MB string gives undefined quickly instead of decoding it', function () {
    const huge: SyncMLMessage = { ...message, header: { ...message.header, source: { locURI: `IMEI:${'9'.repeat(1 << 20)}` } } };
    const bytes = encodeMessage(huge, { encoding: 'wbxml' });
    const t0 = performance.now();
    assert.equal(decodeWbxmlHeader(bytes, PRE_AUTH_LIMITS), undefined);
    assert.ok(performance.now() - t0 < 1000, 'bounded work');
  });
});
