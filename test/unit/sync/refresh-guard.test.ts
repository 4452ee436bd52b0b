// The refresh guard's verdicts (sync policy): how many deletes a refresh from the client may
// cause, judged from the announced count and from the plan, and holding items back.
import assert from 'node:assert/strict';
import { createLogger } from '../../../src/logger.js';
import { checkAnnouncedRefresh, holdRefreshWrite, verdictFromAnnounced, verdictFromPlan } from '../../../src/sync/refresh-guard.js';
import { emptyStats, type DatastoreSessionState, type SyncMode } from '../../../src/sync/types.js';

const half = { maxShare: 0.5, allow: false };
const log = createLogger('silent');

function ds(mode: SyncMode): DatastoreSessionState {
  return {
    name: 'contacts', mode, clientUri: './c', serverUri: 'c', clientNext: '', serverNext: '', deviceFormat: { type: 'text/x-vcard' },
    touched: [], claimed: [], seenLuids: [], outgoing: [], outgoingComputed: false, awaitingMap: {}, tempGuidCounter: 0,
    clientDone: false, serverDone: false, stats: emptyStats(),
  };
}

describe('sync/refresh-guard', function () {
  it('from the announced count: exactly the share is allowed, one more item is refused', function () {
    assert.equal(verdictFromAnnounced(half, 10, 5), undefined);
    const r = verdictFromAnnounced(half, 10, 4);
    assert.deepEqual({ deleted: r?.deleted, serverItems: r?.serverItems }, { deleted: 6, serverItems: 10 });
    assert.equal(r?.reason, 'refresh from the phone would delete at least 6 of 10 items on the server (more than 50 %); refused by the refresh guard');
  });

  it('from the announced count: an empty server, more items announced than held, or allow: never refused', function () {
    assert.equal(verdictFromAnnounced(half, 0, 0), undefined);
    assert.equal(verdictFromAnnounced(half, 10, 50), undefined);
    assert.equal(verdictFromAnnounced({ maxShare: 0.5, allow: true }, 10, 0), undefined);
    assert.ok(verdictFromAnnounced({ maxShare: 0, allow: false }, 10, 9));
  });

  it('from the plan: the share of deletions decides, allow overrides', function () {
    assert.equal(verdictFromPlan(half, { deletions: 5, total: 10 }), undefined);
    assert.equal(verdictFromPlan(half, { deletions: 0, total: 0 }), undefined);
    assert.equal(verdictFromPlan({ maxShare: 0.5, allow: true }, { deletions: 10, total: 10 }), undefined);
    const r = verdictFromPlan(half, { deletions: 6, total: 10 });
    assert.equal(r?.reason, 'refresh from the phone would delete 6 of 10 items on the server (more than 50 %); refused by the refresh guard');
    assert.equal(r?.deleted, 6);
  });

  it('the announced count is judged once per datastore, only for a refresh from the client, and a refusal fails it', async function () {
    const sync = { serverCount: async () => 10 };
    const other = ds('slow');
    assert.equal(await checkAnnouncedRefresh(other, sync, half, 0, log), undefined);
    assert.equal(other.refreshChecked, undefined);
    const refresh = ds('refresh-from-client');
    assert.equal(await checkAnnouncedRefresh(refresh, sync, half, undefined, log), undefined); // no count: judged later
    assert.equal(refresh.refreshChecked, true);
    assert.equal(await checkAnnouncedRefresh(refresh, sync, half, 0, log), undefined); // already checked
    const refused = ds('refresh-from-client');
    const r = await checkAnnouncedRefresh(refused, sync, half, 1, log);
    assert.equal(r?.deleted, 9);
    assert.equal(refused.failed, true);
  });

  it('holds back Adds and Replaces of a refresh from the client only', function () {
    const w = { kind: 'Add' as const, luid: '1', data: 'BEGIN:VCARD', format: { type: 'text/x-vcard' } };
    const two = ds('two-way');
    assert.equal(holdRefreshWrite(two, w), false);
    assert.equal(two.pendingWrites, undefined);
    const refresh = ds('refresh-from-client');
    assert.equal(holdRefreshWrite(refresh, w), true);
    assert.deepEqual(refresh.pendingWrites, [w]);
  });
});
