/** LoopaiClient: every endpoint of the Loopai HTTP API as a typed method. */

import { LoopaiError, TimeoutError } from './errors';
import {
  RawBody,
  Transport,
  sleep,
  type AnswerFormat,
  type FetchLike,
  type RequestOptions,
  type TransportOptions,
} from './transport';
import type {
  Analytics,
  BatchResponse,
  CreatedLoopApp,
  EventList,
  Example,
  ExamplesAdded,
  ExecuteResponse,
  ExecutionList,
  FeedbackResponse,
  Job,
  JobAccepted,
  JobList,
  LoopApp,
  LoopAppList,
  LoopAppSettings,
  NewLoopApp,
  ProgramUpload,
  ReviewQueue,
  SharedArtifact,
  SharedArtifactList,
  SharedArtifactPublish,
  SharedVerifyReport,
  ValidateResponse,
  ValidationList,
  Version,
  VersionList,
} from './types';

export const DEFAULT_BASE_URL = 'http://127.0.0.1:8080';

export interface LoopaiClientOptions {
  /**
   * The server, or several (a cloud's edges, say): a call fails over to the next on a connection failure or a
   * 503. Default: env `LOOPAI_URL` (comma-separated for several), then `http://127.0.0.1:8080`.
   */
  baseUrl?: string | string[];
  /** Sent as `Authorization: Bearer <key>`; default: env `LOOPAI_API_KEY`. */
  apiKey?: string;
  /** Milliseconds to wait for each attempt's answer; default 10 000. */
  timeoutMs?: number;
  /** Retries after 429, 503 and connection failures (see README); default 3. */
  maxRetries?: number;
  /** The fetch to use; default the global one (Node 18+, browsers, Deno, Bun). */
  fetch?: FetchLike;
}

export interface WaitForJobOptions {
  /** Give up (TimeoutError, code `job_timeout`) after this long; default 60 000. */
  timeoutMs?: number;
  /** Pause between polls; default 500. */
  intervalMs?: number;
  signal?: AbortSignal;
}

type Limit = { limit?: number } & RequestOptions;

export interface UploadExamplesOptions extends RequestOptions {
  /** `jsonl` (default) or `csv` (with a header row). */
  format?: 'jsonl' | 'csv';
  /** CSV: the columns that make the input (`a.b` for a field inside an object). */
  input?: string[];
  /** CSV: the output column, or one column per field of an object output. */
  output?: string[];
}
type Force = { force?: boolean } & RequestOptions;
const forceBody = (force: boolean | undefined) => (force === undefined ? undefined : { force });

/** Environment variables where there is an environment (Node, Deno with permission, Bun); none in a browser. */
function env(name: string): string | undefined {
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return proc?.env?.[name] || undefined;
}

/** One path segment (an app id, a version, a job id), escaped so it cannot reach another route. */
const segment = (value: string) => encodeURIComponent(value);

export type SharedArtifactRef = Pick<SharedArtifact, 'type' | 'name' | 'version'>;
const sharedPath = ({ type, name, version }: SharedArtifactRef) =>
  `/shared/artifacts/${segment(type)}/${segment(name)}/${segment(version)}`;

/**
 * A client for one Loopai server, optionally bound to one Loop App.
 *
 * ```ts
 * const client = new LoopaiClient('spam-detector-001', { baseUrl: 'http://localhost:8080', apiKey });
 * const { output } = await client.execute({ text: 'You won a FREE cruise' }); // 'spam'
 * ```
 *
 * Methods that concern one Loop App use the app the client is bound to; {@link forApp} gives a client for
 * another. Every method resolves to the server's JSON answer and rejects with a {@link LoopaiError} subclass.
 */
export class LoopaiClient {
  /** The Loop App this client is bound to, if any. */
  readonly appId: string | undefined;
  private transport: Transport;

  constructor(appId?: string | null, options?: LoopaiClientOptions);
  constructor(options?: LoopaiClientOptions);
  constructor(appIdOrOptions?: string | null | LoopaiClientOptions, maybeOptions: LoopaiClientOptions = {}) {
    const bound = typeof appIdOrOptions === 'string' ? appIdOrOptions : undefined;
    const options = appIdOrOptions && typeof appIdOrOptions === 'object' ? appIdOrOptions : maybeOptions;
    if (bound !== undefined && !bound) throw new TypeError('appId must not be empty');
    this.appId = bound;
    this.transport = new Transport(resolve(options));
  }

  /** The server this client talks to. */
  get baseUrl(): string {
    return this.transport.baseUrl;
  }

  /** A client with the same servers, key and settings, bound to `appId` (it fails over with this one). */
  forApp(appId: string): LoopaiClient {
    const client = new LoopaiClient(appId, { baseUrl: this.transport.baseUrls });
    client.transport = this.transport;
    return client;
  }

  // --- executing ----------------------------------------------------------------------------------------------

  /** Runs the app's active program on one input; sent as `{"input": input}`. */
  execute<O = unknown>(input: unknown, options?: RequestOptions): Promise<ExecuteResponse<O>> {
    return this.appCall('POST', '/execute', { input }, undefined, options);
  }

  /** Up to 1000 inputs in one call; `results` in order, a failed item as `{error: {code, message, details}}`. */
  executeBatch<O = unknown>(inputs: readonly unknown[], options?: RequestOptions): Promise<BatchResponse<O>> {
    return this.appCall('POST', '/execute/batch', { inputs }, undefined, options);
  }

  // --- Loop Apps ----------------------------------------------------------------------------------------------

  /** Every Loop App on the server, and the ones that failed to load. */
  listApps(options?: RequestOptions): Promise<LoopAppList> {
    return this.call('GET', '/loop-apps', undefined, undefined, options);
  }

  /** The bound app's settings and state. */
  getApp(options?: RequestOptions): Promise<LoopApp> {
    return this.appCall('GET', '', undefined, undefined, options);
  }

  /**
   * Creates a Loop App. With `program` it answers with the app and its first version (201); with `examples` only,
   * with a generation job (202) to pass to {@link waitForJob}. `loop_app_id` defaults to the bound app.
   */
  createApp(spec: NewLoopApp & { program: ProgramUpload }, options?: RequestOptions): Promise<CreatedLoopApp>;
  createApp(spec: NewLoopApp & { program?: undefined }, options?: RequestOptions): Promise<JobAccepted>;
  createApp(spec: NewLoopApp, options?: RequestOptions): Promise<CreatedLoopApp | JobAccepted>;
  createApp(spec: NewLoopApp, options?: RequestOptions): Promise<CreatedLoopApp | JobAccepted> {
    const loop_app_id = spec.loop_app_id ?? this.appId;
    if (!loop_app_id) {
      const why = 'spec.loop_app_id is required on a client that is not bound to a Loop App';
      return Promise.reject(new TypeError(why));
    }
    return this.call('POST', '/loop-apps', { ...spec, loop_app_id }, undefined, options);
  }

  /** Changes some settings of the bound app; answers with the app. */
  updateApp(settings: LoopAppSettings, options?: RequestOptions): Promise<LoopApp> {
    return this.appCall('PATCH', '', settings, undefined, options);
  }

  /** Stops serving (execute answers 503) until {@link resume}. */
  pause(options?: RequestOptions): Promise<LoopApp> {
    return this.appCall('POST', '/pause', undefined, undefined, options);
  }

  resume(options?: RequestOptions): Promise<LoopApp> {
    return this.appCall('POST', '/resume', undefined, undefined, options);
  }

  /** Stops serving for good (execute answers 410); the data is kept. */
  archive(options?: RequestOptions): Promise<LoopApp> {
    return this.appCall('POST', '/archive', undefined, undefined, options);
  }

  /** Adds labelled rows; all are checked against the schemas and none is stored if any is bad. */
  addExamples(examples: readonly Example[], options?: RequestOptions): Promise<ExamplesAdded> {
    return this.appCall('POST', '/examples', { examples }, undefined, options);
  }

  /**
   * Adds labelled rows from a file's text or bytes: JSON Lines of `{input, output}`, or CSV with a header row
   * (`input`/`output` name the columns; several output columns fill the fields of an object output). The server
   * reads it row by row up to its `max_examples_bytes` (200 MiB by default), not its smaller JSON body limit;
   * one bad row refuses the whole upload (400 `invalid_examples`, the first 100 bad rows by line number).
   */
  uploadExamples(data: string | Uint8Array, options: UploadExamplesOptions = {}): Promise<ExamplesAdded> {
    const { format = 'jsonl', input, output, ...request } = options;
    const body = new RawBody(data, format === 'csv' ? 'text/csv' : 'application/x-ndjson');
    const query = { input: input?.join(','), output: output?.join(',') };
    return this.appCall('POST', '/examples', body, query, request);
  }

  /** Every labelled row of the app, as the server stores them (read from its JSON Lines export). */
  exportExamples(options?: RequestOptions): Promise<Example[]> {
    return this.appCall('GET', '/examples', undefined, undefined, options, 'jsonl');
  }

  // --- shared artifacts ---------------------------------------------------------------------------------------

  /** Every shared artifact, with the retained versions that pin it. */
  listSharedArtifacts(options?: RequestOptions): Promise<SharedArtifactList> {
    return this.call('GET', '/shared/artifacts', undefined, undefined, options);
  }

  getSharedArtifact(ref: SharedArtifactRef, options?: RequestOptions): Promise<SharedArtifact> {
    return this.call('GET', sharedPath(ref), undefined, undefined, options);
  }

  /** Publishes whole and immutable; the same content again is a no-op, other content a ValidationError (409). */
  publishSharedArtifact(artifact: SharedArtifactPublish, options?: RequestOptions): Promise<SharedArtifact> {
    return this.call('POST', '/shared/artifacts', artifact, undefined, options);
  }

  /** Reads every shared artifact's files and recomputes every hash on the server; `error` says what failed. */
  verifySharedArtifacts(options?: RequestOptions): Promise<SharedVerifyReport> {
    return this.call('POST', '/shared/artifacts/verify', undefined, undefined, options);
  }

  /** Deletes one; a ValidationError (409, `details.dependents`) while a retained version pins it. */
  deleteSharedArtifact(ref: SharedArtifactRef, options?: RequestOptions): Promise<void> {
    return this.call('DELETE', sharedPath(ref), undefined, undefined, options);
  }

  // --- versions -----------------------------------------------------------------------------------------------

  /** Every version, oldest first, with its status and evaluation. */
  listVersions(options?: RequestOptions): Promise<VersionList> {
    return this.appCall('GET', '/versions', undefined, undefined, options);
  }

  getVersion(version: string, options?: RequestOptions): Promise<Version> {
    return this.appCall('GET', `/versions/${segment(version)}`, undefined, undefined, options);
  }

  /** A hand-written program as a new version, `testing` until activated. */
  uploadVersion(program: ProgramUpload, options?: RequestOptions): Promise<Version> {
    return this.appCall('POST', '/versions', program, undefined, options);
  }

  /** Starts a job that makes a new version from all labelled data. */
  regenerate(options?: RequestOptions): Promise<JobAccepted> {
    return this.appCall('POST', '/versions', { regenerate: true }, undefined, options);
  }

  /** `force: true` activates a deprecated version too (else 409 `version_deprecated`). */
  activate(version: string, { force, ...options }: Force = {}): Promise<Version> {
    return this.appCall(
      'POST',
      `/versions/${segment(version)}/activate`,
      forceBody(force),
      undefined,
      options,
    );
  }

  /** Makes the version before the active one active again (`force: true` if that one is deprecated). */
  rollback({ force, ...options }: Force = {}): Promise<Version> {
    return this.appCall('POST', '/rollback', forceBody(force), undefined, options);
  }

  /** Marks a version deprecated: from then on it is activated or rolled back to only with `force`. */
  deprecate(
    version: string,
    { reason, ...options }: RequestOptions & { reason?: string } = {},
  ): Promise<Version> {
    const body = reason === undefined ? undefined : { reason };
    return this.appCall('POST', `/versions/${segment(version)}/deprecate`, body, undefined, options);
  }

  /** Takes a deprecation back. */
  reinstate(version: string, options?: RequestOptions): Promise<Version> {
    return this.appCall('POST', `/versions/${segment(version)}/reinstate`, undefined, undefined, options);
  }

  // --- the improvement loop -----------------------------------------------------------------------------------

  /** Recent executions, newest first. */
  executions({ limit, ...options }: Limit = {}): Promise<ExecutionList> {
    return this.appCall('GET', '/executions', undefined, { limit }, options);
  }

  /** What an execution should have answered; counts as a verdict of the `human` oracle. */
  feedback(
    executionId: string,
    expectedOutput: unknown,
    options?: RequestOptions,
  ): Promise<FeedbackResponse> {
    const body = { execution_id: executionId, expected_output: expectedOutput };
    return this.appCall('POST', '/feedback', body, undefined, options);
  }

  /** Samples waiting for an oracle (with oracle `human`, for {@link feedback}). */
  reviewQueue({ limit, ...options }: Limit = {}): Promise<ReviewQueue> {
    return this.appCall('GET', '/review-queue', undefined, { limit }, options);
  }

  /** Oracle verdicts, newest first; `correct: false` gives only the disagreements. */
  validations({ limit, correct, ...options }: Limit & { correct?: boolean } = {}): Promise<ValidationList> {
    return this.appCall('GET', '/validations', undefined, { limit, correct }, options);
  }

  /** Per-day counts, latency, accuracy and oracle savings, and a summary. */
  analytics(options?: RequestOptions): Promise<Analytics> {
    return this.appCall('GET', '/analytics', undefined, undefined, options);
  }

  /** Improvement decisions, newest first. */
  events({ limit, ...options }: Limit = {}): Promise<EventList> {
    return this.appCall('GET', '/events', undefined, { limit }, options);
  }

  /** Runs the oracle over the pending samples now. */
  validate(options?: RequestOptions): Promise<ValidateResponse> {
    return this.appCall('POST', '/validate', undefined, undefined, options);
  }

  /** Starts an improvement job (regenerate, then promote by the app's policy). */
  improve(options?: RequestOptions): Promise<JobAccepted> {
    return this.appCall('POST', '/improve', undefined, undefined, options);
  }

  // --- jobs ---------------------------------------------------------------------------------------------------

  getJob(jobId: string, options?: RequestOptions): Promise<Job> {
    return this.call('GET', `/jobs/${segment(jobId)}`, undefined, undefined, options);
  }

  /** Jobs the server remembers (since it started), newest first; only the bound app's when bound. */
  listJobs(options?: RequestOptions): Promise<JobList> {
    return this.call('GET', '/jobs', undefined, { loop_app_id: this.appId }, options);
  }

  /**
   * Polls a job until it has succeeded and resolves to it. `job` may be the id or the answer that started it.
   * Rejects with a LoopaiError of code `job_failed` (the job in `details.job`) if it failed, and with a
   * TimeoutError of code `job_timeout` if it is still going after `timeoutMs`.
   */
  async waitForJob(job: string | Pick<JobAccepted, 'job_id'>, options: WaitForJobOptions = {}): Promise<Job> {
    const jobId = typeof job === 'string' ? job : job.job_id;
    const { timeoutMs = 60_000, intervalMs = 500, signal } = options;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const current = await this.getJob(jobId, { signal });
      if (current.state === 'succeeded') return current;
      if (current.state === 'failed') {
        throw new LoopaiError(`job ${jobId} failed: ${current.error ?? 'no reason given'}`, {
          code: 'job_failed',
          details: { job: current },
        });
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new TimeoutError(`job ${jobId} is still ${current.state} after ${timeoutMs} ms`, {
          code: 'job_timeout',
          details: { job: current },
        });
      }
      await sleep(Math.min(intervalMs, left), signal);
    }
  }

  // --- plumbing -----------------------------------------------------------------------------------------------

  private call<T>(
    method: string,
    path: string,
    body: unknown,
    query: Record<string, string | number | boolean | undefined> | undefined,
    options: RequestOptions | undefined,
    answerFormat?: AnswerFormat,
  ): Promise<T> {
    return this.transport.request<T>(method, path, body, query, options, answerFormat);
  }

  /** A call under `/loop-apps/{bound app}`; rejects (without a request) on a client bound to no app. */
  private async appCall<T>(
    method: string,
    path: string,
    body: unknown,
    query: Record<string, string | number | boolean | undefined> | undefined,
    options: RequestOptions | undefined,
    answerFormat?: AnswerFormat,
  ): Promise<T> {
    if (!this.appId) {
      throw new TypeError(
        "this client is not bound to a Loop App: new LoopaiClient('app-id', …) or client.forApp('app-id')",
      );
    }
    return this.call<T>(
      method,
      `/loop-apps/${segment(this.appId)}${path}`,
      body,
      query,
      options,
      answerFormat,
    );
  }
}

/** Options with every default filled in (the environment read once, here). */
function resolve(options: LoopaiClientOptions): TransportOptions {
  const given = options.baseUrl ?? env('LOOPAI_URL')?.split(',') ?? DEFAULT_BASE_URL;
  const baseUrls = (Array.isArray(given) ? given : [given]).map((url) => url.trim().replace(/\/+$/, ''));
  if (!baseUrls.length) throw new TypeError('baseUrl must name at least one server');
  for (const baseUrl of baseUrls) {
    if (!/^https?:\/\/[^/]/i.test(baseUrl)) {
      throw new TypeError(`baseUrl must be an http:// or https:// URL, got ${JSON.stringify(baseUrl)}`);
    }
  }
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxRetries = options.maxRetries ?? 3;
  if (!(timeoutMs > 0)) throw new TypeError('timeoutMs must be more than 0');
  if (!Number.isInteger(maxRetries) || maxRetries < 0) throw new TypeError('maxRetries must be 0 or more');
  // Looked up per call, not kept: browsers' fetch throws "Illegal invocation" when called as another object's method.
  const fetch: FetchLike | undefined =
    options.fetch ??
    (typeof globalThis.fetch === 'function'
      ? // every fetch takes a Uint8Array body; DOM's types narrow it to one over an ArrayBuffer
        (url, init) => globalThis.fetch(url, init as RequestInit)
      : undefined);
  if (!fetch)
    throw new TypeError('this runtime has no global fetch (Node 18 or newer has one): pass options.fetch');
  return {
    baseUrls,
    apiKey: options.apiKey ?? env('LOOPAI_API_KEY') ?? '',
    timeoutMs,
    maxRetries,
    fetch,
  };
}
