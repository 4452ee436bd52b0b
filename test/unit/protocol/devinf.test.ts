// The server's DevInf: datastores, formats and CTCaps in the 1.2 (nested) and 1.1 (flat) forms,
// readable by our own CTCap parser and by the WBXML codec.
import assert from 'node:assert/strict';
import { parseMapping } from '../../../src/accounts/mappings.js';
import { decodeWbxml, encodeWbxml } from '../../../src/codec/wbxml/index.js';
import { ctCapsForDataStore, parseCtCaps } from '../../../src/convert/filters/index.js';
import { buildServerDevInf, parseDevInf } from '../../../src/protocol/devinf.js';

const mapping = parseMapping([
  'account: alice', 'auth: passthrough', 'dav:', '  url: http://127.0.0.1:5232/', 'datastores:',
  '  contacts:', '    uris: [./contacts, contacts]', '    collection: http://127.0.0.1:5232/alice/contacts/',
  '  calendar:', '    kind: events', '    uris: [calendar]', '    collection: http://127.0.0.1:5232/alice/calendar/',
].join('\n'), 'alice.yaml', {});

describe('server DevInf', function () {
  it('1.2: each datastore with Rx/Tx formats, SyncCap and nested CTCaps our own parser reads', function () {
    const devInf = buildServerDevInf({ version: '1.2', serverId: 'http://gw/sync', softwareVersion: '0.1.0', datastores: mapping.datastores });
    const info = parseDevInf(devInf);
    assert.deepEqual(info.datastores.map((d) => d.sourceRef), ['./contacts', 'calendar']);
    assert.deepEqual(info.datastores[0]!.rxPref, { type: 'text/x-vcard', version: '2.1' });
    assert.deepEqual(info.datastores[0]!.syncTypes, [1, 2, 3, 4, 5, 6, 7]);
    const caps = ctCapsForDataStore(devInf, './contacts');
    const vcard21 = caps.find((c) => c.ctType === 'text/x-vcard')!;
    assert.ok(vcard21.properties['TEL']?.params?.['TYPE']?.includes('CELL'));
    assert.ok(vcard21.properties['PHOTO']);
    assert.ok(ctCapsForDataStore(devInf, 'calendar').some((c) => c.ctType === 'text/x-vcalendar' && c.properties['RRULE']));
    // Nested DevInf survives the WBXML encoding phones use.
    const again = decodeWbxml(encodeWbxml({ name: 'DevInf', ns: 'syncml:devinf', children: devInf.children })).root;
    assert.equal(parseDevInf(again).datastores.length, 2);
  });

  it('1.1: one flat CTCap list at DevInf level', function () {
    const devInf = buildServerDevInf({ version: '1.1', serverId: 'http://gw/sync', softwareVersion: '0.1.0', datastores: mapping.datastores });
    const caps = parseCtCaps(devInf);
    assert.deepEqual(caps.map((c) => c.ctType).sort(), ['text/calendar', 'text/vcard', 'text/x-vcalendar', 'text/x-vcard']);
    assert.ok(caps.find((c) => c.ctType === 'text/x-vcard')!.properties['EMAIL']?.params?.['TYPE']?.includes('INTERNET'));
  });
});
