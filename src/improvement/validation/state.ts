import { dictOf } from '../../domain/dict';
import type { ExecutionRecord, SampleRule, Verdict } from '../../domain/types';
import type { Logger } from '../../logger';
import { isPlainObject } from '../../runtime/input-checks';
import type { Registry } from '../../runtime/registry';
import type { Counters, Tally } from '../../telemetry/analytics';
import {
  countVerdict,
  dailyStats,
  restoreDailyCounters,
  type DailyCounters,
} from '../../telemetry/daily-stats';
import type { PolicyState } from '../policy-state';

/** A sampled execution waiting for its verdict. */
export interface PendingSample {
  execution_id: string;
  ts: string;
  version: string;
  /** As stored under `privacy` (null with `hashed` or `none`: the input then lives only in memory). */
  input: unknown;
  output: unknown;
  confidence: number | null;
  sample_rule?: SampleRule;
  attempts: number;
  last_error?: string;
}

/** An execution as a sample to judge. */
export const sampleOf = (record: ExecutionRecord): PendingSample => ({
  execution_id: record.id,
  ts: record.ts,
  version: record.version,
  input: record.input,
  output: record.output,
  confidence: record.confidence,
  sample_rule: record.sample_rule,
  attempts: 0,
});

/**
 * What validation of one app has done, saved whole (write-temp-then-rename) in `validations/state.json`: where
 * the execution files have been read up to, the samples still waiting, and the counters analytics comes from.
 * `verdicts_offset` is the size of `sampled.jsonl` at the save; verdicts past it were written after the last save
 * (a crash in between) and are replayed on load, so no verdict is made twice or lost. Maps keyed by data (file
 * names, days, versions) are null-prototype objects.
 */
export interface ValidationState {
  /** Bytes read of each day file, by file name. */
  cursors: Record<string, number>;
  verdicts_offset: number;
  pending: PendingSample[];
  stats: DailyCounters;
  /** Every verdict per version, and the latest ones (1 right, 0 wrong, newest last) for windowed accuracy. */
  totals: Record<string, Tally>;
  recent: Record<string, number[]>;
  verdicts: number;
  /** Samples that could not be validated: the queue overflowed, or (privacy none/hashed) a restart lost the input. */
  dropped: number;
  policy: PolicyState;
  /** When a validation pass last ran (null before the first): accuracy and savings are as of then. */
  validated_at: string | null;
  /** At a cloud: each edge's counters as it last sent them (cumulative per day and version: a resend replaces). */
  edges: Record<string, DailyCounters>;
}

/** state.json as written by this or an earlier release; every field may be missing. */
type SavedCounters = Record<string, Record<string, Partial<Counters>>>;
export type SavedState = Partial<Omit<ValidationState, 'stats' | 'edges'>> & {
  stats?: SavedCounters;
  edges?: Record<string, SavedCounters>;
};

/** A saved state into a live one: maps keyed by data become null-prototype ones, missing fields start empty. */
export function restoreState(saved: SavedState): ValidationState {
  return {
    cursors: dictOf(Object.entries(saved.cursors ?? {})),
    verdicts_offset: saved.verdicts_offset ?? 0,
    pending: saved.pending ?? [],
    stats: restoreDailyCounters(saved.stats),
    totals: dictOf(Object.entries(saved.totals ?? {})),
    recent: dictOf(Object.entries(saved.recent ?? {})),
    verdicts: saved.verdicts ?? 0,
    dropped: saved.dropped ?? 0,
    policy: saved.policy ?? {},
    validated_at: typeof saved.validated_at === 'string' ? saved.validated_at : null,
    edges: dictOf(Object.entries(saved.edges ?? {}).map(([edge, c]) => [edge, restoreDailyCounters(c)])),
  };
}

/** A version's latest `validation.window` verdicts; accuracy null when there are none. */
export type WindowAccuracy = Tally & { accuracy: number | null };

/** Accuracy of a version over its latest `validation.window` verdicts. */
export function windowAccuracy(state: ValidationState, version: string | null | undefined): WindowAccuracy {
  const recent = version ? (state.recent[version] ?? []) : [];
  const correct = recent.reduce((a, b) => a + b, 0);
  return { n: recent.length, correct, accuracy: recent.length ? correct / recent.length : null };
}

/** Adds a verdict to the counters: its execution's day and version, the version's totals and window. */
export function recordVerdict(state: ValidationState, verdict: Verdict, window: number): void {
  countVerdict(state.stats, verdict);
  const total = (state.totals[verdict.version] ??= { n: 0, correct: 0 });
  total.n += 1;
  if (verdict.correct) total.correct += 1;
  const recent = (state.recent[verdict.version] ??= []);
  recent.push(verdict.correct ? 1 : 0);
  if (recent.length > window) recent.splice(0, recent.length - window);
  state.verdicts += 1;
}

/** Each app's state, loaded once and then kept in memory; every change is saved whole. */
export class ValidationStates {
  private states = new Map<string, Promise<ValidationState>>();

  constructor(
    private readonly registry: Registry,
    private readonly logger: Logger,
  ) {}

  private get files() {
    return this.registry.store.validation;
  }

  /** The app's state, loaded once (replaying verdicts written after its last save). */
  get(id: string): Promise<ValidationState> {
    let state = this.states.get(id);
    if (!state) {
      state = this.load(id);
      this.states.set(id, state);
      state.catch(() => this.states.delete(id));
    }
    return state;
  }

  private async load(id: string): Promise<ValidationState> {
    const saved = await this.files.readState(id);
    // the file is ours, but people may edit the data directory: its maps are rebuilt, not trusted
    const state = restoreState(isPlainObject(saved) ? (saved as SavedState) : {});
    let replayedVerdicts = 0;
    // the verdicts come in steps of a few MB: every one written after the save is replayed
    for (;;) {
      const { records, next } = await this.files.readVerdictsFrom(id, state.verdicts_offset);
      if (!records.length) break;
      const replayed = new Set(records.map((v) => v.execution_id));
      state.pending = state.pending.filter((s) => !replayed.has(s.execution_id));
      const window = this.registry.get(id)?.config.validation.window ?? 200;
      for (const verdict of records) recordVerdict(state, verdict, window);
      state.verdicts_offset = next;
      replayedVerdicts += records.length;
    }
    if (replayedVerdicts) {
      await this.save(id, state);
      this.logger.info('validation state recovered', {
        loop_app_id: id,
        replayed_verdicts: replayedVerdicts,
      });
    }
    return state;
  }

  /** Saves the state, then the analytics made from it. */
  async save(id: string, state: ValidationState): Promise<void> {
    await this.files.writeState(id, state);
    const costPerCall = this.registry.get(id)?.config.validation.cost_per_call ?? 0;
    await this.files.writeDailyStats(id, dailyStats(state.stats, costPerCall));
  }

  /** Forgets an app's state in memory (its folder was removed). */
  forget(id: string): void {
    this.states.delete(id);
  }
}
