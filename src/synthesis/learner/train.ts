import { featurize, type FeatureSpec } from './model';

/** Sparse rows over a fixed vocabulary, TF-IDF weighted and L2-normalised per block, plus a bias column. */
export interface Matrix {
  rows: Array<{ idx: Int32Array; val: Float64Array }>;
  vocab: string[];
  idf: Float64Array;
}

type Counts = ReturnType<typeof featurize>;

/** Smoothed idf as scikit-learn computes it: ln((1 + n) / (1 + df)) + 1. */
export function vocabulary(docs: Counts[], keep?: Set<string>): { vocab: string[]; idf: Float64Array } {
  const df = new Map<string, number>();
  for (const doc of docs) {
    for (const block of [doc.words, doc.chars]) {
      for (const term in block) if (!keep || keep.has(term)) df.set(term, (df.get(term) ?? 0) + 1);
    }
  }
  const vocab = [...df.keys()].sort();
  const idf = new Float64Array(vocab.length);
  vocab.forEach((term, i) => (idf[i] = Math.log((1 + docs.length) / (1 + df.get(term)!)) + 1));
  return { vocab, idf };
}

export function vectorize(docs: Counts[], vocab: string[], idf: Float64Array): Matrix {
  const index = new Map(vocab.map((t, i) => [t, i]));
  const bias = vocab.length; // the intercept column, regularised like liblinear's (intercept_scaling = 1)
  const rows = docs.map((doc) => {
    const idx: number[] = [];
    const val: number[] = [];
    for (const block of [doc.words, doc.chars]) {
      const start = idx.length;
      let norm = 0;
      for (const term in block) {
        const i = index.get(term);
        if (i === undefined) continue;
        const v = (1 + Math.log(block[term])) * idf[i];
        idx.push(i);
        val.push(v);
        norm += v * v;
      }
      const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
      for (let j = start; j < val.length; j++) val[j] *= inv;
    }
    idx.push(bias);
    val.push(1);
    return { idx: Int32Array.from(idx), val: Float64Array.from(val) };
  });
  return { rows, vocab, idf };
}

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

/**
 * A binary L2-regularised squared-hinge SVM by dual coordinate descent (Hsieh et al. 2008; what liblinear and
 * scikit-learn's LinearSVC run). `y` is ±1; `cost` is C per row (class weights). Returns weights incl. the bias.
 */
export function trainBinarySvm(
  m: Matrix,
  y: Int8Array,
  cost: Float64Array,
  random: () => number,
  maxPasses = 200,
  eps = 0.05,
): Float64Array {
  const n = m.rows.length;
  const w = new Float64Array(m.vocab.length + 1);
  const alpha = new Float64Array(n);
  const diag = new Float64Array(n);
  const qii = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    diag[i] = 0.5 / cost[i];
    let sq = 0;
    for (const v of m.rows[i].val) sq += v * v;
    qii[i] = sq + diag[i];
  }
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let pass = 0; pass < maxPasses; pass++) {
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      const t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    let maxPG = -Infinity;
    let minPG = Infinity;
    for (let s = 0; s < n; s++) {
      const i = order[s];
      const { idx, val } = m.rows[i];
      let dot = 0;
      for (let k = 0; k < idx.length; k++) dot += w[idx[k]] * val[k];
      const g = y[i] * dot - 1 + diag[i] * alpha[i];
      const pg = alpha[i] === 0 ? Math.min(g, 0) : g;
      if (pg > maxPG) maxPG = pg;
      if (pg < minPG) minPG = pg;
      if (Math.abs(pg) < 1e-12) continue;
      const old = alpha[i];
      alpha[i] = Math.max(old - g / qii[i], 0);
      const step = (alpha[i] - old) * y[i];
      for (let k = 0; k < idx.length; k++) w[idx[k]] += step * val[k];
    }
    if (maxPG - minPG < eps) break;
  }
  return w;
}

/** One-vs-rest weights (one vector for two classes), with class-balanced costs. */
export function trainLinear(m: Matrix, labels: Int32Array, classes: number, c: number, seed: number): Float64Array[] {
  const n = labels.length;
  const counts = new Array<number>(classes).fill(0);
  for (const l of labels) counts[l] += 1;
  // balanced weights, softened (square root) so the majority class keeps most of its accuracy
  const weight = counts.map((k) => (k ? Math.sqrt(n / (classes * k)) : 1));
  const problems = classes === 2 ? [1] : Array.from({ length: classes }, (_, k) => k);
  return problems.map((positive) => {
    const y = new Int8Array(n);
    const cost = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = labels[i] === positive ? 1 : -1;
      cost[i] = c * weight[labels[i]];
    }
    return trainBinarySvm(m, y, cost, prng(seed + positive));
  });
}

export function predictRows(m: Matrix, weights: Float64Array[]): Int32Array {
  return Int32Array.from(m.rows, ({ idx, val }) => {
    const scores = weights.map((w) => {
      let s = 0;
      for (let k = 0; k < idx.length; k++) s += w[idx[k]] * val[k];
      return s;
    });
    if (scores.length === 1) return scores[0] > 0 ? 1 : 0;
    let best = 0;
    for (let c = 1; c < scores.length; c++) if (scores[c] > scores[best]) best = c;
    return best;
  });
}

export type { FeatureSpec };
