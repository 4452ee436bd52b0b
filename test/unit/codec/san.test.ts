// SAN codec: the test vector of ../shared/spec/san.md, round trips (fast-check), bad input with
// typed errors, the legacy 1.1 form, and the WAP Push framing (WSP header, UDH, concatenation).
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodeAnySan, decodeLegacySan, decodeSan, encodeLegacySan, encodeSan, SanError,
  type San, type SanSecret, type SanSyncType,
} from '../../../src/codec/san.js';
import {
  decodeWspPush, parseUdh, reassemble, SAN_WSP_TYPES, wapPushSegments, wspPushPdu,
} from '../../../src/codec/wap-push.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const VECTOR = '8b0988d9100a02dc8a3dfdd3f557e353030800000000010a73796e63736572766572106000000708636f6e7461637473';
const SECRET: SanSecret = { password: 'srvpwd', nonce: 'nonce' };
const VECTOR_SAN: San = {
  version: 12, uiMode: 'unspecified', initiator: 'server', sessionId: 1, serverId: 'syncserver',
  syncs: [{ syncType: 206, contentType: 0x07, serverUri: 'contacts' }],
};

const sanArb: fc.Arbitrary<San> = fc.record({
  version: fc.constantFrom(10, 11, 12),
  uiMode: fc.constantFrom('unspecified', 'background', 'informative', 'interactive'),
  initiator: fc.constantFrom('user', 'server'),
  sessionId: fc.integer({ min: 0, max: 0xffff }),
  serverId: fc.string({ maxLength: 60 }),
  syncs: fc.array(fc.record({
    syncType: fc.constantFrom<SanSyncType>(206, 207, 208, 209, 210),
    contentType: fc.integer({ min: 0, max: 0xffffff }),
    serverUri: fc.string({ maxLength: 40 }),
  }), { maxLength: 15 }),
}).map((s) => ({ ...s, syncs: s.syncs.map((x) => ({ ...x })) }));

describe('SAN codec (DS 1.2 binary)', function () {
  it('encodes the test vector of san.md byte for byte', function () {
    assert.equal(hex(encodeSan(VECTOR_SAN, SECRET)), VECTOR);
  });

  it('decodes the test vector and verifies its digest', function () {
    const { san, digestValid } = decodeSan(Buffer.from(VECTOR, 'hex'), SECRET);
    assert.equal(digestValid, true);
    assert.deepEqual({ ...san }, VECTOR_SAN);
  });

  it('rejects the vector with a wrong password or nonce (typed digest error)', function () {
    for (const secret of [{ ...SECRET, password: 'x' }, { ...SECRET, nonce: '' }]) {
      assert.throws(() => decodeSan(Buffer.from(VECTOR, 'hex'), secret), (e: unknown) => e instanceof SanError && e.reason === 'digest' && e.code === 'BAD_MESSAGE');
    }
  });

  it('rejects a flipped body bit through the digest', function () {
    const b = Buffer.from(VECTOR, 'hex');
    b[b.length - 1] ^= 0x01;
    assert.throws(() => decodeSan(b, SECRET), (e: unknown) => e instanceof SanError && e.reason === 'digest');
    assert.equal(decodeSan(b).san.syncs[0]!.serverUri, 'contactr');
  });

  it('every truncation of the vector is a typed truncated error', function () {
    const b = Buffer.from(VECTOR, 'hex');
    for (let n = 0; n < b.length; n++) {
      assert.throws(() => decodeSan(b.subarray(0, n)), (e: unknown) => e instanceof SanError && e.reason === 'truncated', `length ${n}`);
    }
  });

  it('"all datastores" is a body of one zero byte; no credentials give a zero digest', function () {
    const bytes = encodeSan({ ...VECTOR_SAN, syncs: [], uiMode: 'background' });
    assert.equal(hex(bytes.subarray(0, 16)), '00'.repeat(16));
    assert.equal(bytes[bytes.length - 1], 0x00);
    assert.equal(bytes[17], 0x18); // version 12 low bits 00, ui 01, initiator server
    assert.deepEqual(decodeSan(bytes).san.syncs, []);
  });

  it('refuses what does not fit its fields', function () {
    assert.throws(() => encodeSan({ ...VECTOR_SAN, sessionId: 0x10000 }), SanError);
    assert.throws(() => encodeSan({ ...VECTOR_SAN, serverId: 'x'.repeat(256) }), SanError);
    assert.throws(() => encodeSan({ ...VECTOR_SAN, syncs: [{ syncType: 200 as SanSyncType, contentType: 0, serverUri: 'a' }] }), SanError);
  });

  it('round-trips any SAN, and the digest verifies only with its own secret', function () {
    fc.assert(fc.property(sanArb, fc.string(), fc.string(), (san, password, nonce) => {
      const bytes = encodeSan(san, { password, nonce });
      const back = decodeSan(bytes, { password, nonce });
      assert.deepEqual({ ...back.san }, san);
      assert.throws(() => decodeSan(bytes, { password: `${password}!`, nonce }), SanError);
    }), { numRuns: 300 });
  });

  it('random bytes only ever decode or throw SanError', function () {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
      try {
        decodeSan(bytes);
      } catch (e) {
        assert.ok(e instanceof SanError, String(e));
      }
    }), { numRuns: 500 });
  });
});

describe('SAN codec (legacy 1.1 SyncML message)', function () {
  const legacy = { version: '1.1' as const, sessionId: '7', serverId: 'syncserver', syncType: 206 as const, datastores: [{ serverUri: './contacts', mimeType: 'text/x-vcard' }] };

  for (const encoding of ['xml', 'wbxml'] as const) {
    it(`round-trips as ${encoding} and is recognised by decodeAnySan`, function () {
      const bytes = encodeLegacySan(legacy, encoding);
      assert.deepEqual(decodeLegacySan(bytes), legacy);
      const any = decodeAnySan(bytes);
      assert.equal(any.form, 'legacy');
    });
  }

  it('the XML form has the header and Alert of san.md', function () {
    const xml = Buffer.from(encodeLegacySan(legacy, 'xml')).toString('utf8');
    for (const part of ['<VerProto>SyncML/1.1</VerProto>', '<SessionID>7</SessionID>', '<Target><LocURI>/</LocURI></Target>', '<Data>206</Data>', '<LocURI>./contacts</LocURI>', 'text/x-vcard', '<Final']) {
      assert.ok(xml.includes(part), `${part} in ${xml}`);
    }
  });

  it('decodeAnySan falls back to the binary form', function () {
    const any = decodeAnySan(Buffer.from(VECTOR, 'hex'), SECRET);
    assert.equal(any.form, 'binary');
  });
});

describe('WAP Push framing', function () {
  it('builds the WSP header of san.md (01 06 03 CE AF 85) and reads it back', function () {
    const pdu = wspPushPdu(Buffer.from(VECTOR, 'hex'));
    assert.equal(hex(pdu.subarray(0, 6)), '010603ceaf85');
    const back = decodeWspPush(pdu);
    assert.equal(back.contentType, SAN_WSP_TYPES.notification);
    assert.equal(back.applicationId, 0x05);
    assert.equal(hex(back.payload), VECTOR);
  });

  it('the legacy content type 0x0303 makes the headers 6 bytes long', function () {
    const pdu = wspPushPdu(new Uint8Array([1, 2]), SAN_WSP_TYPES.legacyWbxml);
    assert.equal(hex(pdu.subarray(0, 9)), '0106060302030' + '3af85');
    assert.equal(decodeWspPush(pdu).contentType, SAN_WSP_TYPES.legacyWbxml);
  });

  it('a short push is one SMS with the port UDH 06 05 04 0B 84 23 F0', function () {
    const parts = wapPushSegments(wspPushPdu(Buffer.from(VECTOR, 'hex')));
    assert.equal(parts.length, 1);
    assert.equal(hex(parts[0]!.udh), '0605040b8423f0');
    assert.deepEqual(parseUdh(parts[0]!.udh), { destinationPort: 2948, sourcePort: 9200 });
  });

  it('a long push is split into concatenated SMS of at most 140 octets and joins back', function () {
    fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 1500 }), fc.integer({ min: 0, max: 255 }), (payload, reference) => {
      const pdu = wspPushPdu(payload);
      const parts = wapPushSegments(pdu, { reference });
      for (const p of parts) assert.ok(p.udh.length + p.data.length <= 140);
      assert.equal(parts.length > 1, pdu.length + 7 > 140);
      const { udh, pdu: joined } = reassemble([...parts].reverse());
      assert.equal(udh.destinationPort, 2948);
      assert.deepEqual(Buffer.from(joined), Buffer.from(pdu));
    }), { numRuns: 200 });
  });

  it('a missing part is an error', function () {
    const parts = wapPushSegments(wspPushPdu(new Uint8Array(400)));
    assert.throws(() => reassemble(parts.slice(1)), /incomplete/);
  });
});
