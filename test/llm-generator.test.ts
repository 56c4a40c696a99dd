import { SandboxPool } from '../src/runtime/sandbox/pool';
import type { Settings } from '../src/settings';
import { evaluateInSandbox } from '../src/synthesis/evaluate';
import type { GenerateContext, Labelled } from '../src/synthesis/generator';
import { createLlmClient } from '../src/synthesis/llm/client';
import { LlmGenerator } from '../src/synthesis/llm/generator';
import { spamConfig } from './helpers/apps';
import { freePort } from './helpers/process';
import { programReply, startOpenAiTestServer, type Reply } from './helpers/openai-server';

const train: Labelled[] = [
  { input: { text: 'win a free prize now' }, output: 'spam' },
  { input: { text: 'cheap pills online' }, output: 'spam' },
  { input: { text: 'claim your cash reward' }, output: 'spam' },
  { input: { text: 'see you at lunch' }, output: 'ham' },
  { input: { text: 'the meeting moved to three' }, output: 'ham' },
  { input: { text: 'happy birthday mum' }, output: 'ham' },
];
const GOOD = `function execute(input) {
  var spam = /free|prize|pills|cash|reward/i.test(input.text);
  return { result: spam ? 'spam' : 'ham', confidence: 0.9 };
}`;
const PARTIAL = `function execute(input) { return { result: /free|prize/.test(input.text) ? 'spam' : 'ham', confidence: 0.6 }; }`;

describe('LLM generator against a local OpenAI-compatible server', () => {
  const pool = new SandboxPool({ size: 1, childHeapMb: 256 });
  afterAll(() => pool.close());

  const llmSettings = (base_url: string, timeout_ms = 5000): Settings['llm'] => ({
    api_key: 'test-key',
    base_url,
    model: 'test-model',
    timeout_ms,
    repair_rounds: 2,
  });
  const context = (progress: string[] = []): GenerateContext => ({
    spec: spamConfig('llm-app'),
    train,
    evaluate: (program, rows) =>
      evaluateInSandbox(pool, 'llm-app', program, rows, { timeoutMs: 1000, memoryMb: 32 }),
    progress: (m) => progress.push(m),
  });

  async function generateWith(script: Reply[], timeout_ms?: number, maxRetries = 2) {
    const server = await startOpenAiTestServer(script);
    try {
      const client = createLlmClient(llmSettings(server.url, timeout_ms), maxRetries);
      const generator = new LlmGenerator(client, { model: 'test-model', repairRounds: 2 });
      const result = await generator.generate(context()).then(
        (candidate) => ({ candidate, error: null }),
        (error: Error) => ({ candidate: null, error }),
      );
      return { ...result, requests: server.requests };
    } finally {
      await server.close();
    }
  }

  test('a good program on the first reply', async () => {
    const { candidate, requests } = await generateWith([programReply(GOOD)]);
    expect(candidate).toMatchObject({ generator: 'llm', files: {} });
    expect(candidate!.code).toContain('function execute');
    expect(requests).toHaveLength(1);
    const prompt = requests[0].messages.map((m) => m.content).join('\n');
    expect(prompt).toContain('Classify messages as spam or ham');
    expect(prompt).toContain('"enum":["spam","ham"]');
    expect(prompt).toContain('cheap pills online');
    expect(requests[0].model).toBe('test-model');
  });

  test('a program that fails some examples is repaired from its failures', async () => {
    const { candidate, requests } = await generateWith([programReply(PARTIAL), programReply(GOOD)]);
    expect(candidate!.code).toBe(GOOD);
    expect(requests).toHaveLength(2);
    const repair = requests[1].messages[requests[1].messages.length - 1].content;
    expect(repair).toMatch(/wrong/);
    expect(repair).toContain('cheap pills online');
    expect(repair).toContain('"expected":"spam"');
  });

  test('garbage, forbidden APIs and syntax errors are rejected and fed back', async () => {
    const { candidate, requests } = await generateWith([
      { content: 'I am sorry, I cannot help with that.' },
      programReply('function execute(input) { return { result: require("fs") ? "spam" : "ham" }; }'),
      programReply(GOOD),
    ]);
    expect(candidate!.code).toBe(GOOD);
    expect(requests[1].messages[requests[1].messages.length - 1].content).toMatch(/function execute/);
    expect(requests[2].messages[requests[2].messages.length - 1].content).toMatch(/require/);

    const broken = await generateWith([
      programReply('function execute(input) { return {'),
      programReply(GOOD),
    ]);
    expect(broken.candidate!.code).toBe(GOOD);
    expect(broken.requests[1].messages[broken.requests[1].messages.length - 1].content).toMatch(
      /fails to load/,
    );
  });

  test('keeps the best attempt when no round is perfect; fails clearly when none is usable', async () => {
    const { candidate } = await generateWith([
      programReply(PARTIAL),
      { content: 'no code' },
      { content: 'still none' },
    ]);
    expect(candidate!.code).toBe(PARTIAL);
    const none = await generateWith([{ content: 'a' }, { content: 'b' }, { content: 'c' }]);
    expect(none.error!.message).toMatch(/no usable program in 3 attempts/);
  });

  test('a 429 is retried (Retry-After honoured) and then succeeds', async () => {
    const { candidate, requests } = await generateWith([{ status: 429, retryAfter: 0 }, programReply(GOOD)]);
    expect(candidate!.code).toBe(GOOD);
    expect(requests).toHaveLength(2);
  });

  test('a server that never answers → an error that says it timed out', async () => {
    const { error } = await generateWith([{ hang: true }], 300, 0);
    expect(error!.message).toMatch(/timed out/);
  });

  test('a refused key → an error that names OPENAI_API_KEY', async () => {
    const { error } = await generateWith([{ status: 401, message: 'invalid api key' }]);
    expect(error!.message).toMatch(/OPENAI_API_KEY/);
  });

  test('an unreachable server → an error that names OPENAI_BASE_URL', async () => {
    const port = await freePort();
    const client = createLlmClient(llmSettings(`http://127.0.0.1:${port}/v1`), 0);
    const generator = new LlmGenerator(client, { model: 'test-model', repairRounds: 0 });
    await expect(generator.generate(context())).rejects.toThrow(/cannot reach.*OPENAI_BASE_URL/);
  });

  test('without a configured LLM it says how to configure one', () => {
    expect(createLlmClient({ model: 'x', timeout_ms: 1000, repair_rounds: 1 })).toBeNull();
    expect(new LlmGenerator(null, { model: 'x', repairRounds: 1 }).unavailable(spamConfig('a'))).toMatch(
      /OPENAI_API_KEY/,
    );
  });
});
