import { sha256 } from '../../domain/hash';
import { hashFeatures, isSpaceUnit, isSymbolUnit, isWordUnit, type FeatureSpec } from './features';
import { keepColumns, tfidf } from './matrix';
import {
  decodeBase64,
  encodeWeights,
  newScratch,
  prepareModel,
  scoreHashes,
  WEIGHTS_FILE,
  type ModelInfo,
  type PreparedModel,
} from './model';
import { defaultThreads } from './pool';
import {
  fitColumns,
  fitTemperature,
  positives,
  selectFeatures,
  solverData,
  stratifiedRowFolds,
  crossValidate,
  pairedGain,
  type FitSettings,
} from './train';
import { learnableTarget } from './target';

export { learnableTarget, LearnerUnsupported } from './target';

export interface LearnerOptions {
  /** Seed of the coordinate order and folds (default 42): the same data and seed give byte-identical files. */
  seed?: number;
  /** Regularisation: larger fits the training data more closely. Default: chosen by cross-validation. */
  c?: number;
  /** Most features a program keeps (after selection by weight). */
  maxFeatures?: number;
  /** Share of the total weight mass the kept features must carry. */
  weightMass?: number;
  /** Largest weights file (base64 text), in bytes: caps the features kept. Default 2 MiB. */
  maxWeightBytes?: number;
  /** Solver threads (default LOOPAI_LEARNER_THREADS, else one per core). */
  threads?: number;
  /** Told what training is doing, now and then. */
  progress?: (message: string) => void;
}

export interface LearnedProgram {
  files: { 'program.js': string; 'model.json': string; [WEIGHTS_FILE]: string };
  stats: {
    features: number;
    kept_features: number;
    kept_weights: number;
    /** program.js and its files, in KB. */
    program_kb: number;
    /** The weights file alone, in KB. */
    weights_kb: number;
    train_seconds: number;
    classes: string[];
    c: number;
    loss: string;
    /** Out-of-fold accuracy per loss and C of the grid, when they were tuned. */
    tuning?: Array<{ loss: string; c: number; accuracy: number }>;
    temperature: number;
  };
}

type Schema = Record<string, unknown>;

/** How deep the learner looks into nested input objects (`{email: {subject, body}}` is depth 2). */
const MAX_FIELD_DEPTH = 4;

/** The input's leaf fields, in schema order: a top-level name, or the path of a field inside nested objects. */
function leafFields(schema: Schema, path: string[]): Array<{ path: string[]; type: unknown }> {
  const props = (schema.properties ?? {}) as Record<string, Schema>;
  if (schema.type !== 'object' || !Object.keys(props).length || path.length >= MAX_FIELD_DEPTH)
    return path.length ? [{ path, type: schema.type ?? 'string' }] : [];
  return Object.keys(props).flatMap((name) => leafFields(props[name], [...path, name]));
}

function featureSpec(inputSchema: Schema): FeatureSpec {
  const leaves = leafFields(inputSchema, []);
  const fields = leaves.length ? leaves.map((l) => (l.path.length === 1 ? l.path[0] : l.path)) : ['value'];
  const textFields = leaves.filter((l) => l.type === 'string');
  return { fields, fieldAware: textFields.length > 1, charMin: 2, charMax: 5 };
}

/** What tuning chooses from: squared hinge (LinearSVC) and logistic (LogisticRegression) losses, each over C. */
const GRIDS: Array<{ loss: 0 | 2; cs: number[] }> = [
  { loss: 2, cs: [0.1, 0.3, 1, 3, 10] },
  { loss: 0, cs: [1, 3, 10, 30, 100] },
];
const LOSS_NAMES = { 0: 'logistic', 1: 'hinge', 2: 'squared hinge' } as const;
/** Tune C by cross-validation up to this many rows (above: C = 1, as LinearSVC, and a tenth held out for T). */
const TUNE_MAX_ROWS = 5000;
const MIN_TUNE_ROWS = 20;

/**
 * Fits a linear text classifier: word 1–2-grams + character 2–5-grams (hashed), TF-IDF, squared-hinge SVM
 * one-vs-rest with softened balanced class costs, C chosen by stratified cross-validation on small sets, the
 * confidence calibrated by a temperature fitted on out-of-fold decision values; keeps the features that carry
 * the weight (within the size budget), refits on those, and emits program.js with model.json and the weights.
 */
export async function learn(
  examples: Array<{ input: unknown; output: unknown }>,
  inputSchema: Schema,
  outputSchema: Schema,
  options: LearnerOptions = {},
): Promise<LearnedProgram> {
  const started = process.hrtime.bigint();
  const { seed = 42, maxFeatures = 200_000, weightMass = 0.98, maxWeightBytes = 2 * 1024 * 1024 } = options;
  const say = options.progress ?? (() => undefined);
  const { labels, field } = learnableTarget(outputSchema);
  if (!examples.length) throw new Error('the learner needs labelled examples');
  const spec = featureSpec(inputSchema);
  const labelIndex = new Map(labels.map((l, i) => [JSON.stringify(l), i]));
  const y = Int32Array.from(examples, (e) => {
    const value = field === null ? e.output : (e.output as Record<string, unknown> | null)?.[field];
    const i = labelIndex.get(JSON.stringify(value));
    if (i === undefined)
      throw new Error(`example label ${JSON.stringify(value)} is not one of ${JSON.stringify(labels)}`);
    return i;
  });
  const classes = labels.length;
  const columns = positives(classes).length;
  const { vocab, matrix } = tfidf(
    examples.map((e) => e.input),
    spec,
  );
  say(`learner: ${examples.length} rows, ${matrix.cols} features, ${columns} columns to fit`);
  const data = solverData(matrix, y, classes);
  const fit: FitSettings = {
    classes,
    loss: 2,
    eps: 0.1,
    maxIter: 1000,
    seed,
    threads: options.threads ?? defaultThreads(),
  };
  const counts = new Int32Array(classes);
  for (const l of y) counts[l]++;
  const smallest = Math.min(...Array.from(counts).filter((k) => k > 0));
  const all = Int32Array.from({ length: y.length }, (_, i) => i);

  let c = options.c ?? 1;
  let temperature = 2;
  let tuning: LearnedProgram['stats']['tuning'];
  if (options.c === undefined && y.length >= MIN_TUNE_ROWS && y.length <= TUNE_MAX_ROWS && smallest >= 2) {
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
    const accuracy = tuning.find((t) => t.loss === LOSS_NAMES[chosen.loss] && t.c === c)!.accuracy;
    say(
      `learner: ${LOSS_NAMES[fit.loss]} loss, C = ${c} (out-of-fold accuracy ${(accuracy * 100).toFixed(1)} %)`,
    );
  }

  const progress = throttled(say, (d, t) => `learner: trained ${d}/${t} columns`);
  let first;
  let firstRows = all;
  if (tuning || y.length < MIN_TUNE_ROWS || smallest < 2) {
    first = await fitColumns(data, all, [c], { ...fit, progress });
  } else {
    // no tuning (C given, or many rows): the first fit leaves a tenth out, whose decision values calibrate T
    const fold = stratifiedRowFolds(y, classes, 10, seed);
    const train = all.filter((i) => fold[i] !== 0);
    const test = all.filter((i) => fold[i] === 0);
    first = await fitColumns(data, train, [c], { ...fit, progress }, test);
    firstRows = train;
    const decisions = new Float64Array(test.length * columns);
    first.forEach((r, col) => r.decisions!.forEach((d, j) => (decisions[j * columns + col] = d)));
    temperature = fitTemperature(
      decisions,
      Int32Array.from(test, (i) => y[i]),
      columns,
    );
  }
  const bits = columns <= 8 ? 16 : 8;
  const budget = Math.floor(((maxWeightBytes * 3) / 4 - 64 - 8 * columns) / (8 + (columns * bits) / 8));
  const kept = selectFeatures(
    first.map((r) => r.w),
    vocab.block,
    Math.min(maxFeatures, budget),
    weightMass,
  );
  const small = keepColumns(matrix, vocab, kept);
  say(`learner: kept ${kept.length} of ${matrix.cols} features; refitting on them`);
  // the refit starts from the first fit's dual variables (rows it left out start at 0)
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

  let wordFeatures = 0;
  while (wordFeatures < kept.length && small.vocab.block[wordFeatures] === 0) wordFeatures++;
  const F = kept.length;
  const block = encodeWeights(
    {
      hashes: small.vocab.hash,
      wordFeatures,
      idf: Float32Array.from(small.vocab.idf),
      columns: final.map((r) => r.w.subarray(0, F)),
      bias: Float64Array.from(final, (r) => r.w[F]),
    },
    bits,
  );
  const info: ModelInfo = {
    format: 'loopai-learner',
    version: 2,
    spec,
    output: { kind: 'label', field, labels },
    temperature: Number(temperature.toPrecision(6)),
    weights: { file: WEIGHTS_FILE, encoding: 'base64', layout: 'LPW1' },
  };
  const modelJson = JSON.stringify(info);
  const weights = Buffer.from(block.buffer, block.byteOffset, block.byteLength).toString('base64');
  const program = PROGRAM;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const kb = (n: number) => Math.round((n / 1024) * 10) / 10;
  return {
    files: { 'program.js': program, 'model.json': modelJson, [WEIGHTS_FILE]: weights },
    stats: {
      features: matrix.cols,
      kept_features: F,
      kept_weights: F * columns,
      program_kb: kb(program.length + modelJson.length + weights.length),
      weights_kb: kb(weights.length),
      train_seconds: Math.round(seconds * 1000) / 1000,
      classes: labels.map((l) => String(l)),
      c,
      loss: LOSS_NAMES[fit.loss],
      tuning,
      temperature: info.temperature,
    },
  };
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

/**
 * program.js, the same text for every model: the feature and scoring code (the very functions training used)
 * and a small `execute`; what is learned is in model.json and the weights file.
 */
const PROGRAM = `// Made by the Loopai offline learner: a linear text classifier. What it learned is in model.json and
// ${WEIGHTS_FILE} (layout in model.json); this file is the same for every model it makes.
${isWordUnit.toString()}

${isSymbolUnit.toString()}

${isSpaceUnit.toString()}

${hashFeatures.toString()}

${decodeBase64.toString()}

${prepareModel.toString()}

${newScratch.toString()}

${scoreHashes.toString()}

var MODEL = (function () {
  var info = JSON.parse(loopai.files['model.json']);
  return prepareModel(info, decodeBase64(loopai.files[info.weights.file]));
})();
var SCRATCH = newScratch();

function execute(input) {
  hashFeatures(input, MODEL.info.spec, SCRATCH.hashes);
  var s = scoreHashes(MODEL, SCRATCH);
  var out = MODEL.info.output;
  var label = out.labels[s.label];
  return { result: out.field === null ? label : { [out.field]: label }, confidence: Math.round(s.confidence * 10000) / 10000 };
}
`;

/** The one program.js the learner writes, named and hashed: a version whose program.js has this hash is it. */
export const LEARNER_TEMPLATE = { name: 'loopai-learner/3', sha256: sha256(PROGRAM) } as const;

/** This process's scratch space, shared by every model scored here (scoring is synchronous). */
const SCRATCH = newScratch();
/** The feature buffer is trimmed back after an input that grew it past this many hashes. */
const KEEP_HASHES = 16_384;

/** A label and its confidence for `input`, exactly as the template's `execute` computes them. */
export function scoreInput(model: PreparedModel, input: unknown): { result: unknown; confidence: number } {
  hashFeatures(input, model.info.spec, SCRATCH.hashes);
  const s = scoreHashes(model, SCRATCH);
  if (SCRATCH.hashes.h.length > KEEP_HASHES) SCRATCH.hashes.h = new Uint32Array(1024);
  const out = model.info.output;
  const label = out.labels[s.label];
  return {
    result: out.field === null ? label : { [out.field]: label },
    confidence: Math.round(s.confidence * 10000) / 10000,
  };
}

/** A scorer for a learned program's files in this process (computes what the program computes). */
export function loadModel(
  files: Record<string, string>,
): (input: unknown) => { result: unknown; confidence: number } {
  const info = JSON.parse(files['model.json']) as ModelInfo;
  const model = prepareModel(info, decodeBase64(files[info.weights.file]));
  return (input) => scoreInput(model, input);
}
