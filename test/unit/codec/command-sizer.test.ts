// The reply builder fills a message up to the client's MaxMsgSize with the sizes commandSizer
// gives: they must be the bytes the command takes in the encoded message, non-ASCII and the
// lone surrogates of a split large object included.
import assert from 'node:assert/strict';
import { commandSizer, encodeMessage } from '../../../src/codec/index.js';
import type { Command, SyncMLMessage } from '../../../src/codec/model.js';

const header: SyncMLMessage['header'] = {
  verDTD: '1.2', verProto: 'SyncML/1.2', sessionId: '1', msgId: '1',
  target: { locURI: 'IMEI:1' }, source: { locURI: 'http://gw/sync' },
};
const message = (body: Command[]): SyncMLMessage => ({ version: '1.2', header, body, final: true });
const add = (data: string): Command => ({
  kind: 'Add', cmdId: '7', meta: { type: 'text/x-vcard' }, items: [{ source: { locURI: 'guid-1' }, data }],
});

describe('commandSizer (XML)', function () {
  for (const [what, data] of [
    ['ASCII', 'BEGIN:VCARD\r\nFN:Ann\r\nEND:VCARD\r\n'],
    ['markup characters', 'NOTE:a < b & c > d "e"\r\n'],
    ['non-ASCII', 'FN:Jürgen Łukasz 東京 😀\r\n'],
    ['a lone surrogate (a byte of a split character)', 'FN:J\udcc3'],
  ] as const) {
    it(`counts what a command adds to the encoded message: ${what}`, function () {
      const size = commandSizer({ encoding: 'xml' });
      const empty = encodeMessage(message([]), { encoding: 'xml' }).length;
      const withCmd = encodeMessage(message([add(data)]), { encoding: 'xml' }).length;
      assert.equal(size(add(data)), withCmd - empty);
    });
  }
});
