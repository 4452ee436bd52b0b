// The decode worker holds ~16-23 MB of RSS (its own V8 isolate): it is started by the first large
// body and exits once idle, so an idle gateway does not keep it (issue #15, memory).
import assert from 'node:assert/strict';
import { DecodePool, INLINE_DECODE_BYTES } from '../../../src/http/decode-pool.js';
import { waitUntil } from '../../support/processes.js';

/** A valid SyncML message larger than the inline limit: it is decoded by a worker. */
function largeMessage(): Uint8Array {
  const alerts = Array.from({ length: 6000 }, (_, i) => `<Alert><CmdID>${i + 1}</CmdID><Data>200</Data></Alert>`).join('');
  const xml = `<?xml version="1.0"?><SyncML><SyncHdr><VerDTD>1.2</VerDTD><VerProto>SyncML/1.2</VerProto><SessionID>1</SessionID><MsgID>1</MsgID><Target><LocURI>http://gw/sync</LocURI></Target><Source><LocURI>IMEI:1</LocURI></Source></SyncHdr><SyncBody>${alerts}<Final/></SyncBody></SyncML>`;
  const body = new TextEncoder().encode(xml);
  assert.ok(body.length > INLINE_DECODE_BYTES);
  return body;
}

describe('DecodePool: worker threads', function () {
  this.timeout(30_000);

  it('starts no worker for a small body, one for a large body, and lets it exit when idle', async function () {
    const pool = new DecodePool(1, 300);
    const limits = { maxElements: 100_000, maxAttributes: 100_000, maxReferences: 100_000 };
    try {
      await pool.decode(new TextEncoder().encode('<SyncML><SyncHdr/><SyncBody><Final/></SyncBody></SyncML>'), 'xml', limits).catch(() => undefined);
      assert.equal(pool.workerThreads, 0);
      const decoded = await pool.decode(largeMessage(), 'xml', limits);
      assert.equal(decoded.message.body.length, 6000);
      assert.equal(pool.workerThreads, 1);
      await waitUntil(async () => pool.workerThreads === 0, 'the idle decode worker exits', 10_000);
    } finally {
      await pool.close();
    }
  });
});
