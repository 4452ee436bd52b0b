// `syncml-gateway oauth google`: walks an admin through the OAuth2 installed-app flow with a
// loopback redirect (RFC 8252 §7.3, PKCE RFC 7636) and prints the mapping snippet with the
// refresh token the gateway then uses for Google CardDAV/CalDAV.
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GatewayError } from '../errors.js';
import { HelpRequested, parseCommand, UsageError, VERSION } from './usage.js';
import { GOOGLE_AUTH_URL, GOOGLE_DAV_SCOPES, GOOGLE_TOKEN_URL, tokenRequest } from '../datastores/oauth2.js';

export const OAUTH_USAGE = `usage: syncml-gateway oauth google [options]

Gets a refresh token for Google Contacts/Calendar. Create an OAuth client of type "Desktop app"
in the Google Cloud console first, then run this on a machine with a browser (or forward the port).

  --client-id ID        (or GOOGLE_CLIENT_ID)
  --client-secret S     (or GOOGLE_CLIENT_SECRET)
  --port N              loopback port for the redirect (default: any free port)
  --scope S             space-separated scopes (default: CardDAV + Calendar)
  --timeout SECONDS     how long to wait for the browser (default 300)
  --auth-url URL        authorization endpoint (default Google's)
  --token-url URL       token endpoint (default Google's)
`;

export interface OAuthIo {
  out?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

const base64url = (b: Buffer): string => b.toString('base64url');

const PAGE = (msg: string): string =>
  `<!doctype html><html><body><p>${msg.replace(/[<&>]/g, '')}</p><p>You can close this window.</p></body></html>`;

export async function runOAuth(argv: string[], io: OAuthIo = {}): Promise<void> {
  const out = io.out ?? ((l: string) => console.log(l));
  const env = io.env ?? process.env;
  const [provider, ...args] = argv;
  if (provider === undefined || provider === '--help' || provider === '-h') throw new HelpRequested(OAUTH_USAGE);
  if (provider === '--version' || provider === '-V') throw new HelpRequested(`syncml-gateway ${VERSION}\n`);
  if (provider !== 'google') throw new UsageError(`unknown oauth provider ${provider}`, OAUTH_USAGE);
  const str = { type: 'string' } as const;
  const { values } = parseCommand(args, {
    'client-id': str, 'client-secret': str, port: str, scope: str, timeout: str, 'auth-url': str, 'token-url': str,
  }, OAUTH_USAGE, 0);
  const clientId = values['client-id'] ?? env.GOOGLE_CLIENT_ID;
  const clientSecret = values['client-secret'] ?? env.GOOGLE_CLIENT_SECRET;
  const port = Number(values.port ?? 0);
  const scope = values.scope ?? GOOGLE_DAV_SCOPES.join(' ');
  const timeoutS = Number(values.timeout ?? 300);
  const authUrl = values['auth-url'] ?? GOOGLE_AUTH_URL;
  const tokenUrl = values['token-url'] ?? GOOGLE_TOKEN_URL;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port ${values.port}: not a port number`, OAUTH_USAGE);
  if (!(timeoutS > 0)) throw new UsageError(`--timeout ${values.timeout}: not a number of seconds`, OAUTH_USAGE);
  if (!clientId || !clientSecret) {
    throw new GatewayError('CONFIG_INVALID', `oauth google needs --client-id and --client-secret (or GOOGLE_CLIENT_ID/GOOGLE_CLIENT_SECRET)\n${OAUTH_USAGE}`);
  }

  const state = base64url(randomBytes(16));
  const verifier = base64url(randomBytes(32));
  const challenge = base64url(createHash('sha256').update(verifier).digest());

  // The redirect lands on this loopback server; only 127.0.0.1, only for this one flow.
  let settle!: { ok: (code: string) => void; fail: (err: Error) => void };
  const codePromise = new Promise<string>((ok, fail) => (settle = { ok, fail }));
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    const code = u.searchParams.get('code');
    const error = u.searchParams.get('error');
    if (!code && !error) {
      res.writeHead(404).end();
      return;
    }
    if (u.searchParams.get('state') !== state) {
      res.writeHead(400, { 'Content-Type': 'text/html' }).end(PAGE('State mismatch: this answer belongs to another attempt.'));
      return; // keep waiting for the right one
    }
    if (error) {
      res.writeHead(200, { 'Content-Type': 'text/html' }).end(PAGE(`Authorization refused: ${error}`));
      settle.fail(new GatewayError('AUTH_FAILED', `authorization refused: ${error}`));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html' }).end(PAGE('Authorization received by syncml-gateway.'));
    settle.ok(code!);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const redirectUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const timer = setTimeout(
    () => settle.fail(new GatewayError('AUTH_FAILED', `no answer from the browser within ${timeoutS} s`)),
    timeoutS * 1000,
  );
  try {
    const consent = new URL(authUrl);
    consent.search = new URLSearchParams({
      client_id: clientId,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope,
      // offline + consent: Google returns a refresh token only on a fresh consent.
      access_type: 'offline',
      prompt: 'consent',
      state,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }).toString();
    out('Open this URL in a browser, sign in as the Google account to sync and allow access:');
    out('');
    out(consent.toString());
    out('');
    out(`Waiting for the redirect to ${redirectUri} ...`);
    const code = await codePromise;
    const body = await tokenRequest(tokenUrl, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      client_id: clientId,
      client_secret: clientSecret,
      code_verifier: verifier,
    });
    if (body.status !== 200 || body.error) {
      throw new GatewayError('AUTH_FAILED', `code exchange at ${tokenUrl} failed: ${body.status} ${body.error ?? ''} ${body.error_description ?? ''}`.trim());
    }
    if (!body.refresh_token) {
      throw new GatewayError('AUTH_FAILED', 'the token endpoint returned no refresh token: revoke the app\'s access at https://myaccount.google.com/permissions and run this again');
    }
    out('');
    out('Add this to the account mapping (keep the secrets in the environment):');
    out('');
    out('dav:');
    out('  provider: google');
    out('  url: https://www.googleapis.com/.well-known/carddav');
    out('  oauth2:');
    out(`    clientId: ${clientId}`);
    out('    clientSecret: ${GOOGLE_CLIENT_SECRET}');
    out('    refreshToken: ${GOOGLE_REFRESH_TOKEN}');
    if (tokenUrl !== GOOGLE_TOKEN_URL) out(`    tokenUrl: ${tokenUrl}`);
    out('');
    out('and set in the gateway\'s environment:');
    out(`GOOGLE_REFRESH_TOKEN=${body.refresh_token}`);
  } finally {
    clearTimeout(timer);
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}
