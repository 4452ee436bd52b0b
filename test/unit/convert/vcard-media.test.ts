// repairBase64: the canonical-base64 shortcut gives what the full check gives.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { repairBase64 } from '../../../src/convert/vcard/media.js';

/** repairBase64 without the shortcut, as it was before it: the reference. */
function reference(value: string): { value: string; repair?: string } | undefined {
  const v = value.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v)) return undefined;
  let data = v.replace(/=+$/, '');
  let repair: string | undefined;
  if (data.length % 4 === 1) {
    data = data.slice(0, -1);
    repair = 'a last character without a whole byte left out';
  }
  const padded = data + '='.repeat((4 - (data.length % 4)) % 4);
  if (padded !== v && repair === undefined) repair = 'padding completed';
  return repair === undefined ? { value: v } : { value: padded, repair };
}

describe('vCard media: repairBase64', () => {
  it('canonical, unpadded, cut, folded, URL-safe and non-base64 values: as the full check says', () => {
    const photo = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 37) & 0xff)).toString('base64');
    for (const v of ['', photo, 'QUJD', 'QUI=', 'QQ==', 'QUI', 'QQ', 'QUJDR', 'QR==', 'QUJD\r\n QUJD', 'QU JD', 'a-b_', 'QUJD=', 'QQ===', '====', 'é', 'QUJD\u0000']) {
      assert.deepEqual(repairBase64(v), reference(v), JSON.stringify(v.slice(0, 20)));
    }
    assert.deepEqual(repairBase64('QUI'), { value: 'QUI=', repair: 'padding completed' });
    assert.equal(repairBase64('a-b_'), undefined);
  });

  it('any text from the base64 alphabet, padding, blanks and a few others (fast-check)', () => {
    const unit = fc.constantFrom(...'ABCQRSTabqrz0189+/=', ' ', '\r', '\n', '-', '_', 'é', '\u00ff');
    const bytes = fc.uint8Array({ maxLength: 60 }).map((b) => Buffer.from(b).toString('base64'));
    fc.assert(fc.property(fc.oneof(fc.string({ unit, maxLength: 40 }), bytes), (v) => assert.deepEqual(repairBase64(v), reference(v))), { numRuns: 5000 });
  });
});
