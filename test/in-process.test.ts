import fs from 'node:fs';
import path from 'node:path';
import type { RunningServer } from '../src/server';
import { LEARNER_TEMPLATE } from '../src/synthesis/learner';
import { copyBundledApps } from './helpers/apps';
import { call, finishedJob, startTestServer } from './helpers/server';

/** A small deterministic generator, so that the inputs are the same on every run. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** Variations of a text: cut, shuffled, shouted, padded with symbols and characters beyond Latin, or empty. */
function variants(text: string, next: () => number): string[] {
  const words = text.split(/\s+/);
  const shuffled = [...words].sort(() => next() - 0.5).join(' ');
  const cut = words.slice(0, 1 + Math.floor(next() * words.length)).join(' ');
  return [
    text,
    shuffled,
    cut,
    text.toUpperCase(),
    `${cut} !!! $$$ €100 don't`,
    `ümlaut ñ 漢字 ${shuffled}`,
    '',
  ];
}

/** Thousands of inputs for an app: its own labelled rows, and variations of their text fields. */
function inputsOf(examples: Array<{ input: unknown }>, seed: number, want = 2500): unknown[] {
  const next = random(seed);
  const out: unknown[] = [];
  for (let i = 0; out.length < want; i++) {
    const input = examples[i % examples.length].input as Record<string, unknown>;
    if (typeof input === 'string') {
      out.push(...variants(input, next));
      continue;
    }
    const texts = variants(JSON.stringify(input), next).map((_, k) =>
      JSON.parse(JSON.stringify(input), (key, value) =>
        typeof value === 'string' && key !== '' ? variants(value, next)[k] : value,
      ),
    );
    out.push(...texts);
  }
  return out.slice(0, want);
}

async function executeAll(base: string, id: string, inputs: unknown[]): Promise<unknown[]> {
  const answers: unknown[] = [];
  for (let i = 0; i < inputs.length; i += 500) {
    const reply = await call(base, 'POST', `/loop-apps/${id}/execute/batch`, {
      inputs: inputs.slice(i, i + 500),
    });
    expect(reply.status).toBe(200);
    for (const r of reply.body.results) {
      expect(r.error).toBeUndefined();
      answers.push([r.output, r.confidence, r.version]);
    }
  }
  return answers;
}

async function runsOn(base: string, id: string): Promise<{ path: string; why: string; loaded: boolean }> {
  const app = (await call(base, 'GET', `/loop-apps/${id}`)).body;
  return (await call(base, 'GET', `/loop-apps/${id}/versions/${app.active_version}`)).body.runs;
}

/** Runs every input on the in-process path, switches the app to the sandbox, runs them again: the same answers. */
async function bothWays(base: string, id: string, inputs: unknown[]): Promise<void> {
  const here = await executeAll(base, id, inputs);
  expect(await runsOn(base, id)).toMatchObject({ path: 'in-process', loaded: true });
  const patched = await call(base, 'PATCH', `/loop-apps/${id}`, { execution: { in_process: false } });
  expect(patched.status).toBe(200);
  const there = await executeAll(base, id, inputs);
  expect(await runsOn(base, id)).toMatchObject({
    path: 'sandbox',
    loaded: true,
    why: expect.stringMatching(/off/),
  });
  expect(there).toEqual(here);
  expect(new Set(here.map((a) => JSON.stringify((a as unknown[])[0]))).size).toBeGreaterThan(1);
}

describe('the in-process path answers exactly as the sandbox does', () => {
  let server: RunningServer;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = copyBundledApps();
    server = await startTestServer(dataDir, { sandbox: { children: 2, child_heap_mb: 256 } });
  });
  afterAll(() => server.close());

  const bundled = fs.readdirSync(path.join(__dirname, '..', 'loopai-data', 'loop-apps'));
  test.each(bundled)(
    'bundled %s, 2,500 inputs both ways',
    async (id) => {
      const file = path.join(dataDir, 'loop-apps', id, 'datasets', 'examples.jsonl');
      const examples = fs
        .readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      await bothWays(server.url, id, inputsOf(examples, id.length));
    },
    120_000,
  );

  /** Learned test apps the bundled ones do not cover: a bare string input, two labels inside an object. */
  const learned: Array<
    [string, Record<string, unknown>, Record<string, unknown>, (i: number) => unknown, (i: number) => unknown]
  > = [
    [
      'plain-text-input',
      { type: 'string' },
      { type: 'string', enum: ['alpha', 'beta', 'gamma'] },
      (i) => `${['red apple pie', 'blue ocean wave', 'green forest moss'][i % 3]} item ${i}`,
      (i) => ['alpha', 'beta', 'gamma'][i % 3],
    ],
    [
      'object-output-mixed-fields',
      {
        type: 'object',
        properties: {
          title: { type: 'string' },
          body: { type: 'string' },
          stars: { type: 'integer' },
          vip: { type: 'boolean' },
        },
        required: ['title'],
      },
      { type: 'object', properties: { verdict: { enum: ['keep', 'drop'] } }, required: ['verdict'] },
      (i) => ({
        title: i % 2 ? 'great value' : 'broken on arrival',
        body: `note ${i % 7}`,
        stars: i % 5,
        vip: i % 3 === 0,
      }),
      (i) => ({ verdict: i % 2 ? 'keep' : 'drop' }),
    ],
  ];
  test.each(learned)(
    'learned %s, 2,500 inputs both ways',
    async (id, input_schema, output_schema, input, output) => {
      const examples = Array.from({ length: 60 }, (_, i) => ({ input: input(i), output: output(i) }));
      const created = await call(server.url, 'POST', '/loop-apps', {
        loop_app_id: id,
        task: 'A test task',
        input_schema,
        output_schema,
        examples,
      });
      expect(created.status).toBe(202);
      expect((await finishedJob(server.url, created.body.job_id, 60_000)).state).toBe('succeeded');
      const v1 = (await call(server.url, 'GET', `/loop-apps/${id}/versions/v1`)).body;
      expect(v1.template).toEqual({ name: LEARNER_TEMPLATE.name, sha256: v1.sha256 });
      await bothWays(server.url, id, inputsOf(examples, 7));
    },
    120_000,
  );
});
