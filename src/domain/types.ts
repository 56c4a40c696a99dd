/** Shapes of the data Loopai keeps on disk and exchanges over HTTP. Pure types, no I/O. */

import type { WEBHOOK_EVENTS } from './schemas';

export type JsonSchema = Record<string, unknown>;

export type AppStatus = 'active' | 'paused' | 'archived';
/**
 * `retired`: was active and was replaced (it stays a rollback target); `deprecated`: marked so by a person, and then
 * neither activated nor rolled back to without `force`.
 */
export type VersionStatus = 'active' | 'testing' | 'canary' | 'retired' | 'deprecated' | 'rejected';
export type OracleKind = 'llm' | 'http' | 'human';
export type PrivacyMode = 'full' | 'redacted' | 'hashed' | 'none';
export type RedactRule = 'email' | 'phone' | 'card';
export type GeneratorChoice = 'auto' | 'learner' | 'llm';

/** The task a Loop App does: what a person writes to create one. */
export interface LoopAppSpec {
  loop_app_id: string;
  name?: string;
  task: string;
  input_schema: JsonSchema;
  output_schema: JsonSchema;
}

/** `config.yaml`: the spec plus the settings a person may edit by hand. */
export interface LoopAppConfig extends LoopAppSpec {
  status: AppStatus;
  /** Which generator makes new versions; when left out, the server's `generator` setting decides. */
  generator?: GeneratorChoice;
  sampling: { rate: number; strategy: 'random' | 'uncertainty' };
  validation: {
    oracle: OracleKind;
    /** Cron expression (5 fields, or 6 with seconds) of the validation pass. */
    schedule: string;
    /** Verdicts needed before accuracy may trigger an improvement (and to judge a promotion). */
    min_samples: number;
    accuracy_threshold: number;
    /** How many of the latest verdicts of a version its accuracy is measured over. */
    window: number;
    /** Most oracle calls a day (UTC); 0 = none. */
    daily_oracle_cap: number;
    /** What one oracle call costs (for estimated savings), in the user's currency. */
    cost_per_call: number;
    /** The teacher endpoint when `oracle: http`. */
    http?: { url: string; timeout_ms?: number; headers?: Record<string, string> };
  };
  improvement: {
    auto: boolean;
    promotion: 'auto' | 'canary' | 'manual';
    canary_percent: number;
    /** Verdicts each arm of a canary needs before it is judged. */
    canary_min_samples: number;
    /** Accuracy a promoted version may lose against the one it replaced before it is rolled back. */
    rollback_margin: number;
  };
  rollout: { candidate: string | null; percent: number };
  privacy: { store_inputs: PrivacyMode; redact: RedactRule[] };
  retention_days: number;
  /** `max_result_bytes`: the largest answer of one call, as UTF-8 JSON. */
  /** `in_process`: a learner-made model may be scored in the server's own process (see runtime/in-process.ts). */
  execution: { timeout_ms: number; memory_mb: number; max_result_bytes: number; in_process: boolean };
}

/** Scores of a program on labelled data (see synthesis/evaluate). */
export interface EvalReport {
  accuracy: number;
  n: number;
  method: string;
  /** 95 % confidence interval of the accuracy (Wilson score interval over the n scored rows). */
  interval?: { low: number; high: number; level: number };
  /** What the score estimates: the served program itself, or the procedure that made it (cross-validation). */
  estimates?: 'program' | 'procedure';
  per_class?: Record<string, { precision: number; recall: number; support: number }>;
  confusion?: Record<string, Record<string, number>>;
}

/** `artifacts/vN/metadata.json`. */
export interface VersionMetadata {
  version: string;
  created_at: string;
  generator: string;
  parent: string | null;
  trained_on?: number;
  eval?: EvalReport;
  status: VersionStatus;
  sha256: string;
  files: Record<string, string>;
  /** Set when program.js is a fixed template (the learner's) whose data is in the other files; `sha256` is the template's. */
  template?: { name: string; sha256: string };
  notes?: string;
  /** Set by `POST …/versions/{v}/deprecate`, removed by `…/reinstate`. */
  deprecated?: { at: string; reason: string | null };
  /**
   * On regeneration: the active version's and this candidate's accuracy on the same rows, rows neither of them
   * trained on (n = 0 when there are none).
   */
  compared_with?: { version: string; accuracy: number; candidate_accuracy: number; n: number };
  /** Which labelled rows it learned from: the first `examples` lines of examples.jsonl, minus the held-out fifth when `held_out`. */
  seen?: { examples: number; held_out: boolean };
  /** Every candidate the generators made, with its score. */
  candidates?: Array<{ generator: string; accuracy: number | null; error?: string }>;
}

/** A file by content: its sha256 (hex) and size in bytes. */
export interface FileDigest {
  sha256: string;
  size: number;
}

/** What a program returns under the contract in docs/ARCHITECTURE.md. */
export interface ProgramAnswer {
  result: unknown;
  confidence?: number;
  reason?: string;
}

/** The execute response. */
export interface ExecuteResponse {
  execution_id: string;
  loop_app_id: string;
  version: string;
  output: unknown;
  confidence: number | null;
  latency_ms: number;
  sampled: boolean;
}

/** One line of `datasets/executions/YYYY-MM-DD.jsonl`. */
export interface ExecutionRecord {
  id: string;
  ts: string;
  version: string;
  input: unknown;
  input_hash?: string;
  output: unknown;
  confidence: number | null;
  latency_ms: number;
  status: 'ok' | 'error';
  error?: { code: string; message: string };
  /** Picked for checking by an oracle, and by which rule. */
  sampled?: boolean;
  sample_rule?: SampleRule;
  /** At a cloud: the edge that ran it (its samples and the executions its feedback is about). */
  edge?: string;
}

export type SampleRule = 'random' | 'uncertainty';

/** One oracle verdict: a line of `datasets/validations/sampled.jsonl`. */
export interface Verdict {
  execution_id: string;
  /** When the execution ran. */
  ts: string;
  version: string;
  input: unknown;
  program_output: unknown;
  oracle_output: unknown;
  oracle: OracleKind;
  correct: boolean;
  /** When the verdict was made. */
  validated_at: string;
  /** Feedback an edge sent: its id, so that a batch sent again records it once. */
  feedback_id?: string;
}

/** One improvement decision: a line of `datasets/events.jsonl`. */
export interface ImprovementEvent {
  ts: string;
  type: string;
  loop_app_id: string;
  version?: string;
  message: string;
  [figure: string]: unknown;
}

/** One labelled example: `datasets/examples.jsonl`. */
export interface LabelledExample {
  input: unknown;
  output: unknown;
  source: 'user' | 'oracle' | 'human';
  ts: string;
}

export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** One webhook in the server settings. */
export interface WebhookSetting {
  url: string;
  events: Array<WebhookEvent | '*'>;
  /** Key of the HMAC-SHA256 signature in `X-Loopai-Signature: sha256=<hex>`. */
  secret: string;
}
