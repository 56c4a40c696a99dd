/**
 * One binary column of a one-vs-rest linear SVM, by dual coordinate descent with shrinking (Hsieh et al. 2008:
 * what liblinear and scikit-learn's LinearSVC run), over CSR rows. `solveColumn` is self-contained (no imports,
 * no module state): solver threads run its source.
 */

/** The rows a solver thread reads (shared, never copied). */
export interface SolverData {
  ptr: Int32Array;
  idx: Int32Array;
  val: Float32Array;
  cols: number;
  /** Class of every row. */
  labels: Int32Array;
  /** Cost multiplier per class (balanced class weights). */
  classWeight: Float64Array;
}

export interface SolveTask {
  /** The rows to train on (indices into the data). */
  train: Int32Array;
  /** Rows of this class are +1, the others −1. */
  positive: number;
  /** Regularisation values, ascending: each fit starts from the previous one's solution. */
  cs: number[];
  /** 2: squared hinge (LinearSVC's default); 1: hinge; 0: logistic (LogisticRegression's loss). */
  loss: 0 | 1 | 2;
  eps: number;
  maxIter: number;
  seed: number;
  /** Rows to compute decision values for, after each fit (cross-validation). */
  test: Int32Array | null;
  /** Dual variables to start from, one per training row (warm start), or null. */
  alpha: Float64Array | null;
}

export interface SolveResult {
  /** Weights over the columns, then the intercept, of the last fit. */
  w: Float64Array;
  alpha: Float64Array;
  /** Decision values on `test`, per fit: decisions[c · test.length + j]. */
  decisions: Float64Array | null;
  iterations: number;
}

export function solveColumn(data: SolverData, task: SolveTask): SolveResult {
  const { ptr, idx, val, cols, labels, classWeight } = data;
  const train = task.train;
  const n = train.length;
  const w = new Float64Array(cols + 1);
  const alpha = task.alpha ? Float64Array.from(task.alpha) : new Float64Array(n);
  const y = new Int8Array(n);
  const sq = new Float64Array(n);
  for (let s = 0; s < n; s++) {
    const i = train[s];
    y[s] = labels[i] === task.positive ? 1 : -1;
    let q = 1; // the intercept's feature
    for (let e = ptr[i]; e < ptr[i + 1]; e++) q += val[e] * val[e];
    sq[s] = q;
  }
  primal(data, train, y, alpha, w); // the warm start
  const tests = task.test;
  const decisions = tests ? new Float64Array(task.cs.length * tests.length) : null;
  const index = new Int32Array(n);
  const diag = new Float64Array(n);
  const upper = new Float64Array(n);
  const qd = new Float64Array(n);
  let seed = task.seed >>> 0;
  let iterations = 0;
  for (let ci = 0; ci < task.cs.length; ci++) {
    if (task.loss === 0) {
      iterations += logisticFit(data, task, task.cs[ci], y, sq, w, alpha);
      seed = (seed + 1) >>> 0;
      if (tests && decisions) decide(data, w, tests, decisions, ci * tests.length);
      continue;
    }
    for (let s = 0; s < n; s++) {
      const cost = task.cs[ci] * classWeight[labels[train[s]]];
      diag[s] = task.loss === 2 ? 0.5 / cost : 0;
      upper[s] = task.loss === 2 ? Infinity : cost;
      if (alpha[s] > upper[s]) alpha[s] = upper[s];
      qd[s] = sq[s] + diag[s];
      index[s] = s;
    }
    if (task.loss === 1 && ci > 0) {
      primal(data, train, y, alpha, w); // clipping alpha moved w away from Σ y α x
    }
    let active = n;
    let pgMaxOld = Infinity;
    let pgMinOld = -Infinity;
    for (let iter = 0; iter < task.maxIter; iter++) {
      iterations++;
      seed = shuffle(index, active, seed);
      let pgMax = -Infinity;
      let pgMin = Infinity;
      for (let s = 0; s < active; s++) {
        const k = index[s];
        const i = train[k];
        const start = ptr[i];
        const end = ptr[i + 1];
        let dot = w[cols];
        for (let e = start; e < end; e++) dot += w[idx[e]] * val[e];
        const a = alpha[k];
        const g = y[k] * dot - 1 + diag[k] * a;
        let pg = 0;
        if (a === 0) {
          if (g > pgMaxOld) {
            active--;
            index[s] = index[active];
            index[active] = k;
            s--;
            continue;
          }
          if (g < 0) pg = g;
        } else if (a === upper[k]) {
          if (g < pgMinOld) {
            active--;
            index[s] = index[active];
            index[active] = k;
            s--;
            continue;
          }
          if (g > 0) pg = g;
        } else pg = g;
        if (pg > pgMax) pgMax = pg;
        if (pg < pgMin) pgMin = pg;
        if (pg > 1e-12 || pg < -1e-12) {
          const next = Math.min(Math.max(a - g / qd[k], 0), upper[k]);
          alpha[k] = next;
          const d = (next - a) * y[k];
          for (let e = start; e < end; e++) w[idx[e]] += d * val[e];
          w[cols] += d;
        }
      }
      if (pgMax - pgMin <= task.eps) {
        if (active === n) break;
        active = n;
        pgMaxOld = Infinity;
        pgMinOld = -Infinity;
        continue;
      }
      pgMaxOld = pgMax <= 0 ? Infinity : pgMax;
      pgMinOld = pgMin >= 0 ? -Infinity : pgMin;
    }
    if (tests && decisions) decide(data, w, tests, decisions, ci * tests.length);
  }
  return { w, alpha, decisions, iterations };
}

/** Decision values w·x + b of `rows` into out[at…]. */
export function decide(
  data: SolverData,
  w: Float64Array,
  rows: Int32Array,
  out: Float64Array,
  at: number,
): void {
  const { ptr, idx, val, cols } = data;
  for (let j = 0; j < rows.length; j++) {
    const i = rows[j];
    let dot = w[cols];
    for (let e = ptr[i]; e < ptr[i + 1]; e++) dot += w[idx[e]] * val[e];
    out[at + j] = dot;
  }
}

/**
 * L2-regularised logistic regression by dual coordinate descent (Yu, Huang and Lin 2011; liblinear's
 * L2R_LR_DUAL), from a cold start; `alpha` (one per row) and `w` (weights and intercept) are overwritten.
 */
export function logisticFit(
  data: SolverData,
  task: SolveTask,
  c: number,
  y: Int8Array,
  sq: Float64Array,
  w: Float64Array,
  alpha: Float64Array,
): number {
  const { ptr, idx, val, cols, labels, classWeight } = data;
  const train = task.train;
  const n = train.length;
  const upper = new Float64Array(n);
  const index = new Int32Array(n);
  for (let s = 0; s < n; s++) {
    upper[s] = c * classWeight[labels[train[s]]];
    alpha[s] = Math.min(0.001 * upper[s], 1e-8);
    index[s] = s;
  }
  primal(data, train, y, alpha, w);
  let seed = (task.seed ^ 0x9e3779b9) >>> 0;
  let innerEps = 1e-2;
  const innerEpsMin = Math.min(1e-8, task.eps);
  let iter = 0;
  for (; iter < task.maxIter; iter++) {
    seed = shuffle(index, n, seed);
    let newton = 0;
    let gMax = 0;
    for (let s = 0; s < n; s++) {
      const k = index[s];
      const i = train[k];
      const C = upper[k];
      let dot = w[cols];
      for (let e = ptr[i]; e < ptr[i + 1]; e++) dot += w[idx[e]] * val[e];
      const ywx = y[k] * dot;
      const xx = sq[k];
      // the pair (α, C − α): work on the one whose move is the smaller
      const a = alpha[k];
      const sign = 0.5 * xx * (C - 2 * a) + ywx < 0 ? -1 : 1;
      const old = sign === 1 ? a : C - a;
      let z = old;
      if (C - z < 0.5 * C) z *= 0.1;
      let gp = xx * (z - old) + sign * ywx + Math.log(z / (C - z));
      gMax = Math.max(gMax, Math.abs(gp));
      let inner = 0;
      while (inner < 100 && Math.abs(gp) >= innerEps) {
        const gpp = xx + C / (C - z) / z;
        const next = z - gp / gpp;
        z = next <= 0 ? z * 0.1 : next;
        gp = xx * (z - old) + sign * ywx + Math.log(z / (C - z));
        newton++;
        inner++;
      }
      if (inner > 0) {
        alpha[k] = sign === 1 ? z : C - z;
        const d = (alpha[k] - a) * y[k];
        for (let e = ptr[i]; e < ptr[i + 1]; e++) w[idx[e]] += d * val[e];
        w[cols] += d;
      }
    }
    if (gMax < task.eps) break;
    if (newton <= n / 10) innerEps = Math.max(innerEpsMin, 0.1 * innerEps);
  }
  return iter + 1;
}

/** w = Σ y α x over the training rows, the intercept last (the primal weights of dual variables). */
export function primal(
  data: SolverData,
  train: Int32Array,
  y: Int8Array,
  alpha: Float64Array,
  w: Float64Array,
): void {
  const { ptr, idx, val, cols } = data;
  w.fill(0);
  for (let s = 0; s < train.length; s++) {
    if (alpha[s] === 0) continue;
    const i = train[s];
    const a = alpha[s] * y[s];
    for (let e = ptr[i]; e < ptr[i + 1]; e++) w[idx[e]] += a * val[e];
    w[cols] += a;
  }
}

/** A seeded Fisher–Yates shuffle of index[0..count) (mulberry32 steps); returns the next seed. */
export function shuffle(index: Int32Array, count: number, seed: number): number {
  let a = seed >>> 0;
  for (let s = 0; s < count; s++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let r = Math.imul(a ^ (a >>> 15), a | 1);
    r ^= r + Math.imul(r ^ (r >>> 7), r | 61);
    const j = s + Math.floor((((r ^ (r >>> 14)) >>> 0) / 4294967296) * (count - s));
    const t = index[s];
    index[s] = index[j];
    index[j] = t;
  }
  return a;
}
