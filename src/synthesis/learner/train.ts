import type { featurize } from './model';

/** Sparse rows over a fixed vocabulary, TF-IDF weighted and L2-normalised per block, plus a bias column. */
export interface Matrix {
  rows: Array<{ idx: Int32Array; val: Float64Array }>;
  columns: number;
}

type Blocks = ReturnType<typeof featurize>;

/** The terms of each block (in order of first appearance) with their smoothed idf, as scikit-learn's. */
export interface Vocabulary {
  terms: string[][];
  idf: Float64Array[];
}

/**
 * Builds the vocabulary and the TF-IDF rows in one pass over the documents: sublinear tf, idf =
 * ln((1 + n) / (1 + df)) + 1, each block L2-normalised, plus an intercept column (regularised, as liblinear's).
 */
export function tfidf(docs: Blocks[]): { vocab: Vocabulary; matrix: Matrix } {
  const blocks = docs[0]?.length ?? 2;
  const ids = Array.from({ length: blocks }, () => new Map<string, number>());
  const df: number[][] = Array.from({ length: blocks }, () => []);
  // each document as (block, term id, tf weight) before idf is known
  const raw = docs.map((doc) =>
    doc.map((block, b) => {
      const termIds = new Int32Array(block.size);
      const tf = new Float64Array(block.size);
      let j = 0;
      block.forEach((count, term) => {
        let id = ids[b].get(term);
        if (id === undefined) {
          id = ids[b].size;
          ids[b].set(term, id);
          df[b].push(0);
        }
        df[b][id] += 1;
        termIds[j] = id;
        tf[j++] = 1 + Math.log(count);
      });
      return { termIds, tf };
    }),
  );
  const idf = df.map((counts) => Float64Array.from(counts, (d) => Math.log((1 + docs.length) / (1 + d)) + 1));
  const offsets = idf.map((_, b) => idf.slice(0, b).reduce((n, a) => n + a.length, 0));
  const columns = idf.reduce((n, a) => n + a.length, 0);
  const rows = raw.map((doc) => {
    const size = doc.reduce((n, block) => n + block.termIds.length, 1);
    const idx = new Int32Array(size);
    const val = new Float64Array(size);
    let k = 0;
    doc.forEach(({ termIds, tf }, b) => {
      const start = k;
      let norm = 0;
      for (let j = 0; j < termIds.length; j++) {
        const v = tf[j] * idf[b][termIds[j]];
        idx[k] = offsets[b] + termIds[j];
        val[k++] = v;
        norm += v * v;
      }
      const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
      for (let j = start; j < k; j++) val[j] *= inv;
    });
    idx[k] = columns;
    val[k] = 1;
    return { idx, val };
  });
  return { vocab: { terms: ids.map((m) => [...m.keys()]), idf }, matrix: { rows, columns } };
}

/** The same vocabulary restricted to the terms `keep` says to keep (given as global column numbers). */
export function restrict(vocab: Vocabulary, keep: (column: number) => boolean): Vocabulary {
  const terms: string[][] = [];
  const idf: Float64Array[] = [];
  let offset = 0;
  vocab.terms.forEach((list, b) => {
    const kept = list.map((_, i) => i).filter((i) => keep(offset + i));
    terms.push(kept.map((i) => list[i]));
    idf.push(Float64Array.from(kept, (i) => vocab.idf[b][i]));
    offset += list.length;
  });
  return { terms, idf };
}

/**
 * The rows of `m` over the kept columns only, each block normalised again: the same as vectorising the documents
 * with the restricted vocabulary (block scaling is uniform), without featurising them again.
 */
export function keepColumns(m: Matrix, vocab: Vocabulary, keep: Set<number>): Matrix {
  const renumber = new Int32Array(m.columns).fill(-1);
  let columns = 0;
  for (let c = 0; c < m.columns; c++) if (keep.has(c)) renumber[c] = columns++;
  const blockEnds: number[] = [];
  vocab.terms.reduce((end, list) => (blockEnds.push(end + list.length), end + list.length), 0);
  const rows = m.rows.map(({ idx, val }) => {
    const newIdx: number[] = [];
    const newVal: number[] = [];
    let start = 0;
    let block = 0;
    let norm = 0;
    const closeBlock = () => {
      const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
      for (let j = start; j < newVal.length; j++) newVal[j] *= inv;
      start = newVal.length;
      norm = 0;
    };
    for (let k = 0; k < idx.length - 1; k++) {
      while (idx[k] >= blockEnds[block]) {
        closeBlock();
        block += 1;
      }
      const c = renumber[idx[k]];
      if (c < 0) continue;
      newIdx.push(c);
      newVal.push(val[k]);
      norm += val[k] * val[k];
    }
    closeBlock();
    newIdx.push(columns);
    newVal.push(1);
    return { idx: Int32Array.from(newIdx), val: Float64Array.from(newVal) };
  });
  return { rows, columns };
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
  const w = new Float64Array(m.columns + 1);
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
export function trainLinear(
  m: Matrix,
  labels: Int32Array,
  classes: number,
  c: number,
  seed: number,
): Float64Array[] {
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
