import { Sampler } from '../src/telemetry/sampler';
import { prng } from '../src/synthesis/learner/train';
import type { RunningServer } from '../src/server';
import { spamConfig, tmpDataDir, writeApp } from './helpers/apps';
import { call, startTestServer } from './helpers/server';

describe('sampling', () => {
  const N = 50_000;

  function run(strategy: 'random' | 'uncertainty', rate: number) {
    const sampler = new Sampler(prng(7));
    const confidences = prng(11);
    const picked: Array<{ confidence: number; rule: string }> = [];
    for (let i = 0; i < N; i++) {
      const confidence = confidences();
      const rule = sampler.decide('app', { rate, strategy }, confidence);
      if (rule) picked.push({ confidence, rule });
    }
    return picked;
  }

  test('random samples at the rate, whatever the confidence', () => {
    const picked = run('random', 0.05);
    expect(picked.length / N).toBeCloseTo(0.05, 2);
    expect(picked.every((p) => p.rule === 'random')).toBe(true);
    const mean = picked.reduce((a, p) => a + p.confidence, 0) / picked.length;
    expect(mean).toBeGreaterThan(0.45);
  });

  test('uncertainty spends the same budget, mostly on the least confident, with a random share', () => {
    const picked = run('uncertainty', 0.05);
    expect(picked.length / N).toBeGreaterThan(0.04);
    expect(picked.length / N).toBeLessThan(0.06);
    const uncertain = picked.filter((p) => p.rule === 'uncertainty');
    const random = picked.filter((p) => p.rule === 'random');
    expect(uncertain.length).toBeGreaterThan(random.length * 2);
    expect(Math.max(...uncertain.map((p) => p.confidence))).toBeLessThan(0.15);
    expect(random.reduce((a, p) => a + p.confidence, 0) / random.length).toBeGreaterThan(0.4);
  });

  test('rate 1 samples every execution, with either strategy', () => {
    expect(run('uncertainty', 1)).toHaveLength(N);
    expect(run('random', 1)).toHaveLength(N);
  });

  test('no confidence: uncertainty falls back to random; rate 0 samples nothing', () => {
    const sampler = new Sampler(prng(3));
    let n = 0;
    for (let i = 0; i < 10_000; i++)
      if (sampler.decide('a', { rate: 0.1, strategy: 'uncertainty' }, null)) n++;
    expect(n / 10_000).toBeCloseTo(0.1, 1);
    expect(sampler.decide('a', { rate: 0, strategy: 'random' }, 0)).toBeNull();
  });

  describe('over HTTP', () => {
    let server: RunningServer;
    beforeAll(async () => {
      const dataDir = tmpDataDir();
      writeApp(dataDir, 'always', {
        config: spamConfig('always', { sampling: { rate: 1, strategy: 'random' } }),
      });
      writeApp(dataDir, 'never', {
        config: spamConfig('never', { sampling: { rate: 0, strategy: 'random' } }),
      });
      server = await startTestServer(dataDir);
    });
    afterAll(() => server.close());

    test('the execute response says whether the execution was sampled', async () => {
      const yes = await call(server.url, 'POST', '/loop-apps/always/execute', { input: { text: 'hi' } });
      const no = await call(server.url, 'POST', '/loop-apps/never/execute', { input: { text: 'hi' } });
      expect(yes.body.sampled).toBe(true);
      expect(no.body.sampled).toBe(false);
    });
  });
});
