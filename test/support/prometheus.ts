// Prometheus text exposition (format 0.0.4) for tests: every line is checked strictly, samples
// are grouped into their families (HELP/TYPE), histogram samples by their _bucket/_sum/_count
// suffix. Hand-written: parse-prometheus-text-format drops the labels, sums and counts of
// labelled histograms (see docs/decisions.md).
import assert from 'node:assert/strict';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const COMMENT = new RegExp(`^# (HELP|TYPE) (${NAME}) (.*)$`);
const LABEL = String.raw`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"`;
const LABEL_NC = String.raw`[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*"`;
const SAMPLE = new RegExp(String.raw`^(${NAME})(?:\{((?:${LABEL_NC})(?:,${LABEL_NC})*)?,?\})? ((?:[Nn][Aa][Nn])|[+-]?[Ii][Nn][Ff]|[-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?)(?: -?[0-9]+)?$`);
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** Go's ParseFloat, as Prometheus uses it: NaN and Inf in any case. */
function parseValue(v: string): number {
  if (/^nan$/i.test(v)) return NaN;
  if (/^[+-]?inf$/i.test(v)) return v.startsWith('-') ? -Infinity : Infinity;
  return Number(v);
}

function unescape(v: string): string {
  return v.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

/** Parses exposition text; fails the test on any line that is not valid exposition syntax. */
export function parsePrometheus(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const familyOf = (sample: string): Family | undefined =>
    families.get(sample) ?? families.get(sample.replace(/_(bucket|sum|count|total|created)$/, ''));
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const c = COMMENT.exec(line);
    if (c) {
      const [, kind, name, rest] = c as unknown as [string, string, string, string];
      const f = families.get(name) ?? { name, type: 'untyped', help: '', samples: [] };
      if (kind === 'TYPE') {
        assert.ok(TYPES.has(rest), `unknown metric type: ${line}`);
        f.type = rest;
      } else f.help = rest;
      families.set(name, f);
      continue;
    }
    assert.ok(!line.startsWith('#'), `not Prometheus text: ${line}`);
    const s = SAMPLE.exec(line);
    assert.ok(s, `not Prometheus text: ${line}`);
    const labels: Record<string, string> = {};
    for (const m of (s[2] ?? '').matchAll(new RegExp(LABEL, 'g'))) labels[m[1]!] = unescape(m[2]!);
    const f = familyOf(s[1]!);
    assert.ok(f, `sample without HELP/TYPE: ${line}`);
    f.samples.push({ name: s[1]!, labels, value: parseValue(s[3]!) });
  }
  return families;
}

function matches(s: Sample, where: Record<string, string>): boolean {
  return Object.entries(where).every(([k, v]) => s.labels[k] === v);
}

/**
 * A counter's or gauge's samples summed over those whose labels include `where`; for a
 * histogram, its number of observations (`_count`). 0 when the family is absent.
 */
export function sampleSum(families: Map<string, Family>, name: string, where: Record<string, string> = {}): number {
  const f = families.get(name);
  if (!f) return 0;
  const sampleName = f.type === 'histogram' ? `${name}_count` : f.type === 'counter' && !name.endsWith('_total') ? `${name}_total` : name;
  return f.samples.filter((s) => s.name === sampleName && matches(s, where)).reduce((n, s) => n + s.value, 0);
}

/** One histogram series: its sum, count and cumulative buckets (by `le`). */
export function histogram(families: Map<string, Family>, name: string, where: Record<string, string> = {}): { sum: number; count: number; buckets: Map<string, number> } {
  const f = families.get(name);
  assert.ok(f && f.type === 'histogram', `${name} is not a histogram`);
  const of = (suffix: string): Sample[] => f.samples.filter((s) => s.name === `${name}_${suffix}` && matches(s, where));
  return {
    sum: of('sum').reduce((n, s) => n + s.value, 0),
    count: of('count').reduce((n, s) => n + s.value, 0),
    buckets: new Map(of('bucket').map((s) => [s.labels['le']!, s.value])),
  };
}
