import { hashFeatures, newHashes, type FeatureSpec } from './features';

/**
 * Sparse rows in typed arrays (CSR): row i has entries ptr[i]..ptr[i+1] of idx (column) and val (TF-IDF with
 * sublinear tf, each block L2-normalised). The arrays live in SharedArrayBuffers, so solver threads read them
 * without a copy. The intercept is not a column: the solver adds it.
 */
export interface Csr {
  rows: number;
  cols: number;
  ptr: Int32Array;
  idx: Int32Array;
  val: Float32Array;
}

/** The columns: their feature hash, block (0 words, 1 characters) and smoothed idf, as scikit-learn's. */
export interface Vocabulary {
  hash: Uint32Array;
  block: Uint8Array;
  idf: Float64Array;
}

const shared = <T>(Kind: { new (b: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number }, n: number): T =>
  new Kind(new SharedArrayBuffer(Math.max(1, n) * Kind.BYTES_PER_ELEMENT));

/** An open-addressing map from 32-bit keys to column numbers that grows as it fills. */
class HashIndex {
  private keys = new Uint32Array(1 << 12);
  private vals = new Int32Array(1 << 12).fill(-1);
  size = 0;

  /** The column of `key`, given the next free number when it is new. */
  get(key: number, next: number): number {
    if (this.size * 2 >= this.keys.length) this.grow();
    const mask = this.keys.length - 1;
    let slot = Math.imul(key, 0x9e3779b1) & mask;
    for (;;) {
      const v = this.vals[slot];
      if (v === -1) {
        this.keys[slot] = key;
        this.vals[slot] = next;
        this.size++;
        return next;
      }
      if (this.keys[slot] === key) return v;
      slot = (slot + 1) & mask;
    }
  }

  private grow(): void {
    const { keys, vals } = this;
    this.keys = new Uint32Array(keys.length * 2);
    this.vals = new Int32Array(keys.length * 2).fill(-1);
    const mask = this.keys.length - 1;
    for (let s = 0; s < keys.length; s++) {
      if (vals[s] === -1) continue;
      let slot = Math.imul(keys[s], 0x9e3779b1) & mask;
      while (this.vals[slot] !== -1) slot = (slot + 1) & mask;
      this.keys[slot] = keys[s];
      this.vals[slot] = vals[s];
    }
  }
}

/** A growable int32 list. */
class Ints {
  a = new Int32Array(1 << 16);
  n = 0;
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Int32Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
}

/**
 * Featurises the inputs and builds the vocabulary and the TF-IDF rows: idf = ln((1 + n) / (1 + df)) + 1, tf =
 * 1 + ln(count), each block of a row L2-normalised.
 */
export function tfidf(inputs: unknown[], spec: FeatureSpec): { vocab: Vocabulary; matrix: Csr } {
  const index = [new HashIndex(), new HashIndex()];
  const hashOf = new Ints();
  const blockOf = new Ints();
  const df = new Ints();
  const cols = new Ints();
  const counts = new Ints();
  const ptr = shared(Int32Array, inputs.length + 1);
  let mark = new Int32Array(1 << 16);
  let slotOf = new Int32Array(1 << 16);
  const buffer = newHashes();
  inputs.forEach((input, i) => {
    hashFeatures(input, spec, buffer);
    for (let j = 0; j < buffer.n; j++) {
      const block = j < buffer.words ? 0 : 1;
      const key = buffer.h[j];
      const col = index[block].get(key, hashOf.n);
      if (col === hashOf.n) {
        hashOf.push(key);
        blockOf.push(block);
        df.push(0);
        if (col >= mark.length) {
          const m = new Int32Array(mark.length * 2);
          m.set(mark);
          mark = m;
          const s = new Int32Array(slotOf.length * 2);
          s.set(slotOf);
          slotOf = s;
        }
      }
      if (mark[col] !== i + 1) {
        mark[col] = i + 1;
        slotOf[col] = cols.n;
        cols.push(col);
        counts.push(1);
        df.a[col] += 1;
      } else counts.a[slotOf[col]] += 1;
    }
    ptr[i + 1] = cols.n;
  });
  const n = inputs.length;
  const columns = hashOf.n;
  const idf = new Float64Array(columns);
  for (let c = 0; c < columns; c++) idf[c] = Math.log((1 + n) / (1 + df.a[c])) + 1;
  const idx = shared(Int32Array, cols.n);
  const val = shared(Float32Array, cols.n);
  idx.set(cols.a.subarray(0, cols.n));
  const block = Uint8Array.from(blockOf.a.subarray(0, columns));
  const raw = new Float64Array(cols.n);
  for (let e = 0; e < cols.n; e++) raw[e] = (1 + Math.log(counts.a[e])) * idf[idx[e]];
  normaliseRows(ptr, idx, raw, block, val);
  return {
    vocab: { hash: Uint32Array.from(hashOf.a.subarray(0, columns)), block, idf },
    matrix: { rows: n, cols: columns, ptr, idx, val },
  };
}

/** val[e] = raw[e] / (L2 norm of raw over the entries of e's row and block). */
function normaliseRows(
  ptr: Int32Array,
  idx: Int32Array,
  raw: Float64Array,
  block: Uint8Array,
  val: Float32Array,
) {
  for (let i = 0; i + 1 < ptr.length; i++) {
    let words = 0;
    let chars = 0;
    for (let e = ptr[i]; e < ptr[i + 1]; e++) {
      if (block[idx[e]] === 0) words += raw[e] * raw[e];
      else chars += raw[e] * raw[e];
    }
    const w = words > 0 ? 1 / Math.sqrt(words) : 0;
    const c = chars > 0 ? 1 / Math.sqrt(chars) : 0;
    for (let e = ptr[i]; e < ptr[i + 1]; e++) val[e] = raw[e] * (block[idx[e]] === 0 ? w : c);
  }
}

/**
 * The rows over the kept columns only (renumbered in the order of `kept`), each block normalised again: the same
 * as vectorising with the smaller vocabulary (a block's scaling is uniform), without featurising again.
 */
export function keepColumns(m: Csr, vocab: Vocabulary, kept: Int32Array): { vocab: Vocabulary; matrix: Csr } {
  const renumber = new Int32Array(m.cols).fill(-1);
  kept.forEach((c, i) => (renumber[c] = i));
  const block = Uint8Array.from(kept, (c) => vocab.block[c]);
  let size = 0;
  for (let e = 0; e < m.idx.length; e++) if (renumber[m.idx[e]] >= 0) size++;
  const ptr = shared(Int32Array, m.rows + 1);
  const idx = shared(Int32Array, size);
  const raw = new Float64Array(size);
  let k = 0;
  for (let i = 0; i < m.rows; i++) {
    for (let e = m.ptr[i]; e < m.ptr[i + 1]; e++) {
      const c = renumber[m.idx[e]];
      if (c < 0) continue;
      idx[k] = c;
      raw[k++] = m.val[e];
    }
    ptr[i + 1] = k;
  }
  const val = shared(Float32Array, size);
  normaliseRows(ptr, idx, raw, block, val);
  return {
    vocab: {
      hash: Uint32Array.from(kept, (c) => vocab.hash[c]),
      block,
      idf: Float64Array.from(kept, (c) => vocab.idf[c]),
    },
    matrix: { rows: m.rows, cols: kept.length, ptr, idx, val },
  };
}
