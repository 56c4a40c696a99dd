import type { PendingSample, ValidationState } from './state';

/** `GET /loop-apps/{id}/review-queue`: the first `limit` waiting samples, and how many wait. */
export interface ReviewQueue {
  pending: PendingSample[];
  total: number;
}

/**
 * Samples waiting for a verdict, oldest first, with the input from memory where privacy kept it off disk
 * (`inputOf` answers undefined when memory has none).
 */
export function reviewQueue(
  state: ValidationState,
  limit: number,
  inputOf: (executionId: string) => unknown,
): ReviewQueue {
  return {
    pending: state.pending.slice(0, limit).map((s) => ({ ...s, input: inputOf(s.execution_id) ?? s.input })),
    total: state.pending.length,
  };
}
