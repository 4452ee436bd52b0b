// `decode` recognising SANs (and leaving ordinary SyncML alone), and the push settings block.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseMapping } from '../../../src/accounts/mappings.js';
import { encodeLegacySan } from '../../../src/codec/san.js';
import { wspPushPdu } from '../../../src/codec/wap-push.js';
import { sanText } from '../../../src/cli/push.js';
import { GatewayError } from '../../../src/errors.js';
import { devicePushSettings } from '../../../src/push/settings.js';
import { requireShared } from '../../support/shared.js';

const VECTOR = Buffer.from('8b0988d9100a02dc8a3dfdd3f557e353030800000000010a73796e63736572766572106000000708636f6e7461637473', 'hex');

describe('push CLI and settings', function () {
  it('decode prints a binary SAN, verifies its digest when told the password, and refuses a wrong one', function () {
    assert.match(sanText(VECTOR, {}) ?? '', /SAN DS 1.2: server syncserver, session id 1 .*\n.*not checked.*\n {2}206 contacts text\/x-vcard/);
    assert.match(sanText(VECTOR, { SAN_SERVER_PASSWORD: 'srvpwd', SAN_NONCE: 'nonce' }) ?? '', /\(verified\)/);
    assert.throws(() => sanText(VECTOR, { SAN_SERVER_PASSWORD: 'nope' }), (e: unknown) => e instanceof GatewayError && e.details?.['reason'] === 'digest');
  });

  it('decode unwraps a WSP push PDU and reads a legacy SAN', function () {
    assert.match(sanText(wspPushPdu(VECTOR), {}) ?? '', /^WAP Push: content type application\/vnd.syncml.ds.notification, application id 5\nSAN DS 1.2/);
    const legacy = encodeLegacySan({ version: '1.1', sessionId: '9', serverId: 's', syncType: 206, datastores: [{ serverUri: './contacts', mimeType: 'text/x-vcard' }] });
    assert.match(sanText(legacy, {}) ?? '', /^legacy SAN \(SyncML 1.1\): server s, session id 9, alert 206\n {2}.\/contacts text\/x-vcard/);
  });

  it('an ordinary SyncML message is not taken for a SAN', function () {
    const shared = requireShared(this);
    const wbxml = readFileSync(path.join(shared, 'corpus', 'txsyncml', 'fixtures', 'client_sync_init.wbxml'));
    assert.equal(sanText(new Uint8Array(wbxml), {}), undefined);
  });

  const yaml = (push: string): string => `account: bob
auth: passthrough
dav: { url: 'http://dav.test/' }
datastores:
  contacts: { uris: [./contacts], collection: /bob/contacts/ }
  calendar: { uris: [./calendar], collection: /bob/calendar/ }
push:
${push}`;

  it('settings: account defaults, device overrides, disabled devices', function () {
    const m = parseMapping(yaml(`  intervalSeconds: 60
  datastores: [contacts]
  devices:
    d1: { phone: '+49170' }
    d2: { phone: '49171', sanVersion: '1.1', datastores: [calendar, contacts], intervalSeconds: 5 }
    d3: { phone: '49172', enabled: false }
`), 'bob.yaml');
    const [d1, d2, ...rest] = devicePushSettings(m);
    assert.equal(rest.length, 0);
    assert.deepEqual([d1!.sanVersion, d1!.intervalSeconds, d1!.datastores.map((d) => d.name), d1!.uiMode, d1!.nonce], ['1.2', 60, ['contacts'], 'background', '']);
    assert.deepEqual([d2!.sanVersion, d2!.intervalSeconds, d2!.datastores.map((d) => d.name)], ['1.1', 5, ['calendar', 'contacts']]);
  });

  it('settings errors name the field', function () {
    assert.throws(() => devicePushSettings(parseMapping(yaml("  devices:\n    d1: { phone: 'call me' }\n"), 'bob.yaml')), /bob.yaml: field push.devices.d1.phone/);
    assert.throws(() => devicePushSettings(parseMapping(yaml("  datastores: [memo]\n  devices:\n    d1: { phone: '1234' }\n"), 'bob.yaml')), /no datastore memo/);
    assert.throws(() => devicePushSettings(parseMapping(yaml("  quietHours: { from: '25:00', to: '07:00' }\n  devices:\n    d1: { phone: '1234' }\n"), 'bob.yaml')), /quietHours.from/);
  });
});
