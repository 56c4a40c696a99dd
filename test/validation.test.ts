import fs from 'node:fs';
import path from 'node:path';
import type { RunningServer } from '../src/server';
import { spamConfig, tmpDataDir, writeApp } from './helpers/apps';
import {
  jsonReply,
  lastMessage,
  startOpenAiTestServer,
  type OpenAiTestServer,
} from '../devtools/openai-compatible-server';
import { call, eventually, startTestServer } from './helpers/server';
import { startTeacher, truth } from './helpers/teacher';

const TEXTS = [
  'win a free cruise',
  'lunch at noon?',
  'special offer inside',
  'the report is attached',
  'claim your prize',
  'see you tomorrow',
  'limited offer today',
  'meeting moved to 3pm',
];
/** v1 knows only "win", "prize" and "free": it gets the two "offer" texts wrong. */
const V1_ACCURACY = 6 / 8;

const readJsonl = (file: string) =>
  fs.existsSync(file)
    ? fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
    : [];

const appFile = (dataDir: string, id: string, ...parts: string[]) =>
  path.join(dataDir, 'loop-apps', id, ...parts);

function config(id: string, validation: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return spamConfig(id, {
    sampling: { rate: 1, strategy: 'random' },
    validation: { schedule: '0 0 1 1 *', min_samples: 1000, ...validation },
    ...extra,
  });
}

async function executeAll(url: string, id: string, texts = TEXTS): Promise<string[]> {
  const ids: string[] = [];
  for (const text of texts) {
    const res = await call(url, 'POST', `/loop-apps/${id}/execute`, { input: { text } });
    expect(res.status).toBe(200);
    ids.push(res.body.execution_id);
  }
  return ids;
}

describe('validation with an LLM oracle', () => {
  let llm: OpenAiTestServer;
  let server: RunningServer;
  let dataDir: string;
  let answer: 'truth' | 'garbage' | 'refuse' = 'truth';

  beforeAll(async () => {
    llm = await startOpenAiTestServer((req) => {
      if (answer === 'refuse') return { status: 400, message: 'model overloaded' };
      if (answer === 'garbage') return { content: 'I think it is probably fine' };
      return jsonReply({ output: truth(JSON.parse(lastMessage(req)).text) });
    });
    dataDir = tmpDataDir();
    writeApp(dataDir, 'llm-app', { config: config('llm-app', { oracle: 'llm' }) });
    writeApp(dataDir, 'capped-app', { config: config('capped-app', { oracle: 'llm', daily_oracle_cap: 2 }) });
    writeApp(dataDir, 'private-app', {
      config: config('private-app', { oracle: 'llm' }, { privacy: { store_inputs: 'none', redact: [] } }),
    });
    server = await startTestServer(dataDir, {
      llm: { base_url: llm.url, model: 'test-model', timeout_ms: 5000, repair_rounds: 1 },
    });
  });
  afterAll(async () => {
    await server.close();
    await llm.close();
  });

  test('the oracle down or answering garbage: samples stay pending, nothing is recorded', async () => {
    const ids = await executeAll(server.url, 'llm-app');
    for (const mode of ['refuse', 'garbage'] as const) {
      answer = mode;
      const report = (await call(server.url, 'POST', '/loop-apps/llm-app/validate')).body;
      expect(report).toMatchObject({ validated: 0, pending: TEXTS.length });
      expect(report.failed).toBeGreaterThan(0);
      expect(report.errors.join(' ')).toMatch(mode === 'refuse' ? /model overloaded/ : /no JSON/);
    }
    expect(readJsonl(appFile(dataDir, 'llm-app', 'datasets', 'validations', 'sampled.jsonl'))).toEqual([]);
    const analytics = (await call(server.url, 'GET', '/loop-apps/llm-app/analytics')).body;
    expect(analytics.summary).toMatchObject({ accuracy: null, validations: 0, pending: TEXTS.length });
    expect(analytics.summary.oracle_calls).toBeGreaterThan(0);
    const queue = (await call(server.url, 'GET', '/loop-apps/llm-app/review-queue')).body;
    expect(queue.pending.map((s: { execution_id: string }) => s.execution_id)).toEqual(ids);
    expect(queue.pending[0].last_error).toMatch(/no JSON/);

    answer = 'truth';
    const report = (await call(server.url, 'POST', '/loop-apps/llm-app/validate')).body;
    expect(report).toMatchObject({ validated: TEXTS.length, correct: 6, pending: 0 });
    const verdicts = readJsonl(appFile(dataDir, 'llm-app', 'datasets', 'validations', 'sampled.jsonl'));
    expect(verdicts.map((v) => v.execution_id).sort()).toEqual([...ids].sort());
    expect(verdicts[0]).toEqual({
      execution_id: ids[0],
      ts: expect.any(String),
      version: 'v1',
      input: { text: TEXTS[0] },
      program_output: 'spam',
      oracle_output: 'spam',
      oracle: 'llm',
      correct: true,
      validated_at: expect.any(String),
    });
    // asked for the output under the output schema (structured output)
    const asked = llm.requests[llm.requests.length - 1];
    expect(asked.response_format?.type).toBe('json_schema');
    expect(asked.response_format?.json_schema?.schema).toMatchObject({
      properties: { output: { enum: ['spam', 'ham'] } },
    });
    // verdicts join the labelled data
    const examples = readJsonl(appFile(dataDir, 'llm-app', 'datasets', 'examples.jsonl'));
    expect(examples.filter((e) => e.source === 'oracle')).toHaveLength(TEXTS.length);
    expect(examples.find((e) => e.input.text === 'special offer inside')).toMatchObject({ output: 'spam' });
    // a second pass finds nothing new
    expect((await call(server.url, 'POST', '/loop-apps/llm-app/validate')).body).toMatchObject({
      ingested: 0,
      validated: 0,
    });
  });

  test('analytics: per day and version, accuracy with its interval, latency, savings; also on disk', async () => {
    const res = await call(server.url, 'GET', '/loop-apps/llm-app/analytics');
    expect(res.status).toBe(200);
    const [day] = res.body.days;
    expect(day).toMatchObject({
      day: new Date().toISOString().slice(0, 10),
      version: 'v1',
      executions: TEXTS.length,
      errors: 0,
      samples: TEXTS.length,
      validations: TEXTS.length,
      correct: 6,
      accuracy: V1_ACCURACY,
    });
    expect(day.accuracy_ci[0]).toBeLessThan(V1_ACCURACY);
    expect(day.accuracy_ci[1]).toBeGreaterThan(V1_ACCURACY);
    expect(day.latency_ms.p50).toBeGreaterThan(0);
    expect(day.latency_ms.p99).toBeGreaterThanOrEqual(day.latency_ms.p50);
    expect(day.oracle_calls).toBeGreaterThanOrEqual(TEXTS.length);
    expect(res.body.summary).toMatchObject({
      accuracy: V1_ACCURACY,
      accuracy_window: TEXTS.length,
      pending: 0,
    });
    const onDisk = JSON.parse(
      fs.readFileSync(appFile(dataDir, 'llm-app', 'datasets', 'analytics', 'daily-stats.json'), 'utf8'),
    );
    expect(onDisk.days[0]).toMatchObject({ version: 'v1', validations: TEXTS.length, accuracy: V1_ACCURACY });

    const wrong = (await call(server.url, 'GET', '/loop-apps/llm-app/validations?correct=false')).body
      .validations;
    expect(wrong.map((v: { input: { text: string } }) => v.input.text).sort()).toEqual([
      'limited offer today',
      'special offer inside',
    ]);
    expect((await call(server.url, 'GET', '/loop-apps/llm-app/validations?correct=maybe')).status).toBe(400);
  });

  test('the daily cap bounds oracle calls; the rest wait', async () => {
    await executeAll(server.url, 'capped-app');
    const report = (await call(server.url, 'POST', '/loop-apps/capped-app/validate')).body;
    expect(report).toMatchObject({ oracle_calls: 2, validated: 2, pending: TEXTS.length - 2, capped: true });
    expect(report.errors.join(' ')).toMatch(/daily_oracle_cap/);
  });

  test('store_inputs: none — validated from memory, the input written nowhere', async () => {
    const before = llm.requests.length;
    await executeAll(server.url, 'private-app', ['win a secret prize 4111']);
    const report = (await call(server.url, 'POST', '/loop-apps/private-app/validate')).body;
    expect(report).toMatchObject({ validated: 1, correct: 1 });
    expect(lastMessage(llm.requests[before])).toContain('win a secret prize 4111');
    const everything = fs
      .readdirSync(appFile(dataDir, 'private-app', 'datasets'), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => fs.readFileSync(path.join(e.parentPath, e.name), 'utf8'))
      .join('\n');
    expect(everything).not.toContain('secret');
    expect(
      readJsonl(appFile(dataDir, 'private-app', 'datasets', 'validations', 'sampled.jsonl'))[0],
    ).toMatchObject({
      input: null,
      correct: true,
    });
  });
});

describe('validation with an HTTP teacher and with people', () => {
  let server: RunningServer;
  let dataDir: string;
  let teacher: Awaited<ReturnType<typeof startTeacher>>;

  beforeAll(async () => {
    teacher = await startTeacher((input) =>
      input.text.includes('teapot') ? { status: 418, body: 'I am a teapot' } : null,
    );
    dataDir = tmpDataDir();
    writeApp(dataDir, 'http-app', {
      config: config('http-app', { oracle: 'http', http: { url: teacher.url, timeout_ms: 2000 } }),
    });
    writeApp(dataDir, 'human-app', { config: config('human-app', { oracle: 'human' }) });
    server = await startTestServer(dataDir);
  });
  afterAll(async () => {
    await server.close();
    await teacher.close();
  });

  test('http oracle: POSTs the input, reads {output}; a 4xx is a clear error and the sample waits', async () => {
    await executeAll(server.url, 'http-app', ['win big', 'hello there', 'a teapot question']);
    const report = (await call(server.url, 'POST', '/loop-apps/http-app/validate')).body;
    expect(report).toMatchObject({ validated: 2, correct: 2, failed: 1, pending: 1 });
    expect(report.errors[0]).toMatch(/answered 418: I am a teapot/);
    expect(teacher.inputs).toContainEqual({ text: 'win big' });
  });

  test('http oracle unreachable: retried, then the samples wait', async () => {
    await call(server.url, 'PATCH', '/loop-apps/http-app', {
      validation: { http: { url: 'http://127.0.0.1:9/label', timeout_ms: 500 } },
    });
    await executeAll(server.url, 'http-app', ['one more']);
    const report = (await call(server.url, 'POST', '/loop-apps/http-app/validate')).body;
    expect(report).toMatchObject({ validated: 0, pending: 2 });
    expect(report.errors[0]).toMatch(/could not be reached/);
  });

  test('human oracle: samples wait in the review queue until feedback answers them', async () => {
    const ids = await executeAll(server.url, 'human-app', ['win now', 'quiet day']);
    expect((await call(server.url, 'POST', '/loop-apps/human-app/validate')).body).toMatchObject({
      validated: 0,
      pending: 2,
    });
    const queue = (await call(server.url, 'GET', '/loop-apps/human-app/review-queue')).body;
    expect(queue.total).toBe(2);
    expect(queue.pending[0]).toMatchObject({
      execution_id: ids[0],
      input: { text: 'win now' },
      output: 'spam',
    });

    const answered = await call(server.url, 'POST', '/loop-apps/human-app/feedback', {
      execution_id: ids[1],
      expected_output: 'spam',
    });
    expect(answered.status).toBe(201);
    expect(answered.body).toEqual({
      execution_id: ids[1],
      version: 'v1',
      program_output: 'ham',
      expected_output: 'spam',
      correct: false,
    });
    const after = (await call(server.url, 'GET', '/loop-apps/human-app/review-queue')).body;
    expect(after.pending.map((s: { execution_id: string }) => s.execution_id)).toEqual([ids[0]]);
    const examples = readJsonl(appFile(dataDir, 'human-app', 'datasets', 'examples.jsonl'));
    expect(examples).toContainEqual(
      expect.objectContaining({ input: { text: 'quiet day' }, output: 'spam', source: 'human' }),
    );
  });

  test('feedback for an execution that was not sampled (a consumer app learns the truth later)', async () => {
    await call(server.url, 'PATCH', '/loop-apps/human-app', { sampling: { rate: 0 } });
    const [id] = await executeAll(server.url, 'human-app', ['free stuff']);
    const res = await call(server.url, 'POST', '/loop-apps/human-app/feedback', {
      execution_id: id,
      expected_output: 'spam',
    });
    expect(res.status).toBe(201);
    expect(res.body.correct).toBe(true);
    const verdicts = readJsonl(appFile(dataDir, 'human-app', 'datasets', 'validations', 'sampled.jsonl'));
    expect(verdicts[verdicts.length - 1]).toMatchObject({
      execution_id: id,
      oracle: 'human',
      input: { text: 'free stuff' },
    });
  });

  test('bad feedback: 400 saying what to fix, 404 for an unknown execution', async () => {
    const [id] = await executeAll(server.url, 'human-app', ['x']);
    const cases: Array<[unknown, number, RegExp]> = [
      [{ execution_id: 'nope', expected_output: 'spam' }, 400, /execution_id/],
      [{ execution_id: id }, 400, /expected_output/],
      [{ execution_id: id, expected_output: 'maybe' }, 400, /output_schema/],
      [{ execution_id: '0190a0a0-0000-7000-8000-000000000000', expected_output: 'ham' }, 404, /no execution/],
    ];
    for (const [body, status, message] of cases) {
      const res = await call(server.url, 'POST', '/loop-apps/human-app/feedback', body);
      expect(res.status).toBe(status);
      expect(res.body.error.message).toMatch(message);
    }
  });

  test('a schedule that is not cron is refused with a clear 400', async () => {
    const res = await call(server.url, 'PATCH', '/loop-apps/human-app', {
      validation: { schedule: 'every minute' },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/not a cron expression/);
  });
});

test('validation runs on its cron schedule; retention deletes old execution files at start-up', async () => {
  const teacher = await startTeacher();
  const dataDir = tmpDataDir();
  writeApp(dataDir, 'cron-app', {
    config: config(
      'cron-app',
      { oracle: 'http', http: { url: teacher.url }, schedule: '* * * * * *' },
      { retention_days: 7 },
    ),
  });
  const executions = appFile(dataDir, 'cron-app', 'datasets', 'executions');
  fs.mkdirSync(executions, { recursive: true });
  fs.writeFileSync(path.join(executions, '2020-01-01.jsonl'), '');
  const server = await startTestServer(dataDir);
  try {
    await executeAll(server.url, 'cron-app', ['win a prize']);
    await eventually(() => {
      expect(
        readJsonl(appFile(dataDir, 'cron-app', 'datasets', 'validations', 'sampled.jsonl')),
      ).toHaveLength(1);
    }, 5000);
    expect(fs.readdirSync(executions)).toEqual([`${new Date().toISOString().slice(0, 10)}.jsonl`]);
  } finally {
    await server.close();
    await teacher.close();
  }
});

test('a crash between writing verdicts and saving the state: no verdict twice, none lost', async () => {
  const teacher = await startTeacher();
  const dataDir = tmpDataDir();
  writeApp(dataDir, 'crash-app', {
    config: config('crash-app', { oracle: 'http', http: { url: teacher.url } }),
  });
  const stateFile = appFile(dataDir, 'crash-app', 'datasets', 'validations', 'state.json');
  let server = await startTestServer(dataDir);
  let ids: string[];
  try {
    ids = await executeAll(server.url, 'crash-app');
    // read the executions (state saved with every sample pending), keep that state as the crash will leave it
    await call(server.url, 'PATCH', '/loop-apps/crash-app', { validation: { oracle: 'human' } });
    await call(server.url, 'POST', '/loop-apps/crash-app/validate');
    const saved = fs.readFileSync(stateFile, 'utf8');
    expect(JSON.parse(saved).pending).toHaveLength(TEXTS.length);
    await call(server.url, 'PATCH', '/loop-apps/crash-app', { validation: { oracle: 'http' } });
    expect((await call(server.url, 'POST', '/loop-apps/crash-app/validate')).body.validated).toBe(
      TEXTS.length,
    );
    await server.close();
    fs.writeFileSync(stateFile, saved); // as if the process died before its last state save
  } finally {
    await server.close();
  }
  server = await startTestServer(dataDir);
  try {
    const report = (await call(server.url, 'POST', '/loop-apps/crash-app/validate')).body;
    expect(report).toMatchObject({ validated: 0, pending: 0 });
    const verdicts = readJsonl(appFile(dataDir, 'crash-app', 'datasets', 'validations', 'sampled.jsonl'));
    expect(verdicts.map((v) => v.execution_id).sort()).toEqual([...ids].sort());
    const analytics = (await call(server.url, 'GET', '/loop-apps/crash-app/analytics')).body;
    expect(analytics.summary).toMatchObject({
      validations: TEXTS.length,
      accuracy: V1_ACCURACY,
      accuracy_window: TEXTS.length,
    });
  } finally {
    await server.close();
    await teacher.close();
  }
});
