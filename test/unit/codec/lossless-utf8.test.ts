// Large-object chunks are cut by bytes, so a chunk can end inside a character. The codecs keep
// such bytes (lone surrogates) and the engine joins chunks as bytes: nothing may be lost.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeUtf8Lossless, encodeUtf8Lossless, hasEscapedBytes, restoreUtf8 } from '../../../src/codec/lossless-utf8.js';
import { decodeMessage, encodeMessage } from '../../../src/codec/index.js';

const text = fc.string({ unit: 'grapheme', maxLength: 200 });

/** A WBXML message whose Add carries `data` as raw inline-string bytes (a placeholder swapped in). */
function wbxmlWithData(data: Uint8Array): Uint8Array {
  const placeholder = 'Q'.repeat(data.length);
  const bytes = Buffer.from(encodeMessage({
    version: '1.2', final: true,
    header: { verDTD: '1.2', verProto: 'SyncML/1.2', sessionId: '1', msgId: '1', target: { locURI: 's' }, source: { locURI: 'd' } },
    body: [{ kind: 'Sync', cmdId: '1', commands: [{ kind: 'Add', cmdId: '2', items: [{ source: { locURI: '1' }, data: placeholder, moreData: true }] }] }],
  }, { encoding: 'wbxml' }));
  const at = bytes.indexOf(Buffer.from(placeholder));
  assert.ok(at > 0, 'the data is an inline string');
  bytes.set(data, at);
  return bytes;
}

describe('codec: text that is not UTF-8 on its own (chunks cut inside a character)', function () {
  it('valid UTF-8 decodes as usual and carries no escapes', function () {
    const s = 'Grüße, Ελληνικά, 日本語, 🙂';
    assert.equal(decodeUtf8Lossless(Buffer.from(s)), s);
    assert.equal(hasEscapedBytes(s), false, 'a surrogate pair is not an escape');
    assert.deepEqual([...encodeUtf8Lossless(s)], [...Buffer.from(s)]);
  });

  it('a character cut in two becomes escapes that join back into it', function () {
    const bytes = Buffer.from('aü日b');
    const parts = [bytes.subarray(0, 2), bytes.subarray(2, 4), bytes.subarray(4)];
    const decoded = parts.map(decodeUtf8Lossless);
    assert.ok(decoded.slice(0, 2).every(hasEscapedBytes));
    assert.equal(restoreUtf8(decoded.join('')), 'aü日b');
  });

  it('property: any text cut at any byte positions is restored exactly', function () {
    fc.assert(fc.property(text, fc.array(fc.nat(), { maxLength: 6 }), (s, cutsRaw) => {
      const bytes = Buffer.from(s);
      const cuts = [...new Set(cutsRaw.map((c) => (bytes.length ? c % bytes.length : 0)))].sort((x, y) => x - y);
      const pieces: string[] = [];
      let from = 0;
      for (const c of [...cuts, bytes.length]) {
        pieces.push(decodeUtf8Lossless(bytes.subarray(from, c)));
        from = c;
      }
      const joined = pieces.join('');
      assert.deepEqual([...encodeUtf8Lossless(joined)], [...bytes]);
      assert.equal(restoreUtf8(joined), s);
    }), { numRuns: 300 });
  });

  it('property: any bytes at all come back byte for byte, and valid UTF-8 decodes like TextDecoder', function () {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const s = decodeUtf8Lossless(bytes);
      assert.deepEqual([...encodeUtf8Lossless(s)], [...bytes]);
      if (!hasEscapedBytes(s)) assert.equal(s, new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    }), { numRuns: 2000 });
  });

  it('a chunk cut inside a character survives the XML and WBXML codecs byte for byte', function () {
    const whole = Buffer.from('BEGIN:VCARD\nNOTE:Grüße 日本\nEND:VCARD');
    const cut = whole.indexOf(Buffer.from('日')) + 1;
    for (const encoding of ['xml', 'wbxml'] as const) {
      const pieces = [whole.subarray(0, cut), whole.subarray(cut)].map((b) => {
        const wire = encoding === 'xml'
          ? Buffer.concat([Buffer.from('<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>SyncML/1.2</VerProto><SessionID>1</SessionID><MsgID>1</MsgID><Target><LocURI>s</LocURI></Target><Source><LocURI>d</LocURI></Source></SyncHdr><SyncBody><Sync><CmdID>1</CmdID><Add><CmdID>2</CmdID><Item><Source><LocURI>1</LocURI></Source><Data>'), b, Buffer.from('</Data><MoreData/></Item></Add></Sync><Final/></SyncBody></SyncML>')])
          : wbxmlWithData(b);
        const msg = decodeMessage(wire, encoding).message;
        const sync = msg.body[0]!;
        const add = sync.kind === 'Sync' ? sync.commands[0]! : undefined;
        return add && add.kind === 'Add' ? String(add.items[0]!.data) : '';
      });
      assert.deepEqual([...encodeUtf8Lossless(pieces.join(''))], [...whole], encoding);
    }
  });
});
