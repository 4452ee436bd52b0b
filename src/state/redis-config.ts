// How the Redis state store finds Redis: a plain URL, Sentinel or Cluster, from an object or
// from one REDIS_URL-style string (redis://, rediss://, redis+sentinel://, redis+cluster://).
import { GatewayError } from '../errors.js';

export interface RedisAddress {
  host: string;
  port: number;
}

/** Timeouts that keep a dead Redis from hanging a phone's HTTP request. */
export interface RedisTimeouts {
  /** TCP connect timeout (ms); default 2000. */
  connectTimeoutMs?: number;
  /** Per-command timeout (ms); default 2000. */
  commandTimeoutMs?: number;
}

/** `redis://[user:pass@]host:port[/db]` or `rediss://…` (TLS), passed to ioredis as is. */
export interface RedisUrlConfig extends RedisTimeouts {
  url: string;
}

/** Sentinel: ioredis asks the sentinels for the current master of `name` and follows failovers. */
export interface RedisSentinelConfig extends RedisTimeouts {
  sentinels: RedisAddress[];
  /** Master group name as configured in sentinel.conf (`sentinel monitor <name> …`). */
  name: string;
  username?: string;
  password?: string;
  sentinelPassword?: string;
  db?: number;
  tls?: boolean;
}

/** Cluster: any subset of the nodes; ioredis discovers the rest and follows slot moves. */
export interface RedisClusterConfig extends RedisTimeouts {
  cluster: RedisAddress[];
  username?: string;
  password?: string;
  tls?: boolean;
}

export type RedisStoreConfig = RedisUrlConfig | RedisSentinelConfig | RedisClusterConfig;

function parseHosts(list: string, defaultPort: number, url: string): RedisAddress[] {
  return list.split(',').map((hp) => {
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hp.trim());
    if (!m) throw new GatewayError('CONFIG_INVALID', `Redis URL ${redact(url)}: bad host "${hp}"`);
    return { host: m[1].replace(/^\[|\]$/g, ''), port: m[2] ? Number(m[2]) : defaultPort };
  });
}

function redact(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, '//***@');
}

/**
 * Turn a REDIS_URL-style string into a config:
 * - `redis://[user:pass@]host[:6379][/db]`, `rediss://…`: one server (URL handed to ioredis);
 * - `redis+sentinel://[user:pass@]h1[:26379],h2[:26379]/<masterName>[/db]` (add `?tls=1`
 *   for TLS to the master; the password is used for the master and the sentinels);
 * - `redis+cluster://[user:pass@]h1[:6379],h2[:6379]` (add `?tls=1` for TLS).
 */
export function parseRedisUrl(url: string, timeouts: RedisTimeouts = {}): RedisStoreConfig {
  const m = /^(redis|rediss|redis\+sentinel|redis\+cluster):\/\/(?:([^@/]*)@)?([^/?]+)(\/[^?]*)?(?:\?(.*))?$/.exec(url);
  if (!m) throw new GatewayError('CONFIG_INVALID', `not a Redis URL: ${redact(url)}`);
  const [, scheme, auth, hosts, path = '', query = ''] = m;
  if (scheme === 'redis' || scheme === 'rediss') return { url, ...timeouts };

  let username: string | undefined;
  let password: string | undefined;
  if (auth) {
    const i = auth.indexOf(':');
    username = decodeURIComponent(i < 0 ? auth : auth.slice(0, i)) || undefined;
    password = i < 0 ? undefined : decodeURIComponent(auth.slice(i + 1));
  }
  const tls = /(^|&)tls=(1|true)(&|$)/.test(query);
  const segments = path.split('/').filter(Boolean);
  if (scheme === 'redis+cluster') {
    return { cluster: parseHosts(hosts, 6379, url), username, password, tls, ...timeouts };
  }
  const name = segments[0];
  if (!name) throw new GatewayError('CONFIG_INVALID', `Redis URL ${redact(url)}: the master name is missing`);
  const db = segments[1] === undefined ? undefined : Number(segments[1]);
  if (db !== undefined && !Number.isInteger(db)) {
    throw new GatewayError('CONFIG_INVALID', `Redis URL ${redact(url)}: bad db "${segments[1]}"`);
  }
  return {
    sentinels: parseHosts(hosts, 26379, url),
    name: decodeURIComponent(name),
    username,
    password,
    sentinelPassword: password,
    db,
    tls,
    ...timeouts,
  };
}

/** A log-safe description of where the store connects. */
export function describeRedisConfig(c: RedisStoreConfig): string {
  if ('url' in c) return redact(c.url);
  if ('sentinels' in c) return `sentinel ${c.name}@${c.sentinels.map((a) => `${a.host}:${a.port}`).join(',')}`;
  return `cluster ${c.cluster.map((a) => `${a.host}:${a.port}`).join(',')}`;
}
