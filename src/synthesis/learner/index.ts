import { featurize, prepare, scoreModel, type FeatureSpec, type LinearModel } from './model';
import { dict } from '../../domain/dict';
import { keepColumns, restrict, tfidf, trainLinear } from './train';

export interface LearnerOptions {
  /** Seed of the coordinate order (default 42): the same data and seed give byte-identical files. */
  seed?: number;
  /** Regularisation: larger fits the training data more closely (default 1, as LinearSVC). */
  c?: number;
  /** Most features a program keeps (after selection by weight). */
  maxFeatures?: number;
  /** Share of the total weight mass the kept features must carry. */
  weightMass?: number;
}

export interface LearnedProgram {
  files: { 'program.js': string; 'model.json': string };
  stats: {
    features: number;
    kept_weights: number;
    program_kb: number;
    train_seconds: number;
    classes: string[];
  };
}

const LLM_HINT =
  'This output needs an LLM to write the program: set OPENAI_API_KEY (and OPENAI_BASE_URL for Ollama, vLLM or any ' +
  'OpenAI-compatible server, LOOPAI_LLM_MODEL for the model).';

/** The output schema is not one the offline learner can learn. */
export class LearnerUnsupported extends Error {
  constructor(why: string) {
    super(
      `the offline learner learns only labels (an enum, a boolean, or an object with one enum field): ${why}. ${LLM_HINT}`,
    );
  }
}

type Schema = Record<string, unknown>;

function labelsOf(schema: Schema | undefined): unknown[] | null {
  if (!schema) return null;
  if (Array.isArray(schema.enum) && schema.enum.length >= 2) return schema.enum;
  if (schema.type === 'boolean') return [false, true];
  return null;
}

/** What the learner predicts: the labels, and where they go in the output (null: the output is the label). */
export function learnableTarget(outputSchema: Schema): { labels: unknown[]; field: string | null } {
  const direct = labelsOf(outputSchema);
  if (direct) return { labels: direct, field: null };
  if (outputSchema.type !== 'object')
    throw new LearnerUnsupported(`the output is ${JSON.stringify(outputSchema.type ?? 'untyped')}`);
  const props = (outputSchema.properties ?? {}) as Record<string, Schema>;
  const candidates = Object.keys(props).filter((k) => labelsOf(props[k]));
  if (candidates.length !== 1)
    throw new LearnerUnsupported(`the output object has ${candidates.length} enum fields`);
  const others = ((outputSchema.required ?? []) as string[]).filter((k) => k !== candidates[0]);
  if (others.length) throw new LearnerUnsupported(`the output also requires ${others.join(', ')}`);
  return { labels: labelsOf(props[candidates[0]])!, field: candidates[0] };
}

function featureSpec(inputSchema: Schema): FeatureSpec {
  const props = inputSchema.type === 'object' ? Object.keys((inputSchema.properties ?? {}) as Schema) : [];
  const fields = props.length ? props : ['value'];
  const textFields = fields.filter(
    (f) => ((inputSchema.properties as Record<string, Schema>)?.[f]?.type ?? 'string') === 'string',
  );
  return { fields, fieldAware: textFields.length > 1, charMin: 2, charMax: 5 };
}

const round = (x: number, digits: number) => (x === 0 ? 0 : Number(x.toPrecision(digits)));

/**
 * Fits a linear text classifier (word 1–2-grams + character 2–5-grams, TF-IDF, squared-hinge SVM one-vs-rest
 * with balanced class costs), keeps the features that carry the weight, refits on those, and emits program.js
 * with model.json beside it.
 */
export function learn(
  examples: Array<{ input: unknown; output: unknown }>,
  inputSchema: Schema,
  outputSchema: Schema,
  options: LearnerOptions = {},
): LearnedProgram {
  const started = process.hrtime.bigint();
  const { seed = 42, c = 1, maxFeatures = 20_000, weightMass = 0.95 } = options;
  const { labels, field } = learnableTarget(outputSchema);
  const spec = featureSpec(inputSchema);
  const labelIndex = new Map(labels.map((l, i) => [JSON.stringify(l), i]));
  const y = Int32Array.from(examples, (e) => {
    const value = field === null ? e.output : (e.output as Record<string, unknown> | null)?.[field];
    const i = labelIndex.get(JSON.stringify(value));
    if (i === undefined)
      throw new Error(`example label ${JSON.stringify(value)} is not one of ${JSON.stringify(labels)}`);
    return i;
  });
  if (!examples.length) throw new Error('the learner needs labelled examples');
  const docs = examples.map((e) => featurize(e.input, spec));

  // first fit on every feature, then keep those that carry most of the weight and fit again on them
  const { vocab: full, matrix } = tfidf(docs);
  const first = trainLinear(matrix, y, labels.length, c, seed);
  const kept = selectFeatures(matrix.columns, first, maxFeatures, weightMass);
  const final = restrict(full, (column) => kept.has(column));
  const weights = trainLinear(keepColumns(matrix, full, kept), y, labels.length, c, seed);

  let column = 0;
  const blocks = final.terms.map((terms, b) => {
    const block = dict<number[]>();
    terms.forEach((term, i) => {
      block[term] = [round(final.idf[b][i], 5), ...weights.map((w) => round(w[column], 4))];
      column += 1;
    });
    return block;
  });
  const model: LinearModel = {
    spec,
    labels,
    field,
    blocks,
    bias: weights.map((w) => round(w[column], 5)),
    temperature: 2,
  };
  const modelJson = JSON.stringify(model);
  const program = emitProgram();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return {
    files: { 'program.js': program, 'model.json': modelJson },
    stats: {
      features: matrix.columns,
      kept_weights: column * weights.length,
      program_kb: Math.round(((program.length + modelJson.length) / 1024) * 10) / 10,
      train_seconds: Math.round(seconds * 1000) / 1000,
      classes: labels.map((l) => String(l)),
    },
  };
}

/** Columns by their largest |weight| over classes, until `mass` of the total is covered (at most `max`). */
function selectFeatures(columns: number, weights: Float64Array[], max: number, mass: number): Set<number> {
  const importance = Float64Array.from({ length: columns }, (_, i) =>
    Math.max(...weights.map((w) => Math.abs(w[i]))),
  );
  const order = Array.from({ length: columns }, (_, i) => i).sort(
    (a, b) => importance[b] - importance[a] || a - b,
  );
  const total = importance.reduce((a, b) => a + b, 0);
  const kept = new Set<number>();
  let covered = 0;
  for (const i of order) {
    if (kept.size >= max || covered >= mass * total || importance[i] === 0) break;
    kept.add(i);
    covered += importance[i];
  }
  return kept;
}

/** program.js: the scoring code (the same functions training used) and a small `execute`. */
function emitProgram(): string {
  return `// Made by the Loopai offline learner: a linear text classifier. Its weights are in model.json.
${prepare.toString()}

var MODEL = prepare(JSON.parse(loopai.files['model.json']));

${featurize.toString()}

${scoreModel.toString()}

function execute(input) {
  var s = scoreModel(MODEL, input);
  var label = MODEL.model.labels[s.label];
  var result = MODEL.model.field === null ? label : { [MODEL.model.field]: label };
  return { result: result, confidence: Math.round(s.confidence * 10000) / 10000 };
}
`;
}

/** Scores an input with an emitted model in this process (the program computes the same). */
export function predict(modelJson: string, input: unknown): { result: unknown; confidence: number } {
  const model = JSON.parse(modelJson) as LinearModel;
  const s = scoreModel(prepare(model), input);
  const label = model.labels[s.label];
  return {
    result: model.field === null ? label : { [model.field]: label },
    confidence: Math.round(s.confidence * 10000) / 10000,
  };
}
