// The one place a device's SyncML status for a server change becomes the plain outcome the sync
// layer takes.
import assert from 'node:assert/strict';
import { confirmationForStatus, Status } from '../../../src/protocol/status.js';

describe('protocol/status: status -> outcome for the sync layer', function () {
  it('2xx is confirmed', function () {
    for (const code of [200, 201, 207, 208, 209, 211, 299]) assert.equal(confirmationForStatus(code), 'confirmed', String(code));
  });

  it('404 means the item is gone on the device', function () {
    assert.equal(confirmationForStatus(Status.NOT_FOUND), 'gone');
  });

  it('anything else is refused, also codes next to the success range and a status that is not a number', function () {
    for (const code of [199, 300, 400, 401, 403, 405, 415, 418, 500, 510, Number('x')]) assert.equal(confirmationForStatus(code), 'refused', String(code));
  });
});
