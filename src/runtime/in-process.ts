/**
 * The in-process path: a version the offline learner made is its fixed program.js (the learner's template) plus
 * data (model.json and the weights). When program.js is byte for byte that template, this process scores the
 * model itself with the very functions the template embeds, and no call crosses to the sandbox. The data is
 * checked before use (learner/model-check.ts); anything else, or anything that fails the check, runs in the
 * sandbox as every other program does.
 */
import { sha256 } from '../domain/hash';
import { EARLIER_TEMPLATES, LEARNER_TEMPLATE, scoreInput } from '../synthesis/learner';
import { checkedModel } from '../synthesis/learner/model-check';
import type { PreparedModel } from '../synthesis/learner/model';
import type { CallOutcome, ProgramSource } from './sandbox/protocol';

export type ExecutionPath = 'in-process' | 'sandbox';

/**
 * Most characters of text an input may have to be scored here (about 5 ms of scoring on one core): a larger one
 * is scored in the sandbox, under its deadline, so that no input holds this process's event loop for long.
 */
export const MAX_IN_PROCESS_CHARS = 32_768;

export const IN_PROCESS_OFF = 'execution.in_process is off for this app';

export interface InProcessModel {
  /** Whether `input` is small enough to be scored here. */
  fits(input: unknown): boolean;
  run(input: unknown): CallOutcome;
}

/** The model of `source` when it may be scored in this process, else null; `why` says which and why. */
export function inProcessModel(source: ProgramSource): { model: InProcessModel | null; why: string } {
  const code = sha256(source.code);
  const template = [LEARNER_TEMPLATE, ...EARLIER_TEMPLATES].find((t) => t.sha256 === code);
  if (!template)
    return { model: null, why: `program.js is not the learner's template (${LEARNER_TEMPLATE.name})` };
  let prepared: PreparedModel;
  try {
    prepared = checkedModel(source.files, template.model);
  } catch (err) {
    return {
      model: null,
      why: `the learner's template, but its data was refused: ${(err as Error).message}`,
    };
  }
  return { model: modelOf(prepared), why: `the learner's template (${template.name}), data checked` };
}

function modelOf(prepared: PreparedModel): InProcessModel {
  const fields = prepared.info.spec.fields;
  return {
    fits: (input) => textLength(input, fields) <= MAX_IN_PROCESS_CHARS,
    run(input) {
      try {
        return { ok: true, answer: scoreInput(prepared, input) };
      } catch (err) {
        return { ok: false, error: { code: 'program_error', message: (err as Error).message } };
      }
    },
  };
}

/** The characters the model would read from `input`; Infinity for a field holding an object or array. */
function textLength(input: unknown, fields: Array<string | string[]>): number {
  if (input === null || typeof input !== 'object') return typeof input === 'string' ? input.length : 0;
  let total = 0;
  for (const field of fields) {
    const value = typeof field === 'string' ? own(input, field) : field.reduce(own, input);
    if (typeof value === 'string') total += value.length;
    else if (value !== null && typeof value === 'object') return Infinity;
  }
  return total;
}

const own = (value: unknown, key: string): unknown =>
  value !== null && typeof value === 'object' && Object.prototype.hasOwnProperty.call(value, key)
    ? (value as Record<string, unknown>)[key]
    : undefined;
