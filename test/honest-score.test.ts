import type { RunningServer } from '../src/server';
import { stratifiedFolds, wilson } from '../src/synthesis/evaluate';
import { describeScore } from '../src/synthesis/synthesizer';
import { spamConfig, tmpDataDir } from './helpers/apps';
import { call, eventually, startTestServer } from './helpers/server';

describe('stratified folds', () => {
  const rows = [
    ...Array.from({ length: 7 }, (_, i) => ({ input: { text: `a${i}` }, output: 'a' })),
    ...Array.from({ length: 3 }, (_, i) => ({ input: { text: `b${i}` }, output: 'b' })),
  ];

  test('every row is tested exactly once, never in its own training rows', () => {
    const folds = stratifiedFolds(rows, 3);
    const tested = folds.flatMap((f) => f.test);
    expect(tested.length).toBe(rows.length);
    expect(new Set(tested).size).toBe(rows.length);
    for (const f of folds) {
      for (const r of f.test) expect(f.train).not.toContain(r);
      expect(f.train.length + f.test.length).toBe(rows.length);
    }
  });

  test('each label is spread over the folds (no fold lacks the minority label in training)', () => {
    for (const f of stratifiedFolds(rows, 3)) {
      expect(f.test.filter((r) => r.output === 'b').length).toBe(1);
      expect(f.train.filter((r) => r.output === 'b').length).toBe(2);
    }
  });

  test('k = n is leave-one-out, and the folds do not depend on row order', () => {
    const loo = stratifiedFolds(rows, rows.length);
    expect(loo.every((f) => f.test.length === 1)).toBe(true);
    const again = stratifiedFolds([...rows].reverse(), 3).map((f) => f.test.map((r) => r.input.text).sort());
    expect(again).toEqual(stratifiedFolds(rows, 3).map((f) => f.test.map((r) => r.input.text).sort()));
  });
});

describe('Wilson interval', () => {
  test('9 rows never read as a precise 0 % or 100 %', () => {
    expect(wilson(0, 9).low).toBe(0);
    expect(wilson(0, 9).high).toBeGreaterThan(0.25);
    expect(wilson(9, 9).low).toBeLessThan(0.75);
    expect(wilson(9, 9).high).toBe(1);
  });

  test('narrows with n and holds the observed proportion', () => {
    const small = wilson(8, 10);
    const large = wilson(800, 1000);
    expect(small.low).toBeLessThan(0.8);
    expect(small.high).toBeGreaterThan(0.8);
    expect(large.high - large.low).toBeLessThan((small.high - small.low) / 5);
    expect(large.low).toBeCloseTo(0.774, 2);
    expect(large.high).toBeCloseTo(0.823, 2);
  });

  test('shown with its interval', () => {
    const text = describeScore({
      accuracy: 1,
      n: 9,
      method: 'leave-one-out cross-validation',
      interval: wilson(9, 9),
    });
    expect(text).toBe('100.0 % (95 % CI 70.1 %–100.0 %, leave-one-out cross-validation, n=9)');
  });
});

describe('tiny sets through the product path', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startTestServer(tmpDataDir(), {
      llm: { model: 'none', timeout_ms: 1000, repair_rounds: 0 },
    });
  });
  afterAll(() => server.close());

  test('3 rows a class: scored by leave-one-out, not 0 %, and the served version answers new tickets', async () => {
    const examples = [
      ['my invoice shows the wrong amount', 'billing'],
      ['refund the double charge on my card', 'billing'],
      ['the invoice was charged twice', 'billing'],
      ['the app crashes when I log in', 'bug'],
      ['error message after the update', 'bug'],
      ['the page crashes with an error', 'bug'],
      ['please add a dark mode', 'feature'],
      ['could you add export to csv', 'feature'],
      ['it would be great to add a calendar view', 'feature'],
    ].map(([text, output]) => ({ input: { text }, output }));
    const created = await call(server.url, 'POST', '/loop-apps', {
      ...spamConfig('tickets'),
      output_schema: { type: 'string', enum: ['billing', 'bug', 'feature'] },
      examples,
    });
    const job = await eventually(async () => {
      const j = await call(server.url, 'GET', `/jobs/${created.body.job_id}`);
      if (j.body.state !== 'succeeded' && j.body.state !== 'failed') throw new Error('running');
      return j.body;
    }, 30_000);
    expect(job.state).toBe('succeeded');
    expect(job.result.eval).toMatchObject({ n: 9, method: 'leave-one-out cross-validation' });
    expect(job.result.eval.accuracy).toBeGreaterThan(0.5);
    expect(job.result.eval.interval.low).toBeLessThan(job.result.eval.accuracy);
    // the app says the serving version's score with its interval, as the job did
    const { accuracy, interval, method, n } = job.result.eval;
    expect((await call(server.url, 'GET', '/loop-apps/tickets')).body.score).toEqual({
      accuracy,
      interval,
      method,
      n,
    });
    const listed = (await call(server.url, 'GET', '/loop-apps')).body.loop_apps;
    expect(listed.find((a: { loop_app_id: string }) => a.loop_app_id === 'tickets').score.interval).toEqual(
      interval,
    );
    for (const [text, want] of [
      ['I was charged twice, refund please', 'billing'],
      ['the app shows an error and crashes', 'bug'],
      ['add a feature to export my data', 'feature'],
    ]) {
      const res = await call(server.url, 'POST', '/loop-apps/tickets/execute', { input: { text } });
      expect(res.body.output).toBe(want);
    }
  });
});
