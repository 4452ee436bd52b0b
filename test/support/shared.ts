// Where the shared reference data lives (spec/, corpus/, fixtures/syncevolution/): one setting,
// SHARED_DIR, default `../shared` beside the repository. Tests that read it call requireShared()
// in a hook or test: without the directory they are skipped with the reason locally, and FAIL
// in CI (CI=true), where a missing corpus must never pass silently.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './processes.js';

export const SHARED_DIR = path.resolve(process.env['SHARED_DIR'] || path.join(repoRoot, '..', 'shared'));
export const SHARED_CORPUS = path.join(SHARED_DIR, 'corpus');
export const SHARED_FIXTURES = path.join(SHARED_DIR, 'fixtures');

const HINT = `shared reference data not found at ${SHARED_DIR}: check it out beside the repository as ../shared or set SHARED_DIR`;

export function sharedAvailable(): boolean {
  return existsSync(SHARED_CORPUS);
}

let warned = false;

/**
 * In a mocha hook or test: skip (locally) or fail (CI=true) when SHARED_DIR is missing.
 * Returns SHARED_DIR when it is there.
 */
export function requireShared(ctx: Mocha.Context): string {
  if (sharedAvailable()) return SHARED_DIR;
  if (process.env['CI'] === 'true') throw new Error(HINT);
  if (!warned) {
    warned = true;
    console.warn(`  skipping tests that need it: ${HINT}`);
  }
  ctx.skip();
}

/** Every file below `dir` (sorted), or [] when it does not exist: listing must not crash at load time. */
export function listFilesBelow(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).sort().flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? listFilesBelow(p) : [p];
  });
}

/** A missing tool or server: skipped locally with the reason, a failure in CI (CI=true). */
export function skipOrFailInCi(ctx: Mocha.Context, reason: string): never {
  if (process.env['CI'] === 'true') throw new Error(reason);
  console.warn(`  skipped: ${reason}`);
  ctx.skip();
}
