/** Daily analytics per version: counters that add up incrementally, and what is derived from them. */
import { dict } from '../domain/dict';

/** Answers judged and how many of them were right. */
export interface Tally {
  n: number;
  correct: number;
}

/** Latency buckets grow by 10 % from 1 µs: percentiles within 10 %, from a sparse map of a few dozen counts. */
const GROWTH = 1.1;
const FIRST_MS = 0.001;

export const latencyBucket = (ms: number): number =>
  ms <= FIRST_MS ? 0 : Math.ceil(Math.log(ms / FIRST_MS) / Math.log(GROWTH));
const bucketUpperMs = (bucket: number): number => FIRST_MS * GROWTH ** bucket;

/** The `q` quantile (0..1) of a bucketed latency histogram, as its bucket's upper bound, in ms. */
export function percentile(histogram: Record<string, number>, q: number): number | null {
  const buckets = Object.keys(histogram)
    .map(Number)
    .sort((a, b) => a - b);
  const total = buckets.reduce((n, b) => n + histogram[b], 0);
  if (!total) return null;
  let seen = 0;
  for (const b of buckets) {
    seen += histogram[b];
    if (seen >= q * total) return Math.round(bucketUpperMs(b) * 1000) / 1000;
  }
  return Math.round(bucketUpperMs(buckets[buckets.length - 1]) * 1000) / 1000;
}

/** 95 % Wilson score interval of a proportion: honest at small n and near 0 or 1, unlike the normal one. */
export function wilson(correct: number, n: number, z = 1.96): [number, number] | null {
  if (n <= 0) return null;
  const p = correct / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  const round = (x: number) => Math.round(x * 10000) / 10000;
  return [round(Math.max(0, centre - half)), round(Math.min(1, centre + half))];
}

/**
 * One-sided two-proportion z-test: how sure are we that rate A (aCorrect/aN) is below rate B? Returns the z score
 * (positive when A is lower); 1.645 is 95 % one-sided.
 */
export function dropZ(aCorrect: number, aN: number, bCorrect: number, bN: number): number {
  if (aN === 0 || bN === 0) return 0;
  const pa = aCorrect / aN;
  const pb = bCorrect / bN;
  const pooled = (aCorrect + bCorrect) / (aN + bN);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / aN + 1 / bN));
  // identical all-correct or all-wrong arms: no evidence either way
  if (se === 0) return pb > pa ? Infinity : 0;
  return (pb - pa) / se;
}

/** What is counted per day and version; adds up as executions are read and verdicts are made. */
export interface Counters {
  executions: number;
  errors: number;
  samples: number;
  validations: number;
  correct: number;
  oracle_calls: number;
  latency: Record<string, number>;
}

export const emptyCounters = (): Counters => ({
  executions: 0,
  errors: 0,
  samples: 0,
  validations: 0,
  correct: 0,
  oracle_calls: 0,
  latency: dict<number>(),
});

const COUNTS = ['executions', 'errors', 'samples', 'validations', 'correct', 'oracle_calls'] as const;

/**
 * Adds `more` into `into`, histogram too. Counters add up, so what was counted apart (in another pass, or as
 * saved in a file, where a field may be missing) merges into one.
 */
export function addCounters(into: Counters, more: Partial<Counters>): void {
  for (const key of COUNTS) into[key] += more[key] ?? 0;
  for (const [bucket, n] of Object.entries(more.latency ?? {})) {
    into.latency[bucket] = (into.latency[bucket] ?? 0) + n;
  }
}

/** One row of `daily-stats.json` and of `GET /loop-apps/{id}/analytics`. */
export interface DailyStat {
  day: string;
  version: string;
  executions: number;
  errors: number;
  latency_ms: { p50: number | null; p95: number | null; p99: number | null };
  samples: number;
  validations: number;
  correct: number;
  accuracy: number | null;
  accuracy_ci: [number, number] | null;
  oracle_calls: number;
  /** Executions answered without asking the oracle. */
  oracle_calls_avoided: number;
  /** oracle_calls_avoided × validation.cost_per_call. */
  estimated_savings: number;
}

export function dailyStat(day: string, version: string, c: Counters, costPerCall: number): DailyStat {
  const avoided = Math.max(0, c.executions - c.oracle_calls);
  return {
    day,
    version,
    executions: c.executions,
    errors: c.errors,
    latency_ms: {
      p50: percentile(c.latency, 0.5),
      p95: percentile(c.latency, 0.95),
      p99: percentile(c.latency, 0.99),
    },
    samples: c.samples,
    validations: c.validations,
    correct: c.correct,
    accuracy: c.validations ? Math.round((c.correct / c.validations) * 10000) / 10000 : null,
    accuracy_ci: wilson(c.correct, c.validations),
    oracle_calls: c.oracle_calls,
    oracle_calls_avoided: avoided,
    estimated_savings: Math.round(avoided * costPerCall * 10000) / 10000,
  };
}
