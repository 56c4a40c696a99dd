/**
 * A number learned over the TF-IDF rows: ridge regression (conjugate gradients on the least-squares problem, over
 * CSR), its regularisation chosen by cross-validation on small sets, the held-out error kept as the spread that
 * confidences are computed from; keeps the features that carry the weight, refits on those.
 */
import { blockOf, type HeadSettings } from './head';
import { keepColumns, type Csr, type Vocabulary } from './matrix';
import type { PartTarget } from './target';
import { prng, selectFeatures } from './train';

/** What tuning chooses λ from (rows are L2-normalised per block, so these suit any data set's scale). */
const LAMBDAS = [0.03, 0.1, 0.3, 1, 3];
const DEFAULT_LAMBDA = 0.3;
const TUNE_MAX_ROWS = 5000;
const MIN_TUNE_ROWS = 20;
const K_FOLDS = 5;

type NumberTarget = Omit<Extract<PartTarget, { kind: 'number' }>, 'kind'>;

export interface LearnedNumber {
  block: Uint8Array;
  kept: number;
  step: number;
  min: number;
  max: number;
  sigma: number;
  lambda: number;
}

/**
 * Ridge regression by CGLS: the [w…, b] minimising ‖Xw + b − y‖² + λ‖w‖² over `rows` (b not regularised), with
 * y centred so that the intercept does not slow convergence.
 */
function ridge(m: Csr, y: Float64Array, rows: Int32Array, lambda: number, maxIter = 200): Float64Array {
  const n = m.cols;
  const { ptr, idx, val } = m;
  let mean = 0;
  for (const i of rows) mean += y[i];
  mean /= rows.length || 1;
  const x = new Float64Array(n + 1);
  const r = Float64Array.from(rows, (i) => y[i] - mean);
  const s = new Float64Array(n + 1);
  const q = new Float64Array(rows.length);
  const transposed = (from: Float64Array, out: Float64Array) => {
    out.fill(0);
    rows.forEach((i, j) => {
      for (let e = ptr[i]; e < ptr[i + 1]; e++) out[idx[e]] += val[e] * from[j];
      out[n] += from[j];
    });
  };
  const times = (p: Float64Array, out: Float64Array) =>
    rows.forEach((i, j) => {
      let sum = p[n];
      for (let e = ptr[i]; e < ptr[i + 1]; e++) sum += val[e] * p[idx[e]];
      out[j] = sum;
    });
  transposed(r, s);
  const p = Float64Array.from(s);
  let gamma = dot(s, s);
  const stop = gamma * 1e-10;
  for (let it = 0; it < maxIter && gamma > stop; it++) {
    times(p, q);
    const alpha = gamma / (dot(q, q) + lambda * (dot(p, p) - p[n] * p[n]));
    for (let k = 0; k <= n; k++) x[k] += alpha * p[k];
    for (let j = 0; j < q.length; j++) r[j] -= alpha * q[j];
    transposed(r, s);
    for (let k = 0; k < n; k++) s[k] -= lambda * x[k];
    const next = dot(s, s);
    const beta = next / gamma;
    for (let k = 0; k <= n; k++) p[k] = s[k] + beta * p[k];
    gamma = next;
  }
  x[n] += mean;
  return x;
}

function dot(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let k = 0; k < a.length; k++) sum += a[k] * b[k];
  return sum;
}

function predict(m: Csr, x: Float64Array, row: number): number {
  let sum = x[m.cols];
  for (let e = m.ptr[row]; e < m.ptr[row + 1]; e++) sum += m.val[e] * x[m.idx[e]];
  return sum;
}

/** Root mean squared error of each λ on `test` rows, fitted on `train`. */
function heldOutErrors(m: Csr, y: Float64Array, train: Int32Array, test: Int32Array): number[] {
  return LAMBDAS.map((lambda) => {
    const x = ridge(m, y, train, lambda);
    let sq = 0;
    for (const i of test) sq += (predict(m, x, i) - y[i]) ** 2;
    return sq;
  });
}

/** The grid the labels lie on: the smallest power of ten (down to 10⁻⁶) that every label is a multiple of. */
function labelsGrid(y: Float64Array): number {
  for (let digits = 0; digits < 6; digits++) {
    const scale = 10 ** digits;
    if (y.every((v) => Math.abs(v * scale - Math.round(v * scale)) < 1e-9)) return 1 / scale;
  }
  return 1e-6;
}

/** Fits `y` over the rows of `matrix`: λ by cross-validation, the spread from rows the fit did not see. */
export function learnNumber(
  matrix: Csr,
  vocab: Vocabulary,
  y: Float64Array,
  target: NumberTarget,
  o: HeadSettings,
): LearnedNumber {
  const n = y.length;
  const all = Int32Array.from({ length: n }, (_, i) => i);
  let lambda = DEFAULT_LAMBDA;
  let squared = 0;
  let scored = 0;
  if (n >= MIN_TUNE_ROWS) {
    // folds of a seeded shuffle; above TUNE_MAX_ROWS one tenth held out, λ as given by default
    const random = prng(o.seed);
    const fold = Int32Array.from(all, (i) => i % (n > TUNE_MAX_ROWS ? 10 : K_FOLDS));
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [fold[i], fold[j]] = [fold[j], fold[i]];
    }
    const folds = n > TUNE_MAX_ROWS ? 1 : K_FOLDS;
    const errors = LAMBDAS.map(() => 0);
    for (let f = 0; f < folds; f++) {
      const test = all.filter((i) => fold[i] === f);
      heldOutErrors(
        matrix,
        y,
        all.filter((i) => fold[i] !== f),
        test,
      ).forEach((e, k) => (errors[k] += e));
      scored += test.length;
    }
    const best = n > TUNE_MAX_ROWS ? LAMBDAS.indexOf(DEFAULT_LAMBDA) : errors.indexOf(Math.min(...errors));
    lambda = LAMBDAS[best];
    squared = errors[best];
    o.say(`learner: ridge λ = ${lambda} (held-out RMSE ${Math.sqrt(squared / scored).toPrecision(4)})`);
  }
  let mean = 0;
  for (const v of y) mean += v / n;
  // too few rows to hold any out: the labels' own spread (an honest "not sure")
  const spread = scored
    ? Math.sqrt(squared / scored)
    : Math.sqrt(y.reduce((a, v) => a + (v - mean) ** 2, 0) / n);
  const first = ridge(matrix, y, all, lambda);
  const budget = Math.floor(((o.maxWeightBytes * 3) / 4 - 72) / 10);
  const kept = selectFeatures([first], vocab.block, Math.min(o.maxFeatures, budget), o.weightMass);
  const small = keepColumns(matrix, vocab, kept);
  const final = ridge(small.matrix, y, all, lambda);

  const step = target.step ?? (target.integer ? 1 : labelsGrid(y));
  const low = target.min ?? y.reduce((a, v) => Math.min(a, v), Infinity);
  const high = target.max ?? y.reduce((a, v) => Math.max(a, v), -Infinity);
  // the bounds on the grid, inside the range
  const min = Math.ceil(low / step - 1e-9) * step;
  const max = Math.max(min, Math.floor(high / step + 1e-9) * step);
  return {
    block: blockOf(small.vocab, [final], 16),
    kept: kept.length,
    step,
    min,
    max,
    sigma: Number(Math.max(spread, step / 100, 1e-9).toPrecision(6)),
    lambda,
  };
}
