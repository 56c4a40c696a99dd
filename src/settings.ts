import fs from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import Ajv from 'ajv';
import os from 'node:os';
import { sha256 } from './domain/hash';
import { EDGE_NAME, edgeName } from './domain/ids';
import { WEBHOOK_EVENTS } from './domain/schemas';
import type { WebhookSetting } from './domain/types';

/** Server settings: `config/loopai.yaml` (or LOOPAI_CONFIG), overridden by environment variables, validated. */
export interface Settings {
  data_dir: string;
  host: string;
  port: number;
  max_body_bytes: number;
  /** How deep objects and arrays may nest in a request body (checked before it is parsed). */
  max_json_depth: number;
  /** The size limit of one streamed upload of labelled examples (JSONL or CSV), separate from max_body_bytes. */
  max_examples_bytes: number;
  log_level: 'error' | 'warn' | 'info' | 'debug';
  log_format: 'json' | 'pretty' | 'auto';
  execution_log: { flush_interval_ms: number };
  /** `child_rss_mb` always has a value once loaded (default 1024); optional so that overrides may leave it out. */
  sandbox: { children: number; child_heap_mb: number; child_rss_mb?: number };
  generator: 'auto' | 'learner' | 'llm';
  llm: { api_key?: string; base_url?: string; model: string; timeout_ms: number; repair_rounds: number };
  auth: AuthSettings;
  webhooks: WebhookSetting[];
  /** Server processes on one port (0: one per core); see cluster/primary.ts. */
  workers: number;
  /** `all`: one server that learns and serves; `cloud`: that plus the edge API; `edge`: a replica of a cloud. */
  role: Role;
  /** For an edge: the cloud it syncs from, and its `edge` key there (none for a cloud without keys, on loopback). */
  cloud: CloudSettings;
  /** For an edge: its name at the cloud and how it sends telemetry there. */
  edge: EdgeSettings;
}

export interface EdgeSettings {
  /** How the cloud tells this edge's telemetry apart (default: the host name). */
  name: string;
  /** The on-disk spool of telemetry not yet sent; when full, the oldest batches are dropped. */
  spool_max_mb: number;
  /** How often new executions are gathered into a batch and the spool is sent. */
  telemetry_interval_ms: number;
  /** An offline bundle applied at start (`loopai export`): for an edge with no link to its cloud. */
  bundle?: string;
}

export type Role = 'all' | 'cloud' | 'edge';

export interface CloudSettings {
  url?: string;
  key?: string;
  /** The longest pause between tries while the cloud cannot be reached (back-off with jitter up to it). */
  retry_max_ms: number;
  /** How long one manifest request waits for a change (the long-poll), in seconds. */
  wait_s: number;
}

/** One API key: stored as a sha256 (a plain `key` is accepted from the environment, never written). */
export interface ApiKeySetting {
  name?: string;
  /** `edge`: may only read the edge API (and send telemetry) of a cloud. */
  role: 'admin' | 'execute' | 'edge';
  key_sha256?: string;
  key?: string;
  /** For an `execute` key: the only Loop Apps it may call; for an `edge` key, the only ones it syncs (all when left out). */
  apps?: string[];
  /** Overrides `auth.rate_limit_per_minute` for this key. */
  rate_limit_per_minute?: number;
}

export interface AuthSettings {
  api_keys: ApiKeySetting[];
  /** Requests per minute per key; 0 = no limit. */
  rate_limit_per_minute: number;
  /** Serve other interfaces than loopback without keys (everyone may do everything). */
  allow_anonymous: boolean;
}

const DEFAULTS: Settings = {
  data_dir: './loopai-data',
  host: '127.0.0.1',
  port: 8080,
  max_body_bytes: 1024 * 1024,
  max_json_depth: 64,
  max_examples_bytes: 200 * 1024 * 1024,
  log_level: 'info',
  log_format: 'auto',
  execution_log: { flush_interval_ms: 200 },
  sandbox: { children: 0, child_heap_mb: 512, child_rss_mb: 1024 },
  generator: 'auto',
  llm: { model: 'gpt-4o-mini', timeout_ms: 60000, repair_rounds: 3 },
  auth: { api_keys: [], rate_limit_per_minute: 0, allow_anonymous: false },
  webhooks: [],
  workers: 1,
  role: 'all',
  cloud: { retry_max_ms: 30_000, wait_s: 30 },
  edge: { name: edgeName(os.hostname()), spool_max_mb: 64, telemetry_interval_ms: 2000 },
};

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    data_dir: { type: 'string', minLength: 1 },
    host: { type: 'string', minLength: 1 },
    port: { type: 'integer', minimum: 0, maximum: 65535 },
    max_body_bytes: { type: 'integer', minimum: 1024 },
    max_json_depth: { type: 'integer', minimum: 2, maximum: 1000 },
    max_examples_bytes: { type: 'integer', minimum: 1024 },
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
        child_rss_mb: { type: 'integer', minimum: 128 },
      },
    },
    generator: { enum: ['auto', 'learner', 'llm'] },
    workers: { type: 'integer', minimum: 0, maximum: 64 },
    role: { enum: ['all', 'cloud', 'edge'] },
    cloud: {
      type: 'object',
      additionalProperties: false,
      properties: {
        url: { type: 'string', pattern: '^https?://[^\\s]+$' },
        key: { type: 'string', minLength: 16 },
        retry_max_ms: { type: 'integer', minimum: 100 },
        wait_s: { type: 'integer', minimum: 1, maximum: 60 },
      },
    },
    edge: {
      type: 'object',
      additionalProperties: false,
      properties: {
        name: { type: 'string', pattern: EDGE_NAME.source },
        spool_max_mb: { type: 'integer', minimum: 1 },
        telemetry_interval_ms: { type: 'integer', minimum: 50 },
        bundle: { type: 'string', minLength: 1 },
      },
    },
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
    auth: {
      type: 'object',
      additionalProperties: false,
      properties: {
        api_keys: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['role'],
            oneOf: [{ required: ['key_sha256'] }, { required: ['key'] }],
            properties: {
              name: { type: 'string' },
              role: { enum: ['admin', 'execute', 'edge'] },
              key_sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
              key: { type: 'string', minLength: 16 },
              apps: { type: 'array', items: { type: 'string' } },
              rate_limit_per_minute: { type: 'integer', minimum: 0 },
            },
          },
        },
        rate_limit_per_minute: { type: 'integer', minimum: 0 },
        allow_anonymous: { type: 'boolean' },
      },
    },
    webhooks: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['url', 'events', 'secret'],
        properties: {
          url: { type: 'string', pattern: '^https?://' },
          events: { type: 'array', minItems: 1, items: { enum: [...WEBHOOK_EVENTS, '*'] } },
          secret: { type: 'string', minLength: 8 },
        },
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
  if (env.LOOPAI_MAX_EXAMPLES_BYTES) out.max_examples_bytes = Number(env.LOOPAI_MAX_EXAMPLES_BYTES);
  if (env.LOOPAI_LOG_LEVEL) out.log_level = env.LOOPAI_LOG_LEVEL;
  if (env.LOOPAI_LOG_FORMAT) out.log_format = env.LOOPAI_LOG_FORMAT;
  if (env.LOOPAI_GENERATOR) out.generator = env.LOOPAI_GENERATOR;
  if (env.LOOPAI_WORKERS) out.workers = Number(env.LOOPAI_WORKERS);
  if (env.OPENAI_API_KEY) llm.api_key = env.OPENAI_API_KEY;
  if (env.OPENAI_BASE_URL) llm.base_url = env.OPENAI_BASE_URL;
  if (env.LOOPAI_LLM_MODEL) llm.model = env.LOOPAI_LLM_MODEL;
  if (Object.keys(llm).length) out.llm = llm;
  const auth: Record<string, unknown> = {};
  if (env.LOOPAI_API_KEYS) auth.api_keys = parseKeyList(env.LOOPAI_API_KEYS);
  if (env.LOOPAI_RATE_LIMIT_PER_MINUTE) auth.rate_limit_per_minute = Number(env.LOOPAI_RATE_LIMIT_PER_MINUTE);
  if (env.LOOPAI_ALLOW_ANONYMOUS) auth.allow_anonymous = env.LOOPAI_ALLOW_ANONYMOUS === 'true';
  if (Object.keys(auth).length) out.auth = auth;
  if (env.LOOPAI_ROLE) out.role = env.LOOPAI_ROLE;
  const cloud: Record<string, unknown> = {};
  if (env.LOOPAI_CLOUD_URL) cloud.url = env.LOOPAI_CLOUD_URL;
  if (env.LOOPAI_CLOUD_KEY) cloud.key = env.LOOPAI_CLOUD_KEY;
  if (Object.keys(cloud).length) out.cloud = cloud;
  const edge: Record<string, unknown> = {};
  if (env.LOOPAI_EDGE_NAME) edge.name = env.LOOPAI_EDGE_NAME;
  if (env.LOOPAI_BUNDLE) edge.bundle = env.LOOPAI_BUNDLE;
  if (Object.keys(edge).length) out.edge = edge;
  return out;
}

/**
 * `LOOPAI_API_KEYS`: comma-separated `role:key[:app+app]`; a key written `sha256:<hex>` is given hashed. The
 * keys are hashed here, so only digests live on in the settings.
 */
function parseKeyList(text: string): ApiKeySetting[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry, i) => {
      const [role, key, apps] = entry.split(':').reduce<string[]>((parts, piece, j) => {
        // `sha256:<hex>` holds a colon of its own
        if (j > 0 && parts[parts.length - 1] === 'sha256') parts[parts.length - 1] += `:${piece}`;
        else parts.push(piece);
        return parts;
      }, []);
      if (!key) throw new Error(`LOOPAI_API_KEYS entry ${i + 1}: write it as role:key[:app+app]`);
      const hashed = key.startsWith('sha256:') ? key.slice(7) : sha256(key);
      return {
        name: `env-${i + 1}`,
        role: role as ApiKeySetting['role'],
        key_sha256: hashed,
        ...(apps ? { apps: apps.split('+') } : {}),
      };
    });
}

function merge(base: Settings, over: Record<string, unknown>): Settings {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = (base as unknown as Record<string, unknown>)[k];
    const mergeable = (x: unknown) => !!x && typeof x === 'object' && !Array.isArray(x);
    out[k] = mergeable(b) && mergeable(v) ? { ...(b as object), ...(v as object) } : v;
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
  if (layered.role === 'edge' && !layered.cloud.url && !layered.edge.bundle) {
    throw new Error(
      'an edge needs its cloud: set LOOPAI_CLOUD_URL (or --cloud URL), and LOOPAI_CLOUD_KEY to an edge key of that cloud; or start it from a bundle (--bundle FILE)',
    );
  }
  return { ...layered, data_dir: path.resolve(layered.data_dir) };
}
