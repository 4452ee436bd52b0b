// A real OAuth2 authorization server on 127.0.0.1 for tests: an authorization endpoint that
// redirects straight back with a code, and a token endpoint implementing the authorization_code
// (with PKCE S256) and refresh_token grants, token expiry and revocation.
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeOAuth {
  authUrl: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** Lifetime of issued access tokens in seconds. */
  expiresIn: number;
  /** Calls per grant type. */
  calls: Record<string, number>;
  issueRefreshToken(): string;
  revoke(refreshToken: string): void;
  /** True when `token` is a live access token. */
  valid(accessToken: string): boolean;
  /** Answer the next token requests with this HTTP status (e.g. 503). */
  failWith?: number;
  close(): Promise<void>;
}

export async function startFakeOAuth(): Promise<FakeOAuth> {
  const codes = new Map<string, { challenge: string; redirectUri: string }>();
  const refreshTokens = new Set<string>();
  const access = new Map<string, number>(); // token -> expiry (ms)
  const token = (): string => randomBytes(12).toString('hex');
  const fake = {
    clientId: 'client-1.apps.example',
    clientSecret: 'shh-secret',
    expiresIn: 3600,
    calls: {} as Record<string, number>,
  } as FakeOAuth;
  const issueAccess = (): { access_token: string; expires_in: number; token_type: string } => {
    const t = `ya29.${token()}`;
    access.set(t, Date.now() + fake.expiresIn * 1000);
    return { access_token: t, expires_in: fake.expiresIn, token_type: 'Bearer' };
  };
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method === 'GET' && u.pathname === '/auth') {
      // The "user" consents at once: redirect with a code bound to the PKCE challenge.
      const code = token();
      codes.set(code, { challenge: u.searchParams.get('code_challenge') ?? '', redirectUri: u.searchParams.get('redirect_uri') ?? '' });
      const back = new URL(u.searchParams.get('redirect_uri')!);
      back.searchParams.set('code', code);
      back.searchParams.set('state', u.searchParams.get('state') ?? '');
      res.writeHead(302, { Location: back.toString() }).end();
      return;
    }
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const f = new URLSearchParams(body);
      const grant = f.get('grant_type') ?? '?';
      fake.calls[grant] = (fake.calls[grant] ?? 0) + 1;
      const reply = (status: number, json: object): void => {
        res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(json));
      };
      if (fake.failWith) return reply(fake.failWith, { error: 'server_error' });
      if (f.get('client_id') !== fake.clientId || f.get('client_secret') !== fake.clientSecret) {
        return reply(401, { error: 'invalid_client' });
      }
      if (grant === 'authorization_code') {
        const c = codes.get(f.get('code') ?? '');
        codes.delete(f.get('code') ?? '');
        const verifier = f.get('code_verifier') ?? '';
        const challenge = createHash('sha256').update(verifier).digest('base64url');
        if (!c || c.challenge !== challenge || c.redirectUri !== f.get('redirect_uri')) {
          return reply(400, { error: 'invalid_grant', error_description: 'bad code, verifier or redirect_uri' });
        }
        const rt = fake.issueRefreshToken();
        return reply(200, { ...issueAccess(), refresh_token: rt });
      }
      if (grant === 'refresh_token') {
        if (!refreshTokens.has(f.get('refresh_token') ?? '')) {
          return reply(400, { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' });
        }
        return reply(200, issueAccess());
      }
      return reply(400, { error: 'unsupported_grant_type' });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  fake.authUrl = `http://127.0.0.1:${port}/auth`;
  fake.tokenUrl = `http://127.0.0.1:${port}/token`;
  fake.issueRefreshToken = () => {
    const rt = `1//${token()}`;
    refreshTokens.add(rt);
    return rt;
  };
  fake.revoke = (rt) => void refreshTokens.delete(rt);
  fake.valid = (t) => (access.get(t) ?? 0) > Date.now();
  fake.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return fake;
}
