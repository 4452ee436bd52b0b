// Issue #13, defect 10 end to end: a SyncML 1.0 XML client sends its DevInf as CDATA text in its
// Put. The gateway used to answer 406 and ask again with Get; now it stores the DevInf (Put 200,
// no Get), and the phone's datastore name `pb` (defect 11) finds the contacts datastore. Real
// Radicale, embedded store.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, startRadicale, type DavServerHandle } from '../support/index.js';
import { postSyncml, startTestGateway, statusesOf, type TestGateway } from '../support/gateway.js';
import { accountYaml } from '../support/mapping.js';

const FIX = path.join(repoRoot, 'test', 'fixtures', 'convert', 'fidelity');

describe('fidelity (#13): DevInf as CDATA text in an XML Put (real gateway, Radicale)', function () {
  this.timeout(60_000);
  let dav: DavServerHandle;
  let gw: TestGateway;
  before(async function () {
    dav = await startRadicale();
    gw = await startTestGateway({
      dav,
      mappingYaml: accountYaml(dav, { datastores: { contacts: { uris: ['contacts', 'pb', 'EriPBDB'], collection: dav.collections.contacts } } }),
    });
  });
  after(async function () {
    await gw?.close();
    await dav?.dispose();
  });

  for (const file of ['devinf-cdata-put.xml', 'devinf-escaped-put.xml']) {
    it(`${file}: Put 200, no Get for the DevInf, Alert for "pb" answered`, async function () {
      const cred = Buffer.from(`${dav.user}:${dav.password}`).toString('base64');
      const xml = readFileSync(path.join(FIX, file), 'utf8')
        .replace('http://127.0.0.1/sync', gw.url)
        .replace('<SessionID>1</SessionID>', `<SessionID>${file.length}</SessionID>`)
        .replace('</Source>\n<Meta>', `</Source><Cred><Meta><Format xmlns="syncml:metinf">b64</Format><Type xmlns="syncml:metinf">syncml:auth-basic</Type></Meta><Data>${cred}</Data></Cred>\n<Meta>`);
      const res = await postSyncml(gw.url, xml);
      assert.equal(res.status, 200, res.text.slice(0, 300));
      const st = statusesOf(res.message);
      assert.equal(st.find((s) => s.cmd === 'SyncHdr')?.data, '212', 'authenticated');
      assert.equal(st.find((s) => s.cmd === 'Put')?.data, '200', 'DevInf accepted (was 406)');
      assert.ok(!res.message!.body.some((c) => c.kind === 'Get'), 'no Get for the DevInf it already has');
      const alertStatus = st.find((s) => s.cmd === 'Alert')?.data;
      assert.ok(alertStatus === '200' || alertStatus === '508', `Alert for pb answered ${alertStatus}`);
    });
  }
});
