import fs from 'node:fs';
import path from 'node:path';
import type { Labelled } from '../src/synthesis/generator';

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
