// Problems found in account mapping files, worded for the admin: each names the file, the field,
// what was found and what is accepted, with a "did you mean" for near-miss words. All problems of
// all files are collected and reported together (one run, not one run per typo).
import type { z } from 'zod';
import { GatewayError } from '../errors.js';

/** Thrown by the mapping loaders: CONFIG_INVALID whose message lists every problem, one a line. */
export class MappingProblems extends GatewayError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super('CONFIG_INVALID', problems.join('\n'));
    this.problems = problems;
  }
}

/** Levenshtein distance, for "did you mean" (short words only). */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_v, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The accepted word closest to `found` when it is a plausible typo of it. */
export function didYouMean(found: unknown, accepted: readonly string[]): string | undefined {
  if (typeof found !== 'string' || !found) return undefined;
  const f = found.toLowerCase();
  let best: { word: string; d: number } | undefined;
  for (const word of accepted) {
    const d = editDistance(f, word.toLowerCase());
    if (!best || d < best.d) best = { word, d };
  }
  return best && best.d > 0 && best.d <= Math.max(1, Math.floor(best.word.length / 3)) ? best.word : undefined;
}

function valueAt(root: unknown, p: readonly PropertyKey[]): unknown {
  let v = root;
  for (const k of p) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Where an unknown key most likely belongs (schema keys per level, for "did you mean"). */
const KNOWN_KEYS = [
  'account', 'auth', 'dav', 'datastores', 'url', 'username', 'password', 'provider', 'oauth2', 'uris', 'collection',
  'createIn', 'kind', 'tasksCollection', 'match', 'conflict', 'refreshGuard', 'maxShare', 'allow', 'clientId',
  'clientSecret', 'refreshToken', 'tokenUrl', 'basic', 'md5',
];

const AUTH_ACCEPTED = 'passthrough, { basic: "${SECRET}" } or { md5: "${SECRET}" }';

/** One line per zod issue: `file: field F: problem (found X; accepted: ...)`. */
export function describeIssues(file: string, issues: readonly z.core.$ZodIssue[], raw: unknown): string[] {
  return issues.map((issue) => {
    const field = issue.path.join('.') || '(top level)';
    // Secrets (resolved from the environment) are never repeated in a message.
    const secretField = issue.path.some((k) => typeof k === 'string' && /password|secret|token|^md5$|^basic$/i.test(k));
    const found = secretField ? '[hidden]' : valueAt(raw, issue.path);
    const at = `${file}: field ${field}`;
    if (issue.path.length === 1 && issue.path[0] === 'auth' && (issue.code === 'invalid_union' || issue.code === 'invalid_type')) {
      const hint = didYouMean(found, ['passthrough']);
      return `${at}: found ${show(found)}${hint ? `; did you mean ${hint}?` : ''} (accepted: ${AUTH_ACCEPTED})`;
    }
    if (issue.code === 'invalid_value' && 'values' in issue) {
      const accepted = issue.values.map(String);
      const hint = didYouMean(found, accepted);
      return `${at}: found ${show(found)}${hint ? `; did you mean ${hint}?` : ''} (accepted: ${accepted.join(', ')})`;
    }
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((k) => {
        const hint = didYouMean(k, KNOWN_KEYS);
        return `${at}: unknown field "${k}"${hint ? `; did you mean ${hint}?` : ''}`;
      }).join('\n');
    }
    if (issue.code === 'invalid_type' && found === undefined) return `${at}: missing (${issue.message})`;
    return `${at}: ${issue.message} (found ${show(found)})`;
  });
}
