import crypto from 'node:crypto';
import { dict, dictOf } from '../domain/dict';
import type { SandboxPool } from '../runtime/sandbox/pool';
import type { Labelled, ProgramFiles, Scored } from './generator';

/** JSON with sorted keys: equal values give equal text, whatever the key order. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

type Schema = Record<string, unknown>;

/** `value` with every list its schema declares a set of (`uniqueItems`) in canonical order. */
function setsSorted(value: unknown, schema: Schema): unknown {
  if (Array.isArray(value)) {
    const items = schema.items && typeof schema.items === 'object' ? (schema.items as Schema) : null;
    const list = items ? value.map((v) => setsSorted(v, items)) : value;
    if (schema.uniqueItems !== true) return list;
    return list
      .map((v) => [canonical(v), v] as const)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, v]) => v);
  }
  const props = schema.properties as Record<string, Schema> | undefined;
  if (!value || typeof value !== 'object' || !props) return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, Object.hasOwn(props, k) ? setsSorted(v, props[k]) : v]),
  );
}

/**
 * The text outputs are compared by: canonical JSON, where a list the output schema declares a set of
 * (`uniqueItems: true`, as tags) is the same whatever its order.
 */
export function answerKey(value: unknown, schema?: Schema): string {
  if (typeof value === 'string') return value;
  return canonical(schema ? setsSorted(value, schema) : value);
}

const MAX_CLASSES_REPORTED = 50;

/** Accuracy, per-class precision/recall and the confusion matrix of predictions against labels. */
export function score(
  expected: unknown[],
  predicted: unknown[],
  method: string,
  schema?: Schema,
): Omit<Scored, 'failures'> {
  const n = expected.length;
  const keyOf = (v: unknown) => answerKey(v, schema);
  const confusion = dict<Record<string, number>>();
  let correct = 0;
  expected.forEach((want, i) => {
    const e = keyOf(want);
    const p = predicted[i] === undefined ? '(error)' : keyOf(predicted[i]);
    if (e === p) correct += 1;
    confusion[e] ??= dict<number>();
    confusion[e][p] = (confusion[e][p] ?? 0) + 1;
  });
  const report: Omit<Scored, 'failures'> = {
    accuracy: n ? correct / n : 0,
    n,
    method,
    interval: wilson(correct, n),
  };
  const classes = Object.keys(confusion).sort();
  if (classes.length <= MAX_CLASSES_REPORTED) {
    report.confusion = confusion;
    report.per_class = dictOf(
      classes.map((c) => {
        const tp = confusion[c][c] ?? 0;
        const support = Object.values(confusion[c]).reduce((a, b) => a + b, 0);
        const predictedAs = classes.reduce((sum, e) => sum + (confusion[e][c] ?? 0), 0);
        return [
          c,
          { precision: predictedAs ? tp / predictedAs : 0, recall: support ? tp / support : 0, support },
        ];
      }),
    );
  }
  return report;
}

/** Runs a program in the real sandbox on labelled rows and scores it. */
export async function evaluateInSandbox(
  pool: SandboxPool,
  appId: string,
  program: ProgramFiles,
  rows: Labelled[],
  limits: { timeoutMs: number; memoryMb: number; maxResultBytes?: number },
  method = 'held-out',
  schema?: Schema,
): Promise<Scored & { predicted: unknown[] }> {
  const key = `${appId}@eval@${crypto.randomUUID()}`;
  await pool.load({ key, code: program.code, files: program.files, ...limits });
  const predicted: unknown[] = [];
  const failures: Scored['failures'] = [];
  try {
    for (let start = 0; start < rows.length; start += 200) {
      const chunk = rows.slice(start, start + 200);
      const outcomes = await pool.runBatch(
        key,
        chunk.map((r) => r.input),
      );
      outcomes.forEach((outcome, k) => {
        const row = chunk[k];
        const got = outcome.ok ? outcome.answer.result : undefined;
        predicted.push(got);
        if (!outcome.ok)
          failures.push({ input: row.input, expected: row.output, got: null, error: outcome.error.message });
        else if (answerKey(got, schema) !== answerKey(row.output, schema))
          failures.push({ input: row.input, expected: row.output, got });
      });
    }
  } finally {
    await pool.unload(key);
  }
  return {
    ...score(
      rows.map((r) => r.output),
      predicted,
      method,
      schema,
    ),
    failures,
    predicted,
  };
}

/**
 * The held-out split: a row is held out when the hash of its input says so (1 in 5). The split of a row never
 * changes as data grows, so a version and a later candidate are compared on rows neither was trained on.
 */
export function holdout<T extends Labelled>(rows: T[]): { train: T[]; test: T[] } {
  const train: T[] = [];
  const test: T[] = [];
  for (const row of rows) {
    const h = crypto.createHash('sha256').update(canonical(row.input)).digest();
    (h[0] % 5 === 0 ? test : train).push(row);
  }
  return { train, test };
}

/**
 * Stratified k folds, deterministic: each label's rows in the order of their input hashes, dealt to the folds in
 * turn (continuing from label to label, so fold sizes differ by one at most and every label is spread over the
 * folds). With k = the number of rows this is leave-one-out.
 */
export function stratifiedFolds<T extends Labelled>(rows: T[], k: number): Array<{ train: T[]; test: T[] }> {
  const byLabel = new Map<string, Array<{ row: T; hash: string }>>();
  for (const row of rows) {
    const label = canonical(row.output);
    const hash = crypto.createHash('sha256').update(canonical(row.input)).digest('hex');
    if (!byLabel.has(label)) byLabel.set(label, []);
    byLabel.get(label)!.push({ row, hash });
  }
  const foldOf = new Map<T, number>();
  let next = 0;
  for (const label of [...byLabel.keys()].sort()) {
    const list = byLabel.get(label)!.sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
    for (const { row } of list) foldOf.set(row, next++ % k);
  }
  return Array.from({ length: k }, (_, i) => ({
    train: rows.filter((r) => foldOf.get(r) !== i),
    test: rows.filter((r) => foldOf.get(r) === i),
  }));
}

/**
 * The 95 % Wilson score interval of a proportion of `n` trials: honest at small n (9 rows never read as a
 * precise 0 % or 100 %) and never outside [0, 1].
 */
export function wilson(correct: number, n: number, z = 1.96): { low: number; high: number; level: number } {
  if (!n) return { low: 0, high: 1, level: 0.95 };
  const p = correct / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  const round = (x: number) => Math.round(x * 10000) / 10000;
  return { low: round(Math.max(0, centre - half)), high: round(Math.min(1, centre + half)), level: 0.95 };
}
