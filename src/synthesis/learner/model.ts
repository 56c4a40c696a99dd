/**
 * The learner's model on disk and the code that scores it. Beside program.js:
 * - `model.json` (ModelInfo): the feature spec, and what the output is made of: its parts (a label, a number, a
 *   set of tags), each with its calibration and the name of its weights files;
 * - `weights.bin.b64`, `weights-2.bin.b64`, …: one block of weights each (base64 text, as version files are
 *   text): a header of eight little-endian uint32 — magic 'LPW1', layout version, weight columns K, features F,
 *   word features Fw, bits per weight (8 or 16), 0, 0 — then typed arrays in this order: feature hashes
 *   uint32[F] (words first, then characters), idf float32[F], per-column scale float32[K], bias float32[K],
 *   weights int8|int16[F·K] (feature-major: w[f·K + k]); a weight is `q × scale[k]`.
 * `decodeBase64`, `prepareBlock`, `prepareModel`, `newScratch`, `scoreHashes`, `normalCdf` and `answer` are
 * self-contained (no imports, no module state): program.js embeds their source beside `hashFeatures`, so the
 * server's in-process path and the program score alike.
 */
import type { FeatureSpec, Hashes } from './features';

export const WEIGHTS_FILE = 'weights.bin.b64';
/** The name of the nth weights file (from 0): weights.bin.b64, weights-2.bin.b64, … */
export const weightsFile = (n: number): string => (n === 0 ? WEIGHTS_FILE : `weights-${n + 1}.bin.b64`);
/** Any name weightsFile gives. */
export const WEIGHTS_FILE_NAME = /^weights(-[1-9][0-9]{0,3})?\.bin\.b64$/;
export const MAGIC = 0x3157504c; // 'LPW1' read as a little-endian uint32
export const LAYOUT_VERSION = 1;
export const HEADER_WORDS = 8;

/** A weights file: one LPW1 block (see above), base64. */
export interface WeightsRef {
  file: string;
  encoding: 'base64';
  layout: 'LPW1';
}

/**
 * One thing the model predicts, each from blocks of its own over the same features:
 * - `label`: one of `labels` (one column for two labels: > 0 → labels[1]; else one per label), confidence by a
 *   softmax (a sigmoid for two) of the decision values times `temperature`;
 * - `number`: a linear score rounded to the grid `step` within [min, max] (both on the grid); the confidence is
 *   the chance that the true value is that grid point, taking the error as normal with the held-out `sigma`;
 * - `tags`: a subset of `labels` (multi-label): one binary block per label that varies, the label in when its
 *   calibrated chance is at least its `threshold`; `always` labels were in every labelled row. At least
 *   `min_items`, at most `max_items`, in the order of `labels`.
 */
export type PartInfo =
  | { kind: 'label'; labels: unknown[]; temperature: number; weights: WeightsRef }
  | { kind: 'number'; step: number; min: number; max: number; sigma: number; weights: WeightsRef }
  | {
      kind: 'tags';
      labels: unknown[];
      always: number[];
      min_items: number;
      max_items: number;
      tags: Array<{ label: number; temperature: number; threshold: number; weights: WeightsRef }>;
    };

export interface ModelInfo {
  format: 'loopai-learner';
  version: 3;
  spec: FeatureSpec;
  /** The output is the one part's value (`fields` null) or an object with each part under its field. */
  output: { fields: string[] | null; parts: PartInfo[] };
}

/** The weights as arrays (training side), before they are quantised into the binary block. */
export interface Weights {
  hashes: Uint32Array;
  wordFeatures: number;
  idf: Float32Array;
  /** Per column: its weights over the features. One column for two labels (> 0 → labels[1]). */
  columns: Float64Array[];
  bias: Float64Array;
}

/** The binary block of `w` (see the file comment), weights quantised per column to `bits`. */
export function encodeWeights(w: Weights, bits: 8 | 16): Uint8Array {
  const F = w.hashes.length;
  const K = w.columns.length;
  const bytes = HEADER_WORDS * 4 + 8 * F + 8 * K + F * K * (bits / 8);
  const buffer = new ArrayBuffer(Math.ceil(bytes / 4) * 4);
  new Uint32Array(buffer, 0, HEADER_WORDS).set([MAGIC, LAYOUT_VERSION, K, F, w.wordFeatures, bits, 0, 0]);
  let at = HEADER_WORDS * 4;
  new Uint32Array(buffer, at, F).set(w.hashes);
  new Float32Array(buffer, (at += 4 * F), F).set(w.idf);
  const scale = new Float32Array(buffer, (at += 4 * F), K);
  new Float32Array(buffer, (at += 4 * K), K).set(w.bias);
  at += 4 * K;
  const top = bits === 8 ? 127 : 32767;
  const q = bits === 8 ? new Int8Array(buffer, at, F * K) : new Int16Array(buffer, at, F * K);
  w.columns.forEach((column, k) => {
    let max = 0;
    for (let f = 0; f < F; f++) max = Math.max(max, Math.abs(column[f]));
    scale[k] = max > 0 ? max / top : 1;
    const s = scale[k];
    for (let f = 0; f < F; f++) q[f * K + k] = Math.round(column[f] / s);
  });
  return new Uint8Array(buffer);
}

/** Base64 text to bytes (the sandbox has no atob), in a buffer of its own, 4-byte aligned. */
export function decodeBase64(text: string): Uint8Array {
  const table = new Int16Array(128).fill(-1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < 64; i++) table[alphabet.charCodeAt(i)] = i;
  let len = text.length;
  while (len > 0 && text.charCodeAt(len - 1) === 61) len--;
  const size = Math.floor((len * 3) / 4);
  const out = new Uint8Array(new ArrayBuffer(Math.ceil(size / 4) * 4), 0, size);
  let bits = 0;
  let acc = 0;
  let j = 0;
  for (let i = 0; i < len; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? table[c] : -1;
    if (v < 0) throw new Error('weights: not base64');
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[j++] = (acc >>> bits) & 255;
    }
  }
  return out;
}

/** A block ready to score: the arrays over the decoded bytes and a hash table of the features. */
export interface PreparedBlock {
  K: number;
  F: number;
  wordF: number;
  /** The features' hashes, in row order (a view of the weights block). */
  keys: Uint32Array;
  /** Open addressing over `keys`: each slot holds a row, or −1 for an empty slot. */
  table: Int32Array;
  shift: number;
  mask: number;
  idf: Float32Array;
  scale: Float32Array;
  bias: Float32Array;
  w: Int8Array | Int16Array;
  temperature: number;
}

type TagsInfo = Extract<PartInfo, { kind: 'tags' }>;
/** A part with its blocks prepared (and, for numbers, the decimals its grid is printed with). */
export type PreparedPart =
  | (Exclude<PartInfo, TagsInfo> & { block: PreparedBlock; digits: number })
  | (Omit<TagsInfo, 'tags'> & { tags: Array<TagsInfo['tags'][number] & { block: PreparedBlock }> });

/** A model ready to score: its info, and each part with its blocks prepared. */
export interface PreparedModel {
  info: ModelInfo;
  parts: PreparedPart[];
}

/**
 * What scoring one input needs besides the model, grown to the largest model it has scored: one per realm, shared
 * by every model there, so that a loaded model holds only its weights and its lookup table.
 */
export interface Scratch {
  hashes: Hashes;
  mark: Int32Array;
  count: Int32Array;
  /** Rows of the features the current input has. */
  touched: Int32Array;
  value: Float64Array;
  stamp: number;
  logTf: Float64Array;
  acc: Float64Array;
  scores: Float64Array;
}

export function newScratch(): Scratch {
  const logTf = new Float64Array(256);
  for (let c = 1; c < 256; c++) logTf[c] = 1 + Math.log(c);
  return {
    hashes: { h: new Uint32Array(1024), n: 0, words: 0, units: new Int32Array(64) },
    mark: new Int32Array(0),
    count: new Int32Array(0),
    touched: new Int32Array(0),
    value: new Float64Array(0),
    stamp: 0,
    logTf,
    acc: new Float64Array(0),
    scores: new Float64Array(0),
  };
}

/** Checks a block against its header and the `K` columns its part needs, and builds the lookup table. */
export function prepareBlock(bytes: Uint8Array, K: number, temperature: number): PreparedBlock {
  if (bytes.byteOffset % 4 || bytes.length < 32) throw new Error('weights: block too short or misaligned');
  const head = new Uint32Array(bytes.buffer, bytes.byteOffset, 8);
  const F = head[3];
  const wordF = head[4];
  const bits = head[5];
  if (head[0] !== 0x3157504c || head[1] !== 1) throw new Error('weights: not an LPW1 block');
  if (head[2] !== K || wordF > F || (bits !== 8 && bits !== 16))
    throw new Error('weights: the header does not match model.json');
  const need = 32 + 8 * F + 8 * K + (F * K * bits) / 8;
  if (bytes.length < need) throw new Error('weights: block shorter than its header says');
  let at = bytes.byteOffset + 32;
  const keys = new Uint32Array(bytes.buffer, at, F);
  const idf = new Float32Array(bytes.buffer, (at += 4 * F), F);
  const scale = new Float32Array(bytes.buffer, (at += 4 * F), K);
  const bias = new Float32Array(bytes.buffer, (at += 4 * K), K);
  at += 4 * K;
  const w = bits === 8 ? new Int8Array(bytes.buffer, at, F * K) : new Int16Array(bytes.buffer, at, F * K);
  let cap = 16;
  while (cap < 2 * F) cap *= 2;
  const table = new Int32Array(cap).fill(-1);
  const shift = 32 - Math.round(Math.log2(cap));
  for (let f = 0; f < F; f++) {
    let slot = Math.imul(keys[f], 0x9e3779b1) >>> shift;
    while (table[slot] !== -1) slot = (slot + 1) & (cap - 1);
    table[slot] = f;
  }
  return { K, F, wordF, keys, table, shift, mask: cap - 1, idf, scale, bias, w, temperature };
}

/** Every block of `info`'s parts, read by `bytesOf(file)` and checked. Throws on any mismatch. */
export function prepareModel(info: ModelInfo, bytesOf: (file: string) => Uint8Array): PreparedModel {
  const parts = info.output.parts.map(function (part): PreparedPart {
    if (part.kind === 'tags') {
      const tags = part.tags.map((t) => ({
        ...t,
        block: prepareBlock(bytesOf(t.weights.file), 1, t.temperature),
      }));
      return { ...part, tags };
    }
    const K = part.kind === 'label' && part.labels.length > 2 ? part.labels.length : 1;
    const block = prepareBlock(bytesOf(part.weights.file), K, part.kind === 'label' ? part.temperature : 1);
    // the decimals a grid point is printed with (0.25 → 2), so that 0.1 · 3 answers 0.3
    let digits = 0;
    if (part.kind === 'number')
      while (digits < 12 && Math.abs(part.step * 10 ** digits - Math.round(part.step * 10 ** digits)) > 1e-9)
        digits++;
    return { ...part, block, digits };
  });
  return { info, parts };
}

/**
 * Scores the input whose features are in `s.hashes` (hashFeatures(input, spec, s.hashes)) with one block: TF-IDF
 * with sublinear tf over the block's features, each group (words, characters) L2-normalised, then a linear score
 * per column into `s.scores`. Returns the label index and its confidence.
 */
export function scoreHashes(p: PreparedBlock, s: Scratch): { label: number; confidence: number } {
  const { keys, table, shift, mask, wordF, K } = p;
  if (s.mark.length < p.F) {
    s.mark = new Int32Array(p.F);
    s.count = new Int32Array(p.F);
    s.touched = new Int32Array(p.F);
    s.value = new Float64Array(p.F);
    s.stamp = 0;
  }
  if (s.acc.length < K) {
    s.acc = new Float64Array(K);
    s.scores = new Float64Array(K);
  }
  const { mark, count, touched } = s;
  if (s.stamp >= 0x7fffffff) {
    mark.fill(0);
    s.stamp = 0;
  }
  const stamp = ++s.stamp;
  const H = s.hashes;
  const h = H.h;
  let distinct = 0;
  for (let i = 0; i < H.n; i++) {
    const key = h[i];
    const word = i < H.words;
    let slot = Math.imul(key, 0x9e3779b1) >>> shift;
    let row = table[slot];
    // a word and an n-gram may share a hash: the row must be of the occurrence's block
    while (row !== -1 && (keys[row] !== key || row < wordF !== word)) {
      slot = (slot + 1) & mask;
      row = table[slot];
    }
    if (row === -1) continue;
    if (mark[row] !== stamp) {
      mark[row] = stamp;
      count[row] = 1;
      touched[distinct++] = row;
    } else count[row]++;
  }
  const { idf, w } = p;
  const { value, logTf, acc, scores } = s;
  let wordNorm = 0;
  let charNorm = 0;
  for (let t = 0; t < distinct; t++) {
    const row = touched[t];
    const c = count[row];
    const v = (c < 256 ? logTf[c] : 1 + Math.log(c)) * idf[row];
    value[t] = v;
    if (row < wordF) wordNorm += v * v;
    else charNorm += v * v;
  }
  const wordInv = wordNorm > 0 ? 1 / Math.sqrt(wordNorm) : 0;
  const charInv = charNorm > 0 ? 1 / Math.sqrt(charNorm) : 0;
  for (let k = 0; k < K; k++) acc[k] = 0;
  for (let t = 0; t < distinct; t++) {
    const row = touched[t];
    const v = value[t] * (row < wordF ? wordInv : charInv);
    const base = row * K;
    for (let k = 0; k < K; k++) acc[k] += w[base + k] * v;
  }
  const T = p.temperature;
  for (let k = 0; k < K; k++) scores[k] = p.bias[k] + p.scale[k] * acc[k];
  if (K === 1) {
    const q = 1 / (1 + Math.exp(-T * scores[0]));
    return scores[0] > 0 ? { label: 1, confidence: q } : { label: 0, confidence: 1 - q };
  }
  let best = 0;
  for (let k = 1; k < K; k++) if (scores[k] > scores[best]) best = k;
  let sum = 0;
  for (let k = 0; k < K; k++) sum += Math.exp(T * (scores[k] - scores[best]));
  return { label: best, confidence: 1 / sum };
}

/** The standard normal distribution function (Abramowitz and Stegun 7.1.26: error under 1.5e-7). */
export function normalCdf(z: number): number {
  const t = 1 / (1 + (0.3275911 * Math.abs(z)) / Math.SQRT2);
  const poly =
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t;
  const erf = 1 - poly * Math.exp((-z * z) / 2);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/** The output and its confidence for the input whose features are in `s.hashes`: every part scored. */
export function answer(model: PreparedModel, s: Scratch): { result: unknown; confidence: number } {
  let confidence = 1;
  const values = model.parts.map(function (part) {
    if (part.kind === 'label') {
      const r = scoreHashes(part.block, s);
      confidence *= r.confidence;
      return part.labels[r.label];
    }
    if (part.kind === 'number') {
      scoreHashes(part.block, s);
      const raw = s.scores[0];
      const value = Math.min(part.max, Math.max(part.min, Math.round(raw / part.step) * part.step));
      const half = part.step / 2;
      confidence *= Math.max(
        0,
        normalCdf((value + half - raw) / part.sigma) - normalCdf((value - half - raw) / part.sigma),
      );
      return Number(value.toFixed(part.digits));
    }
    const chance = new Float64Array(part.labels.length);
    const chosen = new Uint8Array(part.labels.length);
    const candidates: number[] = [];
    for (const i of part.always) chosen[i] = 1;
    for (const tag of part.tags) {
      const r = scoreHashes(tag.block, s);
      chance[tag.label] = r.label === 1 ? r.confidence : 1 - r.confidence;
      if (chance[tag.label] >= tag.threshold) chosen[tag.label] = 1;
      candidates.push(tag.label);
    }
    // the most likely first: too few are topped up, too many cut back
    candidates.sort((a, b) => chance[b] - chance[a]);
    let count = chosen.reduce((n, c) => n + c, 0);
    for (let i = 0; i < candidates.length && count < part.min_items; i++) {
      if (chosen[candidates[i]]) continue;
      chosen[candidates[i]] = 1;
      count++;
    }
    for (let i = candidates.length - 1; i >= 0 && count > part.max_items; i--) {
      if (!chosen[candidates[i]]) continue;
      chosen[candidates[i]] = 0;
      count--;
    }
    for (const tag of part.tags) confidence *= chosen[tag.label] ? chance[tag.label] : 1 - chance[tag.label];
    return part.labels.filter((_, i) => chosen[i] === 1);
  });
  const fields = model.info.output.fields;
  const result = fields === null ? values[0] : Object.fromEntries(fields.map((f, i) => [f, values[i]]));
  return { result, confidence: Math.round(confidence * 10000) / 10000 };
}
