import { ERROR_CODES } from './errors';
import {
  analyticsSchema,
  eventSchema,
  feedbackRequestSchema,
  feedbackResponseSchema,
  reviewQueueSchema,
  validationReportSchema,
  verdictSchema,
} from './api-schemas-improvement';
import { configSchema, settingsPatchSchema, specSchema } from './schemas';
import { SHARED_NAME, SHARED_TYPES } from './ids';
import { integer, list, nullable, ref } from './schema-helpers';

/**
 * JSON Schemas of what the API answers (requests are validated with the schemas in ./schemas). The OpenAPI
 * document is built from both, and the tests check real responses against these.
 */

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

const wilsonInterval = {
  type: 'object',
  required: ['low', 'high', 'level'],
  properties: { low: { type: 'number' }, high: { type: 'number' }, level: { type: 'number' } },
};

const scoreSummary = {
  type: 'object',
  required: ['accuracy', 'n', 'method'],
  properties: {
    accuracy: { type: 'number' },
    n: integer,
    method: { type: 'string' },
    interval: { ...wilsonInterval, description: '95 % Wilson interval of the accuracy' },
  },
};

const evalReport = {
  ...scoreSummary,
  properties: {
    ...scoreSummary.properties,
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
    'active_version',
    'current_version',
    'serving_version',
    'endpoint',
    'accuracy',
    'load_error',
  ],
  properties: {
    ...configSchema.properties,
    active_version: { ...nullable('string'), description: 'the version the active link names' },
    current_version: { ...nullable('string'), deprecated: true, description: 'old name of active_version' },
    serving_version: nullable('string'),
    endpoint: { type: 'string' },
    accuracy: nullable('number'),
    score: {
      anyOf: [scoreSummary, { type: 'null' }],
      description:
        "the serving version's score: accuracy, its interval, how it was measured, on how many rows",
    },
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
    status: { enum: ['active', 'testing', 'canary', 'retired', 'deprecated', 'rejected'] },
    deprecated: {
      type: 'object',
      required: ['at', 'reason'],
      properties: { at: { type: 'string' }, reason: nullable('string') },
    },
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
    template: {
      type: 'object',
      description: "program.js is this fixed template (the learner's); what it learned is in the other files",
      required: ['name', 'sha256'],
      properties: { name: { type: 'string' }, sha256: { type: 'string' } },
    },
    runs: {
      type: 'object',
      description:
        'GET of one version only: where it runs (in-process: a learner-made model scored in the server; sandbox: any other program), why, and whether it is loaded now',
      required: ['path', 'why', 'loaded'],
      properties: {
        path: { enum: ['in-process', 'sandbox'] },
        why: { type: 'string' },
        loaded: { type: 'boolean' },
      },
    },
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

const sharedRef = {
  type: { enum: [...SHARED_TYPES] },
  name: { type: 'string', pattern: SHARED_NAME.source },
  version: { type: 'string', pattern: '^v[1-9][0-9]{0,8}$' },
};

export const sharedArtifactSchema = {
  type: 'object',
  required: ['type', 'name', 'version', 'hash', 'files', 'published_at', 'dependents'],
  properties: {
    ...sharedRef,
    hash: {
      type: 'string',
      description:
        'sha256: over the sha256sum lines of its files in name order (LC_ALL=C ls | xargs sha256sum)',
    },
    files: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        required: ['sha256', 'size'],
        properties: { sha256: { type: 'string' }, size: integer },
      },
    },
    published_at: { type: 'string' },
    description: { type: 'string' },
    dependents: {
      type: 'array',
      description: 'the retained versions whose dependencies.yaml pins it',
      items: {
        type: 'object',
        required: ['loop_app_id', 'version'],
        properties: { loop_app_id: { type: 'string' }, version: { type: 'string' } },
      },
    },
  },
};

export const sharedVerifyReportSchema = {
  type: 'object',
  required: ['artifacts'],
  properties: {
    artifacts: {
      type: 'array',
      items: {
        type: 'object',
        required: ['type', 'name', 'version', 'hash', 'error'],
        properties: {
          ...sharedRef,
          hash: nullable('string'),
          error: { ...nullable('string'), description: 'what is wrong with it (null: every file verified)' },
        },
      },
    },
  },
};

export const sharedPublishSchema = {
  type: 'object',
  required: ['type', 'name', 'version', 'files'],
  properties: {
    ...sharedRef,
    files: {
      type: 'object',
      minProperties: 1,
      description: 'file name → text (binary as base64 text)',
      additionalProperties: { type: 'string' },
    },
    description: { type: 'string', maxLength: 2000 },
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
        generate: {
          type: 'boolean',
          description:
            'false: create the app without a version yet (stream examples to /examples, then regenerate)',
        },
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
  ForceRequest: {
    type: 'object',
    properties: {
      force: { type: 'boolean', description: 'true: go ahead even if the version is deprecated' },
    },
  },
  DeprecateRequest: {
    type: 'object',
    properties: { reason: { type: 'string', maxLength: 1000, description: 'why, shown with the version' } },
  },
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
  SharedArtifact: sharedArtifactSchema,
  SharedArtifactList: list('artifacts', ref('SharedArtifact')),
  SharedArtifactPublish: sharedPublishSchema,
  SharedVerifyReport: sharedVerifyReportSchema,
};
