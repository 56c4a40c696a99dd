import type { RunningServer } from '../src/server';
import { spamConfig, tmpDataDir } from './helpers/apps';
import { programReply, startOpenAiTestServer } from './helpers/openai-server';
import { call, eventually, startTestServer } from './helpers/server';

const LENGTH_BUCKET = `function execute(input) {
  var n = input.text.length;
  return { result: { size: n < 10 ? 'short' : 'long', chars: n }, confidence: 1 };
}`;

describe('synthesis with an LLM configured (local OpenAI-compatible server)', () => {
  let server: RunningServer;
  let llm: Awaited<ReturnType<typeof startOpenAiTestServer>>;

  beforeAll(async () => {
    llm = await startOpenAiTestServer(() => programReply(LENGTH_BUCKET));
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

  test('an output only an LLM can produce: the LLM writes v1, scored in the sandbox, and it serves', async () => {
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
    expect(job.result.candidates.map((c: { generator: string }) => c.generator)).toEqual(['llm']); // the learner cannot
    expect(llm.requests[0].messages[1].content).toContain('see you at the station');
    const res = await call(server.url, 'POST', '/loop-apps/length-app/execute', { input: { text: 'tiny' } });
    expect(res.body.output).toEqual({ size: 'short', chars: 4 });
  });
});
