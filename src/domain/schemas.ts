import type { LoopAppConfig, LoopAppSpec } from './types';

/** JSON Schemas the server validates with (and the OpenAPI document is built from). */

const jsonSchemaObject = { type: 'object', description: 'a JSON Schema' };

export const specSchema = {
  type: 'object',
  required: ['loop_app_id', 'task', 'input_schema', 'output_schema'],
  properties: {
    loop_app_id: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{1,62}$' },
    name: { type: 'string', maxLength: 200 },
    task: { type: 'string', minLength: 1, maxLength: 20000 },
    input_schema: jsonSchemaObject,
    output_schema: jsonSchemaObject,
  },
} as const;

const settingsProperties = {
  name: { type: 'string', maxLength: 200 },
  task: { type: 'string', minLength: 1, maxLength: 20000 },
  status: { enum: ['active', 'paused', 'archived'] },
  generator: { enum: ['auto', 'learner', 'llm'] },
  sampling: {
    type: 'object',
    additionalProperties: false,
    properties: {
      rate: { type: 'number', minimum: 0, maximum: 1 },
      strategy: { enum: ['random', 'uncertainty'] },
    },
  },
  validation: {
    type: 'object',
    additionalProperties: false,
    properties: {
      oracle: { enum: ['llm', 'http', 'human'] },
      schedule: { type: 'string', minLength: 1 },
      min_samples: { type: 'integer', minimum: 1 },
      accuracy_threshold: { type: 'number', minimum: 0, maximum: 1 },
      window: { type: 'integer', minimum: 1, maximum: 100000 },
      daily_oracle_cap: { type: 'integer', minimum: 0 },
      cost_per_call: { type: 'number', minimum: 0 },
      http: {
        type: 'object',
        additionalProperties: false,
        required: ['url'],
        properties: {
          url: { type: 'string', pattern: '^https?://' },
          timeout_ms: { type: 'integer', minimum: 100, maximum: 600000 },
          headers: { type: 'object', additionalProperties: { type: 'string' } },
        },
      },
    },
  },
  improvement: {
    type: 'object',
    additionalProperties: false,
    properties: {
      auto: { type: 'boolean' },
      promotion: { enum: ['auto', 'canary', 'manual'] },
      canary_percent: { type: 'number', minimum: 0, maximum: 100 },
      canary_min_samples: { type: 'integer', minimum: 1 },
      rollback_margin: { type: 'number', minimum: 0, maximum: 1 },
    },
  },
  rollout: {
    type: 'object',
    additionalProperties: false,
    properties: {
      candidate: { anyOf: [{ type: 'null' }, { type: 'string', pattern: '^v[1-9][0-9]*$' }] },
      percent: { type: 'number', minimum: 0, maximum: 100 },
    },
  },
  privacy: {
    type: 'object',
    additionalProperties: false,
    properties: {
      store_inputs: { enum: ['full', 'redacted', 'hashed', 'none'] },
      redact: { type: 'array', items: { enum: ['email', 'phone', 'card'] }, uniqueItems: true },
    },
  },
  retention_days: { type: 'integer', minimum: 1, maximum: 3650 },
  execution: {
    type: 'object',
    additionalProperties: false,
    properties: {
      timeout_ms: { type: 'integer', minimum: 1, maximum: 10000 },
      memory_mb: { type: 'integer', minimum: 8, maximum: 1024 },
      max_result_bytes: { type: 'integer', minimum: 256, maximum: 16777216 },
      in_process: { type: 'boolean' },
    },
  },
} as const;

/** What `PATCH /loop-apps/{id}` accepts: any subset of the editable settings. */
export const settingsPatchSchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: settingsProperties,
} as const;

/** `config.yaml` as read from disk, before defaults are filled in. */
export const configSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['loop_app_id', 'task', 'input_schema', 'output_schema'],
  properties: { ...specSchema.properties, ...settingsProperties },
} as const;

export const DEFAULT_SETTINGS: Omit<LoopAppConfig, keyof LoopAppSpec | 'generator'> = {
  status: 'active',
  sampling: { rate: 0.05, strategy: 'uncertainty' },
  validation: {
    oracle: 'llm',
    schedule: '*/5 * * * *',
    min_samples: 50,
    accuracy_threshold: 0.9,
    window: 200,
    daily_oracle_cap: 1000,
    cost_per_call: 0.002,
  },
  improvement: {
    auto: true,
    promotion: 'auto',
    canary_percent: 10,
    canary_min_samples: 30,
    rollback_margin: 0.05,
  },
  rollout: { candidate: null, percent: 0 },
  privacy: { store_inputs: 'full', redact: [] },
  retention_days: 30,
  execution: { timeout_ms: 50, memory_mb: 32, max_result_bytes: 65536, in_process: true },
};

/** Fills every setting a config leaves out with its default, one level deep. */
export function withDefaults(raw: Record<string, unknown>): LoopAppConfig {
  const out: Record<string, unknown> = { ...raw };
  for (const [key, value] of Object.entries(DEFAULT_SETTINGS)) {
    const given = raw[key];
    out[key] =
      value !== null && typeof value === 'object' && !Array.isArray(value)
        ? { ...value, ...((given as object) ?? {}) }
        : (given ?? value);
  }
  return out as unknown as LoopAppConfig;
}

/** What webhooks can subscribe to (`*` for all). */
export const WEBHOOK_EVENTS = [
  'version_created',
  'version_promoted',
  'version_rolled_back',
  'accuracy_below_threshold',
  'load_error',
  'canary_started',
  'canary_dropped',
  'candidate_rejected',
] as const;
