// The `syncml-gateway` command line: serve (default), decode, encode, convert, accounts, devices,
// oauth, restore. Exit status: 0 ok, 1 not found or failed, 2 usage, 3 configuration invalid
// (src/cli/usage.ts, docs/admin.md).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AccountRegistry } from '../accounts/mappings.js';
import { decodeDocument, decodeXml, formatXml } from '../codec/index.js';
import { encodeWbxml } from '../codec/wbxml/index.js';
import { loadSettings } from '../config.js';
import { describeError } from '../errors.js';
import { exitCodeFor, isHelpRequested, isUsageError, parseCommand, UsageError, VERSION } from './usage.js';

export const USAGE = `usage: syncml-gateway [--help | --version] [command] [--help]

commands:
  serve                      run the gateway (default); settings from config/defaults.yaml and the environment
  decode <file>              print a SyncML message or DevInf (XML or WBXML) as indented XML, or a SAN
  san <account> <device> [--datastore NAME]... [--out FILE]   build a device's SAN (docs/push.md)
  encode <file.xml> [out]    write a SyncML XML message as WBXML (to out, or stdout)
  convert <file> --to vcard21|vcard30|vcard40|vcal10|ical20 [--device-profile NAME]
                             print what the items of a file become
  accounts check             validate every account mapping in MAPPINGS_DIR
  accounts probe <account>   show what the gateway sees on the account's DAV server (discovery)
  devices list|reset|forget|export ...   inspect and manage devices' sync state (see docs/admin.md)
  oauth google               walk through getting a Google OAuth2 refresh token
  restore <backup.json>      put back the items of a backup taken before a refresh from a phone
                             (DAV credentials: DAV_USERNAME/DAV_PASSWORD, or the mapping's)

exit status: 0 ok, 1 not found or failed, 2 usage, 3 configuration invalid
`;

const SERVE_USAGE = `usage: syncml-gateway serve

Runs the gateway. Settings come from config/defaults.yaml and the environment (README "Settings").
SIGHUP reloads the account mappings; SIGTERM/SIGINT stop taking requests, give running ones
SHUTDOWN_GRACE_SECONDS, then exit. A port that cannot be opened ends it with exit status 1.
`;
const DECODE_USAGE = 'usage: syncml-gateway decode <file>\n\nPrints a SyncML message or DevInf document (XML or WBXML) as indented XML.\n';
const ENCODE_USAGE = 'usage: syncml-gateway encode <file.xml> [out]\n\nWrites a SyncML XML message as WBXML (to out, or stdout).\n';
const RESTORE_USAGE = `usage: syncml-gateway restore <backup.json>

Puts back the items of a backup taken before a refresh from a phone.
DAV credentials: DAV_USERNAME/DAV_PASSWORD, or the mapping's dav.username/dav.password.
`;

export interface CliIo {
  stdout?: { write(chunk: string | Uint8Array): unknown };
  stderr?: { write(chunk: string): unknown };
}

/** Runs a command; sets process.exitCode (serve keeps running and returns at once). */
export async function main(argv: string[], io: CliIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const [first, ...rest] = argv;
  const cmd = first === undefined ? 'serve' : first;
  let code = 0;
  try {
    await run(cmd, rest, stdout);
  } catch (err) {
    if (isHelpRequested(err)) {
      stdout.write(err.text);
    } else if (isUsageError(err)) {
      stderr.write(`syncml-gateway ${cmd}: ${err.message}\n\n${err.usage}`);
      code = exitCodeFor(err);
    } else {
      stderr.write(`syncml-gateway ${cmd}: ${describeError(err)}\n`);
      code = exitCodeFor(err);
    }
  }
  if (code) process.exitCode = code;
  return code;
}

async function run(cmd: string, rest: string[], stdout: NonNullable<CliIo['stdout']>): Promise<void> {
  switch (cmd) {
    case '--help': case '-h': case 'help':
      stdout.write(USAGE);
      return;
    case '--version': case '-V': case 'version':
      stdout.write(`syncml-gateway ${VERSION}\n`);
      return;
    case 'serve': {
      parseCommand(rest, {}, SERVE_USAGE, 0);
      const { serve } = await import('./serve.js');
      await serve();
      return;
    }
    case 'decode': {
      const { positionals: [file] } = parseCommand(rest, {}, DECODE_USAGE, 1);
      if (!file) throw new UsageError('decode needs a file', DECODE_USAGE);
      const bytes = new Uint8Array(readFileSync(file));
      const san = (await import('./push.js')).sanText(bytes);
      stdout.write(san ?? formatXml(decodeDocument(bytes)));
      return;
    }
    case 'san':
      await (await import('./push.js')).runSan(rest);
      return;
    case 'encode': {
      const { positionals: [file, out] } = parseCommand(rest, {}, ENCODE_USAGE, 2);
      if (!file) throw new UsageError('encode needs an XML file', ENCODE_USAGE);
      const bytes = encodeWbxml(decodeXml(readFileSync(file)));
      if (out) writeFileSync(out, bytes);
      else stdout.write(bytes);
      return;
    }
    case 'convert': {
      const { runConvert } = await import('./convert.js');
      await runConvert(rest);
      return;
    }
    case 'restore': {
      const { positionals: [file] } = parseCommand(rest, {}, RESTORE_USAGE, 1);
      if (!file) throw new UsageError('restore needs a backup file', RESTORE_USAGE);
      await restore(file, stdout);
      return;
    }
    case 'accounts': {
      const { runAccounts } = await import('./accounts.js');
      await runAccounts(rest, { out: (l) => stdout.write(`${l}\n`) });
      return;
    }
    case 'devices': {
      const { runDevices } = await import('./devices.js');
      await runDevices(rest, { out: { write: (s: string) => stdout.write(s) } });
      return;
    }
    case 'oauth': {
      const { runOAuth } = await import('./oauth.js');
      await runOAuth(rest, { out: (l) => stdout.write(`${l}\n`) });
      return;
    }
    default:
      throw new UsageError(`unknown command ${cmd}`, USAGE);
  }
}

async function restore(file: string, stdout: NonNullable<CliIo['stdout']>): Promise<void> {
  const { readBackup, restoreBackup } = await import('../accounts/backup.js');
  const { createDavStore } = await import('../datastores/index.js');
  const backup = readBackup(file);
  const settings = loadSettings();
  const mapping = AccountRegistry.loadDir(path.resolve(settings.mappingsDir)).get(backup.account);
  const username = process.env['DAV_USERNAME'] ?? mapping?.dav.username;
  const password = process.env['DAV_PASSWORD'] ?? mapping?.dav.password;
  if (!username || password === undefined) throw new UsageError('restore needs DAV credentials: set DAV_USERNAME and DAV_PASSWORD', RESTORE_USAGE);
  const kind = mapping?.datastores.find((d) => d.name === backup.datastore)?.kind ?? 'contacts';
  const store = createDavStore({ kind, collectionUrl: backup.collectionUrl, credentials: { username, password } });
  const { restored, present } = await restoreBackup(backup, store);
  stdout.write(`restored ${restored} items to ${backup.collectionUrl} (${present} were still there)\n`);
}
