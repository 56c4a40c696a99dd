/** The operation table of the OpenAPI document: every endpoint, its schemas, and which roles answer it. */
import type { apiSchemas } from '../domain/api-schemas';
import type { Role } from '../settings';

export type SchemaName = keyof typeof apiSchemas;

export interface Operation {
  summary: string;
  tag: string;
  /** The request body's schema. */
  body?: SchemaName;
  /** The body may be left out. */
  bodyOptional?: boolean;
  /** Media types the body may also be sent as, streamed (besides JSON). */
  streamedAs?: string[];
  /** Success answers: status → schema (or a media type for non-JSON answers). */
  ok: Record<number, SchemaName | { mediaType: string }>;
  /** Query parameters. */
  query?: Record<string, { schema: object; description: string }>;
  /** Open without a key (probes, documentation, dashboard). */
  open?: boolean;
  /** Role needed when keys are configured: `execute` for execute, else `admin`. */
  execute?: boolean;
  /** Answered only by servers of these roles (see `role` in the settings); all roles when left out. */
  roles?: Role[];
}

const limit = {
  limit: {
    schema: { type: 'integer', minimum: 1, maximum: 1000, default: 50 },
    description: 'how many, newest first',
  },
};

/** Every endpoint of the API. The tests compare this table with the routes the server really has. */
export const OPERATIONS: Record<string, Record<string, Operation>> = {
  '/health': {
    get: {
      summary: 'Liveness probe',
      tag: 'Server',
      ok: { 200: { mediaType: 'application/json' } },
      open: true,
    },
  },
  '/ready': {
    get: {
      summary: 'Readiness probe: 200 once every app is loaded, 503 before',
      tag: 'Server',
      ok: { 200: { mediaType: 'application/json' } },
      open: true,
    },
  },
  '/metrics': {
    get: { summary: 'Prometheus metrics', tag: 'Server', ok: { 200: { mediaType: 'text/plain' } } },
  },
  '/openapi.json': {
    get: {
      summary: 'This document',
      tag: 'Server',
      ok: { 200: { mediaType: 'application/json' } },
      open: true,
    },
  },
  '/docs': {
    get: {
      summary: 'Browsable API reference',
      tag: 'Server',
      ok: { 200: { mediaType: 'text/html' } },
      open: true,
    },
  },
  '/': {
    get: { summary: 'Web dashboard', tag: 'Server', ok: { 200: { mediaType: 'text/html' } }, open: true },
  },
  '/loop-apps': {
    get: { summary: 'List Loop Apps', tag: 'Loop Apps', ok: { 200: 'LoopAppList' } },
    post: {
      summary: 'Create a Loop App: 201 with a hand-written program, 202 with a generation job from examples',
      tag: 'Loop Apps',
      body: 'CreateRequest',
      ok: { 201: 'LoopApp', 202: 'JobAccepted' },
    },
  },
  '/loop-apps/{id}': {
    get: {
      summary: 'One Loop App, with its current version and accuracy',
      tag: 'Loop Apps',
      ok: { 200: 'LoopApp' },
    },
    patch: {
      summary: 'Change settings (written to config.yaml)',
      tag: 'Loop Apps',
      body: 'Settings',
      ok: { 200: 'LoopApp' },
    },
  },
  '/loop-apps/{id}/pause': {
    post: { summary: 'Stop executing (503 until resumed)', tag: 'Loop Apps', ok: { 200: 'LoopApp' } },
  },
  '/loop-apps/{id}/resume': { post: { summary: 'Execute again', tag: 'Loop Apps', ok: { 200: 'LoopApp' } } },
  '/loop-apps/{id}/archive': {
    post: { summary: 'Archive: data kept, no executions (410)', tag: 'Loop Apps', ok: { 200: 'LoopApp' } },
  },
  '/loop-apps/{id}/execute': {
    post: {
      summary: 'Run the program on one input',
      tag: 'Execute',
      body: 'ExecuteRequest',
      ok: { 200: 'ExecuteResponse' },
      execute: true,
    },
  },
  '/loop-apps/{id}/execute/batch': {
    post: {
      summary: 'Run the program on up to 1000 inputs',
      tag: 'Execute',
      body: 'BatchRequest',
      ok: { 200: 'BatchResponse' },
      execute: true,
    },
  },
  '/loop-apps/{id}/examples': {
    post: {
      summary:
        'Add labelled examples, all or none: a JSON body (up to max_body_bytes), or streamed JSON Lines (application/x-ndjson) or CSV with a header row (text/csv; ?input=a,b&output=label) up to max_examples_bytes',
      tag: 'Loop Apps',
      body: 'ExamplesRequest',
      streamedAs: ['application/x-ndjson', 'text/csv'],
      ok: { 201: 'ExamplesAdded' },
      query: {
        input: { schema: { type: 'string' }, description: 'CSV: the input columns (a.b for a nested field)' },
        output: {
          schema: { type: 'string' },
          description: 'CSV: the output column, or a column per field of an object output (a,b)',
        },
      },
    },
    get: {
      summary: 'Export the labelled examples as stored (JSON Lines, streamed)',
      tag: 'Loop Apps',
      ok: { 200: { mediaType: 'application/x-ndjson' } },
    },
  },
  '/loop-apps/{id}/executions': {
    get: {
      summary: 'Recent executions, newest first',
      tag: 'Loop Apps',
      ok: { 200: 'ExecutionList' },
      query: limit,
    },
  },
  '/loop-apps/{id}/versions': {
    get: { summary: 'Program versions', tag: 'Versions', ok: { 200: 'VersionList' } },
    post: {
      summary: 'Upload a program version (201), or {"regenerate": true} to make one (202 job)',
      tag: 'Versions',
      body: 'ProgramUpload',
      ok: { 201: 'Version', 202: 'JobAccepted' },
    },
  },
  '/loop-apps/{id}/versions/{version}': {
    get: { summary: 'One version with its scores', tag: 'Versions', ok: { 200: 'Version' } },
  },
  '/loop-apps/{id}/versions/{version}/activate': {
    post: {
      summary: 'Check the version, then make it active (a deprecated one only with force)',
      tag: 'Versions',
      body: 'ForceRequest',
      bodyOptional: true,
      ok: { 200: 'Version' },
    },
  },
  '/loop-apps/{id}/versions/{version}/deprecate': {
    post: {
      summary: 'Mark a version deprecated: not activated or rolled back to without force',
      tag: 'Versions',
      body: 'DeprecateRequest',
      bodyOptional: true,
      ok: { 200: 'Version' },
    },
  },
  '/loop-apps/{id}/versions/{version}/reinstate': {
    post: { summary: 'Take a deprecation back', tag: 'Versions', ok: { 200: 'Version' } },
  },
  '/loop-apps/{id}/rollback': {
    post: {
      summary: 'Activate the previously active version (a deprecated one only with force)',
      tag: 'Versions',
      body: 'ForceRequest',
      bodyOptional: true,
      ok: { 200: 'Version' },
    },
  },
  '/loop-apps/{id}/feedback': {
    post: {
      summary:
        'The right output for an execution (sampled or not): 201 with the verdict; on an edge 202, sent on to the cloud, which judges it',
      tag: 'Improvement',
      body: 'FeedbackRequest',
      ok: { 201: 'FeedbackResponse', 202: { mediaType: 'application/json' } },
    },
  },
  '/loop-apps/{id}/review-queue': {
    get: {
      summary: 'Samples waiting for a verdict (with oracle human: for a person)',
      tag: 'Improvement',
      ok: { 200: 'ReviewQueue' },
      query: limit,
    },
  },
  '/loop-apps/{id}/validations': {
    get: {
      summary: 'Oracle verdicts, newest first',
      tag: 'Improvement',
      ok: { 200: 'ValidationList' },
      query: { ...limit, correct: { schema: { type: 'boolean' }, description: 'false: only disagreements' } },
    },
  },
  '/loop-apps/{id}/analytics': {
    get: {
      summary: 'Per day and version: executions, latency, accuracy, oracle calls, savings',
      tag: 'Improvement',
      ok: { 200: 'Analytics' },
    },
  },
  '/loop-apps/{id}/events': {
    get: {
      summary: 'Improvement decisions, newest first',
      tag: 'Improvement',
      ok: { 200: 'EventList' },
      query: limit,
    },
  },
  '/loop-apps/{id}/validate': {
    post: { summary: 'Run a validation pass now', tag: 'Improvement', ok: { 200: 'ValidationReport' } },
  },
  '/loop-apps/{id}/improve': {
    post: {
      summary: 'Regenerate now (job); the promotion policy decides',
      tag: 'Improvement',
      ok: { 202: 'JobAccepted' },
    },
  },
  '/jobs': {
    get: {
      summary: 'Jobs (kept in memory)',
      tag: 'Jobs',
      ok: { 200: 'JobList' },
      query: { loop_app_id: { schema: { type: 'string' }, description: 'only this app' } },
    },
  },
  '/jobs/{id}': { get: { summary: 'One job: state, progress, result', tag: 'Jobs', ok: { 200: 'Job' } } },
  '/shared/artifacts': {
    get: {
      summary: 'Every shared artifact, with the retained versions that pin it',
      tag: 'Shared artifacts',
      ok: { 200: 'SharedArtifactList' },
    },
    post: {
      summary:
        'Publishes a shared artifact whole and immutable: 201; the same content again 200; other content under the same name and version 409',
      tag: 'Shared artifacts',
      body: 'SharedArtifactPublish',
      ok: { 201: 'SharedArtifact', 200: 'SharedArtifact' },
    },
  },
  '/shared/artifacts/verify': {
    post: {
      summary: "Reads every shared artifact's files and recomputes every hash, as a load would",
      tag: 'Shared artifacts',
      ok: { 200: 'SharedVerifyReport' },
    },
  },
  '/shared/artifacts/{type}/{name}/{version}': {
    get: {
      summary: 'One shared artifact: files, hash, and the retained versions that pin it',
      tag: 'Shared artifacts',
      ok: { 200: 'SharedArtifact' },
    },
    delete: {
      summary: 'Deletes a shared artifact; 409 while any retained version pins it',
      tag: 'Shared artifacts',
      ok: { 204: { mediaType: 'application/json' } },
    },
  },
  '/edge/v1/manifest': {
    get: {
      summary:
        "A cloud's manifest for its edges: every app the key may see, its config, serving and canary versions, and their files by sha256 and size. With If-None-Match and ?wait=N it answers when it changes, or 304 after N s",
      tag: 'Edge',
      ok: { 200: { mediaType: 'application/json' } },
      query: {
        wait: {
          schema: { type: 'integer', minimum: 0, maximum: 60, default: 0 },
          description: 'seconds to wait for a change from the manifest named by If-None-Match',
        },
      },
      roles: ['cloud'],
    },
  },
  '/edge/v1/blobs/{sha256}': {
    get: {
      summary: 'A file a manifest names, by the hex sha256 of its bytes (needs an edge or admin key)',
      tag: 'Edge',
      ok: { 200: { mediaType: 'application/octet-stream' } },
      roles: ['cloud'],
    },
  },
  '/edge/v1/telemetry': {
    post: {
      summary:
        "An edge's telemetry batch: samples, day counters and feedback; each sample and feedback is kept once however often it is sent",
      tag: 'Edge',
      ok: { 200: { mediaType: 'application/json' } },
      roles: ['cloud'],
    },
  },
  '/bundle': {
    get: {
      summary:
        'An offline bundle of some Loop Apps (?apps=a,b): a tar.gz of the edge manifest and the files it names, for an edge with no link to its cloud',
      tag: 'Edge',
      ok: { 200: { mediaType: 'application/gzip' } },
      query: { apps: { schema: { type: 'string' }, description: 'the Loop Apps, comma-separated' } },
      roles: ['all', 'cloud'],
    },
    post: {
      summary:
        'Applies an offline bundle on an edge (application/gzip, up to max_examples_bytes), every file checked',
      tag: 'Edge',
      ok: { 200: { mediaType: 'application/json' } },
      roles: ['edge'],
    },
  },
  '/sync': {
    get: {
      summary: "An edge's sync with its cloud: state, the cloud, when it last synced, and the last error",
      tag: 'Edge',
      ok: { 200: { mediaType: 'application/json' } },
      roles: ['edge'],
    },
  },
};
