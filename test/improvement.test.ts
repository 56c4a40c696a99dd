import fs from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import type { RunningServer } from '../src/server';
import { spamConfig, tmpDataDir, writeApp } from './helpers/apps';
import { call, eventually, startTestServer } from './helpers/server';
import { startTeacher } from './helpers/teacher';

const CONSTANT_HAM = 'function execute(input) { return { result: "ham", confidence: 0.5 }; }';
const KEYWORDS =
  'function execute(input) { return { result: /win|prize|free|offer/i.test(input.text) ? "spam" : "ham", confidence: 0.9 }; }';

const SPAM = ['win', 'prize', 'free', 'offer'];
const HAM = ['meeting', 'lunch', 'report', 'invoice', 'weekend'];
/** Varied texts, half of them spam by the teacher's rule. */
const texts = (n: number, offset = 0) =>
  Array.from({ length: n }, (_, k) => {
    const i = k + offset;
    return i % 2
      ? `${SPAM[i % SPAM.length]} something now ${i}`
      : `${HAM[i % HAM.length]} notes for ${i} people`;
  });

async function traffic(url: string, id: string, inputs: string[]) {
  const res = await call(url, 'POST', `/loop-apps/${id}/execute/batch`, {
    inputs: inputs.map((text) => ({ text })),
  });
  expect(res.status).toBe(200);
  return res.body.results as Array<{ version: string; output: string }>;
}

const events = async (url: string, id: string) =>
  (
    (await call(url, 'GET', `/loop-apps/${id}/events?limit=100`)).body.events as Array<{ type: string }>
  ).reverse();

const configOnDisk = (dataDir: string, id: string) =>
  yaml.load(fs.readFileSync(path.join(dataDir, 'loop-apps', id, 'config.yaml'), 'utf8')) as Record<
    string,
    any
  >;

async function jobDone(url: string, jobId: string) {
  return eventually(async () => {
    const job = (await call(url, 'GET', `/jobs/${jobId}`)).body;
    if (job.state !== 'succeeded' && job.state !== 'failed') throw new Error(job.state);
    return job;
  }, 30_000);
}

describe('improvement policy', () => {
  let server: RunningServer;
  let dataDir: string;
  let teacher: Awaited<ReturnType<typeof startTeacher>>;
  /** When set, the teacher says everything is ham (the world changed). */
  let drift = false;

  const app = (id: string, improvement: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    writeApp(dataDir, id, {
      config: spamConfig(id, {
        sampling: { rate: 1, strategy: 'random' },
        validation: {
          oracle: 'http',
          http: { url: teacher.url },
          schedule: '0 0 1 1 *',
          min_samples: 10,
          accuracy_threshold: 0.9,
        },
        improvement,
        ...extra,
      }),
      versions: [{ 'program.js': CONSTANT_HAM }, { 'program.js': KEYWORDS }],
      active: 'v1',
    });

  beforeAll(async () => {
    teacher = await startTeacher(() => (drift ? { status: 200, body: '{"output":"ham"}' } : null));
    dataDir = tmpDataDir();
    // v2 exists on disk in these apps only for the hand-made canary; the policy makes its own candidates
    app('auto-app', { promotion: 'auto' });
    app('manual-app', { promotion: 'manual' });
    app('canary-app', { promotion: 'canary', canary_percent: 50, canary_min_samples: 5 });
    app('hand-canary', { auto: false, canary_min_samples: 4 }, { rollout: { candidate: 'v2', percent: 50 } });
    server = await startTestServer(dataDir, { generator: 'learner' });
  });
  afterAll(async () => {
    await server.close();
    await teacher.close();
  });

  /** Traffic, a validation pass, and the improvement job it starts. */
  async function degradeAndImprove(id: string) {
    await traffic(server.url, id, texts(40));
    const report = (await call(server.url, 'POST', `/loop-apps/${id}/validate`)).body;
    expect(report).toMatchObject({ validated: 40, correct: 20 });
    const jobs = (await call(server.url, 'GET', `/jobs?loop_app_id=${id}`)).body.jobs;
    expect(jobs).toHaveLength(1);
    return jobDone(server.url, jobs[0].job_id);
  }

  test('auto: accuracy under the threshold regenerates from the verdicts and promotes a better candidate', async () => {
    const job = await degradeAndImprove('auto-app');
    expect(job.state).toBe('succeeded');
    expect(job.result).toMatchObject({
      version: 'v3',
      decision: 'promoted',
      activated: true,
      compared_with: { version: 'v1' },
    });
    expect(job.result.compared_with.candidate_accuracy).toBeGreaterThan(job.result.compared_with.accuracy);
    expect((await call(server.url, 'GET', '/loop-apps/auto-app')).body.current_version).toBe('v3');
    const [below, promoted] = (await events(server.url, 'auto-app')) as Array<Record<string, any>>;
    expect(below).toMatchObject({
      type: 'accuracy_below_threshold',
      version: 'v1',
      accuracy: 0.5,
      n: 40,
      threshold: 0.9,
    });
    expect(promoted).toMatchObject({ type: 'promoted', version: 'v3', active_version: 'v1' });
    expect(promoted.candidate_accuracy).toBeGreaterThan(promoted.active_accuracy);
    // the next pass does not regenerate again: v3 has no verdicts of its own yet
    await call(server.url, 'POST', '/loop-apps/auto-app/validate');
    expect((await call(server.url, 'GET', '/jobs?loop_app_id=auto-app')).body.jobs).toHaveLength(1);
  });

  test('manual: the candidate waits, testing, for a person', async () => {
    const job = await degradeAndImprove('manual-app');
    expect(job.result).toMatchObject({ version: 'v3', decision: 'testing', activated: false });
    expect((await call(server.url, 'GET', '/loop-apps/manual-app/versions/v3')).body.status).toBe('testing');
    expect((await call(server.url, 'GET', '/loop-apps/manual-app')).body.current_version).toBe('v1');
    expect((await events(server.url, 'manual-app')).map((e) => e.type)).toEqual([
      'accuracy_below_threshold',
      'candidate_ready',
    ]);
  });

  test('canary: rollout written to config.yaml, both arms judged on their samples, the winner promoted', async () => {
    const job = await degradeAndImprove('canary-app');
    expect(job.result).toMatchObject({ version: 'v3', decision: 'canary' });
    expect(configOnDisk(dataDir, 'canary-app').rollout).toEqual({ candidate: 'v3', percent: 50 });
    expect((await call(server.url, 'GET', '/loop-apps/canary-app/versions/v3')).body.status).toBe('canary');
    const served = await traffic(server.url, 'canary-app', texts(60, 100));
    const share = served.filter((r) => r.version === 'v3').length / served.length;
    expect(share).toBeGreaterThan(0.25);
    expect(share).toBeLessThan(0.75);
    await call(server.url, 'POST', '/loop-apps/canary-app/validate');
    expect(configOnDisk(dataDir, 'canary-app').rollout).toEqual({ candidate: null, percent: 0 });
    expect((await call(server.url, 'GET', '/loop-apps/canary-app')).body.current_version).toBe('v3');
    const last = (await events(server.url, 'canary-app')).pop() as Record<string, any>;
    expect(last).toMatchObject({ type: 'promoted', version: 'v3', active_version: 'v1' });
    expect(last.candidate_accuracy).toBeGreaterThan(last.active_accuracy);
    expect(last.candidate_n).toBeGreaterThanOrEqual(5);
  });

  test('a canary written by hand is honoured; after promotion a significant drop rolls back', async () => {
    // pass 1: the canary is noticed (its arms count from here)
    await traffic(server.url, 'hand-canary', texts(40));
    await call(server.url, 'POST', '/loop-apps/hand-canary/validate');
    expect((await events(server.url, 'hand-canary')).map((e) => e.type)).toEqual(['canary_started']);
    // pass 2: v2 (keywords) beats v1 (always ham) on canary traffic → promoted
    await traffic(server.url, 'hand-canary', texts(40, 40));
    await call(server.url, 'POST', '/loop-apps/hand-canary/validate');
    expect((await call(server.url, 'GET', '/loop-apps/hand-canary')).body.current_version).toBe('v2');
    expect(configOnDisk(dataDir, 'hand-canary').rollout.candidate).toBeNull();
    // pass 3: the world changes; v2 is now wrong on spam-looking traffic, far below what v1 did → rollback
    drift = true;
    try {
      await traffic(
        server.url,
        'hand-canary',
        texts(20, 200)
          .filter((_, i) => i % 2 === 1)
          .concat(texts(20, 301).filter((_, i) => i % 2 === 0)),
      );
      await call(server.url, 'POST', '/loop-apps/hand-canary/validate');
    } finally {
      drift = false;
    }
    const types = (await events(server.url, 'hand-canary')).map((e) => e.type);
    expect(types).toEqual(['canary_started', 'promoted', 'rolled_back']);
    const rolledBack = (await events(server.url, 'hand-canary')).pop() as Record<string, any>;
    expect(rolledBack).toMatchObject({ version: 'v2', previous_version: 'v1', accuracy: 0 });
    expect(rolledBack.z).toBeGreaterThan(1.645);
    expect((await call(server.url, 'GET', '/loop-apps/hand-canary')).body.current_version).toBe('v1');
  });

  test('improve on demand: 202 with a job; a second request while it runs is 409', async () => {
    const first = await call(server.url, 'POST', '/loop-apps/manual-app/improve');
    expect(first.status).toBe(202);
    const second = await call(server.url, 'POST', '/loop-apps/manual-app/improve');
    expect(second.status).toBe(409);
    expect(second.body.error.details.job_id).toBe(first.body.job_id);
    const job = await jobDone(server.url, first.body.job_id);
    expect(job.type).toBe('improve');
    expect(['testing', 'rejected']).toContain(job.result.decision);
  });
});
