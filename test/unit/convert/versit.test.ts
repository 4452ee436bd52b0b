// Unit tests for the versit line syntax: unfolding, QP, charsets, bare params, base64 blocks,
// escaping helpers and serialisation (folding, QP output) for each version.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import iconv from 'iconv-lite';
import { isGatewayError } from '../../../src/errors.js';
import {
  joinStructured,
  parseVersit,
  serializeVersit,
  splitAt,
  splitList,
  splitParamList,
  splitStructured,
  unescapeText,
  escapeText,
} from '../../../src/convert/versit/index.js';
import type { VersitComponent, VersitProperty } from '../../../src/convert/versit/index.js';
import { isBlank, splitLines, startsWithWord } from '../../../src/convert/versit/lines.js';
import { fold } from '../../../src/convert/versit/serialize.js';

const crlf = (...lines: string[]): string => lines.join('\r\n') + '\r\n';

function only(input: string | Uint8Array, opts?: Parameters<typeof parseVersit>[1]): VersitComponent {
  const comps = parseVersit(input, opts);
  assert.equal(comps.length, 1);
  return comps[0];
}
function prop(c: VersitComponent, name: string): VersitProperty {
  const p = c.properties.find((x) => x.name === name);
  assert.ok(p, `property ${name} missing`);
  return p;
}

describe('versit parse', () => {
  it('joins a QP soft break that splits a multi-byte UTF-8 character', () => {
    const c = only(crlf('BEGIN:VCARD', 'VERSION:2.1', 'N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=', '=BCller;J=C3=B6rg', 'END:VCARD'));
    assert.equal(prop(c, 'N').value, 'Müller;Jörg');
    assert.equal(prop(c, 'N').encoding, 'QUOTED-PRINTABLE');
  });

  it('decodes the same split from bytes input', () => {
    const c = only(Buffer.from(crlf('BEGIN:VCARD', 'VERSION:2.1', 'NOTE;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Stra=C3=', '=9Fe=0D=0Azwei', 'END:VCARD')));
    assert.equal(prop(c, 'NOTE').value, 'Straße\r\nzwei');
  });

  it('drops one blank of an indented QP continuation when the writer indents them all (Funambol)', () => {
    // As in Funambol vcards.txt: every soft-break continuation of the card is indented.
    const c = only(
      crlf(
        'BEGIN:VCARD',
        'VERSION:2.1',
        'N;CHARSET=UTF8;ENCODING=QUOTEDPRINTABLE:MT_=C3=A0=',
        ' _32',
        'EMAIL;INTERNET;CHARSET=UTF8;ENCODING=QUOTEDPRINTABLE:MT_QA_LN_=C3=A0_32@fu=',
        ' nambol.com',
        'END:VCARD',
      ),
    );
    assert.equal(prop(c, 'N').value, 'MT_à_32');
    assert.equal(prop(c, 'EMAIL').value, 'MT_QA_LN_à_32@funambol.com');
  });

  it('keeps the space after a QP soft break (RFC 2045 folding, phones)', () => {
    const c = only(crlf('BEGIN:VCARD', 'VERSION:2.1', 'NOTE;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=D0=B4=D0=B2=D0=B5=D1=80=D0=B8 =D1=8B=', ' 3-5', 'END:VCARD'));
    assert.equal(prop(c, 'NOTE').value, 'двери ы 3-5');
  });

  it('keeps a trailing "=" of a non-QP value and never swallows END', () => {
    const c = only(crlf('BEGIN:VCARD', 'VERSION:2.1', 'NOTE:ends with=', 'X-QP;ENCODING=QUOTED-PRINTABLE:a=', 'END:VCARD'));
    assert.equal(prop(c, 'NOTE').value, 'ends with=');
    assert.equal(prop(c, 'X-QP').value, 'a=');
  });

  it('decodes ISO-8859-1, Windows-1252 and Shift_JIS labelled bytes', () => {
    const head = Buffer.from('BEGIN:VCARD\r\nVERSION:2.1\r\n');
    const lines = [
      Buffer.concat([Buffer.from('N;CHARSET=ISO-8859-1:'), Buffer.from([0x4d, 0xfc, 0x6c, 0x6c, 0x65, 0x72]), Buffer.from(';Ren'), Buffer.from([0xe9]), Buffer.from('\r\n')]),
      Buffer.concat([Buffer.from('NOTE;CHARSET=WINDOWS-1252:'), Buffer.from([0x80, 0x20, 0x93, 0x71, 0x94]), Buffer.from('\r\n')]),
      Buffer.concat([Buffer.from('FN;CHARSET=SHIFT_JIS:'), iconv.encode('山田太郎', 'Shift_JIS'), Buffer.from('\r\n')]),
      Buffer.concat([Buffer.from('ORG;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:Caf=E9\r\n')]),
    ];
    const c = only(Buffer.concat([head, ...lines, Buffer.from('END:VCARD\r\n')]));
    assert.equal(prop(c, 'N').value, 'Müller;René');
    assert.equal(prop(c, 'NOTE').value, '€ “q”');
    assert.equal(prop(c, 'FN').value, '山田太郎');
    assert.equal(prop(c, 'ORG').value, 'Café');
  });

  it('defaults unlabelled bytes to UTF-8 when valid, else Windows-1252, or to defaultCharset', () => {
    const card = (bytes: number[]): Buffer =>
      Buffer.concat([Buffer.from('BEGIN:VCARD\r\nVERSION:2.1\r\nFN:'), Buffer.from(bytes), Buffer.from('\r\nEND:VCARD\r\n')]);
    assert.equal(prop(only(card([0xc3, 0xa9])), 'FN').value, 'é');
    assert.equal(prop(only(card([0xe9, 0x80])), 'FN').value, 'é€');
    const sjis = [...iconv.encode('テスト', 'Shift_JIS')];
    assert.equal(prop(only(card(sjis), { defaultCharset: 'Shift_JIS' }), 'FN').value, 'テスト');
  });

  it('normalises bare 2.1 parameters and keeps the original form', () => {
    const c = only(crlf('BEGIN:VCARD', 'VERSION:2.1', 'TEL;CELL;VOICE:123', 'PHOTO;JPEG;BASE64:AAAA', '', 'URL;URL:http://x', 'END:VCARD'));
    assert.deepEqual(prop(c, 'TEL').params, [
      { name: 'TYPE', value: 'CELL', bare: true },
      { name: 'TYPE', value: 'VOICE', bare: true },
    ]);
    assert.equal(prop(c, 'PHOTO').encoding, 'BASE64');
    assert.deepEqual(prop(c, 'PHOTO').params[1], { name: 'ENCODING', value: 'BASE64', bare: true });
    assert.deepEqual(prop(c, 'URL').params, [{ name: 'VALUE', value: 'URL', bare: true }]);
  });

  it('reads groups, quoted parameter values and colons inside quotes', () => {
    const c = only(crlf('BEGIN:VCARD', 'VERSION:3.0', 'item1.X-ABLabel:_$!<Other>!$_', 'item1.TEL;type="a:b;c":1', 'END:VCARD'));
    assert.equal(prop(c, 'X-ABLABEL').group, 'item1');
    assert.equal(prop(c, 'TEL').group, 'item1');
    assert.deepEqual(prop(c, 'TEL').params, [{ name: 'TYPE', value: 'a:b;c' }]);
    assert.equal(prop(c, 'TEL').value, '1');
  });

  it('unfolds RFC 2425 folding (one blank removed) in every version', () => {
    const c = only('BEGIN:VCARD\nVERSION:2.1\nTEL;WORK:5555\n 4444\nNOTE:a\n\t b\nEND:VCARD\n');
    assert.equal(prop(c, 'TEL').value, '55554444');
    assert.equal(prop(c, 'NOTE').value, 'a b');
  });

  it('reads a BlackBerry base64 block: unindented lines, ended by a blank line', () => {
    const c = only(crlf('BEGIN:VCARD', 'VERSION:2.1', 'PHOTO;ENCODING=BASE64;TYPE=JPEG:/9j/4AAQ', 'SkZJRgAB', ' AQEASABI', '', 'TEL:1', 'END:VCARD'));
    assert.equal(prop(c, 'PHOTO').value, '/9j/4AAQSkZJRgABAQEASABI');
    assert.equal(prop(c, 'TEL').value, '1');
  });

  it('ends a base64 block without blank line at the next property', () => {
    const c = only(crlf('BEGIN:VCARD', 'VERSION:2.1', 'PHOTO;ENCODING=BASE64:AAAA', ' BBBB', 'TEL:1', 'END:VCARD'));
    assert.equal(prop(c, 'PHOTO').value, 'AAAABBBB');
    assert.equal(prop(c, 'TEL').value, '1');
  });

  it('accepts LF, CR and CRCRLF line ends, BOM and trailing garbage', () => {
    for (const eol of ['\n', '\r', '\r\r\n']) {
      const c = only(`\ufeffBEGIN:VCARD${eol}VERSION:2.1${eol}N:A;B${eol}END:VCARD${eol}trailing garbage${eol}`);
      assert.equal(prop(c, 'N').value, 'A;B');
    }
  });

  it('reports and skips lines without a colon', () => {
    const warnings: string[] = [];
    const c = only(crlf('BEGIN:VCARD', 'VERSION:2.1', 'just a comment', 'N:A', 'END:VCARD'), { onWarning: (m) => warnings.push(m) });
    assert.equal(c.properties.length, 2);
    assert.match(warnings[0], /^line 3: no ':'/);
  });

  it('nests components (vCalendar) and 2.1 AGENT vCards', () => {
    const cal = only(crlf('BEGIN:VCALENDAR', 'VERSION:1.0', 'BEGIN:VEVENT', 'SUMMARY:x', 'END:VEVENT', 'BEGIN:VTODO', 'END:VTODO', 'END:VCALENDAR'));
    assert.deepEqual(cal.components.map((c) => c.name), ['VEVENT', 'VTODO']);
    const card = only(crlf('BEGIN:VCARD', 'VERSION:2.1', 'AGENT:', 'BEGIN:VCARD', 'N:Agent', 'END:VCARD', 'N:Main', 'END:VCARD'));
    assert.equal(card.components[0].properties[0].value, 'Agent');
    assert.equal(prop(card, 'N').value, 'Main');
  });

  it('rejects input without BEGIN and a component without END, naming the line', () => {
    assert.throws(() => parseVersit('hello\r\n'), (e: unknown) => isGatewayError(e, 'INVALID_ITEM') && /no BEGIN/.test(e.message));
    assert.throws(
      () => parseVersit('BEGIN:VCARD\r\nVERSION:2.1\r\nN:A\r\n'),
      (e: unknown) => isGatewayError(e, 'INVALID_ITEM') && /^line 1: BEGIN:VCARD is never ended/.test(e.message),
    );
  });
});

describe('versit line split', () => {
  it('is the split at /\\r*\\n|\\r/ it replaces, for any mix of CR, LF and text (fast-check)', () => {
    const text = fc.string({ unit: fc.constantFrom('\r', '\n', 'a', ' ', '=', 'ü'), maxLength: 30 });
    fc.assert(fc.property(text, (s) => assert.deepEqual(splitLines(s), s.split(/\r*\n|\r/))), { numRuns: 5000 });
  });

  it('a parameter list without quotes splits at every comma, and splitAt anywhere, as String#split does (fast-check)', () => {
    const text = fc.string({ unit: fc.constantFrom(',', 'a', ' ', ';', 'ü'), maxLength: 20 });
    fc.assert(
      fc.property(text, (s) => {
        assert.deepEqual(splitParamList(s), s.split(','));
        assert.deepEqual(splitAt(s, ';'), s.split(';'));
      }),
      { numRuns: 3000 },
    );
  });

  it('fold: the ASCII slices give exactly what counting octets per character gives', () => {
    // The octet-counting fold as it was before the ASCII fast path: the reference.
    const reference = (line: string): string => {
      if (Buffer.byteLength(line, 'utf8') <= 75) return `${line}\r\n`;
      let out = '';
      let cur = '';
      let octets = 0;
      for (const ch of line) {
        const cp = ch.codePointAt(0) ?? 0;
        const n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        if (octets + n > 75) {
          out += `${cur}\r\n`;
          cur = ' ';
          octets = 1;
        }
        cur += ch;
        octets += n;
      }
      return `${out}${cur}\r\n`;
    };
    for (const n of [0, 25, 26, 74, 75, 76, 148, 149, 150, 223, 224, 30000]) {
      const line = 'PHOTO;ENCODING=b:'.concat('A'.repeat(n)).slice(0, Math.max(n, 1));
      assert.equal(fold(line), reference(line), `length ${line.length}`);
    }
    const ascii = fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 400 });
    const mixed = fc.string({ unit: fc.constantFrom('a', ' ', 'ü', '€', '😀', '\ud800'), maxLength: 200 });
    fc.assert(fc.property(fc.oneof(ascii, mixed), (line) => assert.equal(fold(line), reference(line))), { numRuns: 3000 });
  });

  it('per-line tests by character code say what the regexps and trim() they replace say', () => {
    for (let c = 0; c <= 0xffff; c++) {
      const ch = String.fromCharCode(c);
      assert.equal(isBlank(ch), ch.trim() === '', `U+${c.toString(16)}`);
      assert.equal(startsWithWord(`${ch}EGIN:`, 'BEGIN:'), /^BEGIN:/i.test(`${ch}EGIN:`), `U+${c.toString(16)}`);
    }
    const unit = fc.constantFrom('b', 'B', 'e', 'E', 'g', 'i', 'I', 'n', 'N', 'd', 'D', ':', ' ', '\t', '\u00a0', '\u3000', 'ı', 'İ', 'ſ', 'K', 'x');
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 8 }), (s) => {
        assert.equal(isBlank(s), s.trim() === '');
        assert.equal(startsWithWord(s, 'BEGIN:'), /^BEGIN:/i.test(s));
        assert.equal(startsWithWord(s, 'END:'), /^END:/i.test(s));
      }),
      { numRuns: 5000 },
    );
  });

  it('CR CR LF (Symbian) is one line end, a lone CR is one, CR CR without LF is two', () => {
    assert.deepEqual(splitLines('a\r\r\nb\rc\r\rd\n'), ['a', 'b', 'c', '', 'd', '']);
    const text = fc.string({ unit: fc.constantFrom('\r', '\n', 'a', ' ', 'ü'), maxLength: 40 });
    fc.assert(fc.property(text, (t) => assert.deepEqual(splitLines(t), t.split(/\r*\n|\r/))), { numRuns: 5000 });
  });
});

describe('versit text helpers', () => {
  it('splits structured and list values at unescaped separators', () => {
    assert.deepEqual(splitStructured('a\\;b;c\\,d;e\\nf'), ['a;b', 'c,d', 'e\nf']);
    assert.deepEqual(splitList('x\\,y,z'), ['x,y', 'z']);
    assert.equal(unescapeText('two\\nlines\\\\ \\M'), 'two\nlines\\ \\M');
  });
  it('escapes per version: 2.1 only \\; in components, 3.0 everything', () => {
    assert.equal(joinStructured(['a;b', 'c,d'], '2.1'), 'a\\;b;c,d');
    assert.equal(joinStructured(['a;b', 'c,d'], '3.0'), 'a\\;b;c\\,d');
    assert.equal(escapeText('x,y\nz\\', '3.0'), 'x\\,y\\nz\\\\');
    assert.equal(escapeText('x,y\nz', '2.1'), 'x,y\nz');
  });
});

describe('versit serialize', () => {
  const card = (props: VersitProperty[]): VersitComponent => ({ name: 'VCARD', properties: props, components: [] });
  const p = (name: string, value: string, extra: Partial<VersitProperty> = {}): VersitProperty => ({ name, params: [], value, rawValue: value, ...extra });

  it('folds 3.0 lines at 75 octets without splitting UTF-8 characters', () => {
    const note = 'ü'.repeat(100);
    const out = serializeVersit(card([p('NOTE', note)]), { version: '3.0' });
    for (const line of out.split('\r\n')) assert.ok(Buffer.byteLength(line) <= 75, line);
    assert.equal(prop(only(out), 'NOTE').value, note);
  });

  it('writes 2.1 non-ASCII and multi-line values as CHARSET=UTF-8 QP with soft breaks', () => {
    const value = `Zeile1\r\nZeile2 ${'ä'.repeat(40)}`;
    const out = serializeVersit(card([p('NOTE', value, { params: [{ name: 'CHARSET', value: 'ISO-8859-1' }] })]), { version: '2.1' });
    assert.match(out, /^NOTE;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Zeile1=0D=0AZeile2 =C3=A4/m);
    for (const line of out.split('\r\n')) assert.ok(line.length <= 76, line);
    assert.equal(prop(only(out), 'NOTE').value, value);
  });

  it('writes bare TYPE params in 2.1 and one TYPE= list in 3.0', () => {
    const tel = p('TEL', '1', { params: [{ name: 'TYPE', value: 'CELL', bare: true }, { name: 'TYPE', value: 'VOICE' }] });
    assert.match(serializeVersit(card([tel]), { version: '2.1' }), /^TEL;CELL;VOICE:1\r$/m);
    assert.match(serializeVersit(card([tel]), { version: '3.0' }), /^TEL;TYPE=CELL,VOICE:1\r$/m);
  });

  it('writes base64 as ENCODING=BASE64 + blank line in 2.1 and ENCODING=b folded in 3.0', () => {
    const b64 = 'A'.repeat(200);
    const photo = p('PHOTO', b64, { encoding: 'BASE64', params: [{ name: 'TYPE', value: 'JPEG' }, { name: 'ENCODING', value: 'BASE64' }] });
    const v21 = serializeVersit(card([photo, p('TEL', '1')]), { version: '2.1' });
    assert.match(v21, /^PHOTO;JPEG;ENCODING=BASE64:A+\r\n( A+\r\n)+\r\nTEL:1/m);
    const v30 = serializeVersit(card([photo]), { version: '3.0' });
    assert.match(v30, /^PHOTO;TYPE=JPEG;ENCODING=b:A+\r\n/m);
    assert.equal(prop(only(v21), 'PHOTO').value, b64);
    assert.equal(prop(only(v30), 'PHOTO').value, b64);
  });

  it('never writes QP or CHARSET for 3.0/4.0/iCal and quotes param values with ; : ,', () => {
    const n = p('N', 'Müller;Jörg', { params: [{ name: 'CHARSET', value: 'UTF-8' }, { name: 'ENCODING', value: 'QUOTED-PRINTABLE' }, { name: 'X-P', value: 'a;b' }], encoding: 'QUOTED-PRINTABLE' });
    for (const version of ['3.0', '4.0', 'ical2.0'] as const) {
      const out = serializeVersit(card([n]), { version });
      assert.match(out, /^N;X-P="a;b":Müller;Jörg\r$/m);
    }
  });
});
