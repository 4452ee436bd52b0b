// parseRedisUrl (REDIS_URL forms for standalone, Sentinel and Cluster) and the key escaping
// that keeps ids with `{`, `}`, `|`, `:` from breaking hash tags or colliding.
/// <reference types="mocha" />
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isGatewayError } from '../../../src/errors.js';
import { describeRedisConfig, parseRedisUrl } from '../../../src/state/redis-config.js';
import { deviceTag, escapeSegment, escapeTagPart, keys, unescapeKeyPart } from '../../../src/state/redis-keys.js';

describe('parseRedisUrl', function () {
  it('hands redis:// and rediss:// URLs to ioredis unchanged', function () {
    assert.deepEqual(parseRedisUrl('redis://127.0.0.1:6379/2'), { url: 'redis://127.0.0.1:6379/2' });
    assert.deepEqual(parseRedisUrl('rediss://u:p@redis.example:6380', { commandTimeoutMs: 500 }), {
      url: 'rediss://u:p@redis.example:6380',
      commandTimeoutMs: 500,
    });
  });

  it('reads redis+sentinel:// with hosts, default port, master name, db and password', function () {
    assert.deepEqual(parseRedisUrl('redis+sentinel://:s%40cret@10.0.0.1,10.0.0.2:26380/mymaster/3?tls=1'), {
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: '10.0.0.2', port: 26380 },
      ],
      name: 'mymaster',
      username: undefined,
      password: 's@cret',
      sentinelPassword: 's@cret',
      db: 3,
      tls: true,
    });
  });

  it('reads redis+cluster:// with IPv6 and user', function () {
    assert.deepEqual(parseRedisUrl('redis+cluster://gw:pw@[::1]:7000,node2'), {
      cluster: [
        { host: '::1', port: 7000 },
        { host: 'node2', port: 6379 },
      ],
      username: 'gw',
      password: 'pw',
      tls: false,
    });
  });

  it('rejects what it cannot read with CONFIG_INVALID, without echoing the password', function () {
    for (const bad of ['http://x', 'redis+sentinel://h1,h2', 'redis+sentinel://h/m/x', 'redis+cluster://h:port']) {
      assert.throws(() => parseRedisUrl(bad), (err: unknown) => isGatewayError(err, 'CONFIG_INVALID'), bad);
    }
    assert.throws(
      () => parseRedisUrl('redis+sentinel://:hunter2@h1'),
      (err: unknown) => isGatewayError(err) && !err.message.includes('hunter2'),
    );
    assert.equal(describeRedisConfig({ url: 'redis://:hunter2@h:1' }), 'redis://***@h:1');
  });
});

describe('Redis key scheme', function () {
  it('matches the documented example', function () {
    assert.equal(keys.map({ account: 'alice', deviceId: 'IMEI:123', datastore: 'contacts' }), 'sgw:v1:{alice|IMEI:123}:ds:contacts:map');
    assert.equal(keys.lock({ account: 'alice', deviceId: 'IMEI:123' }), 'sgw:v1:{alice|IMEI:123}:lock');
  });

  it('a tag never contains an inner brace or a second separator, and escaping is reversible', function () {
    fc.assert(
      fc.property(fc.string(), fc.string(), (account, deviceId) => {
        const tag = deviceTag({ account, deviceId });
        const inner = tag.slice(1, -1);
        assert.ok(!/[{}]/.test(inner));
        assert.equal(inner.split('|').length, 2);
        assert.equal(unescapeKeyPart(escapeTagPart(account)), account);
        assert.equal(unescapeKeyPart(escapeSegment(deviceId)), deviceId);
        assert.ok(!escapeSegment(deviceId).includes(':'));
      }),
    );
  });

  it('different devices get different tags (no collisions through escaping)', function () {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), fc.string(), (a1, d1, a2, d2) => {
        fc.pre(a1 !== a2 || d1 !== d2);
        assert.notEqual(deviceTag({ account: a1, deviceId: d1 }), deviceTag({ account: a2, deviceId: d2 }));
      }),
    );
  });
});
