import fs from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import Ajv from 'ajv';

/** Server settings: `config/loopai.yaml` (or LOOPAI_CONFIG), overridden by environment variables, validated. */
export interface Settings {
  data_dir: string;
  host: string;
  port: number;
  max_body_bytes: number;
  log_level: 'error' | 'warn' | 'info' | 'debug';
  log_format: 'json' | 'pretty' | 'auto';
  execution_log: { flush_interval_ms: number };
  sandbox: { children: number; child_heap_mb: number };
  generator: 'auto' | 'learner' | 'llm';
  llm: { api_key?: string; base_url?: string; model: string; timeout_ms: number; repair_rounds: number };
}

const DEFAULTS: Settings = {
  data_dir: './loopai-data',
  host: '127.0.0.1',
  port: 8080,
  max_body_bytes: 1024 * 1024,
  log_level: 'info',
  log_format: 'auto',
  execution_log: { flush_interval_ms: 200 },
  sandbox: { children: 0, child_heap_mb: 512 },
  generator: 'auto',
  llm: { model: 'gpt-4o-mini', timeout_ms: 60000, repair_rounds: 3 },
};

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    data_dir: { type: 'string', minLength: 1 },
    host: { type: 'string', minLength: 1 },
    port: { type: 'integer', minimum: 0, maximum: 65535 },
    max_body_bytes: { type: 'integer', minimum: 1024 },
    log_level: { enum: ['error', 'warn', 'info', 'debug'] },
    log_format: { enum: ['json', 'pretty', 'auto'] },
    execution_log: {
      type: 'object',
      additionalProperties: false,
      properties: { flush_interval_ms: { type: 'integer', minimum: 10 } },
    },
    sandbox: {
      type: 'object',
      additionalProperties: false,
      properties: {
        children: { type: 'integer', minimum: 0, maximum: 64 },
        child_heap_mb: { type: 'integer', minimum: 64 },
      },
    },
    generator: { enum: ['auto', 'learner', 'llm'] },
    llm: {
      type: 'object',
      additionalProperties: false,
      properties: {
        api_key: { type: 'string' },
        base_url: { type: 'string' },
        model: { type: 'string', minLength: 1 },
        timeout_ms: { type: 'integer', minimum: 100 },
        repair_rounds: { type: 'integer', minimum: 0, maximum: 10 },
      },
    },
  },
};

type Env = Record<string, string | undefined>;

function fromEnv(env: Env): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const llm: Record<string, unknown> = {};
  if (env.LOOPAI_DATA_DIR) out.data_dir = env.LOOPAI_DATA_DIR;
  if (env.LOOPAI_HOST) out.host = env.LOOPAI_HOST;
  const port = env.LOOPAI_PORT ?? env.PORT;
  if (port) out.port = Number(port);
  if (env.LOOPAI_LOG_LEVEL) out.log_level = env.LOOPAI_LOG_LEVEL;
  if (env.LOOPAI_LOG_FORMAT) out.log_format = env.LOOPAI_LOG_FORMAT;
  if (env.LOOPAI_GENERATOR) out.generator = env.LOOPAI_GENERATOR;
  if (env.OPENAI_API_KEY) llm.api_key = env.OPENAI_API_KEY;
  if (env.OPENAI_BASE_URL) llm.base_url = env.OPENAI_BASE_URL;
  if (env.LOOPAI_LLM_MODEL) llm.model = env.LOOPAI_LLM_MODEL;
  if (Object.keys(llm).length) out.llm = llm;
  return out;
}

function merge(base: Settings, over: Record<string, unknown>): Settings {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = (base as unknown as Record<string, unknown>)[k];
    out[k] = b && typeof b === 'object' && v && typeof v === 'object' ? { ...b, ...v } : v;
  }
  return out as unknown as Settings;
}

/**
 * Reads settings. `overrides` (used by tests and the CLI) win over the environment, which wins over the file.
 * Relative `data_dir` is resolved against the working directory.
 */
export function loadSettings(overrides: Partial<Settings> = {}, env: Env = process.env): Settings {
  const file = env.LOOPAI_CONFIG ?? path.resolve('config/loopai.yaml');
  let fromFile: Record<string, unknown> = {};
  if (fs.existsSync(file)) {
    const parsed = yaml.load(fs.readFileSync(file, 'utf8'));
    if (parsed !== null && parsed !== undefined && (typeof parsed !== 'object' || Array.isArray(parsed))) {
      throw new Error(`${file}: settings must be a YAML mapping`);
    }
    fromFile = (parsed as Record<string, unknown>) ?? {};
  }
  const layered = merge(merge(merge(DEFAULTS, fromFile), fromEnv(env)), overrides as Record<string, unknown>);
  const validate = new Ajv({ allErrors: true }).compile(schema);
  if (!validate(layered)) {
    const why = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ');
    throw new Error(`invalid settings (${file} and environment): ${why}`);
  }
  return { ...layered, data_dir: path.resolve(layered.data_dir) };
}
