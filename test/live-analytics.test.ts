import type { RunningServer } from '../src/server';
import { tmpDataDir, writeApp } from './helpers/apps';
import { call, startTestServer } from './helpers/server';

/** Executions, errors and latency are current right after the calls, not after the next validation pass. */
describe('live analytics', () => {
  let server: RunningServer;
  beforeAll(async () => {
    const dataDir = tmpDataDir();
    writeApp(dataDir, 'spam');
    server = await startTestServer(dataDir);
  });
  afterAll(() => server.close());

  test('three calls are counted at once; accuracy says when it was last computed', async () => {
    const before = await call(server.url, 'GET', '/loop-apps/spam/analytics');
    expect(before.body.summary).toMatchObject({ executions: 0, validated_at: null });
    for (const text of ['win a prize', 'hello', 'free money'])
      expect((await call(server.url, 'POST', '/loop-apps/spam/execute', { input: { text } })).status).toBe(
        200,
      );
    expect((await call(server.url, 'POST', '/loop-apps/spam/execute', { input: {} })).status).toBe(400);

    const now = await call(server.url, 'GET', '/loop-apps/spam/analytics');
    expect(now.body.summary).toMatchObject({
      executions: 3,
      errors: 0,
      serving_version: 'v1',
      active_version: 'v1',
    });
    expect(now.body.days).toHaveLength(1);
    expect(now.body.days[0]).toMatchObject({ version: 'v1', executions: 3 });
    expect(now.body.summary.validated_at).toBeNull();

    await call(server.url, 'POST', '/loop-apps/spam/validate');
    const validated = await call(server.url, 'GET', '/loop-apps/spam/analytics');
    expect(Date.parse(validated.body.summary.validated_at)).toBeGreaterThan(Date.now() - 60_000);
    expect(validated.body.summary.executions).toBe(3);
  });
});
