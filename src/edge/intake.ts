import Ajv from 'ajv';
import { executionSchema } from '../domain/api-schemas';
import { ApiError, badRequest } from '../domain/errors';
import { EDGE_NAME, executionDay } from '../domain/ids';
import type { ExecutionRecord, PrivacyMode } from '../domain/types';
import type { Validator } from '../improvement/validator';
import type { Logger } from '../logger';
import type { Registry } from '../runtime/registry';
import { KeyedLock } from '../store/keyed-lock';
import { restoreDailyCounters } from '../telemetry/daily-stats';
import { MAX_BATCH_SAMPLES, TELEMETRY_FORMAT, type BatchApp, type TelemetryBatch } from './telemetry';

const UUID = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

/** An execution record as an edge sends it: the documented record with its fields bounded (no input under privacy). */
const record = {
  ...executionSchema,
  required: executionSchema.required.filter((field) => field !== 'input'),
  properties: {
    ...executionSchema.properties,
    id: { type: 'string', pattern: UUID },
    ts: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}T', maxLength: 40 },
    version: { type: 'string', pattern: '^v[1-9][0-9]{0,8}$' },
    input_hash: { type: 'string', maxLength: 128 },
    latency_ms: { type: 'number', minimum: 0 },
  },
};

const batchSchema = {
  type: 'object',
  required: ['format', 'batch_id', 'edge', 'apps'],
  properties: {
    format: { const: TELEMETRY_FORMAT },
    batch_id: { type: 'string', pattern: UUID },
    edge: { type: 'string', pattern: EDGE_NAME.source },
    apps: {
      type: 'array',
      maxItems: 10_000,
      items: {
        type: 'object',
        required: ['loop_app_id', 'samples', 'feedback', 'counters'],
        properties: {
          loop_app_id: { type: 'string' },
          samples: { type: 'array', maxItems: MAX_BATCH_SAMPLES, items: record },
          feedback: {
            type: 'array',
            maxItems: 1000,
            items: {
              type: 'object',
              required: ['feedback_id', 'execution', 'expected_output'],
              properties: { feedback_id: { type: 'string', pattern: UUID }, execution: record },
            },
          },
          counters: {
            type: 'object',
            maxProperties: 32,
            propertyNames: { pattern: '^\\d{4}-\\d{2}-\\d{2}$' },
            additionalProperties: {
              type: 'object',
              maxProperties: 64,
              propertyNames: { pattern: '^v[1-9][0-9]{0,8}$' },
              additionalProperties: { type: 'object' },
            },
          },
        },
      },
    },
  },
};

const validateBatch = new Ajv({ allErrors: false }).compile(batchSchema);

/** What the cloud did with a batch. */
export interface IntakeReport {
  samples: number;
  duplicates: number;
  feedback: number;
  /** Apps of the batch the cloud did not take, and why (unknown here, or not the key's). */
  skipped: Record<string, string>;
}

/**
 * The cloud's side of telemetry: an edge's samples go into the app's execution log as a shard of that edge
 * (`YYYY-MM-DD.edge-<name>.jsonl`), where validation reads them like its own; its day counters are kept per edge;
 * its feedback is judged as the cloud's own. Each sample and feedback is recorded once however often its batch
 * comes: ids already in the shard (or feedback ids already among the verdicts) are skipped.
 */
export class TelemetryIntake {
  /** The ids in each shard file, read once from the file and then kept up to date. */
  private ids = new Map<string, Promise<Set<string>>>();
  private feedbackIds = new Map<string, Promise<Set<string>>>();
  private files = new KeyedLock();

  constructor(
    private readonly registry: Registry,
    private readonly validator: Validator,
    private readonly logger: Logger,
  ) {}

  /** Checks a batch and records it; a batch that is not valid is a 400 saying why (the edge then drops it). */
  async receive(body: unknown, scope: ReadonlySet<string> | null): Promise<IntakeReport> {
    if (!validateBatch(body)) {
      const [e] = validateBatch.errors ?? [];
      const why = e ? `${e.instancePath || '/'} ${e.message}` : 'unknown';
      throw badRequest('bad_request', `the telemetry batch is not valid: ${why}`);
    }
    const batch = body as unknown as TelemetryBatch;
    const report: IntakeReport = { samples: 0, duplicates: 0, feedback: 0, skipped: Object.create(null) };
    const waiting: string[] = [];
    for (const app of batch.apps) {
      const id = app.loop_app_id;
      if (scope && !scope.has(id)) report.skipped[id] = 'the key may not send for this app';
      else if (this.registry.loadErrors.has(id)) waiting.push(id);
      else if (!this.registry.get(id)) report.skipped[id] = 'no such Loop App here';
      else await this.receiveApp(batch.edge, app, report);
    }
    // an app that failed to load here takes nothing now: the edge keeps the batch and sends it again (what was
    // taken of it is not taken twice)
    if (waiting.length)
      throw new ApiError(
        'load_error',
        `Loop App(s) ${waiting.join(', ')} could not be loaded here; send this batch again later`,
        report,
      );
    return report;
  }

  private async receiveApp(edge: string, app: BatchApp, report: IntakeReport): Promise<void> {
    const id = app.loop_app_id;
    const fresh = await this.append(
      id,
      edge,
      app.samples.map((s) => ({ ...s, sampled: true })),
    );
    report.samples += fresh;
    report.duplicates += app.samples.length - fresh;
    if (Object.keys(app.counters).length)
      await this.validator.edgeCounters(id, edge, restoreDailyCounters(app.counters));
    for (const feedback of app.feedback) {
      // one at a time per app: a batch sent again while the first is still being judged finds its ids known
      await this.files.run(`feedback ${id}`, async () => {
        const known = await this.feedbackIdsOf(id);
        if (known.has(feedback.feedback_id)) return;
        await this.append(id, edge, [feedback.execution]);
        const body = { execution_id: feedback.execution.id, expected_output: feedback.expected_output };
        try {
          await this.validator.feedback(id, body, feedback.feedback_id);
          known.add(feedback.feedback_id);
          report.feedback += 1;
        } catch (err) {
          // a feedback this app refuses (the answer is not in its output schema) is never taken: logged, not
          // sent again; anything else (a full disk) is the cloud's, and the edge sends the batch again
          if (!(err instanceof ApiError && err.status < 500)) throw err;
          this.logger.warn('feedback from an edge was not recorded', {
            loop_app_id: id,
            edge,
            error: err.message,
          });
        }
      });
    }
  }

  /** Appends the records not in their day's shard yet; resolves to how many were new. */
  private async append(id: string, edge: string, records: ExecutionRecord[]): Promise<number> {
    const store = this.registry.store;
    const privacy = this.registry.require(id).config.privacy;
    const byFile = new Map<string, ExecutionRecord[]>();
    for (const r of records) {
      const file = store.layout.edgeExecutions(id, executionDay(r.id) ?? r.ts.slice(0, 10), edge);
      byFile.set(file, [...(byFile.get(file) ?? []), r]);
    }
    let fresh = 0;
    for (const [file, list] of byFile) {
      await this.files.run(file, async () => {
        const ids = await this.idsOf(file);
        const lines = list
          .filter((r) => !ids.has(r.id))
          .map((r) => JSON.stringify(asStored(r, edge, privacy.store_inputs)) + '\n');
        if (!lines.length) return;
        await store.executions.append(file, lines, `samples of edge '${edge}'`);
        for (const r of list) ids.add(r.id);
        fresh += lines.length;
      });
    }
    return fresh;
  }

  private idsOf(file: string): Promise<Set<string>> {
    return cached(this.ids, file, () => this.registry.store.executions.idsIn(file));
  }

  private feedbackIdsOf(id: string): Promise<Set<string>> {
    return cached(this.feedbackIds, id, () => this.readFeedbackIds(id));
  }

  /** The feedback ids among an app's verdicts, read once. */
  private async readFeedbackIds(id: string): Promise<Set<string>> {
    const ids = new Set<string>();
    for (let offset = 0; ;) {
      const { records, next } = await this.registry.store.validation.readVerdictsFrom(id, offset);
      if (!records.length) return ids;
      for (const verdict of records) if (verdict.feedback_id) ids.add(verdict.feedback_id);
      offset = next;
    }
  }
}

/** A value read once and kept; a read that fails is not kept (the next one reads again). */
function cached<T>(map: Map<string, Promise<T>>, key: string, read: () => Promise<T>): Promise<T> {
  let value = map.get(key);
  if (!value) {
    value = read();
    map.set(key, value);
    value.catch(() => map.delete(key));
  }
  return value;
}

/**
 * A record as the cloud stores it: its id first (how a shard's ids are read back), the edge that ran it, and the
 * input only as the cloud's own privacy setting allows.
 */
function asStored(r: ExecutionRecord, edge: string, storeInputs: PrivacyMode): ExecutionRecord {
  const { id, ts, version, input, input_hash, ...rest } = r;
  const inputKept = storeInputs === 'full' || storeInputs === 'redacted';
  const hash = input_hash !== undefined && storeInputs !== 'none' ? { input_hash } : {};
  return { id, ts, version, input: inputKept ? (input ?? null) : null, ...hash, ...rest, edge };
}
