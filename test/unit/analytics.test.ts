import {
  addCounters,
  dailyStat,
  dropZ,
  emptyCounters,
  latencyBucket,
  percentile,
  wilson,
} from '../../src/telemetry/analytics';
import {
  countersOf,
  countExecution,
  countVerdict,
  dailyStats,
  dropDaysBefore,
  emptyDailyCounters,
  oracleCallsOn,
  restoreDailyCounters,
  totalsOf,
} from '../../src/telemetry/daily-stats';
import type { ExecutionRecord } from '../../src/domain/types';

/** A histogram of the given latencies, as the counters keep it. */
const histogram = (latencies: number[]) => {
  const c = emptyCounters();
  for (const ms of latencies) c.latency[latencyBucket(ms)] = (c.latency[latencyBucket(ms)] ?? 0) + 1;
  return c.latency;
};

const execution = (over: Partial<ExecutionRecord> = {}): ExecutionRecord => ({
  id: 'e',
  ts: '2025-06-01T12:00:00.000Z',
  version: 'v1',
  input: null,
  output: 'ham',
  confidence: 0.9,
  latency_ms: 0.2,
  status: 'ok',
  ...over,
});

describe('percentile', () => {
  test('an empty histogram has none', () => {
    expect(percentile({}, 0.5)).toBeNull();
  });

  test('within 10 % of the true value, never below it', () => {
    const latencies = Array.from({ length: 1000 }, (_, i) => (i + 1) / 100); // 0.01 … 10 ms
    const h = histogram(latencies);
    for (const [q, exact] of [
      [0.5, 5],
      [0.95, 9.5],
      [0.99, 9.9],
    ]) {
      const p = percentile(h, q)!;
      expect(p).toBeGreaterThanOrEqual(exact);
      expect(p).toBeLessThanOrEqual(exact * 1.1);
    }
  });

  test('one value: every quantile is its bucket; at or under 1 µs is the first bucket', () => {
    const h = histogram([3, 3, 3]);
    expect(percentile(h, 0.01)).toBe(percentile(h, 1));
    expect(latencyBucket(0)).toBe(0);
    expect(latencyBucket(0.001)).toBe(0);
    expect(percentile(histogram([0]), 0.5)).toBe(0.001);
  });
});

describe('wilson', () => {
  test('no answers, no interval', () => {
    expect(wilson(0, 0)).toBeNull();
  });

  test('holds the observed rate, stays within 0..1, narrows as n grows', () => {
    const small = wilson(8, 10)!;
    const large = wilson(800, 1000)!;
    for (const [lo, hi] of [small, large]) {
      expect(lo).toBeLessThanOrEqual(0.8);
      expect(hi).toBeGreaterThanOrEqual(0.8);
    }
    expect(large[1] - large[0]).toBeLessThan(small[1] - small[0]);
    expect(wilson(10, 10)).toEqual([expect.any(Number), 1]);
    expect(wilson(0, 10)).toEqual([0, expect.any(Number)]);
  });

  test('the known interval of 8/10 at 95 %', () => {
    expect(wilson(8, 10)).toEqual([0.4902, 0.9433]);
  });
});

describe('dropZ (one-sided two-proportion z-test)', () => {
  test('positive when A is lower, negative when higher, 0 without data', () => {
    expect(dropZ(70, 100, 90, 100)).toBeGreaterThan(1.645);
    expect(dropZ(90, 100, 70, 100)).toBeLessThan(0);
    expect(dropZ(0, 0, 9, 10)).toBe(0);
    expect(dropZ(9, 10, 0, 0)).toBe(0);
  });

  test('the pooled z of 70/100 against 90/100', () => {
    // pooled p = 0.8, se = sqrt(0.8 * 0.2 * (2 / 100)) = 0.05657
    expect(dropZ(70, 100, 90, 100)).toBeCloseTo(0.2 / Math.sqrt(0.8 * 0.2 * 0.02), 10);
  });

  test('identical all-right or all-wrong arms are no evidence; all wrong against all right is', () => {
    expect(dropZ(10, 10, 20, 20)).toBe(0);
    expect(dropZ(0, 10, 0, 20)).toBe(0);
    expect(dropZ(0, 10, 20, 20)).toBeGreaterThan(1.645);
  });
});

describe('counters', () => {
  test('merge: every count and every latency bucket adds up; missing fields count as 0', () => {
    const a = emptyCounters();
    addCounters(a, { executions: 3, errors: 1, latency: { 5: 2, 7: 1 } });
    addCounters(a, {
      executions: 2,
      samples: 1,
      validations: 1,
      correct: 1,
      oracle_calls: 1,
      latency: { 5: 1 },
    });
    expect({ ...a, latency: { ...a.latency } }).toEqual({
      executions: 5,
      errors: 1,
      samples: 1,
      validations: 1,
      correct: 1,
      oracle_calls: 1,
      latency: { 5: 3, 7: 1 },
    });
  });

  test('executions count on their day and version; verdicts on the day their execution ran', () => {
    const stats = emptyDailyCounters();
    countExecution(stats, execution());
    countExecution(stats, execution({ status: 'error', sampled: true }));
    countExecution(stats, execution({ ts: '2025-06-02T00:00:00.000Z', version: 'v2' }));
    countVerdict(stats, { ts: '2025-06-01T23:59:59.999Z', version: 'v1', correct: true });
    countVerdict(stats, { ts: '2025-06-01T10:00:00.000Z', version: 'v1', correct: false });
    countersOf(stats, '2025-06-01', 'v1').oracle_calls += 2;
    countersOf(stats, '2025-06-01', 'v2').oracle_calls += 1;
    expect(stats['2025-06-01'].v1).toMatchObject({
      executions: 2,
      errors: 1,
      samples: 1,
      validations: 2,
      correct: 1,
      oracle_calls: 2,
    });
    expect(stats['2025-06-02'].v2.executions).toBe(1);
    expect(oracleCallsOn(stats, '2025-06-01')).toBe(3);
    expect(oracleCallsOn(stats, '2025-06-03')).toBe(0);
  });

  test('restored from JSON, a day or version named __proto__ is data, not a prototype', () => {
    const saved = JSON.parse(
      '{"__proto__": {"__proto__": {"executions": 2, "polluted": 1}}, "2025-06-01": {"v1": {"executions": 1}}}',
    );
    const stats = restoreDailyCounters(saved);
    countVerdict(stats, { ts: '__proto__', version: '__proto__', correct: true });
    countExecution(stats, execution({ ts: 'toString', version: 'constructor' }));
    expect(({} as Record<string, unknown>).executions).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(stats).sort()).toEqual(['2025-06-01', '__proto__', 'toString']);
    expect(stats['toString']['constructor'].executions).toBe(1);
    expect(stats['__proto__']['__proto__']).toMatchObject({ executions: 2, validations: 1, correct: 1 });
    expect(JSON.parse(JSON.stringify(stats))['2025-06-01'].v1.executions).toBe(1);
  });

  test('daily rows: oldest day first, versions in number order, savings for the calls avoided', () => {
    const stats = emptyDailyCounters();
    for (const [ts, version] of [
      ['2025-06-02T01:00:00.000Z', 'v10'],
      ['2025-06-02T01:00:00.000Z', 'v2'],
      ['2025-06-01T01:00:00.000Z', 'v1'],
    ])
      countExecution(stats, execution({ ts, version }));
    countersOf(stats, '2025-06-01', 'v1').oracle_calls = 1;
    const days = dailyStats(stats, 0.5);
    expect(days.map((d) => [d.day, d.version])).toEqual([
      ['2025-06-01', 'v1'],
      ['2025-06-02', 'v2'],
      ['2025-06-02', 'v10'],
    ]);
    expect(days[0]).toEqual(dailyStat('2025-06-01', 'v1', stats['2025-06-01'].v1, 0.5));
    expect(days[0]).toMatchObject({ oracle_calls_avoided: 0, estimated_savings: 0, accuracy: null });
    expect(days[1]).toMatchObject({ oracle_calls_avoided: 1, estimated_savings: 0.5 });
    expect(totalsOf(days)).toEqual({
      executions: 3,
      errors: 0,
      samples: 0,
      validations: 0,
      oracle_calls: 1,
      oracle_share: 0.3333,
      estimated_savings: 1,
    });
    expect(totalsOf([]).oracle_share).toBeNull();
    dropDaysBefore(stats, '2025-06-02');
    expect(Object.keys(stats)).toEqual(['2025-06-02']);
  });
});
