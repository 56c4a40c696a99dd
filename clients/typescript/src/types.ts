/** Request and response shapes of the Loopai HTTP API. Fields the server may add later are allowed by index types. */

/** A JSON Schema, as given in `input_schema` and `output_schema`. */
export type JsonSchema = Record<string, unknown>;

export type AppStatus = 'active' | 'paused' | 'archived';
/** `retired`: replaced by a newer active version; `deprecated`: marked so by a person. */
export type VersionStatus = 'active' | 'testing' | 'canary' | 'retired' | 'deprecated' | 'rejected';
export type OracleKind = 'llm' | 'http' | 'human';
export type GeneratorChoice = 'auto' | 'learner' | 'llm';
export type SampleRule = 'random' | 'uncertainty';
export type JobState = 'queued' | 'running' | 'succeeded' | 'failed';

/** The codes of the server's error answers; the README's catalogue gives each one's HTTP status and meaning. */
export type ErrorCode =
  | 'malformed_json'
  | 'malformed_url'
  | 'malformed_request'
  | 'bad_request'
  | 'too_deep'
  | 'invalid_body'
  | 'missing_input'
  | 'invalid_batch'
  | 'invalid_input'
  | 'invalid_id'
  | 'invalid_version'
  | 'invalid_execution_id'
  | 'invalid_limit'
  | 'invalid_filter'
  | 'invalid_spec'
  | 'invalid_schema'
  | 'invalid_settings'
  | 'invalid_examples'
  | 'invalid_upload'
  | 'examples_required'
  | 'cannot_generate'
  | 'missing_expected_output'
  | 'invalid_expected_output'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'conflict'
  | 'edge_read_only'
  | 'execution_failed'
  | 'archived'
  | 'body_too_large'
  | 'unsupported_media_type'
  | 'version_deprecated'
  | 'range_not_satisfiable'
  | 'invalid_program'
  | 'rate_limited'
  | 'headers_too_large'
  | 'internal_error'
  | 'program_error'
  | 'program_bad_answer'
  | 'program_memory'
  | 'program_crash'
  | 'invalid_output'
  | 'result_too_large'
  | 'paused'
  | 'leader_unavailable'
  | 'not_synced'
  | 'no_active_version'
  | 'load_error'
  | 'program_timeout'
  | 'insufficient_storage';
/** `create`: the generation job of a new app (or of a regeneration); `improve`: one of the improvement loop. */
export type JobType = 'create' | 'improve';

// --- Loop Apps ----------------------------------------------------------------------------------------------------

/** Settings of a Loop App that `PATCH /loop-apps/{id}` may change (any subset, nested objects in part). */
export interface LoopAppSettings {
  name?: string;
  task?: string;
  status?: AppStatus;
  generator?: GeneratorChoice;
  sampling?: { rate?: number; strategy?: SampleRule };
  validation?: {
    oracle?: OracleKind;
    /** Cron expression of the validation pass. */
    schedule?: string;
    min_samples?: number;
    accuracy_threshold?: number;
    window?: number;
    daily_oracle_cap?: number;
    cost_per_call?: number;
    http?: { url: string; timeout_ms?: number; headers?: Record<string, string> };
  };
  improvement?: {
    auto?: boolean;
    promotion?: 'auto' | 'canary' | 'manual';
    canary_percent?: number;
    canary_min_samples?: number;
    rollback_margin?: number;
  };
  rollout?: { candidate?: string | null; percent?: number };
  privacy?: {
    store_inputs?: 'full' | 'redacted' | 'hashed' | 'none';
    redact?: Array<'email' | 'phone' | 'card'>;
  };
  retention_days?: number;
  execution?: {
    timeout_ms?: number;
    memory_mb?: number;
    /** The largest answer of one call, as UTF-8 JSON. */
    max_result_bytes?: number;
    /** Whether a model the offline learner made may be scored in the server's own process (default true). */
    in_process?: boolean;
  };
}

/** One labelled row: what the program should answer for an input. */
export interface Example<I = unknown, O = unknown> {
  input: I;
  output: O;
}

/** A hand-written program: `program.js` defining `execute(input)`, and files it reads as `loopai.files[name]`. */
export interface ProgramUpload {
  code: string;
  files?: Record<string, string>;
}

/** What `POST /loop-apps` takes. `loop_app_id` may be left out on a client bound to an app. */
export interface NewLoopApp extends LoopAppSettings {
  loop_app_id?: string;
  task: string;
  input_schema: JsonSchema;
  output_schema: JsonSchema;
  examples?: Example[];
  program?: ProgramUpload;
  /** `false`: create the app without a version yet (add examples, then `regenerate()`). */
  generate?: boolean;
}

/** A Loop App as the server describes it: its settings plus what it derives from its files. */
export interface LoopApp {
  loop_app_id: string;
  name?: string;
  task: string;
  input_schema: JsonSchema;
  output_schema: JsonSchema;
  status: AppStatus;
  generator?: GeneratorChoice;
  sampling: { rate: number; strategy: SampleRule };
  validation: {
    oracle: OracleKind;
    schedule: string;
    min_samples: number;
    accuracy_threshold: number;
    window?: number;
    daily_oracle_cap?: number;
    cost_per_call?: number;
    http?: { url: string; timeout_ms?: number; headers?: Record<string, string> };
  };
  improvement: {
    auto: boolean;
    promotion: 'auto' | 'canary' | 'manual';
    canary_percent: number;
    canary_min_samples?: number;
    rollback_margin?: number;
  };
  rollout: { candidate: string | null; percent: number };
  privacy: {
    store_inputs: 'full' | 'redacted' | 'hashed' | 'none';
    redact: Array<'email' | 'phone' | 'card'>;
  };
  retention_days: number;
  execution: {
    timeout_ms: number;
    memory_mb: number;
    /** The largest answer of one call, as UTF-8 JSON. */
    max_result_bytes: number;
    /** Whether a model the offline learner made may be scored in the server's own process. */
    in_process: boolean;
  };
  /** The version the `active` link points to on disk. */
  active_version: string | null;
  /** @deprecated the old name of `active_version`. */
  current_version: string | null;
  /** The version actually answering (differs while a new one loads, or if it failed to load). */
  serving_version: string | null;
  /** `/loop-apps/{id}/execute`. */
  endpoint: string;
  /** Held-out accuracy of the serving version, when it was scored. */
  accuracy: number | null;
  /** The serving version's score: accuracy, its interval, how it was measured, on how many rows. */
  score?: Pick<EvalReport, 'accuracy' | 'n' | 'method' | 'interval'> | null;
  load_error: string | null;
  [field: string]: unknown;
}

export interface LoopAppList {
  loop_apps: LoopApp[];
  /** Apps on disk that could not be read, by id, with the reason. */
  load_errors: Record<string, string>;
}

/** The answer of `POST /loop-apps` with a program: the app and its first version. */
export interface CreatedLoopApp extends LoopApp {
  version: Version;
}

export interface ExamplesAdded {
  added: number;
  total: number;
}

// --- executing ----------------------------------------------------------------------------------------------------

export interface ExecuteResponse<O = unknown> {
  execution_id: string;
  loop_app_id: string;
  version: string;
  output: O;
  confidence: number | null;
  latency_ms: number;
  /** Picked to be checked by the oracle. */
  sampled: boolean;
}

/** The body of an error answer; also a batch item that failed, in its place in `results`. */
export interface BatchItemError {
  error: { code: ErrorCode; message: string; details?: Record<string, unknown> };
}

export interface BatchResponse<O = unknown> {
  /** One per input, in order. */
  results: Array<ExecuteResponse<O> | BatchItemError>;
}

// --- versions -----------------------------------------------------------------------------------------------------

export interface EvalReport {
  accuracy: number;
  n: number;
  method: string;
  /** 95 % Wilson interval of the accuracy. */
  interval?: { low: number; high: number; level: number };
  per_class?: Record<string, { precision: number; recall: number; support: number }>;
  confusion?: Record<string, Record<string, number>>;
}

/** A new version against the active one, on the same held-out rows neither trained on. */
export interface Comparison {
  /** The version compared with. */
  version: string;
  /** Its accuracy on those rows. */
  accuracy: number;
  /** The new version's accuracy on those rows. */
  candidate_accuracy: number;
  /** How many rows. */
  n: number;
}

export interface Version {
  version: string;
  created_at: string;
  generator: string;
  parent: string | null;
  trained_on?: number;
  eval?: EvalReport;
  status: VersionStatus;
  sha256: string;
  /** File name → sha256. */
  files: Record<string, string>;
  notes?: string;
  /** When and why a person marked it deprecated. */
  deprecated?: { at: string; reason: string | null };
  /** On regeneration: the then active version's score on the same held-out rows. */
  compared_with?: Comparison;
  /** What a generated version learned from: the first `examples` rows, and whether a fifth was held out. */
  seen?: { examples: number; held_out: boolean };
  candidates?: Array<{ generator: string; accuracy: number | null; error?: string }>;
  /** program.js is this fixed template (the learner's); what it learned is in the other files. */
  template?: { name: string; sha256: string };
  /** GET of one version only: where it runs, why, and whether it is loaded now. */
  runs?: { path: 'in-process' | 'sandbox'; why: string; loaded: boolean };
  [field: string]: unknown;
}

export interface VersionList {
  versions: Version[];
}

// --- the improvement loop -----------------------------------------------------------------------------------------

export interface Execution {
  id: string;
  ts: string;
  version: string;
  /** The input as stored (per the app's `privacy.store_inputs`: maybe redacted, or null). */
  input: unknown;
  /** With `privacy.store_inputs: hashed`: the input's sha256 (and `input` is null). */
  input_hash?: string;
  output: unknown;
  confidence: number | null;
  latency_ms: number;
  status: 'ok' | 'error';
  error?: { code: string; message: string };
  sampled?: boolean;
  sample_rule?: SampleRule;
  [field: string]: unknown;
}

export interface ExecutionList {
  /** Newest first. */
  executions: Execution[];
}

export interface FeedbackResponse {
  execution_id: string;
  version: string;
  program_output: unknown;
  expected_output: unknown;
  correct: boolean;
}

export interface PendingSample {
  execution_id: string;
  ts: string;
  version: string;
  /** Null when the app's privacy setting keeps inputs off disk and the server restarted since. */
  input: unknown;
  output: unknown;
  confidence: number | null;
  sample_rule?: SampleRule;
  attempts?: number;
  last_error?: string;
}

export interface ReviewQueue {
  /** Oldest first. */
  pending: PendingSample[];
  total: number;
}

export interface Validation {
  execution_id: string;
  ts: string;
  version: string;
  input: unknown;
  program_output: unknown;
  oracle_output: unknown;
  oracle: OracleKind;
  correct: boolean;
  validated_at?: string;
}

export interface ValidationList {
  /** Newest first. */
  validations: Validation[];
}

export interface DailyStat {
  day: string;
  version: string;
  executions: number;
  errors: number;
  latency_ms: { p50: number | null; p95: number | null; p99: number | null };
  samples: number;
  validations: number;
  correct: number;
  accuracy: number | null;
  /** 95 % Wilson interval; null without validations. */
  accuracy_ci: [number, number] | null;
  oracle_calls: number;
  oracle_calls_avoided: number;
  estimated_savings: number;
}

export interface Analytics {
  loop_app_id: string;
  days: DailyStat[];
  summary: {
    /** The version answering now. */
    serving_version: string | null;
    /** @deprecated the old name of `serving_version`. */
    active_version: string | null;
    executions: number;
    errors: number;
    samples: number;
    validations: number;
    oracle_calls: number;
    oracle_share: number | null;
    estimated_savings: number;
    /** Over the last `accuracy_window` verdicts of the active version. */
    accuracy: number | null;
    accuracy_ci: [number, number] | null;
    accuracy_window: number;
    /** Samples waiting for a verdict. */
    pending: number;
    /** Samples dropped unchecked: the oldest when too many wait, or ones whose input is no longer kept. */
    dropped: number;
    /** When accuracy and savings were last computed (a validation pass); null before the first. */
    validated_at: string | null;
    [figure: string]: unknown;
  };
  /** At a cloud: each edge's own totals (`days` and `summary` count every edge in). */
  edges: Record<string, { executions: number; errors: number; samples: number; [figure: string]: unknown }>;
}

/** One improvement decision (validation pass, regeneration, promotion, rollback…). */
export interface LoopEvent {
  ts: string;
  type: string;
  loop_app_id: string;
  version?: string;
  message: string;
  [figure: string]: unknown;
}

export interface EventList {
  /** Newest first. */
  events: LoopEvent[];
}

export interface ValidateResponse {
  ingested: number;
  validated: number;
  correct: number;
  failed: number;
  pending: number;
  oracle_calls: number;
  /** The daily cap of oracle calls (`validation.daily_oracle_cap`) was reached in this pass. */
  capped: boolean;
  /** What went wrong in this pass (e.g. no LLM configured). */
  errors: string[];
  [field: string]: unknown;
}

// --- jobs ---------------------------------------------------------------------------------------------------------

/** The 202 answer of a call that started a job. */
export interface JobAccepted {
  job_id: string;
  loop_app_id: string;
  state: JobState;
  /** `/jobs/{job_id}`. */
  job_url: string;
}

/** What a generation or improvement job made. */
export interface JobResult {
  version: string;
  activated: boolean;
  generator: string;
  eval: EvalReport;
  compared_with?: Comparison;
  candidates?: Array<{ generator: string; accuracy: number | null; error?: string }>;
  decision?: 'created' | 'promoted' | 'canary' | 'testing' | 'rejected';
  [field: string]: unknown;
}

export interface Job {
  job_id: string;
  type: JobType;
  loop_app_id: string;
  state: JobState;
  progress: string[];
  /** Set once the job has succeeded. */
  result: JobResult | null;
  /** Set once the job has failed. */
  error: string | null;
  created_at: string;
  updated_at: string;
}

export interface JobList {
  /** Newest first. */
  jobs: Job[];
}

/** A shared artifact: read-only files that versions of many apps pin by type, name, version and hash. */
export interface SharedArtifact {
  type: 'model' | 'vectorizer' | 'embedding';
  name: string;
  version: string;
  /** `sha256:` over the sha256sum lines of its files in name order. */
  hash: string;
  files: Record<string, { sha256: string; size: number }>;
  published_at: string;
  description?: string;
  /** The retained versions whose dependencies.yaml pins it. */
  dependents: Array<{ loop_app_id: string; version: string }>;
}

export interface SharedArtifactList {
  artifacts: SharedArtifact[];
}

/** What to publish: file name → text (binary as base64 text). */
export interface SharedArtifactPublish {
  type: SharedArtifact['type'];
  name: string;
  version: string;
  files: Record<string, string>;
  description?: string;
}

/** `verifySharedArtifacts`: every artifact read and every hash recomputed, as a load would. */
export interface SharedVerifyReport {
  artifacts: Array<
    Pick<SharedArtifact, 'type' | 'name' | 'version'> & { hash: string | null; error: string | null }
  >;
}
