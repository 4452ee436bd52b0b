// Issue #13, defect 9 with the real client: a phone sends PHOTO;TYPE=PNG;ENCODING=BASE64, the
// server stores TYPE=PNG, and a second phone that gets the contacts from the server (slow sync)
// must store them as PNG again. The gateway used to send `PHOTO;PNG;ENCODING=BASE64`, which
// SyncEvolution stores as TYPE=unknown. Debian's SyncEvolution (vCard 2.1 on the wire and on
// disk), real Radicale, XML and WBXML.
import assert from 'node:assert/strict';
import path from 'node:path';
import { makeTempDir, startRadicale, SyncEvolutionClient, tinyPng, type DavServerHandle } from '../support/index.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const card = (n: number, png: string): string =>
  `BEGIN:VCARD\r\nVERSION:2.1\r\nN:Photo;Pat${n}\r\nFN:Pat${n} Photo\r\nTEL;CELL:+1555010${n}\r\nPHOTO;TYPE=PNG;ENCODING=BASE64:\r\n ${png}\r\n\r\nEND:VCARD\r\n`;

const photoLine = (text: string): string => text.replace(/\r?\n[ \t]/g, '').split(/\r?\n/).find((l) => /^PHOTO[;:]/i.test(l)) ?? '';

for (const wbxml of [false, true]) {
  describe(`interop (#13 defect 9): PHOTO type towards the phone, ${wbxml ? 'WBXML' : 'XML'}`, function () {
    this.timeout(240_000);
    let dav: DavServerHandle;
    let gw: TestGateway;
    before(async function () {
      dav = await startRadicale();
      gw = await startTestGateway({ dav });
    });
    after(async function () {
      await gw?.close();
      await dav?.dispose();
    });

    it('phone A sends PNG photos; phone B receives them as PNG, data unchanged', async function () {
      const dir = makeTempDir(`fidelity-photo-${wbxml ? 'wbxml' : 'xml'}-`);
      const common = { url: gw.url, user: 'alice', password: dav.password, auth: 'basic' as const, wbxml, legacy: true, datastores: { contacts: 'contacts' } };
      const a = new SyncEvolutionClient({ ...common, dir: path.join(dir, 'a'), deviceId: 'fidelity-photo-a' });
      const pngs = [tinyPng(200, 10, 10), tinyPng(10, 200, 10), tinyPng(10, 10, 200)].map((b) => b.toString('base64'));
      pngs.forEach((p, k) => a.writeItem('contacts', `pat${k}.vcf`, card(k, p)));
      const ra = await a.sync('slow', { only: ['contacts'] });
      assert.equal(ra.exitCode, 0, ra.output.slice(-2000));

      const onServer = await dav.listItems('contacts');
      assert.equal(onServer.length, 3);
      for (const item of onServer) assert.match(photoLine(item.data), /^PHOTO;.*TYPE=PNG/i, 'server stores TYPE=PNG');

      const b = new SyncEvolutionClient({ ...common, dir: path.join(dir, 'b'), deviceId: 'fidelity-photo-b' });
      const rb = await b.sync('slow', { only: ['contacts'] });
      assert.equal(rb.exitCode, 0, rb.output.slice(-2000));
      const got = [...(await b.readItems('contacts')).values()];
      assert.equal(got.length, 3);
      for (const text of got) {
        const line = photoLine(text);
        assert.match(line, /TYPE=PNG/i, `phone B stores PNG: ${line.slice(0, 80)}`);
        assert.doesNotMatch(line, /unknown/i);
        const data = line.slice(line.indexOf(':') + 1).replace(/\s+/g, '');
        assert.ok(pngs.includes(data), 'photo bytes unchanged');
      }
    });
  });
}
