import vm from 'node:vm';
import {
  decodeBase64,
  prepareModel,
  WEIGHTS_FILE,
  type PreparedBlock,
  type PreparedPart,
} from '../src/synthesis/learner/model';
import {
  learn,
  learnableTarget,
  LearnerUnsupported,
  loadModel,
  type LearnedProgram,
} from '../src/synthesis/learner';

const text = { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] };
const TOPICS: Record<string, string[]> = {
  sport: [
    'the team won the match',
    'a great goal in the final minute',
    'the coach praised the players',
    'fans filled the stadium',
    'the striker scored twice',
    'a tense game went to penalties',
  ],
  food: [
    'the soup was rich and warm',
    'bake the bread for an hour',
    'a spicy curry with rice',
    'fresh salad with lemon',
    'the chef grilled the fish',
    'chocolate cake for dessert',
  ],
  tech: [
    'the laptop battery lasts all day',
    'install the latest software update',
    'the phone screen cracked',
    'a faster processor and more memory',
    'the app crashed on startup',
    'reset the router and reconnect',
  ],
};

function rows(suffixes: string[]): Array<{ input: { text: string }; output: string }> {
  return Object.entries(TOPICS).flatMap(([label, texts]) =>
    texts.flatMap((t) => suffixes.map((s) => ({ input: { text: `${t}${s}` }, output: label }))),
  );
}

/** Runs an emitted program the way the sandbox does: a plain script with `loopai.files`. */
function runProgram(files: Record<string, string>, input: unknown) {
  const context = vm.createContext({ loopai: { files } });
  vm.runInContext(files['program.js'], context);
  return vm.runInContext(`execute(${JSON.stringify(input)})`, context);
}

describe('offline learner', () => {
  const train = rows(['', ' today', ' again', ' I think']);
  const labels = Object.keys(TOPICS);
  let learned: LearnedProgram;
  let predict: ReturnType<typeof loadModel>;
  beforeAll(async () => {
    learned = await learn(train, text, { type: 'string', enum: labels });
    predict = loadModel(learned.files);
  });

  test('learns a 3-class task and generalises to new sentences', () => {
    const held = [
      { text: 'the players celebrated the win', want: 'sport' },
      { text: 'grill the fish with lemon', want: 'food' },
      { text: 'the software update crashed my phone', want: 'tech' },
    ];
    for (const { text: t, want } of held) expect(predict({ text: t }).result).toBe(want);
    const trainAcc = train.filter((r) => predict(r.input).result === r.output).length / train.length;
    expect(trainAcc).toBe(1);
  });

  test('the emitted program predicts exactly what the learner predicts, with confidence in [0, 1]', () => {
    for (const probe of [
      ...train.slice(0, 20).map((r) => r.input),
      { text: 'unseen words entirely' },
      { text: '' },
    ]) {
      const inProcess = predict(probe);
      const answer = runProgram(learned.files, probe);
      expect(answer.result).toEqual(inProcess.result);
      expect(answer.confidence).toBeCloseTo(inProcess.confidence, 10);
      expect(answer.confidence).toBeGreaterThanOrEqual(0);
      expect(answer.confidence).toBeLessThanOrEqual(1);
    }
  });

  test('the program reaches for no host API', () => {
    expect(learned.files['program.js']).not.toMatch(/require\(|process\.|import |fetch\(/);
  });

  test('deterministic: the same data and seed give byte-identical files', async () => {
    const again = await learn(train, text, { type: 'string', enum: labels });
    expect(again.files).toEqual(learned.files);
  });

  test('stats report the program size and features', () => {
    expect(learned.stats.program_kb).toBeGreaterThan(0);
    expect(learned.stats.kept_weights).toBeGreaterThan(0);
    expect(learned.stats.classes).toEqual(labels);
  });

  test('object output with a label field, and several input fields', async () => {
    const schema = {
      type: 'object',
      properties: { category: { enum: labels }, note: { type: 'string' } },
      required: ['category'],
    };
    const input = { type: 'object', properties: { subject: { type: 'string' }, body: { type: 'string' } } };
    const data = train.map((r) => ({
      input: { subject: r.input.text.split(' ')[1], body: r.input.text },
      output: { category: r.output },
    }));
    const model = await learn(data, input, schema);
    expect(
      runProgram(model.files, { subject: 'match', body: 'the striker scored in the final' }).result,
    ).toEqual({ category: 'sport' });
  });

  test('fields inside a nested input object are read (a path per leaf), in training and in the program', async () => {
    const input = {
      type: 'object',
      properties: {
        email: {
          type: 'object',
          properties: { subject: { type: 'string' }, body: { type: 'string' }, urgent: { type: 'boolean' } },
        },
      },
    };
    const data = train.map((r, i) => ({
      input: { email: { subject: r.input.text.split(' ')[1], body: r.input.text, urgent: i % 2 === 0 } },
      output: r.output,
    }));
    const model = await learn(data, input, { type: 'string', enum: labels });
    expect(JSON.parse(model.files['model.json']).spec.fields).toEqual([
      ['email', 'subject'],
      ['email', 'body'],
      ['email', 'urgent'],
    ]);
    const probe = { email: { subject: 'recipe', body: 'grill the fish with lemon', urgent: false } };
    expect(runProgram(model.files, probe).result).toBe('food');
    expect(loadModel(model.files)(probe).result).toBe('food');
    // an input whose nested value is not an object gives no features from it, and no error
    expect(() => runProgram(model.files, { email: 'plain text' })).not.toThrow();
  });

  test('models scored in one process share its scratch space and score exactly as each program does', async () => {
    // a binary model with few features and the 3-class one with more, scored in turns: the scratch grows to the
    // larger and is reused by the smaller; each answer is the one its own program gives in a realm of its own
    const binary = await learn(
      train.map((r) => ({ input: r.input, output: r.output === 'food' ? 'food' : 'other' })).slice(0, 30),
      text,
      { type: 'string', enum: ['food', 'other'] },
    );
    const small = loadModel(binary.files);
    const probes = [...train.map((r) => r.input), { text: 'fresh fish and a faster laptop' }, { text: '' }];
    for (const probe of probes) {
      expect(small(probe)).toEqual(runProgram(binary.files, probe));
      expect(predict(probe)).toEqual(runProgram(learned.files, probe));
    }
    const [a, b] = [binary, learned].map(
      (m) => prepareModel(JSON.parse(m.files['model.json']), (file) => decodeBase64(m.files[file])).parts[0],
    ) as Array<PreparedPart & { block: PreparedBlock }>;
    expect(a.block.F).not.toBe(b.block.F);
    // a loaded model holds its weights and a lookup table of one int32 a slot, nothing sized per call
    expect(Object.keys(b.block).sort()).toEqual([
      'F',
      'K',
      'bias',
      'idf',
      'keys',
      'mask',
      'scale',
      'shift',
      'table',
      'temperature',
      'w',
      'wordF',
    ]);
    expect(b.block.table.length).toBeLessThanOrEqual(4 * b.block.F);
  });

  test('imbalanced data still finds the minority class', async () => {
    const data = [
      ...Array.from({ length: 60 }, (_, i) => ({
        input: { text: `meeting notes for project ${i} attached` },
        output: 'ham',
      })),
      ...[
        'win a free prize',
        'free cash prize claim now',
        'claim your free prize today',
        'prize draw winner claim',
      ].map((t) => ({ input: { text: t }, output: 'spam' })),
    ];
    const model = loadModel((await learn(data, text, { type: 'string', enum: ['spam', 'ham'] })).files);
    expect(model({ text: 'claim a free prize' }).result).toBe('spam');
    expect(model({ text: 'project meeting notes' }).result).toBe('ham');
  });

  test('outputs it cannot learn (free text, nested free-form objects) are refused, saying an LLM can', () => {
    for (const [schema, why] of [
      [{ type: 'string' }, /the output is free text/],
      [
        {
          type: 'object',
          properties: { label: { enum: ['a', 'b'] }, summary: { type: 'string' } },
          required: ['label', 'summary'],
        },
        /also requires summary/,
      ],
      [
        { type: 'object', properties: { meta: { type: 'object', properties: { a: { enum: ['x', 'y'] } } } } },
        /no field of those kinds/,
      ],
      [{ type: 'array', items: { type: 'string' } }, /the output is "array"/],
    ] as const) {
      expect(() => learnableTarget(schema)).toThrow(LearnerUnsupported);
      expect(() => learnableTarget(schema)).toThrow(why);
      expect(() => learnableTarget(schema)).toThrow(/OPENAI_API_KEY/);
    }
    expect(learnableTarget({ type: 'boolean' })).toEqual({
      fields: null,
      parts: [{ kind: 'label', labels: [false, true] }],
    });
  });

  test('the weights are a schema-checkable binary block: header sizes match model.json, tampering is refused', () => {
    const info = JSON.parse(learned.files['model.json']);
    expect(info).toMatchObject({
      format: 'loopai-learner',
      output: { fields: null, parts: [{ kind: 'label', labels, weights: { file: WEIGHTS_FILE } }] },
    });
    const bytes = decodeBase64(learned.files[WEIGHTS_FILE]);
    const head = new Uint32Array(bytes.buffer, 0, 8);
    expect(head[0]).toBe(0x3157504c);
    expect(head[2]).toBe(labels.length);
    expect(head[3]).toBe(learned.stats.kept_features);
    expect(bytes.length).toBeGreaterThanOrEqual(
      32 + 8 * head[3] + 8 * head[2] + head[3] * head[2] * (head[5] / 8),
    );
    const bad = Uint8Array.from(bytes);
    new Uint32Array(bad.buffer, 0, 8)[2] = 7;
    expect(() => prepareModel(info, () => bad)).toThrow(/header/);
    expect(() => prepareModel(info, () => bytes.subarray(0, bytes.length - 8))).toThrow();
  });

  test('program.js is the same text for every model (what it learned is in the files beside it)', async () => {
    const other = await learn(train.slice(0, 30), text, { type: 'string', enum: labels }, { c: 1 });
    expect(other.files['program.js']).toBe(learned.files['program.js']);
    expect(other.files[WEIGHTS_FILE]).not.toBe(learned.files[WEIGHTS_FILE]);
  });

  test('many classes: the weights stay within the size budget, and training reports progress', async () => {
    const many = Array.from({ length: 40 }, (_, k) =>
      Array.from({ length: 6 }, (_, i) => ({
        input: { text: `topic${k} word${k}x item ${i} ${k % 7}` },
        output: `c${k}`,
      })),
    ).flat();
    const messages: string[] = [];
    const budget = 64 * 1024;
    const small = await learn(
      many,
      text,
      { type: 'string', enum: many.filter((_, i) => i % 6 === 0).map((r) => r.output) },
      { maxWeightBytes: budget, progress: (m) => messages.push(m) },
    );
    expect(small.files[WEIGHTS_FILE].length).toBeLessThanOrEqual(budget);
    expect(small.stats.kept_features).toBeLessThan(small.stats.features);
    expect(runProgram(small.files, { text: 'topic3 word3x' }).result).toBe('c3');
    expect(messages.join('\n')).toMatch(/trained 40\/40 columns/);
  });

  test('solver threads give the very same model as one thread', async () => {
    const rows = Array.from({ length: 30 * 40 }, (_, i) => ({
      input: { text: `ticket about thing${i % 40} and part${(i * 7) % 13} number ${i}` },
      output: `c${i % 40}`,
    }));
    const schema = { type: 'string', enum: Array.from({ length: 40 }, (_, k) => `c${k}`) };
    const one = await learn(rows, text, schema, { c: 1, threads: 1 });
    const two = await learn(rows, text, schema, { c: 1, threads: 2 });
    expect(two.files).toEqual(one.files);
  });
});
