import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Labelled } from '../src/synthesis/generator';
import { prng } from '../src/synthesis/learner/train';

/** The labelled data sets: LOOPAI_DATASETS, by default ../shared/datasets beside the repository. */
export const DATASETS_DIR = path.resolve(
  process.env.LOOPAI_DATASETS ?? path.join(__dirname, '..', '..', '..', 'shared', 'datasets'),
);

/** One JSONL file of `{input, output}` rows. */
export const load = (file: string): Labelled[] =>
  fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Labelled);

/** The first `k` rows of each class, in file order (the files are shuffled once, with a fixed seed). */
export const perClass = (rows: Labelled[], k: number): Labelled[] => {
  const taken = new Map<unknown, number>();
  return rows.filter((r) => {
    const n = taken.get(r.output) ?? 0;
    taken.set(r.output, n + 1);
    return n < k;
  });
};

const CONSONANTS = 'bcdfghjklmnprstvwz';
const VOWELS = 'aeiou';
const TEMPLATES = [
  'i want to K1 my K2',
  'can you K1 the K2 for me',
  'how do i K1 K2',
  'please K1 my K2 F',
  'K2 K1 now',
  'what is the K2 of my K1',
  'help me with K1 K2 F',
  'is it possible to K1 a K2',
  'F F K1 K2',
  'i need my K2 K1 F please',
  'tell me about K1 and K2',
  'K1 K2 K3 F',
];

/**
 * A synthetic intent set (for speed and size at many classes; no such public set ships with Loopai's data):
 * `classes` intents, each with four keywords drawn from a pool half as large as the keyword slots (so every
 * keyword is shared by two intents on average) and templates shared by all; rows add filler words from a common
 * vocabulary (Zipf-like), a typo in one row in ten and a wrong label in one in fifty. Seeded: the same arguments
 * give the same rows. Rows look like short utterances ('please resu my tivako lomi').
 */
export function syntheticIntents(classes: number, rows: number, seed: number): Labelled[] {
  const random = prng(seed);
  const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)];
  const word = (syllables: number) =>
    Array.from({ length: syllables }, () => pick([...CONSONANTS]) + pick([...VOWELS])).join('');
  const filler = Array.from({ length: 2000 }, () => word(1 + Math.floor(random() * 3)));
  const pool = Array.from({ length: classes * 2 }, () => word(2 + Math.floor(random() * 2)));
  const keywords = Array.from({ length: classes }, () => Array.from({ length: 4 }, () => pick(pool)));
  const names = Array.from({ length: classes }, (_, c) => `intent_${String(c).padStart(3, '0')}`);
  const out: Labelled[] = [];
  for (let i = 0; i < rows; i++) {
    const c = Math.floor(random() * classes);
    const kw = keywords[c];
    let text = pick(TEMPLATES)
      .replace('K1', pick(kw))
      .replace('K2', pick(kw))
      .replace('K3', pick(kw))
      .replace(/F/g, () => filler[Math.floor(filler.length * random() ** 2)]);
    if (random() < 0.1) {
      const at = Math.floor(random() * text.length);
      text = text.slice(0, at) + text.slice(at + 1);
    }
    const label = random() < 0.02 ? names[Math.floor(random() * classes)] : names[c];
    out.push({ input: { text }, output: label });
  }
  return out;
}

export interface DataSet {
  name: string;
  train: Labelled[];
  test: Labelled[];
  /** The folder of its `NAME.train.jsonl` / `NAME.test.jsonl` (what the scikit-learn baseline reads). */
  dir: string;
  synthetic: boolean;
}

/** The shared data sets, then the synthetic intent sets (written to a temporary folder for scikit-learn). */
export function dataSets(large: boolean): DataSet[] {
  const sets: DataSet[] = fs.existsSync(DATASETS_DIR)
    ? fs
        .readdirSync(DATASETS_DIR)
        .filter((f) => f.endsWith('.train.jsonl'))
        .map((f) => f.slice(0, -'.train.jsonl'.length))
        .sort()
        .map((name) => ({
          name,
          train: load(path.join(DATASETS_DIR, `${name}.train.jsonl`)),
          test: load(path.join(DATASETS_DIR, `${name}.test.jsonl`)),
          dir: DATASETS_DIR,
          synthetic: false,
        }))
    : [];
  const synthetic: Array<[string, number, number, number]> = [['synth-intents-150', 150, 15_000, 4_500]];
  if (large) synthetic.push(['synth-intents-200-100k', 200, 100_000, 20_000]);
  for (const [name, classes, train, test] of synthetic) {
    const rows = syntheticIntents(classes, train + test, classes);
    const dir = path.join(os.tmpdir(), 'loopai-bench-synthetic', name);
    fs.mkdirSync(dir, { recursive: true });
    const write = (part: string, list: Labelled[]) =>
      fs.writeFileSync(
        path.join(dir, `${name}.${part}.jsonl`),
        list.map((r) => JSON.stringify(r)).join('\n') + '\n',
      );
    write('train', rows.slice(0, train));
    write('test', rows.slice(train));
    sets.push({ name, train: rows.slice(0, train), test: rows.slice(train), dir, synthetic: true });
  }
  return sets;
}

export interface SklearnRow {
  dataset: string;
  model: string;
  accuracy: number;
  train_s: number;
}

export const SKLEARN_BASELINE = path.resolve(
  process.env.LOOPAI_SKLEARN_BASELINE ?? path.join(DATASETS_DIR, '..', 'baselines', 'sklearn_baseline.py'),
);

/**
 * scikit-learn's models of the shared baseline script on one data set, run now on this machine: all of them, or
 * only the named ones (its logistic regression takes many minutes at 100k rows and 200 classes). A string says
 * why it could not run.
 */
export function sklearn(set: DataSet, only?: string[]): SklearnRow[] | string {
  const driver = `
import sys, json, time
sys.path.insert(0, sys.argv[1])
import sklearn_baseline as b
xt, yt = b.load(sys.argv[2]); xe, ye = b.load(sys.argv[3])
for name in sys.argv[5].split(','):
    t = time.perf_counter(); clf = b.MODELS[name]().fit(xt, yt); s = time.perf_counter() - t
    acc = sum(p == y for p, y in zip(clf.predict(xe), ye)) / len(ye)
    print(json.dumps({"dataset": sys.argv[4], "model": name, "accuracy": acc, "train_s": s}), flush=True)
`;
  const models = only ?? [
    'tfidf-word-linearsvc',
    'tfidf-wordchar-linearsvc',
    'tfidf-wordchar-logreg',
    'tfidf-word-multinomialnb',
  ];
  try {
    const out = execFileSync(
      '/usr/bin/python3',
      [
        '-c',
        driver,
        path.dirname(SKLEARN_BASELINE),
        path.join(set.dir, `${set.name}.train.jsonl`),
        path.join(set.dir, `${set.name}.test.jsonl`),
        set.name,
        models.join(','),
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 24 },
    );
    return out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as SklearnRow);
  } catch (err) {
    return `scikit-learn baseline not run (${(err as Error).message.split('\n')[0]}); install it with apt-get install -y python3-sklearn`;
  }
}
