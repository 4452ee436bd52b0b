// Issue #13: fidelity defects found with devices and servers no other test uses. One fixture per
// pattern in test/fixtures/convert/fidelity/ (README there says which pattern each reproduces);
// compared property by property, not by counts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import ICAL from 'ical.js';
import { convertCalendar } from '../../../src/convert/calendar.js';
import { parseContact } from '../../../src/convert/contacts.js';
import { parseVersit, type VersitComponent } from '../../../src/convert/versit/index.js';
import { repoRoot } from './vcard-corpus-helpers.js';

const FIX = path.join(repoRoot, 'test', 'fixtures', 'convert', 'fidelity');
const NOW = new Date(Date.UTC(2026, 11, 3));
const fixture = (name: string): Buffer => readFileSync(path.join(FIX, name));
const value = (c: VersitComponent, name: string): string | undefined => c.properties.find((p) => p.name === name)?.value;

function icalItems(text: string): Array<InstanceType<typeof ICAL.Component>> {
  const cal = new ICAL.Component(ICAL.parse(text) as unknown[]);
  return [...cal.getAllSubcomponents('vevent'), ...cal.getAllSubcomponents('vtodo')];
}

describe('fidelity (#13) defect 4: QP soft line break followed by a space', () => {
  it('keeps the space that follows a soft break (phone folding), value by value', () => {
    const card = parseVersit(fixture('qp-soft-break-space.vcf'))[0]!;
    assert.equal(value(card, 'ADR'), ';;ул. Ленина, д. 7, квартиры 3-5;Москва;;101000;');
    assert.equal(value(card, 'NOTE'), 'позвонить вечером после семи');
    const single = parseVersit(fixture('qp-soft-break-space-single.vcf'))[0]!;
    assert.equal(value(single, 'ADR'), ';;пр. Мира, д. 12;Тверь;;170000;');
  });

  it('still drops the indent of a writer that indents every continuation (Funambol)', () => {
    const text = [
      'BEGIN:VCARD', 'VERSION:2.1', 'N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:MT_QA_LN_=C3=A0_9;MT_QA_FN_=C3=A0_=', ' 9',
      'EMAIL;INTERNET;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:MT_QA_LN_=C3=A0_9@fun=', ' ambol.com', 'END:VCARD', '',
    ].join('\r\n');
    const card = parseVersit(text)[0]!;
    assert.equal(value(card, 'N'), 'MT_QA_LN_à_9;MT_QA_FN_à_9');
    assert.equal(value(card, 'EMAIL'), 'MT_QA_LN_à_9@funambol.com');
  });

  it('carries the space into the vCard 3.0 the server stores', () => {
    const c = parseContact(fixture('qp-soft-break-space.vcf'));
    const adr = c.properties.find((p) => p.name === 'ADR');
    assert.ok(adr);
    assert.match(JSON.stringify(adr), /квартиры 3-5/);
  });
});

describe('fidelity (#13) defect 2: UIDs of vCalendar items without one', () => {
  it('the gateway path leaves the UID to identity (no content-derived UID)', () => {
    const out = convertCalendar(fixture('todo-without-uid.vcs'), 'ical20', { now: NOW, uidFromContent: false });
    assert.equal(icalItems(out)[0]!.getFirstPropertyValue('uid'), null);
  });
  it('the stateless convert command still derives a stable one from content', () => {
    const a = convertCalendar(fixture('todo-without-uid.vcs'), 'ical20', { now: NOW });
    const b = convertCalendar(fixture('todo-without-uid.vcs'), 'ical20', { now: NOW });
    assert.match(String(icalItems(a)[0]!.getFirstPropertyValue('uid')), /^vcal-[0-9a-f]{20}$/);
    assert.equal(icalItems(a)[0]!.getFirstPropertyValue('uid'), icalItems(b)[0]!.getFirstPropertyValue('uid'));
  });
});

describe('fidelity (#13) defect 8: PRIORITY scales keep order and round-trip', () => {
  const priorities = (text: string): number[] => icalItems(text).map((c) => Number(c.getFirstPropertyValue('priority')));
  const vcalPriorities = (text: string): string[] => [...text.matchAll(/^PRIORITY:(\d+)/gm)].map((m) => m[1]!);

  it('Palm 1-5 (priorityScale 5): 1,2,3,4,5 -> 1,3,5,7,9 and back unchanged', () => {
    const ical = convertCalendar(fixture('palm-priorities.vcs'), 'ical20', { now: NOW, priorityScale: 5 });
    const p = priorities(ical);
    assert.deepEqual(p, [1, 3, 5, 7, 9]);
    const back = convertCalendar(ical, 'vcal10', { priorityScale: 5 });
    assert.deepEqual(vcalPriorities(back), ['1', '2', '3', '4', '5']);
  });

  it('phones (default scale 3): order kept for every value, 1-3 round-trip', () => {
    const ical = convertCalendar(fixture('palm-priorities.vcs'), 'ical20', { now: NOW });
    const p = priorities(ical);
    for (let k = 1; k < p.length; k++) assert.ok(p[k]! >= p[k - 1]!, `order kept: ${p.join(',')}`);
    assert.deepEqual(p.slice(0, 3), [1, 5, 9]);
    assert.deepEqual(vcalPriorities(convertCalendar(ical, 'vcal10')).slice(0, 3), ['1', '2', '3']);
  });

  it('Psion/desktop (scale 9): identity', () => {
    const ical = convertCalendar(fixture('palm-priorities.vcs'), 'ical20', { now: NOW, priorityScale: 9 });
    assert.deepEqual(priorities(ical), [1, 2, 3, 4, 5]);
    assert.deepEqual(vcalPriorities(convertCalendar(ical, 'vcal10', { priorityScale: 9 })), ['1', '2', '3', '4', '5']);
  });
});
