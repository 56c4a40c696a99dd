import vm from 'node:vm';
import Ajv from 'ajv';
import type { RunningServer } from '../src/server';
import { learn, loadModel, type LearnedProgram } from '../src/synthesis/learner';
import { normalCdf } from '../src/synthesis/learner/model';
import { answerKey, score } from '../src/synthesis/evaluate';
import { spamConfig, tmpDataDir } from './helpers/apps';
import { call, eventually, startTestServer } from './helpers/server';

/** Emails whose folder, priority and tags follow from their words: what the learner has to find. */
const FOLDERS: Record<string, string[]> = {
  work: ['the quarterly report', 'the project plan', 'the client proposal', 'the budget review'],
  personal: ["grandma's birthday", 'the family dinner', 'our weekend hike', 'the school play'],
  promotions: ['this exclusive offer', 'our summer sale', 'a members only deal', 'the new collection'],
};
/** Priority 1..5, said by how soon. */
const WHEN = [
  'no rush, whenever you can',
  'sometime this week',
  'by tomorrow',
  'today please',
  'urgent, right now',
];
const TAGS = ['invoice', 'meeting', 'travel', 'discount'] as const;
const TAG_WORDS: Record<(typeof TAGS)[number], string> = {
  invoice: 'the invoice is attached',
  meeting: 'join the meeting invite',
  travel: 'the flight booking',
  discount: 'use the discount code',
};
const TAG_SETS: Array<Array<(typeof TAGS)[number]>> = [
  [],
  ['invoice'],
  ['meeting'],
  ['travel', 'discount'],
  ['invoice', 'meeting'],
  ['meeting', 'travel'],
];

interface Email {
  input: { subject: string; body: string };
  output: { folder: string; urgent: boolean; priority: number; tags: string[] };
}

function emails(): Email[] {
  const out: Email[] = [];
  for (const [folder, topics] of Object.entries(FOLDERS))
    topics.forEach((topic, t) =>
      WHEN.forEach((when, p) =>
        TAG_SETS.forEach((tags, s) => {
          if ((t + p + s) % 3 === 0) return; // a third of the grid is left out: no row is in every combination
          out.push({
            input: {
              subject: `About ${topic}`,
              body: [when, ...tags.map((tag) => TAG_WORDS[tag])].join('. '),
            },
            output: {
              folder,
              urgent: p >= 3,
              priority: p + 1,
              tags: TAGS.filter((tag) => tags.includes(tag)),
            },
          });
        }),
      ),
    );
  return out;
}

const inputSchema = {
  type: 'object',
  properties: { subject: { type: 'string' }, body: { type: 'string' } },
  required: ['subject', 'body'],
};
const outputSchema = {
  type: 'object',
  properties: {
    folder: { type: 'string', enum: Object.keys(FOLDERS) },
    urgent: { type: 'boolean' },
    priority: { type: 'integer', minimum: 1, maximum: 5 },
    tags: { type: 'array', items: { type: 'string', enum: [...TAGS] }, uniqueItems: true },
  },
  required: ['folder', 'urgent', 'priority', 'tags'],
};

/** Runs an emitted program the way the sandbox does: a plain script with `loopai.files`. */
function runProgram(files: Record<string, string>, input: unknown) {
  const context = vm.createContext({ loopai: { files } });
  vm.runInContext(files['program.js'], context);
  return JSON.parse(vm.runInContext(`JSON.stringify(execute(${JSON.stringify(input)}))`, context));
}

/** Every 5th row held out. */
const split = <T>(rows: T[]) => ({
  train: rows.filter((_, i) => i % 5 !== 0),
  held: rows.filter((_, i) => i % 5 === 0),
});

test('the normal distribution function the confidence of numbers comes from', () => {
  expect(normalCdf(0)).toBeCloseTo(0.5, 7);
  expect(normalCdf(1.959964)).toBeCloseTo(0.975, 6);
  expect(normalCdf(-1)).toBeCloseTo(0.158655, 6);
  expect(normalCdf(-40)).toBe(0);
});

test('a list the schema declares a set of (uniqueItems) is right in any order; any other list in its order', () => {
  const tags = (unique: boolean) => ({
    type: 'object',
    properties: { tags: { type: 'array', items: { enum: ['a', 'b'] }, uniqueItems: unique } },
  });
  const expected = [{ tags: ['b', 'a'] }, { tags: ['a'] }];
  const predicted = [{ tags: ['a', 'b'] }, { tags: ['a'] }];
  expect(score(expected, predicted, 'rows', tags(true)).accuracy).toBe(1);
  expect(score(expected, predicted, 'rows', tags(false)).accuracy).toBe(0.5);
  expect(answerKey({ tags: ['b', 'a'] }, tags(true))).toBe(answerKey({ tags: ['a', 'b'] }, tags(true)));
});

describe('the learner learns more than one label', () => {
  const { train, held } = split(emails());
  let learned: LearnedProgram;
  let predict: ReturnType<typeof loadModel>;
  beforeAll(async () => {
    learned = await learn(train, inputSchema, outputSchema);
    predict = loadModel(learned.files);
  });

  test('an object of a label, a boolean, an integer and tags: each field right on held-out emails', () => {
    const right = { folder: 0, urgent: 0, priority: 0, tags: 0 };
    for (const row of held) {
      const got = predict(row.input).result as Email['output'];
      for (const field of Object.keys(right) as Array<keyof typeof right>)
        if (JSON.stringify(got[field]) === JSON.stringify(row.output[field])) right[field]++;
    }
    expect(held.length).toBeGreaterThan(40);
    for (const field of Object.keys(right) as Array<keyof typeof right>)
      expect({ field, share: right[field] / held.length > 0.9 }).toEqual({ field, share: true });
  });

  test('one block of weights per part, one per tag; the program scores exactly as the server does', () => {
    expect(learned.stats.blocks).toBe(3 + TAGS.length);
    expect(Object.keys(learned.files).sort()).toEqual([
      'model.json',
      'program.js',
      'weights-2.bin.b64',
      'weights-3.bin.b64',
      'weights-4.bin.b64',
      'weights-5.bin.b64',
      'weights-6.bin.b64',
      'weights-7.bin.b64',
      'weights.bin.b64',
    ]);
    const validate = new Ajv().compile(outputSchema);
    for (const row of [...held, { input: { subject: '', body: '' } }]) {
      const answer = predict(row.input);
      expect(runProgram(learned.files, row.input)).toEqual(answer);
      expect(validate(answer.result)).toBe(true);
      expect(answer.confidence).toBeGreaterThanOrEqual(0);
      expect(answer.confidence).toBeLessThanOrEqual(1);
    }
  });

  test('tags: a threshold chosen on held-out rows for each, and at least min_items when asked', async () => {
    const info = JSON.parse(learned.files['model.json']);
    const tags = info.output.parts[3];
    expect(tags.kind).toBe('tags');
    expect(tags.tags.map((t: { label: number }) => t.label)).toEqual([0, 1, 2, 3]);
    for (const t of tags.tags) {
      expect(t.threshold).toBeGreaterThan(0);
      expect(t.threshold).toBeLessThan(1);
    }
    const atLeastOne = await learn(
      train.map((r) => ({ input: r.input, output: r.output.tags })),
      inputSchema,
      { type: 'array', items: { enum: [...TAGS] }, minItems: 1 },
    );
    const none = { subject: 'About the project plan', body: 'sometime this week' };
    expect(predict(none).result).toMatchObject({ tags: [] });
    expect(loadModel(atLeastOne.files)(none).result).toHaveLength(1);
  });

  test('an integer alone: rounded, within its bounds, clamped far from every example', async () => {
    const priority = await learn(
      train.map((r) => ({ input: r.input, output: r.output.priority })),
      inputSchema,
      { type: 'integer', minimum: 1, maximum: 5 },
    );
    const score = loadModel(priority.files);
    const answers = held.map((row) => ({ ...score(row.input), want: row.output.priority }));
    for (const a of answers) {
      expect(Number.isInteger(a.result)).toBe(true);
      expect(a.result).toBeGreaterThanOrEqual(1);
      expect(a.result).toBeLessThanOrEqual(5);
    }
    const right = answers.filter((a) => a.result === a.want);
    expect(right.length / answers.length).toBeGreaterThan(0.9);
    // the chance the true value is the answer's grid point, given the held-out spread
    for (const a of answers) expect(a.confidence).toBeGreaterThan(0.5);
    // a prediction far from every example is clamped to the bounds, not extrapolated
    const loud = { subject: 'About the budget review', body: 'urgent, right now. '.repeat(20) };
    expect(score(loud).result).toBe(5);
    const part = JSON.parse(priority.files['model.json']).output.parts[0];
    expect(part).toMatchObject({ kind: 'number', step: 1, min: 1, max: 5 });
    expect(part.sigma).toBeGreaterThan(0);
  });

  test('a number on a grid (multipleOf 0.5), and a number with no grid answers at its labels’ precision', async () => {
    const rating = (r: Email) => r.output.priority / 2 + (r.output.folder === 'work' ? 0.25 : 0);
    const half = await learn(
      train.map((r) => ({ input: r.input, output: rating(r) })),
      inputSchema,
      { type: 'number', multipleOf: 0.5, exclusiveMaximum: 10 },
    );
    const free = await learn(
      train.map((r) => ({ input: r.input, output: rating(r) })),
      inputSchema,
      { type: 'number' },
    );
    for (const row of held) {
      const a = loadModel(half.files)(row.input).result as number;
      expect(Number.isInteger(a * 2)).toBe(true);
      const b = loadModel(free.files)(row.input).result as number;
      expect(String(b)).toMatch(/^\d+(\.\d{1,2})?$/); // the labels have two decimals
      expect(Math.abs(b - rating(row))).toBeLessThanOrEqual(0.5);
    }
    expect(JSON.parse(half.files['model.json']).output.parts[0]).toMatchObject({ step: 0.5, max: 9.5 });
    expect(JSON.parse(free.files['model.json']).output.parts[0]).toMatchObject({ step: 0.01 });
  });

  test('a row without a learnable field, or with a label not in the schema, is named', async () => {
    const rows = train.slice(0, 30).map((r) => ({ input: r.input, output: { ...r.output } }));
    (rows[3].output as Record<string, unknown>).priority = 'high';
    await expect(learn(rows, inputSchema, outputSchema)).rejects.toThrow(
      /example value "high" \(field priority\) is not a number/,
    );
    rows[3].output.priority = 2;
    rows[4].output.tags = ['invoice', 'lottery'];
    await expect(learn(rows, inputSchema, outputSchema)).rejects.toThrow(
      /example label "lottery" \(field tags\) is not one of/,
    );
  });
});

describe('served: an email triage app made offline from its examples', () => {
  let server: RunningServer;
  const { train, held } = split(emails());
  beforeAll(async () => {
    server = await startTestServer(tmpDataDir(), {
      llm: { model: 'none', timeout_ms: 1000, repair_rounds: 0 },
    });
  });
  afterAll(() => server.close());

  test('created over HTTP, scored honestly, and both paths (in process, sandbox) answer alike', async () => {
    for (const [id, inProcess] of [
      ['triage', true],
      ['triage-sandboxed', false],
    ] as const) {
      const created = await call(server.url, 'POST', '/loop-apps', {
        ...spamConfig(id),
        input_schema: inputSchema,
        output_schema: outputSchema,
        execution: { in_process: inProcess },
        examples: train,
      });
      expect(created.status).toBe(202);
      const job = await eventually(async () => {
        const j = await call(server.url, 'GET', `/jobs/${created.body.job_id}`);
        if (j.body.state !== 'succeeded' && j.body.state !== 'failed') throw new Error('running');
        return j.body;
      }, 60_000);
      expect(job).toMatchObject({
        state: 'succeeded',
        result: { eval: { method: 'stratified 5-fold cross-validation' } },
      });
      // the whole answer must be right to count: every field
      expect(job.result.eval.accuracy).toBeGreaterThan(0.6);
      const runs = (await call(server.url, 'GET', `/loop-apps/${id}/versions/v1`)).body.runs;
      expect(runs.path).toBe(inProcess ? 'in-process' : 'sandbox');
    }
    const inputs = held.slice(0, 40).map((r) => r.input);
    const [here, there] = await Promise.all(
      ['triage', 'triage-sandboxed'].map(
        async (id) =>
          (await call(server.url, 'POST', `/loop-apps/${id}/execute/batch`, { inputs })).body.results,
      ),
    );
    expect(here.map((r: { output: unknown }) => r.output)).toEqual(
      there.map((r: { output: unknown }) => r.output),
    );
    const right = here.filter(
      (r: { output: Email['output'] }, i: number) =>
        JSON.stringify(r.output) === JSON.stringify(held[i].output),
    );
    expect(right.length / inputs.length).toBeGreaterThan(0.7);
  });

  test('a CSV with a column per output field (?output=a,b), tags as a|b', async () => {
    const created = await call(server.url, 'POST', '/loop-apps', {
      ...spamConfig('triage-csv'),
      input_schema: inputSchema,
      output_schema: outputSchema,
      generate: false,
    });
    expect(created.status).toBe(201);
    const csv = [
      'subject,body,folder,urgent,priority,tags',
      'About the project plan,"by tomorrow. the invoice is attached",work,false,3,invoice',
      'About our summer sale,urgent,promotions,yes,5,discount|travel',
      'About the family dinner,no rush,personal,0,1,',
    ].join('\n');
    const res = await fetch(
      `${server.url}/loop-apps/triage-csv/examples?input=subject,body&output=folder,urgent,priority,tags`,
      { method: 'POST', headers: { 'content-type': 'text/csv' }, body: csv },
    );
    expect(await res.text()).toMatch(/"added":3/);
    const exported = await (await fetch(`${server.url}/loop-apps/triage-csv/examples`)).text();
    expect(
      exported
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).output),
    ).toEqual([
      { folder: 'work', urgent: false, priority: 3, tags: ['invoice'] },
      { folder: 'promotions', urgent: true, priority: 5, tags: ['discount', 'travel'] },
      { folder: 'personal', urgent: false, priority: 1, tags: [] },
    ]);
  });
});
