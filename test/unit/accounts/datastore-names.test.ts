// Issue #13, defect 11: datastore names phones use that admins do not guess. The example mapping
// ships the common ones; an unknown name gets a hint with the exact name and the line to add,
// and `devices list` shows it.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { kindOfName, unknownDatastoreHint } from '../../../src/accounts/datastore-names.js';
import { AccountRegistry, parseMapping } from '../../../src/accounts/mappings.js';
import { runDevices } from '../../../src/cli/devices.js';
import { SqliteStateStore } from '../../../src/state/sqlite-store.js';

const EXAMPLE = path.resolve('mappings/example.yaml');
const example = parseMapping(readFileSync(EXAMPLE, 'utf8'), EXAMPLE);

describe('fidelity (#13) defect 11: datastore names', () => {
  it('the example mapping answers the names phones were seen to use', () => {
    const cases: Array<[string, string]> = [
      ['pb', 'contacts'], ['./pb', 'contacts'], ['EriPBDB', 'contacts'], ['telecom/pb.vcf', 'contacts'], ['Contacts', 'contacts'],
      ['/cal', 'calendar'], ['cal', 'calendar'], ['./Calendar', 'calendar'], ['EriCalDB', 'calendar'],
      ['todo', 'tasks'], ['./tasks', 'tasks'],
    ];
    for (const [uri, ds] of cases) assert.equal(AccountRegistry.findDatastore(example, uri)?.name, ds, uri);
  });

  it('an unknown name: the exact name, the phone\'s own name, the datastore meant and the line to add', () => {
    const mapping = parseMapping([
      'account: bob', 'auth: passthrough', 'dav:', '  url: http://127.0.0.1:5232/', 'datastores:',
      '  contacts:', '    uris: [contacts, ./contacts]', '    collection: http://127.0.0.1:5232/bob/contacts/',
      '  calendar:', '    uris: [calendar]', '    collection: http://127.0.0.1:5232/bob/calendar/', '',
    ].join('\n'), 'mappings/bob.yaml');
    const h = unknownDatastoreHint(mapping, 'pb', 'EriPBDB');
    assert.equal(h.datastore, 'contacts');
    assert.equal(h.line, 'uris: [contacts, ./contacts, pb]');
    assert.match(h.message, /datastore "pb" \(its own name: "EriPBDB"\), which mappings\/bob\.yaml does not list; it looks like contacts: in datastores\.contacts write "uris: \[contacts, \.\/contacts, pb\]"/);
    // The suggested line is valid YAML that makes the mapping find the name.
    const fixed = parseYaml(h.line!) as { uris: string[] };
    assert.ok(AccountRegistry.findDatastore({ ...mapping, datastores: [{ ...mapping.datastores[0]!, uris: fixed.uris }] }, 'pb'));

    assert.equal(unknownDatastoreHint(mapping, '/cal').datastore, 'calendar');
    assert.equal(unknownDatastoreHint(mapping, 'Agenda2', undefined, 'text/x-vcalendar').datastore, 'calendar');
    const none = unknownDatastoreHint(mapping, 'todo');
    assert.equal(none.datastore, undefined, 'no tasks datastore in the mapping');
    assert.match(none.message, /add "todo" to the uris of the datastore it means \(a tasks datastore\)/);
    assert.equal(kindOfName('xyz'), undefined);
  });

  it('devices list shows the unknown names a device used, with the hint', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dsnames-'));
    try {
      const store = new SqliteStateStore({ stateDir: dir });
      const hint = unknownDatastoreHint(example, 'EriNotes', 'EriNoteDB').message;
      await store.putDevice({ account: 'alice', deviceId: 'IMEI:350000000000010' }, { unknownDatastores: [{ uri: 'EriNotes', source: 'EriNoteDB', at: '2026-12-03T12:00:00Z', hint }] });
      await store.close();
      let text = '';
      await runDevices(['list'], { env: { STATE_DIR: dir, REDIS_URL: '' }, out: { write: (s: string) => (text += s) } });
      assert.match(text, /unknown datastore names/);
      assert.match(text, /alice IMEI:350000000000010 "EriNotes" \(phone's own name "EriNoteDB"\) at 2026-12-03T12:00:00Z: phone asked for datastore "EriNotes"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
