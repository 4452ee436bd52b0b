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
  decode <file>              print a SyncML message (XML or WBXML) as indented XML
  encode <file.xml> [out]    write a SyncML XML message as WBXML (to out, or stdout)
  accounts check             validate every account mapping in MAPPINGS_DIR
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
      case 'accounts': {
        if (rest[0] !== 'check') throw new Error(`unknown accounts command ${rest[0] ?? ''}\n${USAGE}`);
        const settings = loadSettings();
        const reg = AccountRegistry.loadDir(path.resolve(settings.mappingsDir));
        for (const a of reg.list()) {
          console.log(`${a.account}\t${a.file}\t${a.datastores.map((d) => `${d.name}(${d.kind}) -> ${d.collection}`).join(', ')}`);
        }
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
