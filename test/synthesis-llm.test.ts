import type { RunningServer } from '../src/server';
import { spamConfig, tmpDataDir } from './helpers/apps';
import { programReply, startOpenAiTestServer } from '../devtools/openai-compatible-server';
import { call, eventually, startTestServer } from './helpers/server';

const LENGTH_BUCKET = `function execute(input) {
  var n = input.text.length;
  return { result: { size: n < 10 ? 'short' : 'long', chars: n }, confidence: 1 };
}`;

const PARITY =
  'function execute(input) { return { result: input.text.length % 2 ? "spam" : "ham", confidence: 1 }; }';

describe('synthesis with an LLM configured (local OpenAI-compatible server)', () => {
  let server: RunningServer;
  let llm: Awaited<ReturnType<typeof startOpenAiTestServer>>;

  beforeAll(async () => {
    // the scripted LLM answers each task with the program that solves it
    llm = await startOpenAiTestServer((req) =>
      programReply(JSON.stringify(req.messages).includes('chars') ? LENGTH_BUCKET : PARITY),
    );
    server = await startTestServer(tmpDataDir(), {
      llm: {
        api_key: 'test-key',
        base_url: llm.url,
        model: 'test-model',
        timeout_ms: 5000,
        repair_rounds: 1,
      },
    });
  });
  afterAll(async () => {
    await server.close();
    await llm.close();
  });

  const finished = (jobUrl: string) =>
    eventually(async () => {
      const j = await call(server.url, 'GET', jobUrl);
      if (j.body.state !== 'succeeded' && j.body.state !== 'failed') throw new Error('running');
      return j.body;
    }, 30_000);

  test('generator auto: both make a candidate and the better held-out score wins; per app `learner` forces the learner', async () => {
    // the label is the parity of the text length: the LLM's program knows it, a bag of words cannot learn it
    const rows = Array.from({ length: 60 }, (_, i) => {
      const text = `message ${'x'.repeat(i % 7)} number ${i}`;
      return { input: { text }, output: text.length % 2 ? 'spam' : 'ham' };
    });
    llm.requests.length = 0;
    const auto = await call(server.url, 'POST', '/loop-apps', {
      ...spamConfig('parity-auto'),
      examples: rows,
    });
    const job = await finished(auto.body.job_url);
    expect(job.result.generator).toBe('llm');
    expect(job.result.candidates.map((c: { generator: string }) => c.generator)).toEqual(['learner', 'llm']);
    expect(job.result.candidates[0].accuracy).toBeLessThan(job.result.candidates[1].accuracy);

    const forced = await call(server.url, 'POST', '/loop-apps', {
      ...spamConfig('parity-learner'),
      generator: 'learner',
      examples: rows,
    });
    const forcedJob = await finished(forced.body.job_url);
    expect(forcedJob.result.generator).toBe('learner');
    expect(forcedJob.result.candidates.map((c: { generator: string }) => c.generator)).toEqual(['learner']);
  });

  test('a count the learner can only estimate: both make a candidate, the LLM exact one wins v1 and serves', async () => {
    llm.requests.length = 0;
    const words = [
      'hi',
      'hello there, friend',
      'ok',
      'a much longer message',
      'yes',
      'see you at the station',
    ];
    const examples = words.map((text) => ({
      input: { text },
      output: { size: text.length < 10 ? 'short' : 'long', chars: text.length },
    }));
    const created = await call(server.url, 'POST', '/loop-apps', {
      ...spamConfig('length-app'),
      output_schema: {
        type: 'object',
        properties: { size: { enum: ['short', 'long'] }, chars: { type: 'integer' } },
        required: ['size', 'chars'],
      },
      examples,
    });
    expect(created.status).toBe(202);
    const job = await eventually(async () => {
      const j = await call(server.url, 'GET', created.body.job_url);
      if (j.body.state !== 'succeeded' && j.body.state !== 'failed') throw new Error('running');
      return j.body;
    }, 30_000);
    expect(job.state).toBe('succeeded');
    expect(job.result).toMatchObject({ version: 'v1', generator: 'llm', activated: true });
    expect(job.result.eval.accuracy).toBe(1);
    // the learner fits a regression to the character count; the LLM's program counts
    const candidates = job.result.candidates as Array<{ generator: string; accuracy: number }>;
    expect(candidates.map((c) => c.generator)).toEqual(['learner', 'llm']);
    expect(candidates[0].accuracy).toBeLessThan(1);
    expect(llm.requests[0].messages[1].content).toContain('see you at the station');
    const res = await call(server.url, 'POST', '/loop-apps/length-app/execute', { input: { text: 'tiny' } });
    expect(res.body.output).toEqual({ size: 'short', chars: 4 });
  });
});
