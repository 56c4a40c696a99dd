import fs from 'node:fs';
import path from 'node:path';
import type { RunningServer } from '../../src/server';
import { MAX_IN_PROCESS_CHARS } from '../../src/runtime/in-process';
import { learn } from '../../src/synthesis/learner';
import { spamConfig, tmpDataDir, writeApp, writeVersion } from '../helpers/apps';
import { call, startTestServer } from '../helpers/server';

const BUNDLED = path.join(
  __dirname,
  '..',
  '..',
  'loopai-data',
  'loop-apps',
  'spam-detector-001',
  'artifacts',
  'v3',
);
const learned = (): Record<string, string> =>
  Object.fromEntries(
    ['program.js', 'model.json', 'weights.bin.b64'].map((f) => [
      f,
      fs.readFileSync(path.join(BUNDLED, f), 'utf8'),
    ]),
  );
const model = (edit: (m: any) => void): Record<string, string> => {
  const files = learned();
  const info = JSON.parse(files['model.json']);
  edit(info);
  return { ...files, 'model.json': JSON.stringify(info) };
};

/** Versions of a learner-made program whose data (or code) someone changed, and what refuses the in-process path. */
const CRAFTED: Array<[string, Record<string, string>, RegExp]> = [
  ['a character n-gram of a billion units', model((m) => (m.spec.charMax = 1e9)), /charMax must be <= 8/],
  [
    'ten thousand input fields',
    model((m) => (m.spec.fields = Array(10_000).fill('text'))),
    /fields must NOT have more than 256/,
  ],
  [
    'a second weights file outside the version',
    model((m) => (m.weights.file = '../../../etc/passwd')),
    /weights\/file must be equal to constant/,
  ],
  [
    'an own __proto__ key',
    { ...learned(), 'model.json': learned()['model.json'].replace('{', '{"__proto__":{"polluted":true},') },
    /must NOT have additional properties/,
  ],
  ['a negative temperature', model((m) => (m.temperature = -1)), /temperature must be > 0/],
  [
    'labels that do not match the weights',
    model((m) => m.output.labels.push('maybe')),
    /header does not match model\.json/,
  ],
  [
    'a truncated weights block',
    { ...learned(), 'weights.bin.b64': learned()['weights.bin.b64'].slice(0, 4000) },
    /shorter than its header/,
  ],
  [
    'weights with characters Buffer would skip over',
    { ...learned(), 'weights.bin.b64': learned()['weights.bin.b64'].replace(/^(.{40})/, '$1\n !*') },
    /weights: not base64 as the learner writes it/,
  ],
  ['model.json that is not JSON', { ...learned(), 'model.json': '{"format":' }, /model\.json is not JSON/],
  [
    'program.js changed by one byte',
    { ...learned(), 'program.js': learned()['program.js'] + ' ' },
    /not the learner's template/,
  ],
];

describe('the in-process path takes data, never code', () => {
  let server: RunningServer;
  const id = 'crafted-app';

  beforeAll(async () => {
    const dataDir = tmpDataDir();
    const config = spamConfig(id, {
      input_schema: {
        type: 'object',
        properties: { text: { type: 'string' }, sender: { type: 'string' } },
        required: ['text'],
      },
    });
    writeApp(dataDir, id, { config, versions: [learned()] });
    CRAFTED.forEach(([, files], i) => writeVersion(dataDir, id, `v${i + 2}`, files));
    server = await startTestServer(dataDir);
  });
  afterAll(() => server.close());

  test("the learner's own version runs in process", async () => {
    const answer = await call(server.url, 'POST', `/loop-apps/${id}/execute`, {
      input: { text: 'WIN a FREE prize now!!!' },
    });
    expect(answer.body).toMatchObject({ output: 'spam', version: 'v1' });
    const runs = (await call(server.url, 'GET', `/loop-apps/${id}/versions/v1`)).body.runs;
    expect(runs).toMatchObject({ path: 'in-process', loaded: true });
    expect(server.registry.pool.stats().loaded).toBe(0);
  });

  test.each(CRAFTED.map(([what, , why], i) => [what, `v${i + 2}`, why] as const))(
    '%s (%s): refused for the in-process path, saying why',
    async (_what, version, why) => {
      const runs = (await call(server.url, 'GET', `/loop-apps/${id}/versions/${version}`)).body.runs;
      expect(runs.path).toBe('sandbox');
      expect(runs.why).toMatch(why);
    },
  );

  test('crafted data cannot be activated: the sandbox refuses it too, and v1 keeps serving in process', async () => {
    const reply = await call(server.url, 'POST', `/loop-apps/${id}/versions/v7/activate`, {});
    expect(reply.status).toBe(422);
    expect(reply.body.error.message).toMatch(/header does not match model\.json/);
    const answer = await call(server.url, 'POST', `/loop-apps/${id}/execute`, {
      input: { text: 'lunch at noon?' },
    });
    expect(answer.body).toMatchObject({ output: 'ham', version: 'v1' });
  });

  test('an input with more text than the in-process bound is scored in the sandbox, the same way', async () => {
    const text = 'free prize winner '.repeat(Math.ceil(MAX_IN_PROCESS_CHARS / 18) + 10);
    const big = await call(server.url, 'POST', `/loop-apps/${id}/execute`, { input: { text } });
    expect(big.status).toBe(200);
    expect(server.registry.pool.stats().loaded).toBe(1);
    const cut = text.slice(0, MAX_IN_PROCESS_CHARS);
    const small = await call(server.url, 'POST', `/loop-apps/${id}/execute/batch`, {
      inputs: [{ text: cut }, { text }],
    });
    expect(small.body.results.map((r: { output: string }) => r.output)).toEqual(['spam', big.body.output]);
    expect(big.body.confidence).toBe(small.body.results[1].confidence);
  });
});

describe("the current template's model (several parts) is checked as closely", () => {
  let server: RunningServer;
  const id = 'crafted-parts';
  const output = {
    type: 'object',
    properties: {
      label: { enum: ['spam', 'ham'] },
      score: { type: 'integer', minimum: 0, maximum: 9 },
      tags: { type: 'array', items: { enum: ['prize', 'lunch'] } },
    },
    required: ['label', 'score', 'tags'],
  };
  const edits: Array<[string, (m: any) => void, RegExp]> = [
    [
      'two parts reading one weights file',
      (m) => (m.output.parts[1].weights.file = 'weights.bin.b64'),
      /named twice/,
    ],
    [
      'a tag of a label the part does not have',
      (m) => (m.output.parts[2].tags[0].label = 7),
      /a tag names a label/,
    ],
    [
      'a weights file outside the version',
      (m) => (m.output.parts[0].weights.file = '../v1/x'),
      /must match pattern/,
    ],
    ['more parts than fields', (m) => m.output.fields.pop(), /fields and parts do not match/],
    ['a number part with min above max', (m) => (m.output.parts[1].min = 100), /min above max/],
    ['a spread of zero', (m) => (m.output.parts[1].sigma = 0), /sigma must be > 0/],
    [
      'an earlier model.json version under this template',
      (m) => (m.version = 2),
      /version must be equal to constant/,
    ],
  ];

  beforeAll(async () => {
    const rows = [
      'win a free prize now',
      'claim the prize',
      'lunch at noon?',
      'lunch tomorrow with the team',
    ].flatMap((text, i) =>
      [' today', ' please', ' again', ''].map((s, j) => ({
        input: { text: text + s },
        output: { label: i < 2 ? 'spam' : 'ham', score: i * 2 + (j % 2), tags: [i < 2 ? 'prize' : 'lunch'] },
      })),
    );
    const learned = (await learn(rows, spamConfig(id).input_schema, output)).files;
    const info = JSON.parse(learned['model.json']);
    const crafted = edits.map(([, edit]) => {
      const copy = structuredClone(info);
      edit(copy);
      return { ...learned, 'model.json': JSON.stringify(copy) };
    });
    const dataDir = tmpDataDir();
    writeApp(dataDir, id, { config: spamConfig(id, { output_schema: output }), versions: [learned] });
    crafted.forEach((files, i) => writeVersion(dataDir, id, `v${i + 2}`, files));
    server = await startTestServer(dataDir);
  });
  afterAll(() => server.close());

  test('the learned version runs in process', async () => {
    const answer = await call(server.url, 'POST', `/loop-apps/${id}/execute`, {
      input: { text: 'free prize' },
    });
    expect(answer.body.output).toMatchObject({ label: 'spam', tags: ['prize'] });
    const runs = (await call(server.url, 'GET', `/loop-apps/${id}/versions/v1`)).body.runs;
    expect(runs).toMatchObject({ path: 'in-process', loaded: true });
  });

  test.each(edits.map(([what, , why], i) => [what, `v${i + 2}`, why] as const))(
    '%s (%s): refused for the in-process path, saying why',
    async (_what, version, why) => {
      const runs = (await call(server.url, 'GET', `/loop-apps/${id}/versions/${version}`)).body.runs;
      expect(runs.path).toBe('sandbox');
      expect(runs.why).toMatch(why);
    },
  );
});
