import { ERROR_CODES } from './errors';
import { configSchema, settingsPatchSchema, specSchema } from './schemas';

/**
 * JSON Schemas of what the API answers (requests are validated with the schemas in ./schemas). The OpenAPI
 * document is built from both, and the tests check real responses against these.
 */

const nullable = (type: string) => ({ type: [type, 'null'] });
const integer = { type: 'integer', minimum: 0 };
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const list = (key: string, item: object) => ({
  type: 'object',
  required: [key],
  properties: { [key]: { type: 'array', items: item } },
});

export const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { enum: Object.keys(ERROR_CODES), description: 'from the catalogue of error codes (README)' },
        message: { type: 'string' },
        details: {},
      },
    },
  },
};

const evalReport = {
  type: 'object',
  required: ['accuracy', 'n', 'method'],
  properties: {
    accuracy: { type: 'number' },
    n: integer,
    method: { type: 'string' },
    per_class: { type: 'object' },
    confusion: { type: 'object' },
  },
};

export const appSchema = {
  type: 'object',
  required: [
    'loop_app_id',
    'task',
    'status',
    'current_version',
    'serving_version',
    'endpoint',
    'accuracy',
    'load_error',
  ],
  properties: {
    ...configSchema.properties,
    current_version: nullable('string'),
    serving_version: nullable('string'),
    endpoint: { type: 'string' },
    accuracy: nullable('number'),
    load_error: nullable('string'),
  },
};

export const versionSchema = {
  type: 'object',
  required: ['version', 'created_at', 'generator', 'status', 'sha256', 'files'],
  properties: {
    version: { type: 'string', pattern: '^v[1-9][0-9]*$' },
    created_at: { type: 'string' },
    generator: { type: 'string' },
    parent: nullable('string'),
    trained_on: integer,
    eval: evalReport,
    status: { enum: ['active', 'testing', 'canary', 'deprecated', 'rejected'] },
    sha256: { type: 'string' },
    files: { type: 'object', additionalProperties: { type: 'string' } },
    notes: { type: 'string' },
    compared_with: {
      type: 'object',
      properties: {
        version: { type: 'string' },
        accuracy: { type: 'number' },
        candidate_accuracy: { type: 'number' },
        n: integer,
      },
    },
    seen: {
      type: 'object',
      properties: { examples: integer, held_out: { type: 'boolean' } },
    },
    candidates: { type: 'array', items: { type: 'object' } },
  },
};

export const executeRequestSchema = {
  type: 'object',
  required: ['input'],
  properties: { input: { description: 'must match the Loop App input_schema' } },
};

export const executeResponseSchema = {
  type: 'object',
  required: ['execution_id', 'loop_app_id', 'version', 'output', 'confidence', 'latency_ms', 'sampled'],
  properties: {
    execution_id: { type: 'string', format: 'uuid' },
    loop_app_id: { type: 'string' },
    version: { type: 'string' },
    output: { description: 'matches the Loop App output_schema' },
    confidence: nullable('number'),
    latency_ms: { type: 'number' },
    sampled: { type: 'boolean' },
  },
};

export const batchRequestSchema = {
  type: 'object',
  required: ['inputs'],
  properties: { inputs: { type: 'array', minItems: 1, maxItems: 1000 } },
};

export const batchResponseSchema = list('results', { anyOf: [executeResponseSchema, errorSchema] });

export const executionSchema = {
  type: 'object',
  required: ['id', 'ts', 'version', 'input', 'output', 'confidence', 'latency_ms', 'status'],
  properties: {
    id: { type: 'string' },
    ts: { type: 'string' },
    version: { type: 'string' },
    input: {},
    input_hash: { type: 'string' },
    output: {},
    confidence: nullable('number'),
    latency_ms: { type: 'number' },
    status: { enum: ['ok', 'error'] },
    error: { type: 'object' },
    sampled: { type: 'boolean' },
    sample_rule: { enum: ['random', 'uncertainty'] },
  },
};

export const verdictSchema = {
  type: 'object',
  required: [
    'execution_id',
    'ts',
    'version',
    'input',
    'program_output',
    'oracle_output',
    'oracle',
    'correct',
  ],
  properties: {
    execution_id: { type: 'string' },
    ts: { type: 'string' },
    version: { type: 'string' },
    input: {},
    program_output: {},
    oracle_output: {},
    oracle: { enum: ['llm', 'http', 'human'] },
    correct: { type: 'boolean' },
    validated_at: { type: 'string' },
  },
};

export const feedbackRequestSchema = {
  type: 'object',
  required: ['execution_id', 'expected_output'],
  properties: {
    execution_id: { type: 'string', format: 'uuid' },
    expected_output: { description: 'must match the Loop App output_schema' },
  },
};

export const feedbackResponseSchema = {
  type: 'object',
  required: ['execution_id', 'version', 'program_output', 'expected_output', 'correct'],
  properties: {
    execution_id: { type: 'string' },
    version: { type: 'string' },
    program_output: {},
    expected_output: {},
    correct: { type: 'boolean' },
  },
};

export const reviewQueueSchema = {
  type: 'object',
  required: ['pending', 'total'],
  properties: {
    pending: {
      type: 'array',
      items: {
        type: 'object',
        required: ['execution_id', 'ts', 'version', 'input', 'output'],
        properties: {
          execution_id: { type: 'string' },
          ts: { type: 'string' },
          version: { type: 'string' },
          input: {},
          output: {},
          confidence: nullable('number'),
          sample_rule: { enum: ['random', 'uncertainty'] },
          attempts: integer,
          last_error: { type: 'string' },
        },
      },
    },
    total: integer,
  },
};

const interval = {
  anyOf: [{ type: 'null' }, { type: 'array', items: { type: 'number' }, minItems: 2, maxItems: 2 }],
};

export const analyticsSchema = {
  type: 'object',
  required: ['loop_app_id', 'days', 'summary'],
  properties: {
    loop_app_id: { type: 'string' },
    days: {
      type: 'array',
      items: {
        type: 'object',
        required: [
          'day',
          'version',
          'executions',
          'errors',
          'latency_ms',
          'samples',
          'validations',
          'accuracy',
        ],
        properties: {
          day: { type: 'string' },
          version: { type: 'string' },
          executions: integer,
          errors: integer,
          latency_ms: {
            type: 'object',
            properties: { p50: nullable('number'), p95: nullable('number'), p99: nullable('number') },
          },
          samples: integer,
          validations: integer,
          correct: integer,
          accuracy: nullable('number'),
          accuracy_ci: interval,
          oracle_calls: integer,
          oracle_calls_avoided: integer,
          estimated_savings: { type: 'number' },
        },
      },
    },
    summary: {
      type: 'object',
      required: ['executions', 'oracle_calls', 'accuracy', 'pending'],
      properties: {
        active_version: nullable('string'),
        executions: integer,
        errors: integer,
        samples: integer,
        validations: integer,
        oracle_calls: integer,
        oracle_share: nullable('number'),
        estimated_savings: { type: 'number' },
        accuracy: nullable('number'),
        accuracy_ci: interval,
        accuracy_window: integer,
        pending: integer,
        dropped: integer,
      },
    },
  },
};

export const eventSchema = {
  type: 'object',
  required: ['ts', 'type', 'loop_app_id', 'message'],
  properties: {
    ts: { type: 'string' },
    type: { type: 'string' },
    loop_app_id: { type: 'string' },
    version: { type: 'string' },
    message: { type: 'string' },
  },
};

export const validationReportSchema = {
  type: 'object',
  required: ['ingested', 'validated', 'correct', 'failed', 'pending', 'oracle_calls', 'capped', 'errors'],
  properties: {
    ingested: integer,
    validated: integer,
    correct: integer,
    failed: integer,
    pending: integer,
    oracle_calls: integer,
    capped: { type: 'boolean' },
    errors: { type: 'array', items: { type: 'string' } },
  },
};

export const jobAcceptedSchema = {
  type: 'object',
  required: ['job_id', 'loop_app_id', 'state', 'job_url'],
  properties: {
    job_id: { type: 'string' },
    loop_app_id: { type: 'string' },
    state: { enum: ['queued', 'running', 'succeeded', 'failed'] },
    job_url: { type: 'string' },
  },
};

export const jobSchema = {
  type: 'object',
  required: [
    'job_id',
    'type',
    'loop_app_id',
    'state',
    'progress',
    'result',
    'error',
    'created_at',
    'updated_at',
  ],
  properties: {
    job_id: { type: 'string' },
    type: { enum: ['create', 'improve'] },
    loop_app_id: { type: 'string' },
    state: { enum: ['queued', 'running', 'succeeded', 'failed'] },
    progress: { type: 'array', items: { type: 'string' } },
    result: {},
    error: nullable('string'),
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
  },
};

const labelledRow = { type: 'object', required: ['input', 'output'], properties: { input: {}, output: {} } };

export const examplesRequestSchema = {
  anyOf: [{ type: 'array', items: labelledRow, minItems: 1 }, list('examples', labelledRow)],
};

export const programUploadSchema = {
  type: 'object',
  required: ['code'],
  properties: {
    code: {
      type: 'string',
      description: 'program.js: defines function execute(input) → {result, confidence?}',
    },
    files: { type: 'object', additionalProperties: { type: 'string' } },
  },
};

export const createRequestSchema = {
  allOf: [
    specSchema,
    {
      type: 'object',
      properties: {
        ...settingsPatchSchema.properties,
        examples: { type: 'array', items: labelledRow },
        program: programUploadSchema,
      },
    },
  ],
};

/** Every named schema, for `components.schemas` of the OpenAPI document. */
export const apiSchemas = {
  Error: errorSchema,
  LoopApp: appSchema,
  LoopAppList: {
    type: 'object',
    required: ['loop_apps', 'load_errors'],
    properties: {
      loop_apps: { type: 'array', items: ref('LoopApp') },
      load_errors: { type: 'object', additionalProperties: { type: 'string' } },
    },
  },
  CreateRequest: createRequestSchema,
  Settings: settingsPatchSchema,
  Version: versionSchema,
  VersionList: list('versions', ref('Version')),
  ProgramUpload: programUploadSchema,
  ExecuteRequest: executeRequestSchema,
  ExecuteResponse: executeResponseSchema,
  BatchRequest: batchRequestSchema,
  BatchResponse: batchResponseSchema,
  ExamplesRequest: examplesRequestSchema,
  ExamplesAdded: {
    type: 'object',
    required: ['added', 'total'],
    properties: { added: integer, total: integer },
  },
  ExecutionList: list('executions', executionSchema),
  FeedbackRequest: feedbackRequestSchema,
  FeedbackResponse: feedbackResponseSchema,
  ReviewQueue: reviewQueueSchema,
  ValidationList: list('validations', verdictSchema),
  Analytics: analyticsSchema,
  EventList: list('events', eventSchema),
  ValidationReport: validationReportSchema,
  JobAccepted: jobAcceptedSchema,
  Job: jobSchema,
  JobList: list('jobs', ref('Job')),
};
