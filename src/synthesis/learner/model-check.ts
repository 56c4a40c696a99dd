/**
 * model.json and the weights read back from disk, where anyone may have edited them: checked against the shape
 * the learner writes (types, sizes, label count) before this process builds anything from them. Data only: what
 * passes is numbers, strings and typed arrays, never code.
 */
import Ajv from 'ajv';
import { jsonTextDepth } from '../../domain/json-limits';
import { prepareModel, WEIGHTS_FILE, type ModelInfo, type PreparedModel } from './model';

const name = { type: 'string', minLength: 1, maxLength: 256 } as const;

/** What the learner writes; tight bounds, so that nothing crafted costs more than a model the learner could make. */
const MODEL_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['format', 'version', 'spec', 'output', 'temperature', 'weights'],
  properties: {
    format: { const: 'loopai-learner' },
    version: { const: 2 },
    spec: {
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
    },
    output: {
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'field', 'labels'],
      properties: {
        kind: { const: 'label' },
        field: { anyOf: [name, { type: 'null' }] },
        labels: { type: 'array', minItems: 2, maxItems: 1000 },
      },
    },
    temperature: { type: 'number', exclusiveMinimum: 0, maximum: 1e6 },
    weights: {
      type: 'object',
      additionalProperties: false,
      required: ['file', 'encoding', 'layout'],
      properties: {
        file: { const: WEIGHTS_FILE },
        encoding: { const: 'base64' },
        layout: { const: 'LPW1' },
      },
    },
  },
} as const;

const validate = new Ajv({ allErrors: false, strict: true }).compile<ModelInfo>(MODEL_SCHEMA);

/** The model of a learned version's files, ready to score; throws saying what is wrong with them. */
export function checkedModel(files: Record<string, string>): PreparedModel {
  const text = files['model.json'];
  if (text === undefined) throw new Error('model.json is missing');
  if (jsonTextDepth(text) > 16) throw new Error('model.json is nested deeper than 16 levels');
  let info: unknown;
  try {
    info = JSON.parse(text);
  } catch (err) {
    throw new Error(`model.json is not JSON: ${(err as Error).message}`);
  }
  if (!validate(info)) {
    const e = validate.errors![0];
    throw new Error(`model.json: ${e.instancePath || '/'} ${e.message}`);
  }
  if (info.spec.charMax < info.spec.charMin) throw new Error('model.json: /spec charMax is below charMin');
  const weights = files[WEIGHTS_FILE];
  if (weights === undefined) throw new Error(`${WEIGHTS_FILE} is missing`);
  return prepareModel(info, base64Bytes(weights));
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
