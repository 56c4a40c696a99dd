import type { Csr } from './matrix';
import { solveAll } from './pool';
import type { SolveResult, SolverData, SolveTask } from './solver';

/** A small seeded PRNG (mulberry32): the same data and seed give the same model. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Balanced class weights, softened (square root) so the majority class keeps most of its accuracy. */
export function classWeights(labels: Int32Array, classes: number): Float64Array {
  const counts = new Float64Array(classes);
  for (const l of labels) counts[l] += 1;
  return Float64Array.from(counts, (k) => (k ? Math.sqrt(labels.length / (classes * k)) : 1));
}

export interface FitSettings {
  classes: number;
  loss: 0 | 1 | 2;
  eps: number;
  maxIter: number;
  seed: number;
  threads: number;
  /** Called as columns finish: (done, total). */
  progress?: (done: number, total: number) => void;
}

/** The binary problems of one-vs-rest: one column (positive class 1) for two classes, else one per class. */
export const positives = (classes: number): number[] =>
  classes === 2 ? [1] : Array.from({ length: classes }, (_, k) => k);

export const solverData = (m: Csr, labels: Int32Array, classes: number): SolverData => ({
  ptr: m.ptr,
  idx: m.idx,
  val: m.val,
  cols: m.cols,
  labels,
  classWeight: classWeights(labels, classes),
});

/**
 * One-vs-rest fits on `train` for each C of `cs` (warm-started in order; the first from `alphas`, one array per
 * column, when given), decision values on `test` if given.
 */
export function fitColumns(
  data: SolverData,
  train: Int32Array,
  cs: number[],
  s: FitSettings,
  test: Int32Array | null = null,
  alphas: Float64Array[] | null = null,
): Promise<SolveResult[]> {
  const tasks: SolveTask[] = positives(s.classes).map((positive, col) => ({
    train,
    positive,
    cs,
    loss: s.loss,
    eps: s.eps,
    maxIter: s.maxIter,
    seed: s.seed + positive,
    test,
    alpha: alphas ? alphas[col] : null,
  }));
  return solveAll(data, tasks, s.threads, (done) => s.progress?.(done, tasks.length));
}

/**
 * Stratified folds of row numbers: each class's rows in a seeded order, dealt to the folds in turn (continuing
 * from class to class, so folds differ in size by one at most).
 */
export function stratifiedRowFolds(labels: Int32Array, classes: number, k: number, seed: number): Int32Array {
  const fold = new Int32Array(labels.length);
  const random = prng(seed);
  const byClass: number[][] = Array.from({ length: classes }, () => []);
  labels.forEach((l, i) => byClass[l].push(i));
  let next = 0;
  for (const rows of byClass) {
    for (let i = rows.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [rows[i], rows[j]] = [rows[j], rows[i]];
    }
    for (const r of rows) fold[r] = next++ % k;
  }
  return fold;
}

/** The predicted class from a row's decision values (one value: > 0 is class 1). */
export function argmax(d: ArrayLike<number>, at: number, columns: number): number {
  if (columns === 1) return d[at] > 0 ? 1 : 0;
  let best = 0;
  for (let k = 1; k < columns; k++) if (d[at + k] > d[at + best]) best = k;
  return best;
}

export interface Tuned {
  /** Out-of-fold accuracy per C of the grid. */
  accuracy: number[];
  /** Out-of-fold predicted class of every row, per C. */
  predicted: Int32Array[];
  /** Out-of-fold decision values of every row, per C: [row · columns + k]. */
  decisions: Float64Array[];
}

/** Out-of-fold results of each C of `grid` by stratified k-fold cross-validation (the idf is of all rows: it uses no label). */
export async function crossValidate(
  data: SolverData,
  grid: number[],
  k: number,
  s: FitSettings,
): Promise<Tuned> {
  const n = data.labels.length;
  const columns = positives(s.classes).length;
  const fold = stratifiedRowFolds(data.labels, s.classes, k, s.seed);
  const decisions = grid.map(() => new Float64Array(n * columns));
  let done = 0;
  for (let f = 0; f < k; f++) {
    const train = Int32Array.from({ length: n }, (_, i) => i).filter((i) => fold[i] !== f);
    const test = Int32Array.from({ length: n }, (_, i) => i).filter((i) => fold[i] === f);
    if (!test.length || !train.length) continue;
    const progress = () => s.progress?.(++done, k * columns);
    const results = await fitColumns(data, train, grid, { ...s, progress }, test);
    results.forEach((r, col) => {
      for (let c = 0; c < grid.length; c++)
        for (let j = 0; j < test.length; j++)
          decisions[c][test[j] * columns + col] = r.decisions![c * test.length + j];
    });
  }
  const predicted = decisions.map((d) =>
    Int32Array.from({ length: n }, (_, i) => argmax(d, i * columns, columns)),
  );
  const accuracy = predicted.map(
    (p) => p.reduce((right, l, i) => right + (l === data.labels[i] ? 1 : 0), 0) / n,
  );
  return { accuracy, predicted, decisions };
}

/**
 * How much better `b` predicts than `a` on the same rows, in standard errors of the paired difference
 * (McNemar's z): rows only b gets right minus rows only a gets right, over the square root of their sum.
 */
export function pairedGain(a: Int32Array, b: Int32Array, labels: Int32Array): number {
  let onlyA = 0;
  let onlyB = 0;
  for (let i = 0; i < labels.length; i++) {
    const ra = a[i] === labels[i];
    const rb = b[i] === labels[i];
    if (ra && !rb) onlyA++;
    else if (rb && !ra) onlyB++;
  }
  return onlyA + onlyB ? (onlyB - onlyA) / Math.sqrt(onlyA + onlyB) : 0;
}

/**
 * The temperature T that makes softmax(T · decision values) (a sigmoid for one column) best predict the labels:
 * the least negative log-likelihood over `rows`, by golden-section search on log T.
 */
export function fitTemperature(decisions: Float64Array, labels: Int32Array, columns: number): number {
  const n = labels.length;
  const nll = (t: number) => {
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const at = i * columns;
      if (columns === 1) {
        const z = t * decisions[at] * (labels[i] === 1 ? 1 : -1);
        loss += z > 0 ? Math.log1p(Math.exp(-z)) : -z + Math.log1p(Math.exp(z));
        continue;
      }
      let max = -Infinity;
      for (let k = 0; k < columns; k++) max = Math.max(max, decisions[at + k]);
      let sum = 0;
      for (let k = 0; k < columns; k++) sum += Math.exp(t * (decisions[at + k] - max));
      loss += Math.log(sum) - t * (decisions[at + labels[i]] - max);
    }
    return loss;
  };
  let lo = Math.log(0.1);
  let hi = Math.log(100);
  const g = (Math.sqrt(5) - 1) / 2;
  for (let it = 0; it < 40; it++) {
    const a = hi - g * (hi - lo);
    const b = lo + g * (hi - lo);
    if (nll(Math.exp(a)) < nll(Math.exp(b))) hi = b;
    else lo = a;
  }
  return Math.exp((lo + hi) / 2);
}

/**
 * Columns by their largest |weight| over classes, until `mass` of the total is covered, at most `max`; returned
 * word columns first, then character columns, each in column order.
 */
export function selectFeatures(
  weights: Float64Array[],
  block: Uint8Array,
  max: number,
  mass: number,
): Int32Array {
  const columns = block.length;
  const importance = new Float64Array(columns);
  for (const w of weights)
    for (let i = 0; i < columns; i++) importance[i] = Math.max(importance[i], Math.abs(w[i]));
  const order = Int32Array.from({ length: columns }, (_, i) => i).sort(
    (a, b) => importance[b] - importance[a] || a - b,
  );
  const total = importance.reduce((a, b) => a + b, 0);
  const keep = new Uint8Array(columns);
  let covered = 0;
  let kept = 0;
  for (const i of order) {
    if (kept >= max || covered >= mass * total || importance[i] === 0) break;
    keep[i] = 1;
    kept++;
    covered += importance[i];
  }
  const out = new Int32Array(kept);
  let k = 0;
  for (const b of [0, 1]) for (let i = 0; i < columns; i++) if (keep[i] && block[i] === b) out[k++] = i;
  return out;
}
