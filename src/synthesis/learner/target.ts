/** Which outputs the offline learner can learn, and how its predictions make the output. */

const LLM_HINT =
  'This output needs an LLM to write the program: set OPENAI_API_KEY (and OPENAI_BASE_URL for Ollama, vLLM or any ' +
  'OpenAI-compatible server, LOOPAI_LLM_MODEL for the model).';

/** The output schema is not one the offline learner can learn. */
export class LearnerUnsupported extends Error {
  constructor(why: string) {
    super(
      'the offline learner learns labels (an enum or a boolean), integers and numbers, arrays of enum labels, and ' +
        `objects whose fields are those: ${why}. ${LLM_HINT}`,
    );
  }
}

type Schema = Record<string, unknown>;

/** One thing the learner predicts: a label, a number, or a set of labels (multi-label tagging). */
export type PartTarget =
  | { kind: 'label'; labels: unknown[] }
  | {
      kind: 'number';
      integer: boolean;
      /** The grid answers are rounded to (multipleOf; 1 for integers; null: the labels' own precision). */
      step: number | null;
      /** Bounds of the schema (null: the labels' range). */
      min: number | null;
      max: number | null;
    }
  | { kind: 'tags'; labels: unknown[]; minItems: number; maxItems: number };

/** What the learner predicts: one part (`fields` null: the output is its value) or an object of parts. */
export interface Target {
  fields: string[] | null;
  parts: PartTarget[];
}

const MAX_FIELDS = 32;

const finite = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function partOf(schema: Schema | undefined): PartTarget | null {
  if (!schema || typeof schema !== 'object') return null;
  if (Array.isArray(schema.enum))
    return schema.enum.length >= 2 ? { kind: 'label', labels: schema.enum } : null;
  if (schema.type === 'boolean') return { kind: 'label', labels: [false, true] };
  if (schema.type === 'integer' || schema.type === 'number') {
    const integer = schema.type === 'integer';
    const step = finite(schema.multipleOf) ?? (integer ? 1 : null);
    const low = finite(schema.minimum) ?? finite(schema.exclusiveMinimum);
    const high = finite(schema.maximum) ?? finite(schema.exclusiveMaximum);
    // an exclusive bound is one step inside (or a hair inside, off a grid)
    const inside = step ?? 1e-9;
    return {
      kind: 'number',
      integer,
      step,
      min: finite(schema.minimum) ?? (low === null ? null : low + inside),
      max: finite(schema.maximum) ?? (high === null ? null : high - inside),
    };
  }
  const items = schema.items as Schema | undefined;
  if (schema.type === 'array' && items && Array.isArray(items.enum) && items.enum.length >= 1) {
    return {
      kind: 'tags',
      labels: items.enum,
      minItems: finite(schema.minItems) ?? 0,
      maxItems: finite(schema.maxItems) ?? items.enum.length,
    };
  }
  return null;
}

/** What the learner predicts for this output schema; LearnerUnsupported saying why when it cannot. */
export function learnableTarget(outputSchema: Schema): Target {
  const direct = partOf(outputSchema);
  if (direct) return { fields: null, parts: [direct] };
  if (outputSchema.type !== 'object')
    throw new LearnerUnsupported(
      outputSchema.type === 'string'
        ? 'the output is free text'
        : `the output is ${JSON.stringify(outputSchema.type ?? 'untyped')}`,
    );
  const props = (outputSchema.properties ?? {}) as Record<string, Schema>;
  const fields = Object.keys(props).filter((k) => partOf(props[k]));
  if (!fields.length) throw new LearnerUnsupported('the output object has no field of those kinds');
  if (fields.length > MAX_FIELDS)
    throw new LearnerUnsupported(
      `the output object has ${fields.length} such fields (at most ${MAX_FIELDS})`,
    );
  const others = ((outputSchema.required ?? []) as string[]).filter((k) => !fields.includes(k));
  if (others.length)
    throw new LearnerUnsupported(
      `the output also requires ${others.join(', ')} (free text or a nested object)`,
    );
  return { fields, parts: fields.map((k) => partOf(props[k])!) };
}
