// The client's Status command: a 508 to our Alert switches to slow sync; item statuses reach the
// sync layer as outcomes (never numbers) and each sent change is confirmed once.
import assert from 'node:assert/strict';
import type { StatusCmd } from '../../../src/codec/model.js';
import { onStatus } from '../../../src/protocol/commands/status.js';
import type { DatastoreSync } from '../../../src/sync/datastore-sync.js';
import type { ChangeConfirmation } from '../../../src/sync/types.js';
import { context, datastore, session } from './support.js';

function status(msgRef: string, cmdRef: string, data: string): StatusCmd {
  return { kind: 'Status', cmdId: '9', msgRef, cmdRef, cmd: 'Add', targetRefs: [], sourceRefs: [], items: [], data };
}

describe('protocol/commands/status', function () {
  it('508 to the server Alert: slow sync', async function () {
    const ds = datastore();
    const sess = session([ds], { sentAlerts: { '1:3': 'contacts' } });
    await onStatus(context(sess, {} as DatastoreSync, 10_000), status('1', '3', '508'));
    assert.equal(ds.mode, 'slow');
    assert.deepEqual(sess.sentAlerts, {});
  });

  it('item statuses become outcomes for DatastoreSync.confirm, once per sent change', async function () {
    const ds = datastore();
    const sess = session([ds], {
      sent: {
        '2:4:0': { ds: 'contacts', op: 'Add', href: 'a' },
        '2:5:0': { ds: 'contacts', op: 'Delete', href: 'b', luid: '2' },
        '2:6:0': { ds: 'contacts', op: 'Replace', href: 'c', luid: '3' },
      },
    });
    const seen: Array<[string, ChangeConfirmation]> = [];
    const sync = { confirm: async (_s: unknown, sent: { href: string }, outcome: ChangeConfirmation) => void seen.push([sent.href, outcome]) };
    const ctx = context(sess, sync as unknown as DatastoreSync, 10_000);
    await onStatus(ctx, status('2', '4', '201'));
    await onStatus(ctx, status('2', '5', '404'));
    await onStatus(ctx, status('2', '6', '500'));
    await onStatus(ctx, status('2', '6', '200')); // already answered: nothing
    assert.deepEqual(seen, [['a', 'confirmed'], ['b', 'gone'], ['c', 'refused']]);
    assert.deepEqual(sess.sent, {});
  });

  it("an Add kept by its guid is confirmed with the details in awaitingMap; one already mapped has nothing left", async function () {
    const ds = datastore({ awaitingMap: { g7: { op: 'Add', href: '/c/x.vcf', guid: 'g7', etag: '"1"' } } });
    const sess = session([ds], { sent: { '2:7:0': { ds: 'contacts', op: 'Add', guid: 'g7' }, '2:8:0': { ds: 'contacts', op: 'Add', guid: 'g8' } } });
    const seen: Array<[string, string | undefined, ChangeConfirmation]> = [];
    const sync = { confirm: async (_s: unknown, sent: { href: string; etag?: string }, outcome: ChangeConfirmation) => void seen.push([sent.href, sent.etag, outcome]) };
    const ctx = context(sess, sync as unknown as DatastoreSync, 10_000);
    await onStatus(ctx, status('2', '7', '500'));
    await onStatus(ctx, status('2', '8', '200'));
    assert.deepEqual(seen, [['/c/x.vcf', '"1"', 'refused']]);
    assert.deepEqual(sess.sent, {});
  });
});
