// Corpus tests: every vCard in ../shared/corpus parses and converts to 2.1/3.0/4.0, and
// conversions agree semantically with the references the corpus holds (kcontacts, 2.1/3.0 pairs).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isGatewayError } from '../../../src/errors.js';
import { parseContacts, serializeContact } from '../../../src/convert/contacts.js';
import { parseVersit } from '../../../src/convert/versit/index.js';
import type { Contact, VcardVersion } from '../../../src/convert/contacts.js';
import { corpusRoot, corpusVcardFiles, diff } from './vcard-corpus-helpers.js';
import { requireShared, sharedAvailable } from '../../support/shared.js';

const rel = (f: string): string => path.relative(corpusRoot, f);
// Files the corpus marks as broken (symbian-versit/TestvCards/Invalid/readme.txt, README.md).
const MARKED_INVALID = /^symbian-versit\/TestvCards\/Invalid\/|HugeVCard\.vcf$/;
const LEGACY_OUT = /QUOTED-PRINTABLE|CHARSET=/i;

function withoutInternet(c: Contact): Contact {
  return { ...c, properties: c.properties.map((p) => (p.name === 'EMAIL' ? { ...p, types: p.types.filter((t) => t !== 'INTERNET') } : p)) };
}

function roundTrip(c: Contact, version: VcardVersion): Contact {
  const text = serializeContact(c, version);
  const back = parseContacts(text);
  assert.equal(back.length, 1);
  return back[0];
}

describe('vCard corpus', function () {
  const files = sharedAvailable() ? corpusVcardFiles() : [];
  before(function () {
    requireShared(this);
  });

  it('finds the corpus vCards', () => {
    assert.ok(files.length >= 190, `only ${files.length} files`);
  });

  for (const file of files) {
    const name = rel(file);
    it(`parses and converts ${name}`, () => {
      let contacts: Contact[];
      try {
        contacts = parseContacts(readFileSync(file));
      } catch (e) {
        if (MARKED_INVALID.test(name)) {
          assert.ok(isGatewayError(e, 'INVALID_ITEM') && e.message.length > 10, String(e));
          return;
        }
        throw e;
      }
      assert.ok(contacts.length > 0);
      for (const c of contacts) {
        for (const v of ['3.0', '4.0'] as const) {
          const out = serializeContact(c, v);
          // Nextcloud answers 415 to legacy syntax: no QP, no CHARSET, no nameless params.
          assert.doesNotMatch(out, LEGACY_OUT, `${v} output carries 2.1 syntax`);
          for (const line of out.split('\r\n')) assert.ok(Buffer.byteLength(line) <= 75, `unfolded line ${line}`);
          const [card] = parseVersit(out);
          for (const p of card.properties) assert.ok(!p.params.some((x) => x.bare === true), `bare param on ${p.name}`);
          assert.ok(card.properties.some((p) => p.name === 'FN'), 'FN missing');
        }
        if (MARKED_INVALID.test(name)) continue;
        // Converting 2.1 <-> 3.0 and back keeps what the contact said.
        const via21 = roundTrip(roundTrip(c, '2.1'), '3.0');
        const via30 = roundTrip(c, '3.0');
        // 2.1 output always adds EMAIL;INTERNET (Nokia); not a change of meaning.
        const d = diff(withoutInternet(via21), withoutInternet(via30));
        assert.deepEqual(d, { onlyA: [], onlyB: [] }, `${name}: 2.1 round trip differs`);
      }
    });
  }
});

// Expected conversions in the corpus, with the deviations we accept (see
// test/fixtures/convert/README.md for the reasons). Each entry: regexps a diff line must match.
interface Tolerated {
  ours?: RegExp[];
  ref?: RegExp[];
}
const DERIVED_N = /^N;;;:[^|]+\|/; // we derive N from FN where KDE writes an empty N
const DERIVED_FN = /^FN;;;:/; // we derive FN (3.0/4.0 require it); KDE omits it
const EMPTY = /^(N|ORG);;;:$/; // empty N/ORG kept or written for 3.0, KDE drops it
const INTERNET = /^EMAIL;[A-Z,]*INTERNET/; // 2.1: always INTERNET (Nokia hides e-mail without)
const KDE: Record<string, Tolerated> = {
  'vcard1.vcf.ref': { ours: [DERIVED_N], ref: [EMPTY] },
  'vcard1.vcf.2_1ref': { ours: [DERIVED_N], ref: [EMPTY] },
  'v4_0.vcard1.vcf.ref': { ref: [EMPTY] },
  'vcard2.vcf.ref': { ours: [DERIVED_N], ref: [EMPTY] },
  'vcard2.vcf.2_1ref': { ours: [DERIVED_N], ref: [EMPTY] },
  'v4_0.vcard2.vcf.ref': { ref: [EMPTY] },
  'vcard4.vcf.ref': { ours: [DERIVED_FN] },
  'v4_0.vcard4.vcf.ref': { ours: [DERIVED_FN, EMPTY], ref: [/^FN;;;:$/] },
  'vcard6.vcf.2_1ref': { ours: [INTERNET, /^CLASS;/], ref: [/^EMAIL;/] },
  'vcard7.vcf.ref': { ours: [DERIVED_FN] },
  'v4_0.vcard7.vcf.ref': { ours: [EMPTY] },
  'vcard10.vcf.ref': { ours: [DERIVED_FN, EMPTY] },
  // KDE bug noted in corpus/README.md: raw binary PHOTO instead of base64 in its 2.1 output.
  'vcard12.vcf.2_1ref': { ours: [INTERNET, /^PHOTO;/], ref: [/^EMAIL;/, /^PHOTO;/] },
  'vcard14.vcf.2_1ref': { ours: [INTERNET, /^CLASS;/], ref: [/^EMAIL;/] },
  // KDE maps its legacy X-messaging/* fields to IMPP; we keep unknown X- properties verbatim.
  'vcard_legacy_messaging_fields.vcf.ref': { ours: [/^X-MESSAGING\//], ref: [/^IMPP;/] },
};

function assertTolerated(label: string, d: { onlyA: string[]; onlyB: string[] }, tol: Tolerated): void {
  const bad = [
    ...d.onlyA.filter((s) => !(tol.ours ?? []).some((r) => r.test(s))).map((s) => `ours:  ${s.slice(0, 160)}`),
    ...d.onlyB.filter((s) => !(tol.ref ?? []).some((r) => r.test(s))).map((s) => `ref:   ${s.slice(0, 160)}`),
  ];
  assert.deepEqual(bad, [], `${label}: unexpected differences`);
}

describe('vCard corpus: expected conversions', function () {
  const kc = path.join(corpusRoot, 'kcontacts', 'data');
  before(function () {
    requireShared(this);
  });

  // The references kcontacts ships: 3.0 for every input, 2.1 and 4.0 only for some.
  const cases: Array<[string, string, VcardVersion]> = [];
  for (let i = 1; i <= 15; i++) cases.push([`vcard${i}.vcf`, `vcard${i}.vcf.ref`, '3.0']);
  for (const i of [1, 2, 3, 6, 7, 12, 14]) cases.push([`vcard${i}.vcf`, `vcard${i}.vcf.2_1ref`, '2.1']);
  for (let i = 1; i <= 8; i++) cases.push([`vcard${i}.vcf`, `v4_0.vcard${i}.vcf.ref`, '4.0']);
  for (const f of ['testfullvcard.vcf', 'vcard_extension_case_normalization.vcf', 'vcard_legacy_messaging_fields.vcf', 'vcardwithitemasapplesupport.vcf']) {
    cases.push([f, `${f}.ref`, '3.0']);
  }
  for (const [input, ref, version] of cases) {
    it(`kcontacts ${input} -> ${version} matches ${ref}`, function () {
      const ins = parseContacts(readFileSync(path.join(kc, input)));
      const refs = parseContacts(readFileSync(path.join(kc, ref)));
      assert.equal(ins.length, refs.length);
      ins.forEach((c, k) => {
        const ours = roundTrip(c, version);
        assertTolerated(`${ref}#${k}`, diff(ours, refs[k]), KDE[ref] ?? {});
      });
    });
  }

  // The same contacts as vCard 2.1 and 3.0: our 2.1 -> 3.0 conversion must say what the 3.0 file says.
  const pairs: Array<[string, string, string, Tolerated]> = [
    // vcard30.vcf holds one contact more ("parserbug") and extra fields for user1.
    // The 3.0 file types user1's third address as OTHER, the 2.1 file leaves it untyped.
    ['funambol-cpp-client-api/testcases/vcard21.vcf', 'funambol-cpp-client-api/testcases/vcard30.vcf', 'NICKNAME', { ours: [/^(ADR|LABEL);;;:Test (Box|Drive) #?3/] }],
  ];
  for (const kind of ['full1', 'full2', 'multiline', 'photo1', 'photo2', 'sound1', 'sound2', 'special', 'umlaute']) {
    pairs.push([`opensync/data/vcards/kdepim/kdepim-${kind}-2.1.vcf`, `opensync/data/vcards/kdepim/kdepim-${kind}-3.0.vcf`, 'UID', {}]);
  }
  for (const [a, b, key, tol] of pairs) {
    it(`2.1 -> 3.0 of ${a} agrees with ${path.basename(b)}`, () => {
      const keyOf = (c: Contact): string => c.properties.find((p) => p.name === key)?.values.join(',') ?? '';
      const olds = parseContacts(readFileSync(path.join(corpusRoot, a)));
      const news = parseContacts(readFileSync(path.join(corpusRoot, b)));
      for (const c of olds) {
        const twin = news.find((x) => keyOf(x) === keyOf(c));
        assert.ok(twin, `no 3.0 twin for ${keyOf(c)}`);
        const d = diff(roundTrip(c, '3.0'), twin);
        // Fields only in the 3.0 file are extra test data there, not losses of ours.
        assertTolerated(`${a} ${keyOf(c)}`, { onlyA: d.onlyA, onlyB: [] }, tol);
      }
    });
  }
});
