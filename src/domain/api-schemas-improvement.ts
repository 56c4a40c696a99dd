import { integer, nullable } from './schema-helpers';

/** JSON Schemas of what the validation and improvement routes answer (feedback, verdicts, analytics, events). */

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
  required: ['loop_app_id', 'days', 'summary', 'edges'],
  properties: {
    loop_app_id: { type: 'string' },
    edges: {
      type: 'object',
      description:
        "At a cloud: each edge's totals as it last sent them (days and summary count every edge and the cloud together)",
      additionalProperties: {
        type: 'object',
        required: ['executions', 'errors', 'samples'],
        properties: { executions: integer, errors: integer, samples: integer },
      },
    },
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
      required: ['executions', 'oracle_calls', 'accuracy', 'pending', 'serving_version', 'validated_at'],
      properties: {
        serving_version: nullable('string'),
        active_version: {
          ...nullable('string'),
          deprecated: true,
          description: 'old name of serving_version',
        },
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
        validated_at: { ...nullable('string'), description: 'when accuracy and savings were last computed' },
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
