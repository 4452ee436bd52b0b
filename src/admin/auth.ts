// The admin page's own credential (HTTP Basic; ADMIN_PASSWORD or an scrypt ADMIN_PASSWORD_HASH)
// and CSRF tokens (HMAC) for its forms. Nothing here is ever logged.
import { createHash, createHmac, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { GatewayError } from '../errors.js';

const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 } as const;
const CSRF_MAX_AGE_MS = 12 * 3600 * 1000;
/** A verified Authorization header is remembered this long (scrypt is slow on purpose). */
const VERIFIED_TTL_MS = 60_000;
/** Failed logins per client address and minute before further attempts get 429 (no scrypt). */
const FAILURES_PER_MINUTE = 10;

/** `scrypt$N$r$p$<salt b64>$<key b64>`, for ADMIN_PASSWORD_HASH. */
export function hashAdminPassword(password: string, salt: Buffer = randomBytes(16)): string {
  const key = scryptSync(password, salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p });
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64'), key.toString('base64')].join('$');
}

export interface AdminCredential {
  user: string;
  /** ADMIN_PASSWORD (plain) or ADMIN_PASSWORD_HASH (scrypt$…). */
  password?: string;
  passwordHash?: string;
}

/** Parses an scrypt hash; throws with a message naming the expected format. */
function parseHash(hash: string): { N: number; r: number; p: number; salt: Buffer; key: Buffer } {
  const parts = hash.split('$');
  const [tag, n, r, p, salt, key] = parts;
  if (parts.length !== 6 || tag !== 'scrypt' || !salt || !key) throw new GatewayError('CONFIG_INVALID', 'ADMIN_PASSWORD_HASH must look like scrypt$16384$8$1$<salt b64>$<key b64>');
  return { N: Number(n), r: Number(r), p: Number(p), salt: Buffer.from(salt, 'base64'), key: Buffer.from(key, 'base64') };
}

export class AdminAuth {
  readonly #user: Buffer;
  readonly #check: (password: string) => boolean;
  readonly #csrfKey: Buffer;
  /** sha256(header) -> until (ms); failures per address -> [window start, count]. */
  readonly #verified = new Map<string, number>();
  readonly #failures = new Map<string, [number, number]>();

  constructor(c: AdminCredential) {
    this.#user = Buffer.from(c.user, 'utf8');
    if (c.passwordHash) {
      const h = parseHash(c.passwordHash);
      this.#check = (pw) => {
        const key = scryptSync(pw, h.salt, h.key.length, { N: h.N, r: h.r, p: h.p, maxmem: 256 * h.N * h.r });
        return timingSafeEqual(key, h.key);
      };
      this.#csrfKey = createHmac('sha256', 'syncml-admin-csrf').update(c.passwordHash).digest();
    } else if (c.password) {
      const expected = createHmac('sha256', 'syncml-admin-pw').update(c.password).digest();
      this.#check = (pw) => timingSafeEqual(createHmac('sha256', 'syncml-admin-pw').update(pw).digest(), expected);
      this.#csrfKey = createHmac('sha256', 'syncml-admin-csrf').update(c.password).digest();
    } else {
      throw new Error('admin credential needs ADMIN_PASSWORD or ADMIN_PASSWORD_HASH');
    }
  }

  /** True when the Authorization header carries the admin user and password. */
  verifyHeader(header: string | undefined): boolean {
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
    if (!m) return false;
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return false;
    const user = Buffer.from(decoded.slice(0, colon), 'utf8');
    const userOk = user.length === this.#user.length && timingSafeEqual(user, this.#user);
    const pwOk = this.#check(decoded.slice(colon + 1));
    return userOk && pwOk;
  }

  middleware(now: () => number = Date.now): (req: Request, res: Response, next: NextFunction) => void {
    return (req, res, next) => {
      const t = now();
      const header = req.headers.authorization;
      const digest = header ? createHash('sha256').update(header).digest('base64') : '';
      if (header && (this.#verified.get(digest) ?? 0) > t) {
        next();
        return;
      }
      const address = req.socket.remoteAddress ?? '?';
      const failed = this.#failures.get(address);
      if (failed && t - failed[0] < 60_000 && failed[1] >= FAILURES_PER_MINUTE) {
        res.status(429).set('Retry-After', '60').type('text/plain').send('too many failed admin logins; try again in a minute\n');
        return;
      }
      if (header && this.verifyHeader(header)) {
        if (this.#verified.size > 100) this.#verified.clear();
        this.#verified.set(digest, t + VERIFIED_TTL_MS);
        next();
        return;
      }
      if (header) {
        if (this.#failures.size > 10_000) this.#failures.clear();
        this.#failures.set(address, failed && t - failed[0] < 60_000 ? [failed[0], failed[1] + 1] : [t, 1]);
      }
      res.status(401).set('WWW-Authenticate', 'Basic realm="syncml-gateway admin", charset="UTF-8"').type('text/plain').send('admin login required\n');
    };
  }

  /** A CSRF token for the forms of one page: `<issued ms>.<HMAC>`. */
  csrfToken(now = Date.now()): string {
    return `${now}.${this.#mac(String(now))}`;
  }

  verifyCsrf(token: unknown, now = Date.now()): boolean {
    if (typeof token !== 'string') return false;
    const m = /^(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!m) return false;
    const issued = Number(m[1]);
    if (!(now - issued <= CSRF_MAX_AGE_MS && issued <= now + 60_000)) return false;
    const expected = Buffer.from(this.#mac(m[1]!));
    const given = Buffer.from(m[2]!);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  #mac(data: string): string {
    return createHmac('sha256', this.#csrfKey).update(`csrf:${data}`).digest('base64url');
  }
}

export interface AdminSettings {
  credential?: AdminCredential;
  /** Separate listener for /admin and /metrics (ADMIN_PORT); undefined: the main port. */
  port?: number;
  host?: string;
}

/** ADMIN_USER (default admin), ADMIN_PASSWORD / ADMIN_PASSWORD_HASH, ADMIN_PORT, ADMIN_HOST. */
export function adminSettingsFrom(env: NodeJS.ProcessEnv): AdminSettings {
  const out: AdminSettings = {};
  const password = env['ADMIN_PASSWORD'] || undefined;
  const passwordHash = env['ADMIN_PASSWORD_HASH'] || undefined;
  if (passwordHash) parseHash(passwordHash);
  if (password || passwordHash) {
    out.credential = { user: env['ADMIN_USER'] || 'admin', ...(passwordHash ? { passwordHash } : { password }) };
  }
  const port = env['ADMIN_PORT'];
  if (port !== undefined && port !== '') {
    const n = Number(port);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new GatewayError('CONFIG_INVALID', `ADMIN_PORT: not a port number: ${port}`);
    out.port = n;
  }
  if (env['ADMIN_HOST']) out.host = env['ADMIN_HOST'];
  return out;
}
