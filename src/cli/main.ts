// The `syncml-gateway` command line: serve (default), decode, encode, accounts check.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AccountRegistry } from '../accounts/mappings.js';
import { decodeAny, decodeXml, formatXml, messageToTree } from '../codec/index.js';
import { encodeWbxml } from '../codec/wbxml/index.js';
import { loadSettings } from '../config.js';
import { describeError } from '../errors.js';

const USAGE = `usage: syncml-gateway [command]

commands:
  serve                      run the gateway (default); settings from config/defaults.yaml and the environment
  decode <file>              print a SyncML message (XML or WBXML) as indented XML, or a SAN
  san <account> <device> [--datastore NAME]... [--out FILE]   build a device's SAN (docs/push.md)
  encode <file.xml> [out]    write a SyncML XML message as WBXML (to out, or stdout)
  convert <file> --to vcard21|vcard30|vcard40|vcal10|ical20 [--device-profile NAME]
                             print what the items of a file become
  accounts check             validate every account mapping in MAPPINGS_DIR
  accounts probe <account>   show what the gateway sees on the account's DAV server (discovery)
  devices list|reset|forget|export|push-test ...   inspect and manage devices' sync state (see docs/admin.md)
  oauth google               walk through getting a Google OAuth2 refresh token
  restore <backup.json>      put back the items of a backup taken before a refresh from a phone
                             (DAV credentials: DAV_USERNAME/DAV_PASSWORD, or the mapping's)
`;

export async function main(argv: string[]): Promise<void> {
  const [cmd = 'serve', ...rest] = argv;
  try {
    switch (cmd) {
      case 'serve': {
        const { startGateway } = await import('../main.js');
        const gw = await startGateway();
        const stop = (): void => {
          gw.log.info('shutting down');
          void gw.close().then(() => process.exit(0));
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        return;
      }
      case 'decode': {
        const file = need(rest[0], 'decode needs a file');
        const san = (await import('./push.js')).sanText(new Uint8Array(readFileSync(file)));
        if (san) return void process.stdout.write(san);
        const { message } = decodeAny(new Uint8Array(readFileSync(file)));
        process.stdout.write(formatXml(messageToTree(message)));
        return;
      }
      case 'encode': {
        const file = need(rest[0], 'encode needs an XML file');
        const bytes = encodeWbxml(decodeXml(readFileSync(file)));
        if (rest[1]) writeFileSync(rest[1], bytes);
        else process.stdout.write(bytes);
        return;
      }
      case 'convert': {
        const { runConvert } = await import('./convert.js');
        await runConvert(rest);
        return;
      }
      case 'restore': {
        const file = need(rest[0], 'restore needs a backup file');
        const { readBackup, restoreBackup } = await import('../accounts/backup.js');
        const { createDavStore } = await import('../datastores/index.js');
        const backup = readBackup(file);
        const settings = loadSettings();
        const mapping = AccountRegistry.loadDir(path.resolve(settings.mappingsDir)).get(backup.account);
        const username = process.env['DAV_USERNAME'] ?? mapping?.dav.username;
        const password = process.env['DAV_PASSWORD'] ?? mapping?.dav.password;
        if (!username || password === undefined) throw new Error('restore needs DAV credentials: set DAV_USERNAME and DAV_PASSWORD');
        const kind = mapping?.datastores.find((d) => d.name === backup.datastore)?.kind ?? 'contacts';
        const store = createDavStore({ kind, collectionUrl: backup.collectionUrl, credentials: { username, password } });
        const { restored, present } = await restoreBackup(backup, store);
        console.log(`restored ${restored} items to ${backup.collectionUrl} (${present} were still there)`);
        return;
      }
      case 'san': await (await import('./push.js')).runSan(rest); return;
      case 'accounts': {
        const { runAccounts } = await import('./accounts.js');
        await runAccounts(rest);
        return;
      }
      case 'devices': {
        const { runDevices } = await import('./devices.js');
        await runDevices(rest);
        return;
      }
      case 'oauth': {
        const { runOAuth } = await import('./oauth.js');
        await runOAuth(rest);
        return;
      }
      case 'help': case '--help': case '-h':
        process.stdout.write(USAGE);
        return;
      default:
        throw new Error(`unknown command ${cmd}\n${USAGE}`);
    }
  } catch (err) {
    console.error(`syncml-gateway ${cmd}: ${describeError(err)}`);
    process.exitCode = 1;
  }
}

function need(v: string | undefined, msg: string): string {
  if (!v) throw new Error(`${msg}\n${USAGE}`);
  return v;
}
