/** Which outputs the offline learner can learn, and where the label goes in the output. */

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
