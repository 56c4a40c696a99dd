import fs from 'node:fs';
import path from 'node:path';
import type { RunningServer } from '../src/server';
import { tmpDataDir } from './helpers/apps';
import { call, startTestServer } from './helpers/server';

/** The example apps the quick start serves: each loads, answers, and carries its learner scores. */
describe('bundled example Loop Apps', () => {
  let server: RunningServer;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = tmpDataDir();
    fs.cpSync(path.join(__dirname, '..', 'loopai-data', 'loop-apps'), path.join(dataDir, 'loop-apps'), {
      recursive: true,
      verbatimSymlinks: true,
      filter: (src) => !src.includes(`${path.sep}executions`),
    });
    server = await startTestServer(dataDir);
  });
  afterAll(() => server.close());

  test.each([
    [
      'spam-detector-001',
      {
        text: 'Congratulations! You won a FREE gift card, click here to claim now',
        sender: 'promo@win.example',
      },
      'spam',
    ],
    [
      'spam-detector-001',
      { text: 'Can you send me the slides from the meeting?', sender: 'tom@acme-corp.com' },
      'ham',
    ],
    [
      'email-categorizer-001',
      { subject: 'Sprint planning', body: 'Planning is on Monday, bring your estimates for the release.' },
      { category: 'work' },
    ],
  ])('%s answers %j', async (id, input, expected) => {
    const res = await call(server.url, 'POST', `/loop-apps/${id}/execute`, { input });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ version: 'v1', output: expected });
  });

  test('sentiment-analyzer-001 answers one of its labels with a confidence', async () => {
    const res = await call(server.url, 'POST', '/loop-apps/sentiment-analyzer-001/execute', {
      input: { text: 'The delivery was late and the box was damaged.' },
    });
    expect(['positive', 'negative', 'neutral']).toContain(res.body.output);
    expect(res.body.confidence).toBeGreaterThan(0);
  });

  test('each has a learner-made v1 with its scores', async () => {
    for (const id of ['spam-detector-001', 'sentiment-analyzer-001', 'email-categorizer-001']) {
      const v1 = await call(server.url, 'GET', `/loop-apps/${id}/versions/v1`);
      expect(v1.body).toMatchObject({ generator: 'learner', status: 'active' });
      expect(v1.body.eval.n).toBeGreaterThanOrEqual(10);
      expect(v1.body.trained_on).toBeGreaterThan(50);
    }
  });
});
