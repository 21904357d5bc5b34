/**
 * Prometheus text format parsed by a real parser (parse-prometheus-text-format, prom2json's shape),
 * typed for tests: `/metrics` of `driftplane serve` and Temporal's worker metrics.
 */
import { createRequire } from 'node:module';

/** One sample: labels and value (counter, gauge, untyped) or buckets, count and sum (histogram). */
export interface PromSample {
  labels?: Record<string, string>;
  value?: string;
  buckets?: Record<string, string>;
  count?: string;
  sum?: string;
}

/** One metric family. */
export interface PromFamily {
  name: string;
  help: string;
  type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
  metrics: PromSample[];
}

const parse = createRequire(__filename)('parse-prometheus-text-format') as (text: string) => PromFamily[];

/**
 * Parses Prometheus text into families, by name. The parser keeps only one series of a histogram
 * (it flattens every `_bucket` line into one object and drops labelled `_sum`/`_count`), so each
 * histogram is read a second time with its TYPE line made untyped: its `_bucket`, `_sum` and
 * `_count` lines then parse as plain samples with all their labels, regrouped here per label set.
 */
export function parsePrometheusText(text: string): Map<string, PromFamily> {
  const families = new Map(parse(text).map((f) => [f.name, f]));
  const histograms = [...families.values()].filter((f) => f.type === 'HISTOGRAM').map((f) => f.name);
  if (!histograms.length) return families;
  // Untyped, each run of `_bucket`, `_sum` or `_count` lines is a family of its own: several share a name.
  const untyped = parse(
    text.replace(/^# TYPE (\S+) histogram$/gm, (line, name: string) =>
      histograms.includes(name) ? `# TYPE ${name} untyped` : line,
    ),
  );
  const samplesOf = (name: string): PromSample[] =>
    untyped.filter((f) => f.name === name).flatMap((f) => f.metrics);
  for (const name of histograms) {
    const series = new Map<string, PromSample>();
    const of = (labels: Record<string, string> = {}): PromSample => {
      const { le: _le, ...rest } = labels;
      const key = JSON.stringify(Object.entries(rest).sort());
      let s = series.get(key);
      if (!s) series.set(key, (s = { labels: rest, buckets: {} }));
      return s;
    };
    for (const b of samplesOf(`${name}_bucket`))
      (of(b.labels).buckets as Record<string, string>)[b.labels?.le ?? ''] = b.value ?? '';
    for (const b of samplesOf(`${name}_sum`)) of(b.labels).sum = b.value;
    for (const b of samplesOf(`${name}_count`)) of(b.labels).count = b.value;
    families.set(name, { ...(families.get(name) as PromFamily), metrics: [...series.values()] });
  }
  return families;
}

/** The value of the sample of `family` whose labels include `labels` (undefined when none matches). */
export function sampleValue(
  family: PromFamily | undefined,
  labels: Record<string, string> = {},
): number | undefined {
  const s = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return s?.value === undefined ? undefined : Number(s.value);
}
