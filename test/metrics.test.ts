import fs from 'node:fs';
import path from 'node:path';
import type { RunningServer } from '../src/server';
import { spamConfig, tmpDataDir, writeApp } from './helpers/apps';
import { metricValue as value } from './helpers/metrics';
import { call, eventually, startTestServer } from './helpers/server';
import { startTeacher } from './helpers/teacher';

describe('GET /metrics', () => {
  let server: RunningServer;
  let dataDir: string;
  let teacher: Awaited<ReturnType<typeof startTeacher>>;

  beforeAll(async () => {
    teacher = await startTeacher();
    dataDir = tmpDataDir();
    writeApp(dataDir, 'metered', {
      config: spamConfig('metered', {
        sampling: { rate: 1, strategy: 'random' },
        validation: { oracle: 'http', http: { url: teacher.url }, schedule: '0 0 1 1 *' },
      }),
    });
    // a growing Map aborts its sandbox process: the child is restarted
    writeApp(dataDir, 'bomb', {
      versions: [
        {
          'program.js':
            'function execute(input) { var m = new Map(); for (var i = 0; ; i++) m.set("k" + i, { i: i }); }',
        },
      ],
      config: spamConfig('bomb', { execution: { timeout_ms: 200, memory_mb: 16 } }),
    });
    server = await startTestServer(dataDir);
  });
  afterAll(async () => {
    await server.close();
    await teacher.close();
  });

  test('executions, latency, samples, validations, oracle calls, accuracy, restarts, reloads, process', async () => {
    for (const text of ['win a prize', 'hello', 'special offer']) {
      await call(server.url, 'POST', '/loop-apps/metered/execute', { input: { text } });
    }
    const bomb = await call(server.url, 'POST', '/loop-apps/bomb/execute', { input: { text: 'x' } });
    expect(bomb.status).toBeGreaterThanOrEqual(500);
    await call(server.url, 'POST', '/loop-apps/metered/validate');
    fs.writeFileSync(path.join(dataDir, 'loop-apps', 'metered', 'config.yaml'), 'not: [valid');
    await eventually(async () => {
      expect((await call(server.url, 'GET', '/loop-apps/metered')).body.load_error).toBeTruthy();
    });

    const res = await fetch(`${server.url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await res.text();
    const app = { loop_app_id: 'metered', version: 'v1' };
    expect(value(text, 'loopai_executions_total', { ...app, outcome: 'ok' })).toBe(3);
    expect(
      value(text, 'loopai_executions_total', { loop_app_id: 'bomb', outcome: bomb.body.error.code }),
    ).toBe(1);
    expect(value(text, 'loopai_execution_latency_seconds_count', { loop_app_id: 'metered' })).toBe(3);
    expect(value(text, 'loopai_samples_total', { loop_app_id: 'metered', rule: 'random' })).toBe(3);
    expect(value(text, 'loopai_validations_total', { ...app, correct: 'true' })).toBe(2);
    expect(value(text, 'loopai_validations_total', { ...app, correct: 'false' })).toBe(1);
    expect(
      value(text, 'loopai_oracle_calls_total', { loop_app_id: 'metered', oracle: 'http', result: 'ok' }),
    ).toBe(3);
    expect(value(text, 'loopai_accuracy', app)).toBeCloseTo(2 / 3);
    expect(value(text, 'loopai_sandbox_restarts_total')).toBeGreaterThanOrEqual(1);
    expect(
      value(text, 'loopai_reloads_total', { loop_app_id: 'metered', result: 'error' }),
    ).toBeGreaterThanOrEqual(1);
    expect(value(text, 'loopai_load_errors')).toBe(1);
    expect(value(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
  });
});
