// Sealing of secrets kept in the state store (a passthrough account's DAV password while its
// session lives): AES-256-GCM from node:crypto, a random 96-bit IV per value, the purpose bound
// as additional data so a sealed value cannot be moved to another field. The key comes from
// STATE_SECRET; the embedded store may generate one in a 0600 file beside its database.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GatewayError } from '../errors.js';

const VERSION = 'v1';
export const KEY_FILE_NAME = 'state.key';

export class SecretBox {
  readonly #key: Buffer;

  /** `secret`: 32 bytes as base64/hex, or any passphrase of 16+ characters (hashed to a key). */
  constructor(secret: string) {
    this.#key = deriveKey(secret);
  }

  seal(plain: string, purpose: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.#key, iv);
    c.setAAD(Buffer.from(purpose, 'utf8'));
    const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return [VERSION, iv.toString('base64url'), body.toString('base64url'), c.getAuthTag().toString('base64url')].join('.');
  }

  /** Throws STATE_FAILED when the value was not sealed with this key and purpose. */
  open(sealed: string, purpose: string): string {
    const [v, iv, body, tag] = sealed.split('.');
    if (v !== VERSION || !iv || body === undefined || !tag) throw new GatewayError('STATE_FAILED', 'sealed value has an unknown format');
    try {
      const d = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(iv, 'base64url'));
      d.setAAD(Buffer.from(purpose, 'utf8'));
      d.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([d.update(Buffer.from(body, 'base64url')), d.final()]).toString('utf8');
    } catch (err) {
      throw new GatewayError('STATE_FAILED', 'sealed value cannot be opened (STATE_SECRET changed?)', { cause: err });
    }
  }
}

function deriveKey(secret: string): Buffer {
  const s = secret.trim();
  if (/^[0-9a-f]{64}$/i.test(s)) return Buffer.from(s, 'hex');
  const b64 = Buffer.from(s, 'base64');
  if (b64.length === 32 && /^[A-Za-z0-9+/_-]+=*$/.test(s)) return b64;
  if (s.length < 16) throw new GatewayError('CONFIG_INVALID', 'STATE_SECRET is too short: use 32 random bytes (base64 or hex) or 16+ characters');
  return createHash('sha256').update(`syncml-dav-gateway state key\u0000${s}`).digest();
}

/**
 * The state store's SecretBox: STATE_SECRET when set; else, for the embedded store only, a key
 * generated once into `<stateDir>/state.key` (mode 0600). Redis mode refuses to start without one:
 * several processes must share the key, and the key must not live beside the data it protects.
 */
export function loadSecretBox(o: { stateSecret?: string; redis: boolean; stateDir: string }): SecretBox {
  if (o.stateSecret) return new SecretBox(o.stateSecret);
  if (o.redis) {
    throw new GatewayError('CONFIG_INVALID', 'STATE_SECRET must be set when REDIS_URL is used (it encrypts DAV passwords held for running sessions); e.g. `openssl rand -base64 32`');
  }
  const file = path.join(o.stateDir, KEY_FILE_NAME);
  if (!existsSync(file)) {
    try {
      writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (err) {
      // Another process of the same embedded store created it first: use theirs.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  chmodSync(file, 0o600);
  return new SecretBox(readFileSync(file, 'utf8'));
}
