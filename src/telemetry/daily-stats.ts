import { dict } from '../domain/dict';
import type { ExecutionRecord } from '../domain/types';
import {
  addCounters,
  dailyStat,
  emptyCounters,
  latencyBucket,
  type Counters,
  type DailyStat,
} from './analytics';

/**
 * Counters per UTC day, then per version: what `analytics/daily-stats.json` and `GET …/analytics` are made from.
 * Both levels are keyed by data (a day or version read from a file), so both are null-prototype objects.
 */
export type DailyCounters = Record<string, Record<string, Counters>>;

export const emptyDailyCounters = (): DailyCounters => dict<Record<string, Counters>>();

/** The counters of one day and version, made on first use. */
export function countersOf(stats: DailyCounters, day: string, version: string): Counters {
  const versions = (stats[day] ??= dict<Counters>());
  return (versions[version] ??= emptyCounters());
}

/** Counters as saved in JSON, merged into fresh maps: a day or version named `__proto__` stays data. */
export function restoreDailyCounters(
  saved: Record<string, Record<string, Partial<Counters>>> = {},
): DailyCounters {
  const stats = emptyDailyCounters();
  for (const [day, versions] of Object.entries(saved)) {
    for (const [version, counters] of Object.entries(versions)) {
      addCounters(countersOf(stats, day, version), counters);
    }
  }
  return stats;
}

/** ts is ISO 8601 in UTC: its first 10 characters are the day. */
const dayOf = (ts: string): string => ts.slice(0, 10);

/** Counts one execution on its day: errors, latency, and whether it was sampled. */
export function countExecution(stats: DailyCounters, record: ExecutionRecord): void {
  const c = countersOf(stats, dayOf(record.ts), record.version);
  c.executions += 1;
  if (record.status === 'error') c.errors += 1;
  const bucket = latencyBucket(record.latency_ms);
  c.latency[bucket] = (c.latency[bucket] ?? 0) + 1;
  if (record.sampled) c.samples += 1;
}

/** Counts a verdict on the day its execution ran (`ts`), not the day it was judged. */
export function countVerdict(
  stats: DailyCounters,
  verdict: { ts: string; version: string; correct: boolean },
): void {
  const c = countersOf(stats, dayOf(verdict.ts), verdict.version);
  c.validations += 1;
  if (verdict.correct) c.correct += 1;
}

/** Oracle calls made on `day`, every version together: what the daily cap is held against. */
export const oracleCallsOn = (stats: DailyCounters, day: string): number =>
  Object.values(stats[day] ?? {}).reduce((n, c) => n + c.oracle_calls, 0);

/** Counters added together (a cloud's own and each of its edges'). */
export function mergeDailyCounters(all: DailyCounters[]): DailyCounters {
  const out = emptyDailyCounters();
  for (const stats of all) {
    for (const [day, versions] of Object.entries(stats)) {
      for (const [version, c] of Object.entries(versions)) addCounters(countersOf(out, day, version), c);
    }
  }
  return out;
}

/**
 * Counters an edge keeps from the start of each day, sent again and again: each day and version sent replaces
 * the one kept, unless it counts fewer executions (an older batch arriving late).
 */
export function keepLatest(kept: DailyCounters, sent: DailyCounters): void {
  for (const [day, versions] of Object.entries(sent)) {
    for (const [version, c] of Object.entries(versions)) {
      const current = kept[day]?.[version];
      if (current && current.executions > c.executions) continue;
      const fresh = countersOf(kept, day, version);
      Object.assign(fresh, emptyCounters(), { latency: dict<number>() });
      addCounters(fresh, c);
    }
  }
}

/** The UTC day (YYYY-MM-DD) `days` days before now. */
export const daysAgo = (days: number): string =>
  new Date(Date.now() - days * 86_400_000).toISOString().slice(0, 10);

/** Forgets the days before `cutoff` (YYYY-MM-DD). */
export function dropDaysBefore(stats: DailyCounters, cutoff: string): void {
  for (const day of Object.keys(stats)) if (day < cutoff) delete stats[day];
}

/** Every day and version, oldest day first, versions in number order. */
export function dailyStats(stats: DailyCounters, costPerCall: number): DailyStat[] {
  return Object.entries(stats)
    .sort(([a], [b]) => a.localeCompare(b))
    .flatMap(([day, versions]) =>
      Object.entries(versions)
        .sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true }))
        .map(([version, c]) => dailyStat(day, version, c, costPerCall)),
    );
}

const round4 = (x: number) => Math.round(x * 10000) / 10000;

type Summed = 'executions' | 'errors' | 'samples' | 'validations' | 'oracle_calls' | 'estimated_savings';

/** Sums over every day and version; `oracle_share` is the share of executions that asked the oracle. */
export type Totals = Record<Summed, number> & { oracle_share: number | null };

export function totalsOf(days: DailyStat[]): Totals {
  const sum = (key: Summed) => round4(days.reduce((n, d) => n + d[key], 0));
  return {
    executions: sum('executions'),
    errors: sum('errors'),
    samples: sum('samples'),
    validations: sum('validations'),
    oracle_calls: sum('oracle_calls'),
    oracle_share: sum('executions') ? round4(sum('oracle_calls') / sum('executions')) : null,
    estimated_savings: sum('estimated_savings'),
  };
}
