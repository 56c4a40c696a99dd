import crypto from 'node:crypto';
import { ApiError, notFound } from '../domain/errors';
import type { ExecutionRecord } from '../domain/types';
import { checkFeedback } from '../improvement/validation/feedback';
import type { Logger } from '../logger';
import type { Registry } from '../runtime/registry';
import type { EdgeSettings } from '../settings';
import {
  countExecution,
  daysAgo,
  dropDaysBefore,
  emptyDailyCounters,
  restoreDailyCounters,
  type DailyCounters,
} from '../telemetry/daily-stats';
import type { Metrics } from '../telemetry/metrics';
import { reason, Refused, type CloudClient } from './cloud-client';

export const TELEMETRY_FORMAT = 'loopai-edge-telemetry/1';
const STATE_FORMAT = 'loopai-edge-telemetry-state/1';
/** Samples in one batch at most (a batch stays well under the cloud's body limit for it). */
export const MAX_BATCH_SAMPLES = 500;
/** Days of counters an edge keeps sending (a day is final once it is over; two cover a late flush). */
const KEEP_DAYS = 2;

/** Feedback an edge received: sent with the execution it is about, which the cloud may never have seen. */
export interface EdgeFeedback {
  feedback_id: string;
  execution: ExecutionRecord;
  expected_output: unknown;
  at: string;
}

export interface BatchApp {
  loop_app_id: string;
  /** Sampled executions as the edge logged them (privacy applied). */
  samples: ExecutionRecord[];
  feedback: EdgeFeedback[];
  /** The counters of the days these executions ran on, from the start of each day (a resend replaces). */
  counters: DailyCounters;
}

/** What an edge sends its cloud (`POST /edge/v1/telemetry`). Each sample and feedback is recorded once however often it is sent. */
export interface TelemetryBatch {
  format: typeof TELEMETRY_FORMAT;
  batch_id: string;
  edge: string;
  created_at: string;
  apps: BatchApp[];
}

interface SavedTelemetry {
  format: typeof STATE_FORMAT;
  cursors: Record<string, Record<string, number>>;
  counters: Record<string, DailyCounters>;
}

/**
 * An edge's telemetry: every `telemetry_interval_ms` it reads what its execution log gained (each byte once, from
 * saved offsets) and spools it as batches of sampled executions and day counters, never the whole log; feedback it
 * receives is spooled at once. The spool (`edge/spool/`, at most `spool_max_mb`, the oldest dropped first) is sent
 * oldest first, each batch removed once the cloud has it, with back-off while the cloud is away. A batch is written
 * before the offsets that made it, so a crash in between sends its records again: the cloud keeps each once.
 */
export class TelemetryShipper {
  private cursors = new Map<string, Record<string, number>>();
  private counters = new Map<string, DailyCounters>();
  private running: Promise<void> | null = null;
  /** Gathering and spooling, one at a time (the loop, feedback and close all spool). */
  private turn: Promise<unknown> = Promise.resolve();
  private refusedLogged = false;

  constructor(
    private readonly registry: Registry,
    private readonly cloud: CloudClient,
    private readonly settings: EdgeSettings,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    /** Writes the execution records still buffered in memory (every worker's). */
    private readonly flush: () => Promise<void>,
  ) {}

  private get files() {
    return this.registry.store.edge;
  }

  async restore(): Promise<void> {
    const saved = (await this.files.readTelemetry().catch(() => null)) as SavedTelemetry | null;
    if (saved?.format !== STATE_FORMAT) return;
    for (const [id, cursors] of Object.entries(saved.cursors ?? {})) this.cursors.set(id, { ...cursors });
    for (const [id, counters] of Object.entries(saved.counters ?? {}))
      this.counters.set(id, restoreDailyCounters(counters));
  }

  start(): void {
    this.running ??= this.loop();
  }

  /** Stops sending; what the log gained meanwhile is spooled for the next run. */
  async close(): Promise<void> {
    await this.running;
    await this.gather().catch((err: Error) =>
      this.logger.warn('edge telemetry: the last gather failed', { error: err.message }),
    );
  }

  /** Feedback on one of this edge's executions: checked here, spooled for the cloud, which judges it. */
  async feedback(
    id: string,
    body: unknown,
  ): Promise<{ execution_id: string; feedback_id: string; queued: true }> {
    const app = this.registry.require(id);
    const answer = checkFeedback(app, body);
    await this.flush();
    const execution = await this.registry.store.executions.find(id, answer.executionId);
    if (!execution) throw notFound(`Loop App '${id}' has no execution ${answer.executionId} on this edge`);
    if (execution.status !== 'ok')
      throw new ApiError(
        'execution_failed',
        `execution ${answer.executionId} failed; there is no answer to judge`,
      );
    const feedback: EdgeFeedback = {
      feedback_id: crypto.randomUUID(),
      execution,
      expected_output: answer.expected,
      at: new Date().toISOString(),
    };
    await this.inTurn(() =>
      this.spool([{ loop_app_id: id, samples: [], feedback: [feedback], counters: {} }]),
    );
    return { execution_id: answer.executionId, feedback_id: feedback.feedback_id, queued: true };
  }

  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    const next = this.turn.then(work, work);
    this.turn = next.catch(() => undefined);
    return next;
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.cloud.stopping.aborted) {
      try {
        await this.gather();
        failures = (await this.send()) ? 0 : failures + 1;
      } catch (err) {
        failures += 1;
        this.logger.warn('edge telemetry failed; retrying', { error: reason(err) });
      }
      await this.cloud.pause(failures ? this.cloud.backoff(failures) : this.settings.telemetry_interval_ms);
    }
  }

  /** Reads what every app's log gained since the last gather and spools it; then saves the offsets. */
  gather(): Promise<void> {
    return this.inTurn(async () => {
      await this.flush();
      const apps: BatchApp[] = [];
      // read into copies, kept only once their batches are on disk: a spool that cannot be written (a full disk)
      // leaves the records to be read again
      const cursors = new Map(this.cursors);
      const counters = new Map(this.counters);
      for (const { id } of this.registry.list()) {
        const read = await this.read(id);
        cursors.set(id, read.cursors);
        counters.set(id, read.counters);
        if (read.app) apps.push(read.app);
      }
      if (!apps.length) return;
      await this.spool(apps);
      await this.files.writeTelemetry({
        format: STATE_FORMAT,
        cursors: Object.fromEntries(cursors),
        counters: Object.fromEntries(counters),
      } satisfies SavedTelemetry);
      this.cursors = cursors;
      this.counters = counters;
    });
  }

  /** What one app's log gained (its samples, and the counters of the days they ran on), and the offsets after it. */
  private async read(
    id: string,
  ): Promise<{ app: BatchApp | null; cursors: Record<string, number>; counters: DailyCounters }> {
    const executions = this.registry.store.executions;
    const names = await executions.names(id);
    const cursors = { ...this.cursors.get(id) };
    for (const name of Object.keys(cursors)) if (!names.includes(name)) delete cursors[name];
    const counters = restoreDailyCounters(this.counters.get(id));
    dropDaysBefore(counters, daysAgo(KEEP_DAYS));
    const samples: ExecutionRecord[] = [];
    const days = new Set<string>();
    for (const name of names) {
      for (;;) {
        const offset = cursors[name] ?? 0;
        const { records, next } = await executions.readFrom(id, name, offset);
        cursors[name] = next;
        for (const record of records) {
          countExecution(counters, record);
          days.add(record.ts.slice(0, 10));
          if (record.sampled) samples.push(record);
        }
        if (next === offset || !records.length) break;
      }
    }
    if (!days.size) return { app: null, cursors, counters };
    const touched = emptyDailyCounters();
    for (const day of days) if (counters[day]) touched[day] = counters[day];
    return { app: { loop_app_id: id, samples, feedback: [], counters: touched }, cursors, counters };
  }

  /** Writes batches of at most MAX_BATCH_SAMPLES samples to the spool, then trims it to its size. */
  private async spool(apps: BatchApp[]): Promise<void> {
    const batches: BatchApp[][] = [[]];
    let room = MAX_BATCH_SAMPLES;
    for (const app of apps) {
      let { samples } = app;
      let first = true;
      do {
        if (room === 0) {
          batches.push([]);
          room = MAX_BATCH_SAMPLES;
        }
        const part = samples.slice(0, room);
        samples = samples.slice(part.length);
        room -= part.length;
        batches[batches.length - 1].push({
          ...app,
          samples: part,
          ...(first ? {} : { feedback: [], counters: {} }),
        });
        first = false;
      } while (samples.length);
    }
    for (const batch of batches) {
      const body: TelemetryBatch = {
        format: TELEMETRY_FORMAT,
        batch_id: crypto.randomUUID(),
        edge: this.settings.name,
        created_at: new Date().toISOString(),
        apps: batch,
      };
      await this.files.spool(JSON.stringify(body));
    }
    await this.trim();
  }

  /** Drops the oldest batches beyond `spool_max_mb`, counted and logged. */
  private async trim(): Promise<number> {
    const spooled = await this.files.spooled();
    let bytes = spooled.reduce((n, s) => n + s.size, 0);
    const max = this.settings.spool_max_mb * 1024 * 1024;
    let dropped = 0;
    for (const { name, size } of spooled) {
      if (bytes <= max) break;
      await this.files.unspool(name);
      bytes -= size;
      dropped += 1;
    }
    this.metrics.edgeSpoolBytes(bytes);
    if (dropped) this.metrics.edgeSpoolDropped(dropped, 'full');
    if (dropped)
      this.logger.error('edge telemetry spool full: the oldest batches were dropped', {
        dropped,
        spool_max_mb: this.settings.spool_max_mb,
      });
    return bytes;
  }

  /** Sends the spool, oldest first; resolves to false when the cloud could not take it all now. */
  private async send(): Promise<boolean> {
    for (const { name } of await this.files.spooled()) {
      if (this.cloud.stopping.aborted) return true;
      const body = await this.files.readSpooled(name).catch(() => null);
      if (body === null) continue; // dropped by trim meanwhile
      try {
        const res = await this.cloud.request('/edge/v1/telemetry', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          // the cloud may be judging feedback behind a validation pass; a resend would only wait behind it too
          timeoutMs: 120_000,
        });
        await res.body?.cancel();
        if (res.status !== 200 && res.status !== 400 && res.status !== 413) return false;
        if (res.status !== 200) {
          // the cloud says it will never take this batch: holding it would stop every batch after it
          this.metrics.edgeSpoolDropped(1, 'refused');
          this.logger.error('the cloud refused an edge telemetry batch; it is dropped', {
            batch: name,
            status: res.status,
          });
        }
        await this.files.unspool(name);
      } catch (err) {
        if (this.cloud.stopping.aborted) return true;
        if (err instanceof Refused && !this.refusedLogged)
          this.logger.error(`edge telemetry: configuration error: ${err.message}`);
        if (err instanceof Refused) this.refusedLogged = true;
        else
          this.logger.warn('edge telemetry: the cloud cannot be reached; the spool keeps it', {
            error: reason(err),
          });
        return false;
      }
    }
    await this.trim();
    return true;
  }
}
