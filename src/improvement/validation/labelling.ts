import type { OracleKind, Verdict } from '../../domain/types';
import type { Logger } from '../../logger';
import type { LiveApp } from '../../runtime/registry';
import { countersOf, oracleCallsOn } from '../../telemetry/daily-stats';
import type { Metrics } from '../../telemetry/metrics';
import type { SampleInputs } from '../../telemetry/sampler';
import { OracleError, type Oracle } from '../oracles';
import type { ValidationState } from './state';
import { verdictFor, type ValidationReport, type VerdictCommitter } from './verdicts';

/** The oracles a machine answers; a person answers through feedback instead. */
export type MachineOracle = Exclude<OracleKind, 'human'>;

/** Stop a pass after this many failures in a row: the oracle is down, the samples wait for the next pass. */
const MAX_FAILURES_IN_A_ROW = 3;
/** Verdicts written (and state saved) together while a pass runs. */
const COMMIT_EVERY = 25;

const today = () => new Date().toISOString().slice(0, 10);

/** Asks an oracle about waiting samples, oldest first, within the daily cap; commits verdicts in groups. */
export class Labeller {
  /** The last warning logged per app. */
  private lastWarning = new Map<string, string>();

  constructor(
    private readonly oracles: Record<MachineOracle, Oracle>,
    private readonly committer: VerdictCommitter,
    private readonly sampleInputs: SampleInputs,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {}

  async label(
    app: LiveApp,
    kind: MachineOracle,
    state: ValidationState,
    report: ValidationReport,
  ): Promise<void> {
    const oracle = this.oracles[kind];
    const cap = app.config.validation.daily_oracle_cap;
    let verdicts: Verdict[] = [];
    let failuresInARow = 0;
    for (const sample of [...state.pending]) {
      const day = today();
      if (oracleCallsOn(state.stats, day) >= cap) {
        report.capped = true;
        report.errors.push(`the daily cap of ${cap} oracle calls (validation.daily_oracle_cap) is reached`);
        break;
      }
      const input = this.sampleInputs.get(app.id, sample.execution_id) ?? sample.input;
      if (input === null || input === undefined) {
        // privacy none/hashed and the process restarted: the input is gone, by design
        const at = state.pending.indexOf(sample);
        if (at >= 0) state.pending.splice(at, 1);
        state.dropped += 1;
        continue;
      }
      countersOf(state.stats, day, sample.version).oracle_calls += 1;
      report.oracle_calls += 1;
      try {
        const expected = await oracle.label(app, input);
        this.metrics.oracleCall(app.id, kind, true);
        verdicts.push(verdictFor(sample, input, expected, kind, app));
        failuresInARow = 0;
      } catch (err) {
        if (!(err instanceof OracleError)) throw err;
        this.metrics.oracleCall(app.id, kind, false);
        sample.attempts += 1;
        sample.last_error = err.message;
        report.failed += 1;
        if (!report.errors.includes(err.message)) report.errors.push(err.message);
        if (++failuresInARow >= MAX_FAILURES_IN_A_ROW) break;
        continue;
      }
      if (verdicts.length >= COMMIT_EVERY) {
        await this.committer.commit(app, state, verdicts, report);
        verdicts = [];
      }
    }
    await this.committer.commit(app, state, verdicts, report);
    this.warnOnce(app.id, state, report);
  }

  /** The same failure pass after pass (an oracle left unconfigured) is logged once, not every few minutes. */
  private warnOnce(id: string, state: ValidationState, report: ValidationReport): void {
    const warning = report.errors.join('\n');
    if (!warning || this.lastWarning.get(id) === warning) return;
    this.lastWarning.set(id, warning);
    this.logger.warn('validation could not label every sample', {
      loop_app_id: id,
      failed: report.failed,
      pending: state.pending.length,
      errors: report.errors.slice(0, 3),
    });
  }
}
