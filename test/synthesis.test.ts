import fs from 'node:fs';
import path from 'node:path';
import type { RunningServer } from '../src/server';
import { spamConfig, tmpDataDir } from './helpers/apps';
import { call, finishedJob, startTestServer } from './helpers/server';

const SPAM = [
  'win a free prize now',
  'claim your cash reward today',
  'cheap pills online no prescription',
  'you won the lottery click here',
  'urgent verify your bank account',
  'free bitcoin giveaway act fast',
  'exclusive deal win big money',
  'limited offer free gift card',
];
const HAM = [
  'see you at lunch tomorrow',
  'the meeting moved to three',
  'can you send me the report',
  'happy birthday mum love you',
  'the train is running late again',
  'dinner at our place on friday',
  'thanks for the notes from class',
  'please review my pull request',
];

/** A few dozen labelled rows per class, with varied filler so the held-out fifth is not trivial. */
function labelled(): Array<{ input: { text: string }; output: string }> {
  const rows: Array<{ input: { text: string }; output: string }> = [];
  const fillers = ['', ' ok', ' thanks', ' see below', ' regards', ' :)'];
  for (const [texts, label] of [
    [SPAM, 'spam'],
    [HAM, 'ham'],
  ] as const) {
    texts.forEach((t, i) =>
      fillers.forEach((f, j) => rows.push({ input: { text: `${t}${f} ${i * 7 + j}` }, output: label })),
    );
  }
  return rows;
}

const finished = (server: RunningServer, jobId: string) => finishedJob(server.url, jobId, 60_000);

describe('program synthesis offline (no key, no network)', () => {
  let server: RunningServer;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = tmpDataDir();
    server = await startTestServer(dataDir, { llm: { model: 'none', timeout_ms: 1000, repair_rounds: 0 } });
  });
  afterAll(() => server.close());

  test('POST /loop-apps with a spec and examples yields a scored, active v1 that answers', async () => {
    const created = await call(server.url, 'POST', '/loop-apps', {
      ...spamConfig('learned-spam'),
      examples: labelled(),
    });
    expect(created.status).toBe(202);
    const job = await finished(server, created.body.job_id);
    expect(job.state).toBe('succeeded');
    expect(job.result).toMatchObject({ version: 'v1', activated: true, generator: 'learner' });
    expect(job.progress.join('\n')).toMatch(/stratified 5-fold cross-validation.*trained on all of them/);

    const meta = JSON.parse(
      fs.readFileSync(
        path.join(dataDir, 'loop-apps', 'learned-spam', 'artifacts', 'v1', 'metadata.json'),
        'utf8',
      ),
    );
    expect(meta.generator).toBe('learner');
    // the served version learned from every row; its score estimates that procedure, with an interval
    expect(meta.trained_on).toBe(labelled().length);
    expect(meta.seen).toEqual({ examples: labelled().length, held_out: false });
    expect(meta.eval).toMatchObject({ n: labelled().length, estimates: 'procedure' });
    expect(meta.eval.interval.low).toBeLessThan(meta.eval.accuracy);
    expect(meta.eval.interval.high).toBeGreaterThanOrEqual(meta.eval.accuracy);
    expect(meta.eval.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(meta.eval.per_class.spam.recall).toBeGreaterThan(0.8);
    expect(meta.eval.confusion).toBeDefined();

    const res = await call(server.url, 'POST', '/loop-apps/learned-spam/execute', {
      input: { text: 'win free cash prize now' },
    });
    expect(res.body).toMatchObject({ version: 'v1', output: 'spam' });
    expect(res.body.confidence).toBeGreaterThan(0.5);
    const ham = await call(server.url, 'POST', '/loop-apps/learned-spam/execute', {
      input: { text: 'lunch meeting tomorrow' },
    });
    expect(ham.body.output).toBe('ham');
  });

  test('examples: every bad row is listed by index and nothing is stored', async () => {
    const file = path.join(dataDir, 'loop-apps', 'learned-spam', 'datasets', 'examples.jsonl');
    const before = fs.readFileSync(file, 'utf8');
    const res = await call(server.url, 'POST', '/loop-apps/learned-spam/examples', [
      { input: { text: 'fine' }, output: 'ham' },
      { input: { text: 'bad label' }, output: 'maybe' },
      { input: { txt: 'bad input' }, output: 'spam' },
      { nothing: true },
    ]);
    expect(res.status).toBe(400);
    expect(res.body.error.details.rows.map((r: { index: number }) => r.index)).toEqual([1, 2, 3]);
    expect(JSON.stringify(res.body.error.details.rows[0])).toMatch(/spam.*ham|allowed/);
    expect(fs.readFileSync(file, 'utf8')).toBe(before);
  });

  test('examples as JSONL are stored with source and ts', async () => {
    const body = [
      '{"input": {"text": "free money"}, "output": "spam"}',
      '{"input": {"text": "see you soon"}, "output": "ham"}',
    ].join('\n');
    const res = await call(server.url, 'POST', '/loop-apps/learned-spam/examples', body, {
      'content-type': 'application/x-ndjson',
    });
    expect(res.status).toBe(201);
    expect(res.body.added).toBe(2);
    const lines = fs
      .readFileSync(path.join(dataDir, 'loop-apps', 'learned-spam', 'datasets', 'examples.jsonl'), 'utf8')
      .trim()
      .split('\n');
    expect(JSON.parse(lines[lines.length - 1])).toMatchObject({ output: 'ham', source: 'user' });
    expect(Date.parse(JSON.parse(lines[lines.length - 1]).ts)).not.toBeNaN();
  });

  test('regeneration that scores worse than the active version stays testing, with both scores', async () => {
    // the label is the parity of the text length: a bag of words cannot learn it, the hand-written v1 knows it
    const parity =
      'function execute(input) { return { result: input.text.length % 2 ? "spam" : "ham", confidence: 1 }; }';
    const rows = labelled().map((r) => ({
      input: r.input,
      output: r.input.text.length % 2 ? 'spam' : 'ham',
    }));
    const created = await call(server.url, 'POST', '/loop-apps', {
      ...spamConfig('parity-app'),
      program: { code: parity },
      examples: rows,
    });
    expect(created.status).toBe(201);
    const regen = await call(server.url, 'POST', '/loop-apps/parity-app/versions', { regenerate: true });
    expect(regen.status).toBe(202);
    const job = await finished(server, regen.body.job_id);
    expect(job.result).toMatchObject({
      version: 'v2',
      activated: false,
      compared_with: { version: 'v1', accuracy: 1 },
    });
    expect(job.result.eval.accuracy).toBeLessThan(1);
    const v2 = await call(server.url, 'GET', '/loop-apps/parity-app/versions/v2');
    expect(v2.body).toMatchObject({ status: 'rejected', compared_with: { version: 'v1', accuracy: 1 } });
    expect((await call(server.url, 'GET', '/loop-apps/parity-app')).body.current_version).toBe('v1');
  });

  test('regeneration that scores at least as well is activated', async () => {
    const constant = 'function execute(input) { return { result: "ham", confidence: 0.5 }; }';
    await call(server.url, 'POST', '/loop-apps', {
      ...spamConfig('weak-app'),
      program: { code: constant },
      examples: labelled(),
    });
    const regen = await call(server.url, 'POST', '/loop-apps/weak-app/versions', { regenerate: true });
    const job = await finished(server, regen.body.job_id);
    expect(job.result).toMatchObject({ version: 'v2', activated: true, compared_with: { version: 'v1' } });
    expect(job.result.eval.accuracy).toBeGreaterThan(job.result.compared_with.accuracy);
    const res = await call(server.url, 'POST', '/loop-apps/weak-app/execute', {
      input: { text: 'claim your free prize' },
    });
    expect(res.body).toMatchObject({ version: 'v2', output: 'spam' });
  });

  test('a version made from scarce data is compared only on rows it never saw', async () => {
    const rows = labelled();
    const created = await call(server.url, 'POST', '/loop-apps', {
      ...spamConfig('scarce-app'),
      examples: rows.slice(0, 10),
    });
    expect((await finished(server, created.body.job_id)).result.eval.method).toMatch(/leave-one-out/);
    const v1 = (await call(server.url, 'GET', '/loop-apps/scarce-app/versions/v1')).body;
    expect(v1.seen).toEqual({ examples: 10, held_out: false });
    await call(server.url, 'POST', '/loop-apps/scarce-app/examples', rows.slice(10, 30));
    const regen = await call(server.url, 'POST', '/loop-apps/scarce-app/versions', { regenerate: true });
    const job = await finished(server, regen.body.job_id);
    // every row is scored by cross-validation, and v1 trained on 10 of them
    expect(job.result.compared_with).toMatchObject({ version: 'v1', n: 20 });
  });

  test('few examples: scored by leave-one-out, with an interval that says how little 16 rows tell', async () => {
    const few = labelled().filter((_, i) => i % 6 === 0);
    const created = await call(server.url, 'POST', '/loop-apps', {
      ...spamConfig('few-shot'),
      examples: few,
    });
    const job = await finished(server, created.body.job_id);
    expect(job.state).toBe('succeeded');
    expect(job.result.eval.method).toMatch(/leave-one-out/);
    expect(job.result.eval.n).toBe(few.length);
    const { low, high } = job.result.eval.interval;
    expect(high - low).toBeGreaterThan(0.15);
    expect(job.progress.join('\n')).toMatch(
      /accuracy \d+\.\d % \(95 % CI \d+\.\d %–\d+\.\d %, leave-one-out/,
    );
  });

  test('an output the learner cannot learn, offline → 400 saying an LLM is needed; nothing created', async () => {
    const res = await call(server.url, 'POST', '/loop-apps', {
      ...spamConfig('summarizer'),
      output_schema: { type: 'string' },
      examples: [{ input: { text: 'long text' }, output: 'short' }],
    });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/OPENAI_API_KEY/);
    expect(fs.existsSync(path.join(dataDir, 'loop-apps', 'summarizer'))).toBe(false);
  });

  test('generation needs examples', async () => {
    const res = await call(server.url, 'POST', '/loop-apps', spamConfig('no-examples'));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('examples_required');
  });

  test('unknown job → 404', async () => {
    expect((await call(server.url, 'GET', '/jobs/job_nope')).status).toBe(404);
  });
});
