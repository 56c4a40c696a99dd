import { ApiError, type ErrorCode } from '../domain/errors';
import { executionId } from '../domain/ids';
import type { ExecuteResponse, ExecutionRecord } from '../domain/types';
import type { Logger } from '../logger';
import type { ExecutionLog } from '../telemetry/execution-log';
import type { SampleInputs, Sampler } from '../telemetry/sampler';
import type { Metrics } from '../telemetry/metrics';
import { storedInput } from '../telemetry/privacy';
import { describeAjvErrors } from './app-config';
import type { CallOutcome } from './sandbox/pool';
import type { ErrorCode as SandboxErrorCode } from './sandbox/protocol';
import type { LiveApp, LiveProgram, Registry } from './registry';

export const MAX_BATCH = 1000;

type ItemResult = ExecuteResponse | { error: ReturnType<ApiError['toBody']>['error'] };

/**
 * Where execute reports what it did: the execution log, the sampler (and its kept inputs), metrics, and the
 * server log for faults of its own.
 */
export interface ExecutorTelemetry {
  log: ExecutionLog;
  sampler: Sampler;
  sampleInputs: Pick<SampleInputs, 'keep'>;
  metrics: Metrics;
  logger: Logger;
}

/**
 * The execute hot path: registry lookup → status → input validation → route (active or canary) → the call (in
 * this process for a learner-made model, else in the sandbox) → output validation → buffered log line → answer.
 * No disk reads, no awaits on I/O.
 */
export class Executor {
  constructor(
    private readonly registry: Registry,
    private readonly telemetry: ExecutorTelemetry,
  ) {}

  async execute(appId: string, input: unknown): Promise<ExecuteResponse> {
    const app = this.servingApp(appId);
    this.checkInput(app, input);
    const program = route(app);
    const started = performance.now();
    program.begin();
    try {
      if (!program.key) await this.ready(app, program);
      const outcome = await program.run(input);
      return this.finish(app, program, input, outcome, started);
    } finally {
      program.end();
    }
  }

  /**
   * Runs many inputs, one sandbox round trip per program (during a canary each item is routed on its own, so a
   * batch splits between the arms); a bad item gets its own error, the others still answer. So does an item
   * that hits a fault of the server (an input nested too deep to serialise, say): it is logged and answers
   * internal_error.
   */
  async executeBatch(appId: string, inputs: unknown[]): Promise<ItemResult[]> {
    const app = this.servingApp(appId);
    const results: ItemResult[] = new Array(inputs.length);
    const byProgram = new Map<LiveProgram, number[]>();
    inputs.forEach((input, i) => {
      try {
        this.checkInput(app, input);
        const program = route(app);
        const items = byProgram.get(program);
        if (items) items.push(i);
        else byProgram.set(program, [i]);
      } catch (err) {
        results[i] = this.itemError(app, err);
      }
    });
    await Promise.all(
      [...byProgram].map(([program, items]) => this.runItems(app, program, inputs, items, results)),
    );
    return results;
  }

  private async runItems(
    app: LiveApp,
    program: LiveProgram,
    inputs: unknown[],
    items: number[],
    results: ItemResult[],
  ): Promise<void> {
    const started = performance.now();
    program.begin();
    try {
      if (!program.key) await this.ready(app, program);
      const outcomes = await program.runEach(items.map((i) => inputs[i]));
      items.forEach((i, k) => {
        const outcome = outcomes[k];
        try {
          if (outcome.status === 'rejected') throw outcome.reason;
          results[i] = this.finish(app, program, inputs[i], outcome.value, started);
        } catch (err) {
          results[i] = this.itemError(app, err);
        }
      });
    } finally {
      program.end();
    }
  }

  /** A batch item's error entry: an ApiError as it is, anything else logged and answered as internal_error. */
  private itemError(app: LiveApp, err: unknown): ItemResult {
    if (err instanceof ApiError) return { error: err.toBody().error };
    this.telemetry.logger.error('batch item failed', {
      loop_app_id: app.id,
      error: String((err as Error)?.stack ?? err),
    });
    const internal = new ApiError(
      'internal_error',
      'internal error on this item; the server log has details',
    );
    return { error: internal.toBody().error };
  }

  /** The app, if it may execute now: unknown → 404, paused → 503, archived → 410, nothing loadable → 503. */
  private servingApp(appId: string): LiveApp & { program: LiveProgram } {
    const app = this.registry.require(appId);
    if (app.config.status === 'paused') {
      throw new ApiError(
        'paused',
        `Loop App '${appId}' is paused; POST /loop-apps/${appId}/resume to serve again`,
      );
    }
    if (app.config.status === 'archived') {
      throw new ApiError(
        'archived',
        `Loop App '${appId}' is archived; its data is kept but it no longer executes`,
      );
    }
    if (!app.program) {
      throw new ApiError('no_active_version', `Loop App '${appId}' has no active program version yet`, {
        load_error: app.loadError,
      });
    }
    return app as LiveApp & { program: LiveProgram };
  }

  private checkInput(app: LiveApp, input: unknown): void {
    if (!app.validators.validateInput(input)) {
      throw new ApiError('invalid_input', `input does not match the input_schema of '${app.id}'`, {
        errors: describeAjvErrors(app.validators.validateInput.errors),
      });
    }
  }

  /** Loads a program that is not loaded yet (first call, or after an idle unload). */
  private async ready(app: LiveApp, program: LiveProgram): Promise<void> {
    try {
      await program.ready();
    } catch (err) {
      app.loadError = `${program.version}/program.js failed to load: ${(err as Error).message}`;
      throw new ApiError('load_error', app.loadError);
    }
  }

  private finish(
    app: LiveApp,
    program: LiveProgram,
    input: unknown,
    outcome: CallOutcome,
    started: number,
  ): ExecuteResponse {
    const id = executionId();
    const record: ExecutionRecord = {
      id,
      ts: new Date().toISOString(),
      version: program.version,
      ...storedInput(input, app.config.privacy),
      output: null,
      confidence: null,
      latency_ms: 0,
      status: 'ok',
    };
    let failure: ApiError | null = null;
    if (!outcome.ok) {
      const { code, message } = outcome.error;
      failure = new ApiError(CALL_FAILURES[code], `${program.version}: ${message}`);
    } else if (!app.validators.validateOutput(outcome.answer.result)) {
      failure = new ApiError(
        'invalid_output',
        `${program.version} answered a result that violates output_schema`,
        {
          errors: describeAjvErrors(app.validators.validateOutput.errors),
        },
      );
    } else {
      record.output = outcome.answer.result;
      record.confidence = outcome.answer.confidence ?? null;
      const rule = this.telemetry.sampler.decide(
        // confidences are judged against the same version's: a new version has its own spread
        `${app.id}@${program.version}`,
        app.config.sampling,
        record.confidence,
      );
      if (rule) {
        Object.assign(record, { sampled: true, sample_rule: rule });
        this.telemetry.sampleInputs.keep(app.id, id, input);
      }
    }
    if (failure) {
      record.status = 'error';
      record.error = { code: failure.code, message: failure.message };
    }
    // everything the call cost the server, the redaction of what is stored and the output check included
    const latency_ms = Math.round((performance.now() - started) * 1000) / 1000;
    record.latency_ms = latency_ms;
    this.telemetry.log.append(app.id, record);
    this.telemetry.metrics.execution(
      app.id,
      program.version,
      failure?.code ?? 'ok',
      latency_ms,
      record.sample_rule,
    );
    if (failure) throw failure;
    return {
      execution_id: id,
      loop_app_id: app.id,
      version: program.version,
      output: record.output,
      confidence: record.confidence,
      latency_ms,
      sampled: record.sampled === true,
    };
  }
}

/** What a failed sandbox call is answered as (result_too_large is named for its limit, as invalid_output is). */
const CALL_FAILURES: Record<SandboxErrorCode, ErrorCode> = {
  timeout: 'program_timeout',
  memory: 'program_memory',
  program_error: 'program_error',
  bad_answer: 'program_bad_answer',
  result_too_large: 'result_too_large',
  sandbox_crash: 'program_crash',
  not_loaded: 'load_error',
};

/** Sends `rollout.percent` of calls to the canary candidate, the rest to the active version. */
function route(app: LiveApp & { program: LiveProgram }): LiveProgram {
  if (app.candidate && Math.random() * 100 < app.config.rollout.percent) return app.candidate;
  return app.program;
}
