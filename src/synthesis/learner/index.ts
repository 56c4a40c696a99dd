import { canonical } from '../evaluate';
import { sha256 } from '../../domain/hash';
import { chooseThreshold, learnLabel, type LearnedLabel } from './classifier';
import { hashFeatures, isSpaceUnit, isSymbolUnit, isWordUnit, type FeatureSpec } from './features';
import type { HeadSettings } from './head';
import { tfidf } from './matrix';
import {
  answer,
  decodeBase64,
  newScratch,
  normalCdf,
  prepareBlock,
  prepareModel,
  scoreHashes,
  weightsFile,
  type ModelInfo,
  type PartInfo,
  type PreparedModel,
  type WeightsRef,
} from './model';
import { defaultThreads } from './pool';
import { learnNumber } from './regression';
import { learnableTarget, type PartTarget } from './target';

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
  /** program.js, model.json and one weights file a block (weights.bin.b64, weights-2.bin.b64, …). */
  files: Record<string, string>;
  stats: {
    features: number;
    /** Features kept, over every block. */
    kept_features: number;
    kept_weights: number;
    /** program.js and its files, in KB. */
    program_kb: number;
    /** The weights files, in KB. */
    weights_kb: number;
    train_seconds: number;
    /** The labels of the first part that has labels. */
    classes: string[];
    /** Blocks of weights: one per label or number, one per tag that varies. */
    blocks: number;
    /** Of the first label fit (regularisation, loss, tuning, calibration); null without one. */
    c: number | null;
    loss: string | null;
    /** Out-of-fold accuracy per loss and C of the grid, when they were tuned. */
    tuning?: Array<{ loss: string; c: number; accuracy: number }>;
    temperature: number | null;
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

/** The values of one part in every example (`field` null: the output itself). */
function partValues(examples: Array<{ output: unknown }>, field: string | null): unknown[] {
  return examples.map((e) =>
    field === null
      ? e.output
      : e.output !== null &&
          typeof e.output === 'object' &&
          Object.prototype.hasOwnProperty.call(e.output, field)
        ? (e.output as Record<string, unknown>)[field]
        : undefined,
  );
}

/** Index of each value in `labels` (by canonical JSON); an Error naming the first that is not one. */
function labelIndices(values: unknown[], labels: unknown[], where: string): Int32Array {
  const index = new Map(labels.map((l, i) => [canonical(l), i]));
  return Int32Array.from(values, (value) => {
    const i = index.get(canonical(value ?? null));
    if (i === undefined)
      throw new Error(
        `example label ${JSON.stringify(value)}${where} is not one of ${JSON.stringify(labels)}`,
      );
    return i;
  });
}

/** Blocks the part needs (for the share of the weights budget): one, or one per tag that varies. */
function blocksOf(part: PartTarget, values: unknown[]): number {
  if (part.kind !== 'tags') return 1;
  return part.labels.filter((label) => {
    const has = values.filter(
      (v) => Array.isArray(v) && v.some((x) => canonical(x) === canonical(label)),
    ).length;
    return has > 0 && has < values.length;
  }).length;
}

/**
 * Fits a linear model over word 1–2-grams and character 2–5-grams (hashed, TF-IDF) for each part of the output:
 * a classifier per label (classifier.ts), a ridge regression per number (regression.ts), a binary classifier per
 * tag with its threshold chosen on held-out rows. Emits program.js (one text for every model) with model.json
 * and the weights beside it.
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
  const target = learnableTarget(outputSchema);
  if (!examples.length) throw new Error('the learner needs labelled examples');
  const values = target.parts.map((_, i) => partValues(examples, target.fields?.[i] ?? null));
  const blocks = target.parts.reduce((n, part, i) => n + blocksOf(part, values[i]), 0);
  const spec = featureSpec(inputSchema);
  const { vocab, matrix } = tfidf(
    examples.map((e) => e.input),
    spec,
  );
  say(`learner: ${examples.length} rows, ${matrix.cols} features, ${target.parts.length} part(s) to fit`);
  const settings: HeadSettings = {
    seed,
    c: options.c,
    maxFeatures,
    weightMass,
    maxWeightBytes: Math.floor(maxWeightBytes / Math.max(1, blocks)),
    threads: options.threads ?? defaultThreads(),
    say,
  };
  const files: Record<string, string> = Object.create(null);
  const save = (block: Uint8Array): WeightsRef => {
    const file = weightsFile(Object.keys(files).length);
    files[file] = Buffer.from(block.buffer, block.byteOffset, block.byteLength).toString('base64');
    return { file, encoding: 'base64', layout: 'LPW1' };
  };
  let kept = 0;
  let keptWeights = 0;
  let first: LearnedLabel | null = null;
  const parts: PartInfo[] = [];
  for (const [i, part] of target.parts.entries()) {
    const where = target.fields ? ` (field ${target.fields[i]})` : '';
    if (part.kind === 'label') {
      const classes = part.labels.length;
      const learned = await learnLabel(
        matrix,
        vocab,
        labelIndices(values[i], part.labels, where),
        classes,
        settings,
      );
      first ??= learned;
      kept += learned.kept;
      keptWeights += learned.kept * (classes === 2 ? 1 : classes);
      const temperature = Number(learned.temperature.toPrecision(6));
      parts.push({ kind: 'label', labels: part.labels, temperature, weights: save(learned.block) });
    } else if (part.kind === 'number') {
      const y = Float64Array.from(values[i], (v) => {
        if (typeof v !== 'number' || !Number.isFinite(v))
          throw new Error(`example value ${JSON.stringify(v)}${where} is not a number`);
        return v;
      });
      const learned = learnNumber(matrix, vocab, y, part, settings);
      kept += learned.kept;
      keptWeights += learned.kept;
      const { step, min, max, sigma } = learned;
      parts.push({ kind: 'number', step, min, max, sigma, weights: save(learned.block) });
    } else {
      const sets = values[i].map((v) => {
        if (!Array.isArray(v))
          throw new Error(`example value ${JSON.stringify(v)}${where} is not an array of labels`);
        return new Set(labelIndices(v, part.labels, where));
      });
      const always: number[] = [];
      const tags: Extract<PartInfo, { kind: 'tags' }>['tags'] = [];
      for (const [label, name] of part.labels.entries()) {
        const y = Int32Array.from(sets, (set) => (set.has(label) ? 1 : 0));
        const count = y.reduce((a, b) => a + b, 0);
        if (count === y.length) always.push(label);
        if (count === 0 || count === y.length) continue;
        say(`learner: tag ${JSON.stringify(name)}${where}`);
        const learned = await learnLabel(matrix, vocab, y, 2, settings);
        kept += learned.kept;
        keptWeights += learned.kept;
        const temperature = Number(learned.temperature.toPrecision(6));
        tags.push({
          label,
          temperature,
          threshold: chooseThreshold(learned, y),
          weights: save(learned.block),
        });
      }
      const { minItems: min_items, maxItems: max_items } = part;
      parts.push({ kind: 'tags', labels: part.labels, always, min_items, max_items, tags });
    }
  }
  const info: ModelInfo = {
    format: 'loopai-learner',
    version: 3,
    spec,
    output: { fields: target.fields, parts },
  };
  const modelJson = JSON.stringify(info);
  const weightsBytes = Object.values(files).reduce((n, text) => n + text.length, 0);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const kb = (n: number) => Math.round((n / 1024) * 10) / 10;
  const labelled = target.parts.find((p) => p.kind !== 'number') as { labels: unknown[] } | undefined;
  return {
    files: { 'program.js': PROGRAM, 'model.json': modelJson, ...files },
    stats: {
      features: matrix.cols,
      kept_features: kept,
      kept_weights: keptWeights,
      program_kb: kb(PROGRAM.length + modelJson.length + weightsBytes),
      weights_kb: kb(weightsBytes),
      train_seconds: Math.round(seconds * 1000) / 1000,
      classes: (labelled?.labels ?? []).map((l) => String(l)),
      blocks: Object.keys(files).length,
      c: first?.c ?? null,
      loss: first?.loss ?? null,
      tuning: first?.tuning,
      temperature: first ? Number(first.temperature.toPrecision(6)) : null,
    },
  };
}

/**
 * program.js, the same text for every model: the feature and scoring code (the very functions training and the
 * in-process path use) and a small `execute`; what is learned is in model.json and the weights files.
 */
const PROGRAM = `// Made by the Loopai offline learner: linear models over text features. What it learned is in model.json
// and the weights files it names (layout in model.json); this file is the same for every model it makes.
${[
  isWordUnit,
  isSymbolUnit,
  isSpaceUnit,
  hashFeatures,
  decodeBase64,
  prepareBlock,
  prepareModel,
  newScratch,
  scoreHashes,
  normalCdf,
  answer,
]
  .map(String)
  .join('\n\n')}

var MODEL = prepareModel(JSON.parse(loopai.files['model.json']), function (file) {
  return decodeBase64(loopai.files[file]);
});
var SCRATCH = newScratch();

function execute(input) {
  hashFeatures(input, MODEL.info.spec, SCRATCH.hashes);
  return answer(MODEL, SCRATCH);
}
`;

/** The one program.js the learner writes, named and hashed: a version whose program.js has this hash is it. */
export const LEARNER_TEMPLATE = { name: 'loopai-learner/4', sha256: sha256(PROGRAM), model: 3 } as const;

/**
 * Templates earlier learners wrote, with the model.json version each reads: their versions score alike here
 * (this code reads that model as the one-part model it is), so they keep the in-process path.
 */
export const EARLIER_TEMPLATES = [
  {
    name: 'loopai-learner/3',
    sha256: '8ef4aaff3562a20a2db3cac964819f6fd977e0d60d80e2d71314ce64823215c5',
    model: 2,
  },
] as const;

/** This process's scratch space, shared by every model scored here (scoring is synchronous). */
const SCRATCH = newScratch();
/** The feature buffer is trimmed back after an input that grew it past this many hashes. */
const KEEP_HASHES = 16_384;

/** The output and its confidence for `input`, exactly as the template's `execute` computes them. */
export function scoreInput(model: PreparedModel, input: unknown): { result: unknown; confidence: number } {
  hashFeatures(input, model.info.spec, SCRATCH.hashes);
  const scored = answer(model, SCRATCH);
  if (SCRATCH.hashes.h.length > KEEP_HASHES) SCRATCH.hashes.h = new Uint32Array(1024);
  return scored;
}

/** A scorer for a learned program's files in this process (computes what the program computes). */
export function loadModel(
  files: Record<string, string>,
): (input: unknown) => { result: unknown; confidence: number } {
  const info = JSON.parse(files['model.json']) as ModelInfo;
  const model = prepareModel(info, (file) => decodeBase64(files[file]));
  return (input) => scoreInput(model, input);
}
