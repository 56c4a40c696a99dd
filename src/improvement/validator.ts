import type { Verdict } from '../domain/types';
import type { Logger } from '../logger';
import type { Registry } from '../runtime/registry';
import { KeyedLock } from '../store/keyed-lock';
import { wilson, type DailyStat } from '../telemetry/analytics';
import {
  dailyStats,
  daysAgo,
  dropDaysBefore,
  emptyDailyCounters,
  keepLatest,
  mergeDailyCounters,
  totalsOf,
  type DailyCounters,
  type Totals,
} from '../telemetry/daily-stats';
import type { Metrics } from '../telemetry/metrics';
import type { SampleInputs } from '../telemetry/sampler';
import type { Oracle } from './oracles';
import { checkFeedback, FeedbackRecorder } from './validation/feedback';
import { ingest } from './validation/ingest';
import { Labeller, type MachineOracle } from './validation/labelling';
import { reviewQueue, type ReviewQueue } from './validation/review-queue';
import {
  ValidationStates,
  windowAccuracy,
  type ValidationState,
  type WindowAccuracy,
} from './validation/state';
import { recentVerdicts, VerdictCommitter, type ValidationReport } from './validation/verdicts';

export type { ValidationState } from './validation/state';
export type { ValidationReport } from './validation/verdicts';

/** Days of counters kept for analytics. */
const KEEP_STATS_DAYS = 400;

export interface ValidatorDeps {
  registry: Registry;
  oracles: Record<MachineOracle, Oracle>;
  sampleInputs: SampleInputs;
  metrics: Metrics;
  /** Writes buffered execution records, so a pass sees every execution answered before it. */
  flushExecutions: () => Promise<void>;
  logger: Logger;
}

/** The summary of `GET /loop-apps/{id}/analytics`: every day together, and the active version's window. */
export interface AnalyticsSummary extends Totals {
  serving_version: string | null;
  /** The old name of serving_version, emitted for one more release. */
  active_version: string | null;
  accuracy: number | null;
  accuracy_ci: [number, number] | null;
  accuracy_window: number;
  pending: number;
  dropped: number;
  validated_at: string | null;
}

/** `GET /loop-apps/{id}/analytics`. */
export interface Analytics {
  loop_app_id: string;
  days: DailyStat[];
  summary: AnalyticsSummary;
  /** At a cloud: each edge's own totals (days and summary count them in). */
  edges: Record<string, Totals>;
}

/**
 * Validation: reads new execution records incrementally (each byte once), queues the sampled ones, asks the
 * app's oracle about them, appends verdicts to `validations/sampled.jsonl`, adds them to the labelled examples,
 * and keeps the counters behind `analytics/daily-stats.json`. Work on one app runs one step at a time. The parts
 * live in `validation/`: state and its crash replay, ingest, labelling, verdicts, feedback, the review queue.
 */
export class Validator {
  private readonly lock = new KeyedLock();
  private readonly states: ValidationStates;
  private readonly labeller: Labeller;
  private readonly feedbackRecorder: FeedbackRecorder;

  constructor(private readonly deps: ValidatorDeps) {
    const { registry, sampleInputs, metrics, logger } = deps;
    this.states = new ValidationStates(registry, logger);
    const committer = new VerdictCommitter(registry.store, this.states, sampleInputs, metrics);
    this.labeller = new Labeller(deps.oracles, committer, sampleInputs, metrics, logger);
    this.feedbackRecorder = new FeedbackRecorder(registry.store.executions, committer, sampleInputs);
  }

  private get registry() {
    return this.deps.registry;
  }

  /**
   * Runs `work` after every earlier step on this app, on its state with every execution answered so far read in
   * (`ingested` says how many were new; the state is not saved yet).
   */
  private withCurrentState<T>(id: string, work: (state: ValidationState, ingested: number) => Promise<T>) {
    return this.lock.run(id, async () => {
      await this.deps.flushExecutions();
      const state = await this.states.get(id);
      return work(state, await ingest(this.registry.store.executions, id, state));
    });
  }

  /** One pass: read new executions, label what waits (unless a person is the oracle), save. */
  validate(id: string): Promise<ValidationReport> {
    const app = this.registry.require(id);
    return this.withCurrentState(id, async (state, ingested) => {
      state.validated_at = new Date().toISOString();
      await this.states.save(id, state);
      const report: ValidationReport = {
        ingested,
        validated: 0,
        correct: 0,
        failed: 0,
        pending: state.pending.length,
        oracle_calls: 0,
        capped: false,
        errors: [],
      };
      const oracle = app.config.validation.oracle;
      if (oracle !== 'human') await this.labeller.label(this.registry.require(id), oracle, state, report);
      report.pending = state.pending.length;
      return report;
    });
  }

  /**
   * A person's (or a consumer app's) answer for one execution, sampled or not (see FeedbackRecorder);
   * `feedbackId` names feedback an edge sent on.
   */
  feedback(id: string, body: unknown, feedbackId?: string): Promise<Verdict> {
    const app = this.registry.require(id);
    const answer = { ...checkFeedback(app, body), feedbackId };
    return this.withCurrentState(id, (state) => this.feedbackRecorder.record(app, state, answer));
  }

  /** Counters an edge sent for an app (cumulative per day): kept per edge, counted in with the cloud's own. */
  edgeCounters(id: string, edge: string, counters: DailyCounters): Promise<void> {
    this.registry.require(id);
    return this.lock.run(id, async () => {
      const state = await this.states.get(id);
      keepLatest((state.edges[edge] ??= emptyDailyCounters()), counters);
      await this.states.save(id, state);
    });
  }

  /** Samples waiting for a verdict, oldest first (see reviewQueue). */
  async pending(id: string, limit: number): Promise<ReviewQueue> {
    this.registry.require(id);
    const state = await this.withCurrentState(id, async (s, ingested) => {
      if (ingested) await this.states.save(id, s);
      return s;
    });
    return reviewQueue(state, limit, (executionId) => this.deps.sampleInputs.get(id, executionId));
  }

  /** The newest verdicts, newest first; `correct: false` keeps the disagreements only. */
  verdicts(id: string, limit: number, correct?: boolean): Promise<Verdict[]> {
    this.registry.require(id);
    return recentVerdicts(this.registry.store, id, limit, correct);
  }

  /** The app's state, loaded once (replaying verdicts written after its last save). */
  state(id: string): Promise<ValidationState> {
    return this.states.get(id);
  }

  /** Accuracy of a version over its latest `validation.window` verdicts. */
  windowAccuracy(state: ValidationState, version: string | null | undefined): WindowAccuracy {
    return windowAccuracy(state, version);
  }

  /**
   * Executions, errors and latency are counted from the execution log up to the last flush, so they are current
   * within a flush interval and as durable as the log; accuracy and savings come from validation passes.
   */
  async analytics(id: string): Promise<Analytics> {
    const app = this.registry.require(id);
    const state = await this.withCurrentState(id, async (s, ingested) => {
      if (ingested) await this.states.save(id, s);
      return s;
    });
    const cost = app.config.validation.cost_per_call;
    const days = dailyStats(mergeDailyCounters([state.stats, ...Object.values(state.edges)]), cost);
    const active = app.program?.version ?? null;
    const window = windowAccuracy(state, active);
    return {
      loop_app_id: id,
      days,
      summary: {
        serving_version: active,
        active_version: active,
        ...totalsOf(days),
        accuracy: window.accuracy,
        accuracy_ci: wilson(window.correct, window.n),
        accuracy_window: window.n,
        pending: state.pending.length,
        dropped: state.dropped,
        validated_at: state.validated_at,
      },
      edges: Object.fromEntries(
        Object.entries(state.edges).map(([edge, c]) => [edge, totalsOf(dailyStats(c, cost))]),
      ),
    };
  }

  /** Saves policy state between passes (the policy changes `state.policy` in place). */
  savePolicy(id: string): Promise<void> {
    return this.lock.run(id, async () => this.states.save(id, await this.states.get(id)));
  }

  /** Deletes execution files older than `retention_days` and counters older than a year or so. */
  async applyRetention(id: string): Promise<string[]> {
    const app = this.registry.get(id);
    if (!app) return [];
    const cutoff = daysAgo(app.config.retention_days);
    const statsCutoff = daysAgo(KEEP_STATS_DAYS);
    return this.lock.run(id, async () => {
      const old = await this.registry.store.executions.deleteBefore(id, cutoff);
      const state = await this.states.get(id);
      for (const name of old) delete state.cursors[name];
      dropDaysBefore(state.stats, statsCutoff);
      for (const counters of Object.values(state.edges)) dropDaysBefore(counters, statsCutoff);
      if (old.length) await this.states.save(id, state);
      return old;
    });
  }

  /** Forgets an app's state in memory (its folder was removed). */
  forget(id: string): void {
    this.states.forget(id);
  }
}
