// Unit tests for the DAV -> GatewayError mapping table (dav-errors.ts).
/// <reference types="mocha" />
import assert from 'node:assert/strict';
import { GatewayError } from '../../../src/errors.js';
import type { GatewayErrorCode } from '../../../src/errors.js';
import {
  DavHttpError,
  davHttpError,
  davNetworkError,
  davPreconditions,
  davReason,
} from '../../../src/datastores/dav-errors.js';
import type { DavScope } from '../../../src/datastores/dav-errors.js';

const URL_ = 'http://127.0.0.1:1/alice/contacts/x.vcf';

describe('dav-errors', () => {
  describe('status mapping', () => {
    const cases: Array<[number, DavScope, GatewayErrorCode]> = [
      [401, 'collection', 'AUTH_FAILED'],
      [401, 'item', 'AUTH_FAILED'],
      [403, 'collection', 'AUTH_FAILED'],
      [403, 'item', 'REJECTED_BY_SERVER'],
      [404, 'item', 'NOT_FOUND'],
      [410, 'item', 'NOT_FOUND'],
      [409, 'item', 'REJECTED_BY_SERVER'],
      [412, 'item', 'ETAG_MISMATCH'],
      [415, 'item', 'REJECTED_BY_SERVER'],
      [400, 'item', 'REJECTED_BY_SERVER'],
      [413, 'item', 'REJECTED_BY_SERVER'],
      [400, 'collection', 'BACKEND_UNAVAILABLE'],
      [408, 'item', 'BACKEND_UNAVAILABLE'],
      [423, 'item', 'BACKEND_UNAVAILABLE'],
      [429, 'collection', 'BACKEND_UNAVAILABLE'],
      [500, 'item', 'BACKEND_UNAVAILABLE'],
      [502, 'collection', 'BACKEND_UNAVAILABLE'],
      [503, 'collection', 'BACKEND_UNAVAILABLE'],
      [302, 'collection', 'BACKEND_UNAVAILABLE'],
    ];
    for (const [status, scope, code] of cases) {
      it(`${status} on ${scope} -> ${code}`, () => {
        const err = davHttpError({ method: 'PUT', url: URL_, status, scope });
        assert.ok(err instanceof GatewayError);
        assert.equal(err.code, code);
        assert.ok(err.cause instanceof DavHttpError);
        assert.equal(err.cause.status, status);
        assert.equal(err.cause.url, URL_);
      });
    }
  });

  describe('DAV:error preconditions', () => {
    const xandikos412 =
      '<ns0:multistatus xmlns:ns0="DAV:" xmlns:ns1="urn:ietf:params:xml:ns:caldav"><ns0:response>' +
      '<ns0:href>http%3A//127.0.0.1%3A5233/alice/contacts/addressbook/g.vcf</ns0:href>' +
      '<ns0:status>HTTP/1.1 412 Precondition Failed</ns0:status><ns0:error>' +
      '<ns1:valid-calendar-data /></ns0:error><ns0:responsedescription>Not a valid calendar ' +
      'file: Missing header and trailer lines</ns0:responsedescription></ns0:response>' +
      '</ns0:multistatus>';

    it('a 412 with a precondition (Xandikos invalid data) is a rejection, not an ETag conflict', () => {
      const err = davHttpError({ method: 'PUT', url: URL_, status: 412, body: xandikos412, scope: 'item' });
      assert.equal(err.code, 'REJECTED_BY_SERVER');
      assert.match(err.message, /Not a valid calendar file: Missing header and trailer lines/);
      assert.match(err.message, /valid-calendar-data/);
    });

    it('no-uid-conflict is ALREADY_EXISTS on create, REJECTED_BY_SERVER on update', () => {
      const body =
        '<?xml version="1.0"?><D:error xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">' +
        '<C:no-uid-conflict><D:href>/alice/contacts/a.vcf</D:href></C:no-uid-conflict></D:error>';
      const f = { method: 'PUT', url: URL_, status: 409, body, scope: 'item' as const };
      assert.equal(davHttpError({ ...f, creating: true }).code, 'ALREADY_EXISTS');
      assert.equal(davHttpError(f).code, 'REJECTED_BY_SERVER');
    });

    it('davPreconditions lists element names whatever the prefix', () => {
      assert.deepEqual(davPreconditions(xandikos412), ['valid-calendar-data']);
      assert.deepEqual(
        davPreconditions('<error xmlns="DAV:"><valid-sync-token/></error>'),
        ['valid-sync-token'],
      );
      assert.deepEqual(davPreconditions('Bad Request'), []);
      assert.deepEqual(davPreconditions(undefined), []);
    });
  });

  describe('reason text', () => {
    it('keeps the server text, without repeating the status line', () => {
      assert.equal(davReason('Bad Request', 'Bad Request'), 'Bad Request');
      assert.equal(
        davReason('Internal Server Error', '500 Internal Server Error\n\nServer got itself in trouble', 500),
        'Internal Server Error: Server got itself in trouble',
      );
      assert.equal(
        davReason('Unsupported Media Type', "Unsupported media type 'text/plain'", 415),
        "Unsupported Media Type: 'text/plain'",
      );
    });

    it('cuts long bodies and ignores XML without a description', () => {
      assert.ok(davReason('X', 'y'.repeat(5000)).length < 400);
      assert.equal(davReason('Conflict', '<D:error xmlns:D="DAV:"><D:foo/></D:error>'), 'Conflict');
    });

    it('an item refusal carries the reason in message and cause', () => {
      const err = davHttpError({
        method: 'PUT',
        url: URL_,
        status: 415,
        statusText: 'Unsupported Media Type',
        body: 'only text/vcard here',
        scope: 'item',
      });
      assert.equal(err.code, 'REJECTED_BY_SERVER');
      assert.match(err.message, /415 Unsupported Media Type: only text\/vcard here/);
      assert.ok(err.cause instanceof DavHttpError);
      assert.match(err.cause.message, /only text\/vcard here/);
    });
  });

  describe('network failures', () => {
    const undiciError = (code: string): Error =>
      new TypeError('fetch failed', { cause: Object.assign(new Error(code), { code }) });

    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET', 'ENOTFOUND']) {
      it(`${code} -> BACKEND_UNAVAILABLE with cause`, () => {
        const original = undiciError(code);
        const err = davNetworkError(original, 'PROPFIND', URL_);
        assert.equal(err.code, 'BACKEND_UNAVAILABLE');
        assert.match(err.message, new RegExp(code));
        assert.equal(err.cause, original);
      });
    }

    it('a timeout (AbortSignal.timeout) -> BACKEND_UNAVAILABLE "timed out"', () => {
      const err = davNetworkError(new DOMException('x', 'TimeoutError'), 'REPORT', URL_);
      assert.equal(err.code, 'BACKEND_UNAVAILABLE');
      assert.match(err.message, /timed out/);
    });

    it('an unknown failure is still BACKEND_UNAVAILABLE and a GatewayError passes through', () => {
      assert.equal(davNetworkError(new Error('weird'), 'GET', URL_).code, 'BACKEND_UNAVAILABLE');
      const ge = new GatewayError('AUTH_FAILED', 'x');
      assert.equal(davNetworkError(ge, 'GET', URL_), ge);
    });
  });
});
