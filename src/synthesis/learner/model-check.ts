/**
 * model.json and the weights read back from disk, where anyone may have edited them: checked against the shape
 * the learner writes (types, sizes, label count) before this process builds anything from them. Data only: what
 * passes is numbers, strings and typed arrays, never code.
 */
import Ajv from 'ajv';
import { jsonTextDepth } from '../../domain/json-limits';
import {
  prepareModel,
  WEIGHTS_FILE,
  WEIGHTS_FILE_NAME,
  type ModelInfo,
  type PartInfo,
  type PreparedModel,
  type WeightsRef,
} from './model';

const name = { type: 'string', minLength: 1, maxLength: 256 } as const;
const weights = {
  type: 'object',
  additionalProperties: false,
  required: ['file', 'encoding', 'layout'],
  properties: {
    file: { type: 'string', pattern: WEIGHTS_FILE_NAME.source },
    encoding: { const: 'base64' },
    layout: { const: 'LPW1' },
  },
} as const;
const temperature = { type: 'number', exclusiveMinimum: 0, maximum: 1e6 } as const;
const labels = { type: 'array', minItems: 2, maxItems: 1000 } as const;
const finite = { type: 'number', minimum: -1e15, maximum: 1e15 } as const;
const count = { type: 'integer', minimum: 0, maximum: 1000 } as const;

const spec = {
  type: 'object',
  additionalProperties: false,
  required: ['fields', 'fieldAware', 'charMin', 'charMax'],
  properties: {
    fields: {
      type: 'array',
      minItems: 1,
      maxItems: 256,
      items: { anyOf: [name, { type: 'array', minItems: 1, maxItems: 4, items: name }] },
    },
    fieldAware: { type: 'boolean' },
    charMin: { type: 'integer', minimum: 1, maximum: 8 },
    charMax: { type: 'integer', minimum: 1, maximum: 8 },
  },
} as const;

const part = {
  type: 'object',
  // errors of the branch its kind names, not of the first
  discriminator: { propertyName: 'kind' },
  required: ['kind'],
  properties: { kind: { enum: ['label', 'number', 'tags'] } },
  oneOf: [
    {
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'labels', 'temperature', 'weights'],
      properties: { kind: { const: 'label' }, labels, temperature, weights },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'step', 'min', 'max', 'sigma', 'weights'],
      properties: {
        kind: { const: 'number' },
        step: { type: 'number', minimum: 1e-12, maximum: 1e15 },
        min: finite,
        max: finite,
        sigma: { type: 'number', exclusiveMinimum: 0, maximum: 1e15 },
        weights,
      },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'labels', 'always', 'min_items', 'max_items', 'tags'],
      properties: {
        kind: { const: 'tags' },
        labels: { type: 'array', minItems: 1, maxItems: 1000 },
        always: { type: 'array', maxItems: 1000, uniqueItems: true, items: { type: 'integer', minimum: 0 } },
        min_items: count,
        max_items: count,
        tags: {
          type: 'array',
          maxItems: 1000,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['label', 'temperature', 'threshold', 'weights'],
            properties: {
              label: { type: 'integer', minimum: 0 },
              temperature,
              threshold: { type: 'number', minimum: 0, maximum: 1 },
              weights,
            },
          },
        },
      },
    },
  ],
} as const;

/** What the learner writes; tight bounds, so that nothing crafted costs more than a model the learner could make. */
const MODEL_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['format', 'version', 'spec', 'output'],
  properties: {
    format: { const: 'loopai-learner' },
    version: { const: 3 },
    spec,
    output: {
      type: 'object',
      additionalProperties: false,
      required: ['fields', 'parts'],
      properties: {
        fields: { anyOf: [{ type: 'null' }, { type: 'array', minItems: 1, maxItems: 32, items: name }] },
        parts: { type: 'array', minItems: 1, maxItems: 32, items: part },
      },
    },
  },
} as const;

/** What learner template 3 wrote (one label): read as the one-part model it is. */
const MODEL_V2_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['format', 'version', 'spec', 'output', 'temperature', 'weights'],
  properties: {
    format: { const: 'loopai-learner' },
    version: { const: 2 },
    spec,
    output: {
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'field', 'labels'],
      properties: { kind: { const: 'label' }, field: { anyOf: [name, { type: 'null' }] }, labels },
    },
    temperature,
    weights: { ...weights, properties: { ...weights.properties, file: { const: WEIGHTS_FILE } } },
  },
} as const;

interface ModelV2 {
  version: 2;
  spec: ModelInfo['spec'];
  output: { kind: 'label'; field: string | null; labels: unknown[] };
  temperature: number;
  weights: WeightsRef;
}

const ajv = new Ajv({ allErrors: false, strict: true, discriminator: true });
const validate = ajv.compile<ModelInfo>(MODEL_SCHEMA);
const validateV2 = ajv.compile<ModelV2>(MODEL_V2_SCHEMA);

/** A model.json of `version`, checked; a version 2 one as the version 3 model that scores alike. */
function checkedInfo(info: unknown, version: 2 | 3): ModelInfo {
  const v2 = version === 2;
  const check = v2 ? validateV2 : validate;
  if (!check(info)) {
    const e = check.errors![0];
    throw new Error(`model.json: ${e.instancePath || '/'} ${e.message}`);
  }
  if (!v2) return info as ModelInfo;
  const old = info as ModelV2;
  const part = {
    kind: 'label',
    labels: old.output.labels,
    temperature: old.temperature,
    weights: old.weights,
  };
  const fields = old.output.field === null ? null : [old.output.field];
  return {
    format: 'loopai-learner',
    version: 3,
    spec: old.spec,
    output: { fields, parts: [part as PartInfo] },
  };
}

/** What the schema cannot say: field and part counts agree, labels and numbers are in range, files are distinct. */
function checkConsistent(info: ModelInfo): void {
  const { fields, parts } = info.output;
  if (info.spec.charMax < info.spec.charMin) throw new Error('model.json: /spec charMax is below charMin');
  if (fields ? fields.length !== parts.length || new Set(fields).size !== fields.length : parts.length !== 1)
    throw new Error('model.json: /output fields and parts do not match');
  const files = new Set<string>();
  const use = (file: string) => {
    if (files.has(file)) throw new Error(`model.json: ${file} is named twice`);
    files.add(file);
  };
  for (const p of parts) {
    if (p.kind === 'label') use(p.weights.file);
    else if (p.kind === 'number') {
      use(p.weights.file);
      if (p.min > p.max) throw new Error('model.json: a number part has min above max');
    } else {
      const n = p.labels.length;
      if (p.always.some((i) => i >= n) || p.tags.some((t) => t.label >= n))
        throw new Error('model.json: a tag names a label the part does not have');
      if (new Set(p.tags.map((t) => t.label)).size !== p.tags.length)
        throw new Error('model.json: a tag is named twice');
      p.tags.forEach((t) => use(t.weights.file));
    }
  }
}

/**
 * The model of a learned version's files, ready to score; throws saying what is wrong with them. `version` is
 * the model.json version its program.js reads.
 */
export function checkedModel(files: Record<string, string>, version: 2 | 3 = 3): PreparedModel {
  const text = files['model.json'];
  if (text === undefined) throw new Error('model.json is missing');
  if (jsonTextDepth(text) > 16) throw new Error('model.json is nested deeper than 16 levels');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`model.json is not JSON: ${(err as Error).message}`);
  }
  const info = checkedInfo(parsed, version);
  checkConsistent(info);
  return prepareModel(info, (file) => {
    const weights = Object.prototype.hasOwnProperty.call(files, file) ? files[file] : undefined;
    if (weights === undefined) throw new Error(`${file} is missing`);
    return base64Bytes(weights);
  });
}

/**
 * The bytes decodeBase64 gives, decoded natively (a cold call's largest cost otherwise), in a block of their own
 * aligned for the typed arrays over it. Only the canonical encoding, as the learner writes it, is taken: Buffer
 * skips what is not base64, so the bytes must encode back to the very text.
 */
function base64Bytes(text: string): Uint8Array {
  const decoded = Buffer.from(text, 'base64');
  if (decoded.toString('base64') !== text) throw new Error('weights: not base64 as the learner writes it');
  const bytes = new Uint8Array(new ArrayBuffer(Math.ceil(decoded.length / 4) * 4), 0, decoded.length);
  bytes.set(decoded);
  return bytes;
}
