/**
 * One label learned over the TF-IDF rows: squared-hinge SVM one-vs-rest with softened balanced class costs, loss
 * and C chosen by stratified cross-validation on small sets, the confidence calibrated by a temperature fitted on
 * out-of-fold decision values; keeps the features that carry the weight (within a size budget), refits on those.
 */
import type { Csr, Vocabulary } from './matrix';
import { keepColumns } from './matrix';
import { blockOf, type HeadSettings } from './head';
import {
  crossValidate,
  fitColumns,
  fitTemperature,
  pairedGain,
  positives,
  selectFeatures,
  solverData,
  stratifiedRowFolds,
  type FitSettings,
} from './train';

/** What tuning chooses from: squared hinge (LinearSVC) and logistic (LogisticRegression) losses, each over C. */
const GRIDS: Array<{ loss: 0 | 2; cs: number[] }> = [
  { loss: 2, cs: [0.1, 0.3, 1, 3, 10] },
  { loss: 0, cs: [1, 3, 10, 30, 100] },
];
const LOSS_NAMES = { 0: 'logistic', 1: 'hinge', 2: 'squared hinge' } as const;
/** Tune C by cross-validation up to this many rows (above: C = 1, as LinearSVC, and a tenth held out for T). */
const TUNE_MAX_ROWS = 5000;
const MIN_TUNE_ROWS = 20;

export interface LearnedLabel {
  block: Uint8Array;
  kept: number;
  temperature: number;
  c: number;
  loss: (typeof LOSS_NAMES)[keyof typeof LOSS_NAMES];
  /** Out-of-fold accuracy per loss and C of the grid, when they were tuned. */
  tuning?: Array<{ loss: string; c: number; accuracy: number }>;
  /** Decision values of rows the fit that made them did not train on (out of fold, or a held-out tenth). */
  heldOut: { rows: Int32Array; decisions: Float64Array } | null;
}

/** Fits `y` (a class index per row, `classes` classes) over the rows of `matrix`. */
export async function learnLabel(
  matrix: Csr,
  vocab: Vocabulary,
  y: Int32Array,
  classes: number,
  o: HeadSettings,
): Promise<LearnedLabel> {
  const say = o.say;
  const columns = positives(classes).length;
  const data = solverData(matrix, y, classes);
  const fit: FitSettings = { classes, loss: 2, eps: 0.1, maxIter: 1000, seed: o.seed, threads: o.threads };
  const counts = new Int32Array(classes);
  for (const l of y) counts[l]++;
  const smallest = Math.min(...Array.from(counts).filter((k) => k > 0));
  const all = Int32Array.from({ length: y.length }, (_, i) => i);

  let c = o.c ?? 1;
  let temperature = 2;
  let tuning: LearnedLabel['tuning'];
  let heldOut: LearnedLabel['heldOut'] = null;
  if (o.c === undefined && y.length >= MIN_TUNE_ROWS && y.length <= TUNE_MAX_ROWS && smallest >= 2) {
    const k = Math.min(5, smallest);
    const progress = throttled(
      say,
      (d, t) => `learner: tuning by ${k}-fold cross-validation, ${d}/${t} fits`,
    );
    // every (loss, C) out of fold; LinearSVC's default (squared hinge, C = 1) stays unless another beats it
    // clearly on the same rows (paired z ≥ 1.645): small differences are noise, and chasing them overfits
    const tried: Array<{ loss: 0 | 2; c: number; predicted: Int32Array; decisions: Float64Array }> = [];
    tuning = [];
    for (const { loss, cs } of GRIDS) {
      const cv = await crossValidate(data, cs, k, { ...fit, loss, progress });
      cs.forEach((g, i) => {
        tuning!.push({ loss: LOSS_NAMES[loss], c: g, accuracy: cv.accuracy[i] });
        tried.push({ loss, c: g, predicted: cv.predicted[i], decisions: cv.decisions[i] });
      });
    }
    const base = tried.find((t) => t.loss === 2 && t.c === 1)!;
    let chosen = base;
    let gain = 1.645;
    for (const t of tried) {
      const z = pairedGain(base.predicted, t.predicted, y);
      if (z > gain) [chosen, gain] = [t, z];
    }
    c = chosen.c;
    fit.loss = chosen.loss;
    temperature = fitTemperature(chosen.decisions, y, columns);
    heldOut = { rows: all, decisions: chosen.decisions };
    const accuracy = tuning.find((t) => t.loss === LOSS_NAMES[chosen.loss] && t.c === c)!.accuracy;
    say(
      `learner: ${LOSS_NAMES[fit.loss]} loss, C = ${c} (out-of-fold accuracy ${(accuracy * 100).toFixed(1)} %)`,
    );
  }

  const progress = throttled(say, (d, t) => `learner: trained ${d}/${t} columns`);
  // no tuning (C given, or many rows): the first fit leaves a tenth out, which calibrates T
  const tenth = !(tuning || y.length < MIN_TUNE_ROWS || smallest < 2);
  const fold = tenth ? stratifiedRowFolds(y, classes, 10, o.seed) : null;
  const firstRows = fold ? all.filter((i) => fold[i] !== 0) : all;
  const first = await fitColumns(data, firstRows, [c], { ...fit, progress });
  const bits = columns <= 8 ? 16 : 8;
  const budget = Math.floor(((o.maxWeightBytes * 3) / 4 - 64 - 8 * columns) / (8 + (columns * bits) / 8));
  const kept = selectFeatures(
    first.map((r) => r.w),
    vocab.block,
    Math.min(o.maxFeatures, budget),
    o.weightMass,
  );
  const small = keepColumns(matrix, vocab, kept);
  say(`learner: kept ${kept.length} of ${matrix.cols} features; refitting on them`);
  if (fold) {
    // calibrated as the model that serves scores, pruned: on the kept features, their rows normalised again (the
    // unpruned model's decision values leave the pruned one over-confident: ECE 0.07 against 0.02 at 150 classes)
    const test = all.filter((i) => fold[i] === 0);
    const decisions = prunedDecisions(
      small.matrix,
      first.map((r) => r.w),
      kept,
      test,
    );
    temperature = fitTemperature(
      decisions,
      Int32Array.from(test, (i) => y[i]),
      columns,
    );
    heldOut = { rows: test, decisions };
  }
  // the refit on every row starts from the first fit's dual variables (rows it left out start at 0)
  const warm = first.map((r) => {
    const alpha = new Float64Array(y.length);
    firstRows.forEach((row, j) => (alpha[row] = r.alpha[j]));
    return alpha;
  });
  const final = await fitColumns(
    solverData(small.matrix, y, classes),
    all,
    [c],
    { ...fit, progress },
    null,
    warm,
  );
  const block = blockOf(
    small.vocab,
    final.map((r) => r.w),
    bits,
  );
  return { block, kept: kept.length, temperature, c, loss: LOSS_NAMES[fit.loss], tuning, heldOut };
}

/**
 * Decision values (row-major, a column each) of weights over all features (`w`: then the intercept) on `rows` of
 * the matrix of the kept features only.
 */
function prunedDecisions(m: Csr, w: Float64Array[], kept: Int32Array, rows: Int32Array): Float64Array {
  const columns = w.length;
  const decisions = new Float64Array(rows.length * columns);
  rows.forEach((row, j) => {
    w.forEach((wk, col) => {
      let sum = wk[wk.length - 1];
      for (let e = m.ptr[row]; e < m.ptr[row + 1]; e++) sum += m.val[e] * wk[kept[m.idx[e]]];
      decisions[j * columns + col] = sum;
    });
  });
  return decisions;
}

/**
 * The threshold on a tag's calibrated chance that gets most held-out rows right (ties: the one nearest ½);
 * ½ when no rows were held out.
 */
export function chooseThreshold(learned: LearnedLabel, y: Int32Array): number {
  if (!learned.heldOut) return 0.5;
  const { rows, decisions } = learned.heldOut;
  const T = learned.temperature;
  const scored = Array.from(rows, (row, j) => ({
    p: 1 / (1 + Math.exp(-T * decisions[j])),
    yes: y[row] === 1,
  }));
  scored.sort((a, b) => a.p - b.p);
  // a threshold between scored[i - 1] and scored[i]: rows below it say no, the rest yes
  let right = scored.filter((s) => s.yes).length;
  let best = { right: -1, threshold: 0.5 };
  for (let i = 0; i <= scored.length; i++) {
    if (i > 0) right += scored[i - 1].yes ? -1 : 1;
    if (i > 0 && i < scored.length && scored[i].p === scored[i - 1].p) continue;
    const lo = i > 0 ? scored[i - 1].p : 0;
    const hi = i < scored.length ? scored[i].p : 1;
    const threshold = lo < 0.5 && 0.5 <= hi ? 0.5 : (lo + hi) / 2;
    if (
      right > best.right ||
      (right === best.right && Math.abs(threshold - 0.5) < Math.abs(best.threshold - 0.5))
    )
      best = { right, threshold };
  }
  return Number(best.threshold.toPrecision(6));
}

/** A progress reporter that speaks at most every two seconds (and at the end). */
function throttled(say: (m: string) => void, text: (done: number, total: number) => string) {
  let last = 0;
  return (done: number, total: number) => {
    const now = Date.now();
    if (done < total && now - last < 2000) return;
    last = now;
    say(text(done, total));
  };
}
