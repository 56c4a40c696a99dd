import { SandboxPool } from '../src/runtime/sandbox/pool';
import type { Settings } from '../src/settings';
import { evaluateInSandbox } from '../src/synthesis/evaluate';
import type { GenerateContext, Labelled } from '../src/synthesis/generator';
import { createLlmClient, describeLlmError } from '../src/synthesis/llm/client';
import { LlmGenerator } from '../src/synthesis/llm/generator';
import { extractCode } from '../src/synthesis/llm/prompt';
import { spamConfig } from './helpers/apps';
import {
  lastMessage,
  programReply,
  startOpenAiTestServer,
  type Script,
} from '../devtools/openai-compatible-server';
import { freePort } from './helpers/process';

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
// right on 4 of 6: misses 'cheap pills online' and 'claim your cash reward'
const PARTIAL = `function execute(input) { return { result: /free|prize/.test(input.text) ? 'spam' : 'ham' }; }`;

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

  async function generateWith(
    script: Script,
    opts: { timeoutMs?: number; maxRetries?: number; repairRounds?: number; model?: string } = {},
  ) {
    const server = await startOpenAiTestServer(script);
    const progress: string[] = [];
    try {
      const client = createLlmClient(llmSettings(server.url, opts.timeoutMs), {
        maxRetries: opts.maxRetries ?? 2,
      });
      const generator = new LlmGenerator(client, {
        model: opts.model ?? 'test-model',
        repairRounds: opts.repairRounds ?? 2,
      });
      const result = await generator.generate(context(progress)).then(
        (candidate) => ({ candidate, error: null }),
        (error: Error) => ({ candidate: null, error }),
      );
      return { ...result, progress, requests: server.requests, headers: server.headers };
    } finally {
      await server.close();
    }
  }

  test('a good program on the first reply: one call, accuracy 1, a prompt with task, schemas, examples and contract', async () => {
    const { candidate, error, requests, headers, progress } = await generateWith([programReply(GOOD)]);
    expect(error).toBeNull();
    expect(candidate).toEqual({
      generator: 'llm',
      code: GOOD,
      files: {},
      notes: expect.stringMatching(/^1 attempt, best train accuracy 1\.000/),
    });
    expect(requests).toHaveLength(1);
    expect(requests[0].model).toBe('test-model');
    expect(headers[0].authorization).toBe('Bearer test-key');
    const [system, user] = requests[0].messages;
    expect(system.role).toBe('system');
    expect(system.content).toMatch(/function execute\(input\)/);
    expect(system.content).toMatch(/no require/);
    expect(system.content).toMatch(/loopai\.files/);
    expect(system.content).toMatch(/Deterministic/);
    expect(user.content).toContain('Classify messages as spam or ham');
    expect(user.content).toContain('"enum":["spam","ham"]');
    expect(user.content).toContain('"required":["text"]');
    expect(user.content).toContain('{"input":{"text":"cheap pills online"},"output":"spam"}');
    expect(progress.join('\n')).toMatch(/attempt 1 of 3[\s\S]*scored 100\.0 %/);
  });

  test('a program that fails some examples is repaired from its failures, in the same conversation', async () => {
    const { candidate, requests } = await generateWith([programReply(PARTIAL), programReply(GOOD)]);
    expect(candidate!.code).toBe(GOOD);
    expect(candidate!.notes).toMatch(/^2 attempts, best train accuracy 1\.000 \(attempt 2/);
    expect(requests).toHaveLength(2);
    const conversation = requests[1].messages;
    expect(conversation.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(conversation[2].content).toContain(PARTIAL);
    const repair = lastMessage(requests[1]);
    expect(repair).toMatch(/got 2 of 6 labelled examples wrong/);
    expect(repair).toContain('{"input":{"text":"cheap pills online"},"expected":"spam","got":"ham"}');
    expect(repair).toContain('"input":{"text":"claim your cash reward"}');
    expect(repair).not.toContain('see you at lunch'); // rows it got right are not failures
  });

  test('no code, forbidden APIs, a cut-off reply and syntax errors are rejected and the reason fed back', async () => {
    const { candidate, requests } = await generateWith(
      [
        { content: 'I am sorry, I cannot help with that.' },
        programReply('function execute(input) { return { result: require("fs") ? "spam" : "ham" }; }'),
        { content: '```javascript\nfunction execute(input) {\n  var words = [', finishReason: 'length' },
        programReply(GOOD),
      ],
      { repairRounds: 3 },
    );
    expect(candidate!.code).toBe(GOOD);
    expect(lastMessage(requests[1])).toMatch(/no `function execute\(input\)`/);
    expect(lastMessage(requests[2])).toMatch(/APIs that do not exist in the sandbox: require\(\)/);
    expect(lastMessage(requests[3])).toMatch(/does not load[\s\S]*cut off[\s\S]*shorter/);

    const broken = await generateWith([
      programReply('function execute(input) { return {'),
      programReply(GOOD),
    ]);
    expect(broken.candidate!.code).toBe(GOOD);
    expect(lastMessage(broken.requests[1])).toMatch(/does not load: Unexpected end of input/);
  });

  test('a program that throws is shown its errors', async () => {
    const { candidate, requests } = await generateWith([
      programReply('function execute(input) { return { result: input.body.trim() }; }'),
      programReply(GOOD),
    ]);
    expect(candidate!.code).toBe(GOOD);
    expect(lastMessage(requests[1])).toMatch(/got 6 of 6 labelled examples wrong/);
    expect(lastMessage(requests[1])).toMatch(
      /"expected":"spam","error":"Cannot read properties of undefined \(reading 'trim'\)"/,
    );
  });

  test('keeps the best attempt when no round is perfect; fails clearly when none is usable', async () => {
    const { candidate } = await generateWith([
      programReply(PARTIAL),
      { content: 'no code' },
      programReply(`function execute(input) { return { result: 'ham' }; }`),
    ]);
    expect(candidate!.code).toBe(PARTIAL);
    expect(candidate!.notes).toMatch(/^3 attempts, best train accuracy 0\.667 \(attempt 1/);

    const none = await generateWith([{ content: 'a' }, { content: null }, programReply('eval("1")')]);
    expect(none.error!.message).toMatch(
      /wrote no usable program in 3 attempts; last problem: the reply has no `function execute/,
    );
    expect(none.requests).toHaveLength(3); // bounded: 1 + repairRounds
  });

  test('a 429 (Retry-After) and a 500 are retried by the SDK, then it succeeds', async () => {
    const { candidate, requests } = await generateWith([
      { status: 429, retryAfter: 0 },
      { status: 500, retryAfterMs: 10 },
      programReply(GOOD),
    ]);
    expect(candidate!.code).toBe(GOOD);
    expect(requests).toHaveLength(3);
  });

  test('still rate limited after the retries → an error that says so', async () => {
    const { error, requests } = await generateWith(
      () => ({ status: 429, retryAfter: 0, message: 'slow down' }),
      {
        maxRetries: 1,
      },
    );
    expect(error!.message).toMatch(/rate limiting: still 429 after 1 retry \(slow down\)/);
    expect(requests).toHaveLength(2);
  });

  test('a server that never answers → an error that says it timed out, after the retries', async () => {
    const { error, requests } = await generateWith(() => ({ hang: true }), { timeoutMs: 300, maxRetries: 1 });
    expect(error!.message).toMatch(
      /LLM server at http:\/\/127\.0\.0\.1:\d+\/v1 timed out after 300 ms \(2 attempts\)/,
    );
    expect(requests).toHaveLength(2);
  });

  test('a refused key → an error that names OPENAI_API_KEY (not retried)', async () => {
    const { error, requests } = await generateWith([{ status: 401, message: 'Incorrect API key provided' }]);
    expect(error!.message).toMatch(
      /refused the API key \(401: Incorrect API key provided\) \(check OPENAI_API_KEY\)/,
    );
    expect(requests).toHaveLength(1);
  });

  test('an unknown model → an error that names the model and LOOPAI_LLM_MODEL', async () => {
    const { error } = await generateWith(
      [{ status: 404, message: 'model "nope" not found', code: 'model_not_found' }],
      {
        model: 'nope',
      },
    );
    expect(error!.message).toMatch(/^model "nope" not found on the LLM server at .*check LOOPAI_LLM_MODEL/);
  });

  test('a server that refuses `temperature` is asked again without it', async () => {
    const { candidate, requests } = await generateWith((req) =>
      req.temperature === undefined
        ? programReply(GOOD)
        : { status: 400, message: "Unsupported value: 'temperature' does not support 0 with this model." },
    );
    expect(candidate!.code).toBe(GOOD);
    expect(requests.map((r) => r.temperature)).toEqual([0, undefined]);
  });

  test('an unreachable server → an error that says it cannot reach it and names OPENAI_BASE_URL', async () => {
    const port = await freePort();
    const client = createLlmClient(llmSettings(`http://127.0.0.1:${port}/v1`), { maxRetries: 0 });
    const generator = new LlmGenerator(client, { model: 'test-model', repairRounds: 0 });
    await expect(generator.generate(context())).rejects.toThrow(
      `cannot reach the LLM server at http://127.0.0.1:${port}/v1 (connection refused) (check OPENAI_BASE_URL)`,
    );
  });

  test('a base URL alone is enough (no key: a placeholder is sent)', async () => {
    const server = await startOpenAiTestServer([programReply(GOOD)]);
    try {
      const client = createLlmClient({
        base_url: server.url,
        model: 'm',
        timeout_ms: 5000,
        repair_rounds: 0,
      });
      const candidate = await new LlmGenerator(client, { model: 'm', repairRounds: 0 }).generate(context());
      expect(candidate.code).toBe(GOOD);
      expect(server.headers[0].authorization).toBe('Bearer not-needed');
    } finally {
      await server.close();
    }
  });

  test('without a configured LLM it says how to configure one', async () => {
    expect(createLlmClient({ model: 'x', timeout_ms: 1000, repair_rounds: 1 })).toBeNull();
    const generator = new LlmGenerator(null, { model: 'x', repairRounds: 1 });
    const why = generator.unavailable(spamConfig('a'));
    expect(why).toMatch(/OPENAI_API_KEY/);
    expect(why).toMatch(/OPENAI_BASE_URL/);
    expect(why).toMatch(/LOOPAI_LLM_MODEL/);
    await expect(generator.generate(context())).rejects.toThrow(/no LLM is configured/);
  });

  test('code extraction: the block that defines execute, comments do not count as API use', () => {
    expect(
      extractCode('Example:\n```\nexecute({text: "x"})\n```\nProgram:\n```js\n' + GOOD + '\n```'),
    ).toEqual({
      code: GOOD,
    });
    const commented = `// no require() or fetch() here\nfunction execute(input) { return { result: 'ham' }; }`;
    expect(extractCode(commented)).toEqual({ code: commented });
    expect(extractCode('```js\nfunction execute(i) { return process.env; }\n```')).toEqual({
      problem: expect.stringMatching(/process/),
    });
    expect(describeLlmError(new Error('boom'))).toBe('the LLM call failed: boom');
  });
});
