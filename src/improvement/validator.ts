import fsp from 'node:fs/promises';
import path from 'node:path';
import { ApiError, badRequest, notFound } from '../domain/errors';
import { checkExecutionId, executionDay } from '../domain/ids';
import type { ExecutionRecord, OracleKind, SampleRule, Verdict } from '../domain/types';
import type { Logger } from '../logger';
import { describeAjvErrors } from '../runtime/app-loader';
import type { LiveApp, Registry } from '../runtime/registry';
import {
  appendLines,
  fileSize,
  readJsonlFrom,
  readLastJsonl,
  readTextOrNull,
  repairTornTail,
  writeAtomic,
} from '../store/files';
import {
  dailyStat,
  emptyCounters,
  latencyBucket,
  wilson,
  type Counters,
  type DailyStat,
} from '../telemetry/analytics';
import { storedInput } from '../telemetry/privacy';
import type { SampleInputs } from '../telemetry/sampler';
import type { Metrics } from '../telemetry/metrics';
import { canonical } from '../synthesis/evaluate';
import { OracleError, type Oracle } from './oracles';

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

interface Tally {
  n: number;
  correct: number;
}

/**
 * What validation of one app has done, saved whole (write-temp-then-rename) in `validations/state.json`: where
 * the execution files have been read up to, the samples still waiting, and the counters analytics comes from.
 * `verdicts_offset` is the size of `sampled.jsonl` at the save; verdicts past it were written after the last save
 * (a crash in between) and are replayed on load, so no verdict is made twice or lost.
 */
export interface ValidationState {
  cursors: Record<string, number>;
  verdicts_offset: number;
  pending: PendingSample[];
  /** Counters per UTC day, then per version. */
  stats: Record<string, Record<string, Counters>>;
  /** Every verdict per version, and the latest ones (1 right, 0 wrong, newest last) for windowed accuracy. */
  totals: Record<string, Tally>;
  recent: Record<string, number[]>;
  verdicts: number;
  /** Samples that could not be validated: the queue overflowed, or (privacy none/hashed) a restart lost the input. */
  dropped: number;
  /** What the improvement policy keeps between passes (canary and post-promotion watch). */
  policy: Record<string, unknown>;
}

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

/** Most samples kept waiting per app; beyond it the oldest go (and are counted as dropped). */
const MAX_PENDING = 10_000;
/** Stop a pass after this many failures in a row: the oracle is down, the samples wait for the next pass. */
const MAX_FAILURES_IN_A_ROW = 3;
/** Verdicts written (and state saved) together while a pass runs. */
const COMMIT_EVERY = 25;
/** Days of counters kept for analytics. */
const KEEP_STATS_DAYS = 400;

const emptyState = (): ValidationState => ({
  cursors: {},
  verdicts_offset: 0,
  pending: [],
  stats: {},
  totals: {},
  recent: {},
  verdicts: 0,
  dropped: 0,
  policy: {},
});

const today = () => new Date().toISOString().slice(0, 10);

/** Same answer? Exact for strings and numbers (enums), deep-equal after normalising key order for objects. */
export const sameOutput = (a: unknown, b: unknown): boolean =>
  a === b || canonical(a ?? null) === canonical(b ?? null);

export interface ValidatorDeps {
  registry: Registry;
  oracles: Record<Exclude<OracleKind, 'human'>, Oracle>;
  sampleInputs: SampleInputs;
  metrics: Metrics;
  /** Writes buffered execution records, so a pass sees every execution answered before it. */
  flushExecutions: () => Promise<void>;
  logger: Logger;
}

/**
 * Validation: reads new execution records incrementally (each byte once), queues the sampled ones, asks the
 * app's oracle about them, appends verdicts to `validations/sampled.jsonl`, adds them to the labelled examples,
 * and keeps the counters behind `analytics/daily-stats.json`. Work on one app runs one step at a time.
 */
export class Validator {
  private states = new Map<string, Promise<ValidationState>>();
  private chains = new Map<string, Promise<unknown>>();
  private checkedVerdictFiles = new Set<string>();
  private lastWarning = new Map<string, string>();

  constructor(private readonly deps: ValidatorDeps) {}

  private get store() {
    return this.deps.registry.store;
  }

  /** Runs `work` after every earlier step on this app. */
  private serial<T>(id: string, work: () => Promise<T>): Promise<T> {
    const next = (this.chains.get(id) ?? Promise.resolve()).then(work, work);
    this.chains.set(
      id,
      next.catch(() => undefined),
    );
    return next;
  }

  /** The app's state, loaded once (replaying verdicts written after its last save). */
  state(id: string): Promise<ValidationState> {
    let state = this.states.get(id);
    if (!state) {
      state = this.load(id);
      this.states.set(id, state);
      state.catch(() => this.states.delete(id));
    }
    return state;
  }

  private async load(id: string): Promise<ValidationState> {
    const text = await readTextOrNull(this.store.layout.validationState(id));
    const state: ValidationState = text
      ? { ...emptyState(), ...(JSON.parse(text) as ValidationState) }
      : emptyState();
    const file = this.store.layout.verdicts(id);
    const { records, next } = await readJsonlFrom<Verdict>(file, state.verdicts_offset);
    if (records.length) {
      const replayed = new Set(records.map((v) => v.execution_id));
      state.pending = state.pending.filter((s) => !replayed.has(s.execution_id));
      for (const verdict of records) this.count(state, verdict, this.window(id));
      state.verdicts_offset = next;
      await this.save(id, state);
      this.deps.logger.info('validation state recovered', {
        loop_app_id: id,
        replayed_verdicts: records.length,
      });
    }
    return state;
  }

  private window(id: string): number {
    return this.deps.registry.get(id)?.config.validation.window ?? 200;
  }

  private async save(id: string, state: ValidationState): Promise<void> {
    await writeAtomic(this.store.layout.validationState(id), JSON.stringify(state));
    const app = this.deps.registry.get(id);
    const days = this.dailyStats(state, app?.config.validation.cost_per_call ?? 0);
    await writeAtomic(
      this.store.layout.dailyStats(id),
      JSON.stringify({ loop_app_id: id, updated_at: new Date().toISOString(), days }, null, 1) + '\n',
    );
  }

  /** One pass: read new executions, label what waits (unless a person is the oracle), save. */
  validate(id: string): Promise<ValidationReport> {
    const app = this.deps.registry.require(id);
    return this.serial(id, async () => {
      await this.deps.flushExecutions();
      const state = await this.state(id);
      const ingested = await this.ingest(id, state);
      await this.save(id, state);
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
      if (oracle !== 'human') await this.label(this.deps.registry.require(id), oracle, state, report);
      report.pending = state.pending.length;
      return report;
    });
  }

  /** Reads the execution files from where the last pass stopped; counts every record, queues the sampled. */
  private async ingest(id: string, state: ValidationState): Promise<number> {
    const dir = this.store.layout.executionsDir(id);
    const files = (await fsp.readdir(dir).catch(() => [] as string[]))
      .filter((f) => /^\d{4}-\d{2}-\d{2}\.jsonl$/.test(f))
      .sort();
    for (const name of Object.keys(state.cursors)) if (!files.includes(name)) delete state.cursors[name];
    let ingested = 0;
    for (const name of files) {
      for (;;) {
        const offset = state.cursors[name] ?? 0;
        const { records, next } = await readJsonlFrom<ExecutionRecord>(path.join(dir, name), offset);
        state.cursors[name] = next;
        for (const record of records) this.ingestRecord(state, record);
        ingested += records.length;
        if (next === offset || !records.length) break;
      }
    }
    if (state.pending.length > MAX_PENDING) {
      state.dropped += state.pending.length - MAX_PENDING;
      state.pending.splice(0, state.pending.length - MAX_PENDING);
    }
    return ingested;
  }

  private ingestRecord(state: ValidationState, record: ExecutionRecord): void {
    const c = counters(state, record.ts.slice(0, 10), record.version);
    c.executions += 1;
    if (record.status === 'error') c.errors += 1;
    const bucket = latencyBucket(record.latency_ms);
    c.latency[bucket] = (c.latency[bucket] ?? 0) + 1;
    if (!record.sampled) return;
    c.samples += 1;
    state.pending.push({
      execution_id: record.id,
      ts: record.ts,
      version: record.version,
      input: record.input,
      output: record.output,
      confidence: record.confidence,
      sample_rule: record.sample_rule,
      attempts: 0,
    });
  }

  /** Asks the oracle about waiting samples, oldest first, within the daily cap; commits verdicts in groups. */
  private async label(
    app: LiveApp,
    kind: Exclude<OracleKind, 'human'>,
    state: ValidationState,
    report: ValidationReport,
  ): Promise<void> {
    const oracle = this.deps.oracles[kind];
    const cap = app.config.validation.daily_oracle_cap;
    let verdicts: Verdict[] = [];
    let failuresInARow = 0;
    for (const sample of [...state.pending]) {
      const day = today();
      const used = Object.values(state.stats[day] ?? {}).reduce((n, c) => n + c.oracle_calls, 0);
      if (used >= cap) {
        report.capped = true;
        report.errors.push(`the daily cap of ${cap} oracle calls (validation.daily_oracle_cap) is reached`);
        break;
      }
      const input = this.deps.sampleInputs.get(app.id, sample.execution_id) ?? sample.input;
      if (input === null || input === undefined) {
        // privacy none/hashed and the process restarted: the input is gone, by design
        remove(state.pending, sample);
        state.dropped += 1;
        continue;
      }
      counters(state, day, sample.version).oracle_calls += 1;
      report.oracle_calls += 1;
      try {
        const expected = await oracle.label(app, input);
        this.deps.metrics.oracleCall(app.id, kind, true);
        verdicts.push(verdictFor(sample, input, expected, kind, app));
        failuresInARow = 0;
      } catch (err) {
        if (!(err instanceof OracleError)) throw err;
        this.deps.metrics.oracleCall(app.id, kind, false);
        sample.attempts += 1;
        sample.last_error = err.message;
        report.failed += 1;
        if (!report.errors.includes(err.message)) report.errors.push(err.message);
        if (++failuresInARow >= MAX_FAILURES_IN_A_ROW) break;
        continue;
      }
      if (verdicts.length >= COMMIT_EVERY) {
        await this.commit(app, state, verdicts, report);
        verdicts = [];
      }
    }
    await this.commit(app, state, verdicts, report);
    // the same failure pass after pass (an oracle left unconfigured) is logged once, not every few minutes
    const warning = report.errors.join('\n');
    if (warning && this.lastWarning.get(app.id) !== warning) {
      this.lastWarning.set(app.id, warning);
      this.deps.logger.warn('validation could not label every sample', {
        loop_app_id: app.id,
        failed: report.failed,
        pending: state.pending.length,
        errors: report.errors.slice(0, 3),
      });
    }
  }

  /**
   * Makes verdicts durable: labelled examples first (a repeat is harmless: the latest label of an input wins),
   * then the verdict lines, then the state that no longer holds their samples.
   */
  private async commit(
    app: LiveApp,
    state: ValidationState,
    verdicts: Verdict[],
    report?: ValidationReport,
  ): Promise<void> {
    if (!verdicts.length) {
      await this.save(app.id, state);
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
    const file = this.store.layout.verdicts(app.id);
    if (!this.checkedVerdictFiles.has(file)) {
      this.checkedVerdictFiles.add(file);
      await repairTornTail(file);
    }
    await appendLines(file, verdicts);
    const ids = new Set(verdicts.map((v) => v.execution_id));
    state.pending = state.pending.filter((s) => !ids.has(s.execution_id));
    for (const verdict of verdicts) {
      this.count(state, verdict, app.config.validation.window);
      this.deps.metrics.verdict(app.id, verdict.version, verdict.correct);
      this.deps.sampleInputs.delete(app.id, verdict.execution_id);
      if (report) {
        report.validated += 1;
        if (verdict.correct) report.correct += 1;
      }
    }
    state.verdicts_offset = await fileSize(file);
    await this.save(app.id, state);
    for (const version of new Set(verdicts.map((v) => v.version))) {
      this.deps.metrics.setAccuracy(app.id, version, this.windowAccuracy(state, version).accuracy);
    }
  }

  /** Adds a verdict to the counters: its execution's day and version, the version's totals and window. */
  private count(state: ValidationState, verdict: Verdict, window: number): void {
    const c = counters(state, verdict.ts.slice(0, 10), verdict.version);
    c.validations += 1;
    if (verdict.correct) c.correct += 1;
    const total = (state.totals[verdict.version] ??= { n: 0, correct: 0 });
    total.n += 1;
    if (verdict.correct) total.correct += 1;
    const recent = (state.recent[verdict.version] ??= []);
    recent.push(verdict.correct ? 1 : 0);
    if (recent.length > window) recent.splice(0, recent.length - window);
    state.verdicts += 1;
  }

  /**
   * A person's (or a consumer app's) answer for one execution, sampled or not: recorded as a `human` verdict and
   * a labelled example.
   */
  feedback(id: string, body: unknown): Promise<Verdict> {
    const app = this.deps.registry.require(id);
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
        `expected_output does not match the output_schema of '${id}'`,
        {
          errors: describeAjvErrors(app.validators.validateOutput.errors),
        },
      );
    }
    return this.serial(id, async () => {
      await this.deps.flushExecutions();
      const state = await this.state(id);
      await this.ingest(id, state);
      const sample =
        state.pending.find((s) => s.execution_id === executionId) ??
        (await this.findExecution(id, executionId));
      const input = this.deps.sampleInputs.get(id, executionId) ?? sample.input;
      const verdict = verdictFor(sample, input ?? null, expected_output, 'human', app);
      await this.commit(app, state, [verdict]);
      return verdict;
    });
  }

  /** Finds an execution in its day file (the id says which day) without parsing the lines around it. */
  private async findExecution(id: string, executionId: string): Promise<PendingSample> {
    const day = executionDay(executionId);
    const text = day ? await readTextOrNull(this.store.layout.executions(id, day)) : null;
    const at = text?.indexOf(`"id":"${executionId}"`) ?? -1;
    if (!text || at < 0) {
      throw notFound(
        `Loop App '${id}' has no execution ${executionId} (executions older than retention_days are deleted)`,
      );
    }
    const start = text.lastIndexOf('\n', at) + 1;
    const end = text.indexOf('\n', at);
    const record = JSON.parse(text.slice(start, end < 0 ? undefined : end)) as ExecutionRecord;
    if (record.status !== 'ok') {
      throw new ApiError('execution_failed',
        `execution ${executionId} failed (${record.error?.code}); there is no answer to judge`,
      );
    }
    return {
      execution_id: record.id,
      ts: record.ts,
      version: record.version,
      input: record.input,
      output: record.output,
      confidence: record.confidence,
      attempts: 0,
    };
  }

  /** Samples waiting for a verdict, oldest first, with the input from memory where privacy kept it off disk. */
  async pending(
    id: string,
    limit: number,
  ): Promise<{ pending: Array<Record<string, unknown>>; total: number }> {
    this.deps.registry.require(id);
    const state = await this.serial(id, async () => {
      await this.deps.flushExecutions();
      const s = await this.state(id);
      if (await this.ingest(id, s)) await this.save(id, s);
      return s;
    });
    return {
      pending: state.pending.slice(0, limit).map((s) => ({
        execution_id: s.execution_id,
        ts: s.ts,
        version: s.version,
        input: this.deps.sampleInputs.get(id, s.execution_id) ?? s.input,
        output: s.output,
        confidence: s.confidence,
        sample_rule: s.sample_rule,
        attempts: s.attempts,
        last_error: s.last_error,
      })),
      total: state.pending.length,
    };
  }

  /** The newest verdicts, newest first; `correct: false` keeps the disagreements only. */
  async verdicts(id: string, limit: number, correct?: boolean): Promise<Verdict[]> {
    this.deps.registry.require(id);
    const file = this.store.layout.verdicts(id);
    const read = correct === undefined ? limit : Math.max(limit * 20, 2000);
    const rows = (await readLastJsonl<Verdict>(file, read)).reverse();
    return rows.filter((v) => correct === undefined || v.correct === correct).slice(0, limit);
  }

  dailyStats(state: ValidationState, costPerCall: number): DailyStat[] {
    return Object.entries(state.stats)
      .sort(([a], [b]) => a.localeCompare(b))
      .flatMap(([day, versions]) =>
        Object.entries(versions)
          .sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true }))
          .map(([version, c]) => dailyStat(day, version, c, costPerCall)),
      );
  }

  /** Accuracy of a version over its latest `validation.window` verdicts. */
  windowAccuracy(
    state: ValidationState,
    version: string | null | undefined,
  ): Tally & { accuracy: number | null } {
    const recent = version ? (state.recent[version] ?? []) : [];
    const correct = recent.reduce((a, b) => a + b, 0);
    return { n: recent.length, correct, accuracy: recent.length ? correct / recent.length : null };
  }

  async analytics(id: string) {
    const app = this.deps.registry.require(id);
    const state = await this.state(id);
    const days = this.dailyStats(state, app.config.validation.cost_per_call);
    const sum = (
      key: 'executions' | 'errors' | 'samples' | 'validations' | 'oracle_calls' | 'estimated_savings',
    ) => Math.round(days.reduce((n, d) => n + d[key], 0) * 10000) / 10000;
    const active = app.program?.version ?? null;
    const window = this.windowAccuracy(state, active);
    return {
      loop_app_id: id,
      days,
      summary: {
        active_version: active,
        executions: sum('executions'),
        errors: sum('errors'),
        samples: sum('samples'),
        validations: sum('validations'),
        oracle_calls: sum('oracle_calls'),
        oracle_share: sum('executions')
          ? Math.round((sum('oracle_calls') / sum('executions')) * 10000) / 10000
          : null,
        estimated_savings: sum('estimated_savings'),
        accuracy: window.accuracy,
        accuracy_ci: wilson(window.correct, window.n),
        accuracy_window: window.n,
        pending: state.pending.length,
        dropped: state.dropped,
      },
    };
  }

  /** Saves policy state between passes (the policy changes `state.policy` in place). */
  savePolicy(id: string): Promise<void> {
    return this.serial(id, async () => this.save(id, await this.state(id)));
  }

  /** Deletes execution files older than `retention_days` and counters older than a year or so. */
  async applyRetention(id: string): Promise<string[]> {
    const app = this.deps.registry.get(id);
    if (!app) return [];
    const cutoff = new Date(Date.now() - app.config.retention_days * 86_400_000).toISOString().slice(0, 10);
    const statsCutoff = new Date(Date.now() - KEEP_STATS_DAYS * 86_400_000).toISOString().slice(0, 10);
    return this.serial(id, async () => {
      const dir = this.store.layout.executionsDir(id);
      const old = (await fsp.readdir(dir).catch(() => [] as string[])).filter(
        (f) => /^\d{4}-\d{2}-\d{2}\.jsonl$/.test(f) && f.slice(0, 10) < cutoff,
      );
      for (const name of old) await fsp.rm(path.join(dir, name), { force: true });
      const state = await this.state(id);
      for (const name of old) delete state.cursors[name];
      for (const day of Object.keys(state.stats)) if (day < statsCutoff) delete state.stats[day];
      if (old.length) await this.save(id, state);
      return old;
    });
  }

  /** Forgets an app's state in memory (its folder was removed). */
  forget(id: string): void {
    this.states.delete(id);
  }
}

function counters(state: ValidationState, day: string, version: string): Counters {
  const versions = (state.stats[day] ??= {});
  return (versions[version] ??= emptyCounters());
}

function remove<T>(list: T[], item: T): void {
  const at = list.indexOf(item);
  if (at >= 0) list.splice(at, 1);
}

function verdictFor(
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
    correct: sameOutput(sample.output, expected),
    validated_at: new Date().toISOString(),
  };
}
