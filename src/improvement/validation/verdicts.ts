import type { OracleKind, Verdict } from '../../domain/types';
import type { LiveApp } from '../../runtime/registry';
import type { AppStore } from '../../store/app-store';
import { answerKey } from '../../synthesis/evaluate';
import type { Metrics } from '../../telemetry/metrics';
import { storedInput } from '../../telemetry/privacy';
import type { SampleInputs } from '../../telemetry/sampler';
import {
  recordVerdict,
  windowAccuracy,
  type PendingSample,
  type ValidationState,
  type ValidationStates,
} from './state';

/** What one validation pass did; the answer of `POST /loop-apps/{id}/validate`. */
export interface ValidationReport {
  ingested: number;
  validated: number;
  correct: number;
  failed: number;
  pending: number;
  oracle_calls: number;
  capped: boolean;
  errors: string[];
}

/** Same answer? Exact for strings and numbers, deep-equal for objects whatever their key order and sets' order. */
const sameOutput = (a: unknown, b: unknown, schema: Record<string, unknown>): boolean =>
  a === b || answerKey(a ?? null, schema) === answerKey(b ?? null, schema);

export function verdictFor(
  sample: PendingSample,
  input: unknown,
  expected: unknown,
  oracle: OracleKind,
  app: LiveApp,
): Verdict {
  return {
    execution_id: sample.execution_id,
    ts: sample.ts,
    version: sample.version,
    // what is written obeys privacy; the oracle saw the raw input from memory
    input: input === null ? null : storedInput(input, app.config.privacy).input,
    program_output: sample.output,
    oracle_output: expected,
    oracle,
    correct: sameOutput(sample.output, expected, app.config.output_schema),
    validated_at: new Date().toISOString(),
  };
}

/** Makes verdicts durable and counts them. */
export class VerdictCommitter {
  constructor(
    private readonly store: AppStore,
    private readonly states: ValidationStates,
    private readonly sampleInputs: SampleInputs,
    private readonly metrics: Metrics,
  ) {}

  /**
   * Labelled examples first (a repeat is harmless: the latest label of an input wins), then the verdict lines,
   * then the state that no longer holds their samples. With no verdicts, the state is saved all the same.
   */
  async commit(
    app: LiveApp,
    state: ValidationState,
    verdicts: Verdict[],
    report?: ValidationReport,
  ): Promise<void> {
    if (!verdicts.length) {
      await this.states.save(app.id, state);
      return;
    }
    const learnable = verdicts.filter((v) => v.input !== null);
    if (learnable.length) {
      await this.store.appendExamples(
        app.id,
        learnable.map((v) => ({
          input: v.input,
          output: v.oracle_output,
          source: v.oracle === 'human' ? 'human' : 'oracle',
          ts: v.validated_at,
        })),
      );
    }
    const verdictsSize = await this.store.validation.appendVerdicts(app.id, verdicts);
    const ids = new Set(verdicts.map((v) => v.execution_id));
    state.pending = state.pending.filter((s) => !ids.has(s.execution_id));
    for (const verdict of verdicts) {
      recordVerdict(state, verdict, app.config.validation.window);
      this.metrics.verdict(app.id, verdict.version, verdict.correct);
      this.sampleInputs.delete(app.id, verdict.execution_id);
      if (report) {
        report.validated += 1;
        if (verdict.correct) report.correct += 1;
      }
    }
    state.verdicts_offset = verdictsSize;
    await this.states.save(app.id, state);
    for (const version of new Set(verdicts.map((v) => v.version))) {
      this.metrics.setAccuracy(app.id, version, windowAccuracy(state, version).accuracy);
    }
  }
}

/** The newest verdicts, newest first; `correct: false` keeps the disagreements only. */
export async function recentVerdicts(
  store: AppStore,
  id: string,
  limit: number,
  correct?: boolean,
): Promise<Verdict[]> {
  // a filter reads further back, so that enough of what it keeps is found
  const read = correct === undefined ? limit : Math.max(limit * 20, 2000);
  const rows = (await store.validation.lastVerdicts(id, read)).reverse();
  return rows.filter((v) => correct === undefined || v.correct === correct).slice(0, limit);
}
