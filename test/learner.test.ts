import vm from 'node:vm';
import { learn, learnableTarget, LearnerUnsupported, predict } from '../src/synthesis/learner';

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
  const learned = learn(train, text, { type: 'string', enum: labels });

  test('learns a 3-class task and generalises to new sentences', () => {
    const held = [
      { text: 'the players celebrated the win', want: 'sport' },
      { text: 'grill the fish with lemon', want: 'food' },
      { text: 'the software update crashed my phone', want: 'tech' },
    ];
    for (const { text: t, want } of held)
      expect(predict(learned.files['model.json'], { text: t }).result).toBe(want);
    const trainAcc =
      train.filter((r) => predict(learned.files['model.json'], r.input).result === r.output).length /
      train.length;
    expect(trainAcc).toBe(1);
  });

  test('the emitted program predicts exactly what the learner predicts, with confidence in [0, 1]', () => {
    for (const probe of [
      ...train.slice(0, 20).map((r) => r.input),
      { text: 'unseen words entirely' },
      { text: '' },
    ]) {
      const inProcess = predict(learned.files['model.json'], probe);
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

  test('deterministic: the same data and seed give byte-identical files', () => {
    const again = learn(train, text, { type: 'string', enum: labels });
    expect(again.files).toEqual(learned.files);
  });

  test('stats report the program size and features', () => {
    expect(learned.stats.program_kb).toBeGreaterThan(0);
    expect(learned.stats.kept_weights).toBeGreaterThan(0);
    expect(learned.stats.classes).toEqual(labels);
  });

  test('object output with a label field, and several input fields', () => {
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
    const model = learn(data, input, schema);
    expect(
      runProgram(model.files, { subject: 'match', body: 'the striker scored in the final' }).result,
    ).toEqual({ category: 'sport' });
  });

  test('imbalanced data still finds the minority class', () => {
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
    const model = learn(data, text, { type: 'string', enum: ['spam', 'ham'] });
    expect(predict(model.files['model.json'], { text: 'claim a free prize' }).result).toBe('spam');
    expect(predict(model.files['model.json'], { text: 'project meeting notes' }).result).toBe('ham');
  });

  test('outputs it cannot learn are refused with a hint to configure an LLM', () => {
    for (const schema of [
      { type: 'string' },
      { type: 'number' },
      {
        type: 'object',
        properties: { label: { enum: ['a', 'b'] }, summary: { type: 'string' } },
        required: ['label', 'summary'],
      },
    ]) {
      expect(() => learnableTarget(schema)).toThrow(LearnerUnsupported);
      expect(() => learnableTarget(schema)).toThrow(/OPENAI_API_KEY/);
    }
    expect(learnableTarget({ type: 'boolean' })).toEqual({ labels: [false, true], field: null });
  });
});
