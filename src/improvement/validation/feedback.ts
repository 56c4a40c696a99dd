import { ApiError, badRequest, notFound } from '../../domain/errors';
import { checkExecutionId } from '../../domain/ids';
import type { Verdict } from '../../domain/types';
import { describeAjvErrors } from '../../runtime/app-config';
import type { LiveApp } from '../../runtime/registry';
import type { ExecutionFiles } from '../../store/executions';
import type { SampleInputs } from '../../telemetry/sampler';
import { sampleOf, type PendingSample, type ValidationState } from './state';
import { verdictFor, type VerdictCommitter } from './verdicts';

/** A checked `POST /loop-apps/{id}/feedback` body. */
export interface FeedbackAnswer {
  executionId: string;
  expected: unknown;
  /** Set for feedback an edge sent on (see edge/intake.ts). */
  feedbackId?: string;
}

/** Checks a feedback body against the app's output schema; a 400 says what to fix. */
export function checkFeedback(app: LiveApp, body: unknown): FeedbackAnswer {
  const { execution_id, expected_output } = (body ?? {}) as {
    execution_id?: unknown;
    expected_output?: unknown;
  };
  const executionId = checkExecutionId(execution_id);
  if (expected_output === undefined) {
    throw badRequest('missing_expected_output', 'send {"execution_id": …, "expected_output": …}');
  }
  if (!app.validators.validateOutput(expected_output)) {
    throw badRequest(
      'invalid_expected_output',
      `expected_output does not match the output_schema of '${app.id}'`,
      {
        errors: describeAjvErrors(app.validators.validateOutput.errors),
      },
    );
  }
  return { executionId, expected: expected_output };
}

/**
 * A person's (or a consumer app's) answer for one execution, sampled or not: recorded as a `human` verdict and
 * a labelled example.
 */
export class FeedbackRecorder {
  constructor(
    private readonly executions: ExecutionFiles,
    private readonly committer: VerdictCommitter,
    private readonly sampleInputs: SampleInputs,
  ) {}

  /** Judges the execution; `state` must have read every execution written so far. */
  async record(app: LiveApp, state: ValidationState, answer: FeedbackAnswer): Promise<Verdict> {
    const { executionId } = answer;
    const sample =
      state.pending.find((s) => s.execution_id === executionId) ??
      (await this.findExecution(app.id, executionId));
    const input = this.sampleInputs.get(app.id, executionId) ?? sample.input;
    const verdict = verdictFor(sample, input ?? null, answer.expected, 'human', app);
    if (answer.feedbackId) verdict.feedback_id = answer.feedbackId;
    await this.committer.commit(app, state, [verdict]);
    return verdict;
  }

  /** An execution that is not waiting as a sample, from its day file. */
  private async findExecution(id: string, executionId: string): Promise<PendingSample> {
    const record = await this.executions.find(id, executionId);
    if (!record) {
      throw notFound(
        `Loop App '${id}' has no execution ${executionId} (executions older than retention_days are deleted)`,
      );
    }
    if (record.status !== 'ok') {
      throw new ApiError(
        'execution_failed',
        `execution ${executionId} failed (${record.error?.code}); there is no answer to judge`,
      );
    }
    return sampleOf(record);
  }
}
