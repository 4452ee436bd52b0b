// Exit codes and argument parsing shared by every `syncml-gateway` command (node:util parseArgs).
// Exit status (docs/admin.md): 0 ok, 1 not found or failed, 2 usage (bad command line),
// 3 configuration invalid (settings or mappings).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { PACKAGE_ROOT } from '../config.js';
import { isGatewayError } from '../errors.js';

export const EXIT = { OK: 0, FAILED: 1, USAGE: 2, CONFIG: 3 } as const;

/** A wrong command line: printed with the command's usage, exit status 2. */
export class UsageError extends Error {
  constructor(message: string, readonly usage: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Printed by `--help` on purpose: not an error (exit 0). */
export class HelpRequested extends Error {
  constructor(readonly text: string) {
    super('help');
    this.name = 'HelpRequested';
  }
}

// Checked by name, not instanceof: a test runner may load this module twice (CJS and ESM).
export function isUsageError(err: unknown): err is UsageError {
  return err instanceof Error && err.name === 'UsageError' && typeof (err as UsageError).usage === 'string';
}

export function isHelpRequested(err: unknown): err is HelpRequested {
  return err instanceof Error && err.name === 'HelpRequested' && typeof (err as HelpRequested).text === 'string';
}

export function exitCodeFor(err: unknown): number {
  if (isUsageError(err)) return EXIT.USAGE;
  if (isGatewayError(err, 'CONFIG_INVALID')) return EXIT.CONFIG;
  return EXIT.FAILED;
}

export const VERSION: string = (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

type Options = NonNullable<ParseArgsConfig['options']>;

export interface Parsed<O extends Options> {
  values: { [K in keyof O]?: O[K] extends { multiple: true } ? (O[K]['type'] extends 'boolean' ? boolean[] : string[]) : O[K]['type'] extends 'boolean' ? boolean : string };
  positionals: string[];
}

/**
 * parseArgs with `--help`/`-h` (throws HelpRequested with `usage`), `--version`/`-V` and strict checking: an
 * unknown option or a missing value is a UsageError naming it, with `usage`.
 */
export function parseCommand<O extends Options>(args: string[], options: O, usage: string, maxPositionals = Infinity): Parsed<O> {
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'V' } }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/s, ''), usage);
  }
  if (parsed.values['help']) throw new HelpRequested(usage);
  if (parsed.values['version']) throw new HelpRequested(`syncml-gateway ${VERSION}\n`);
  if (parsed.positionals.length > maxPositionals) {
    throw new UsageError(`unexpected argument ${parsed.positionals[maxPositionals]}`, usage);
  }
  return parsed as unknown as Parsed<O>;
}
