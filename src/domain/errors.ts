/**
 * The catalogue of every error code the server answers with: its HTTP status and what it means. An `ApiError`
 * can only be made with a code from here (the type says so), and its status comes from here, so one code always
 * has one status. The README lists the same table (a test compares them).
 */
export const ERROR_CODES = {
  // the request itself
  malformed_json: { status: 400, meaning: 'the body (or a JSON Lines line) is not valid JSON' },
  malformed_url: { status: 400, meaning: 'a path segment is not valid percent-encoding' },
  malformed_request: { status: 400, meaning: 'the request is not valid HTTP/1.1' },
  bad_request: { status: 400, meaning: 'the request cannot be served as sent (the message says why)' },
  too_deep: { status: 400, meaning: 'the body nests objects and arrays deeper than max_json_depth' },
  invalid_body: { status: 400, meaning: 'the body must be a JSON object' },
  missing_input: { status: 400, meaning: 'an execute body needs {"input": …}' },
  invalid_batch: { status: 400, meaning: 'a batch needs {"inputs": [ … ]} with 1 to 1,000 inputs' },
  invalid_input: { status: 400, meaning: "the input does not match the app's input_schema (errors listed)" },
  invalid_id: { status: 400, meaning: 'a Loop App id must match ^[a-z0-9][a-z0-9-]{1,62}$' },
  invalid_version: { status: 400, meaning: 'a version must look like v1, v2, …' },
  invalid_execution_id: { status: 400, meaning: 'an execution id is a UUID as execute answered it' },
  invalid_limit: { status: 400, meaning: '?limit= must be an integer from 1 to 1000' },
  invalid_filter: { status: 400, meaning: 'a query filter has a value it cannot take' },
  invalid_spec: { status: 400, meaning: 'the Loop App spec is invalid (errors listed)' },
  invalid_schema: {
    status: 400,
    meaning: 'input_schema or output_schema is not a usable JSON Schema, or too large',
  },
  invalid_settings: { status: 400, meaning: 'some settings are invalid (errors listed)' },
  invalid_examples: {
    status: 400,
    meaning: 'labelled rows are invalid (every bad row listed); nothing was stored',
  },
  invalid_upload: {
    status: 400,
    meaning: 'a program upload needs {"code": …, "files": {…}} with plain file names',
  },
  examples_required: { status: 400, meaning: 'generating a program needs labelled examples' },
  cannot_generate: {
    status: 400,
    meaning: 'no generator here can make a program for this output (the message says what would)',
  },
  missing_expected_output: { status: 400, meaning: 'feedback needs {"execution_id", "expected_output"}' },
  invalid_expected_output: { status: 400, meaning: "expected_output does not match the app's output_schema" },
  unauthorized: { status: 401, meaning: 'an API key is required, or the one sent is not valid' },
  forbidden: { status: 403, meaning: 'the key may not do this (role or app)' },
  not_found: { status: 404, meaning: 'no such route, Loop App, version, job or execution' },
  method_not_allowed: {
    status: 405,
    meaning: 'the path does not answer this method (Allow lists those it does)',
  },
  conflict: { status: 409, meaning: 'the request conflicts with the current state (the message says which)' },
  edge_read_only: {
    status: 409,
    meaning: 'an edge serves what its cloud made: send writes to the cloud (the message names it)',
  },
  execution_failed: {
    status: 409,
    meaning: 'feedback on an execution that failed: there is no answer to judge',
  },
  version_deprecated: {
    status: 409,
    meaning:
      'the version is deprecated: reinstate it, or send {"force": true} to activate or roll back to it',
  },
  archived: { status: 410, meaning: 'the Loop App is archived: its data is kept, it no longer executes' },
  body_too_large: { status: 413, meaning: 'the body is larger than max_body_bytes' },
  unsupported_media_type: {
    status: 415,
    meaning: "send JSON with 'Content-Type: application/json' (or x-ndjson)",
  },
  range_not_satisfiable: { status: 416, meaning: 'the requested byte range of a file cannot be served' },
  invalid_program: {
    status: 422,
    meaning: 'the program failed its check: it did not compile, load or answer within the schemas',
  },
  rate_limited: { status: 429, meaning: 'the key is over its rate limit (Retry-After says when to retry)' },
  headers_too_large: { status: 431, meaning: 'the request headers are larger than 16 KB' },
  // the server's side
  internal_error: { status: 500, meaning: 'a fault of the server; its log has details' },
  program_error: { status: 502, meaning: 'the program threw' },
  program_bad_answer: {
    status: 502,
    meaning: 'the program answered outside the contract ({result, confidence?, reason?})',
  },
  program_memory: {
    status: 502,
    meaning: 'the program ran out of its memory (memory_mb, or its sandbox process the child budget)',
  },
  program_crash: { status: 502, meaning: "the program's sandbox process died; it was restarted" },
  invalid_output: { status: 502, meaning: "the program's result violates output_schema (errors listed)" },
  result_too_large: { status: 502, meaning: 'the answer is larger than execution.max_result_bytes' },
  paused: { status: 503, meaning: 'the Loop App is paused (POST …/resume)' },
  leader_unavailable: {
    status: 503,
    meaning:
      'with several workers: the worker that answers everything but execute is restarting; retry shortly',
  },
  not_synced: {
    status: 503,
    meaning: 'the edge has neither synced from its cloud nor restored what it last synced',
  },
  no_active_version: { status: 503, meaning: 'the Loop App has no version that can serve yet' },
  load_error: { status: 503, meaning: 'the active program failed to load (load_error says why)' },
  program_timeout: { status: 504, meaning: 'the program took longer than execution.timeout_ms' },
  insufficient_storage: { status: 507, meaning: 'the disk is full: nothing of the request was written' },
} as const satisfies Record<string, { status: number; meaning: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An error that reaches a client as `{error: {code, message, details}}` with its code's HTTP status. */
export class ApiError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    /** Extra response headers, such as `Retry-After`. */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = ERROR_CODES[code].status;
  }

  toBody(): { error: { code: ErrorCode; message: string; details?: unknown } } {
    return { error: { code: this.code, message: this.message, details: this.details } };
  }
}

export const badRequest = (code: ErrorCode, message: string, details?: unknown) =>
  new ApiError(code, message, details);
export const notFound = (message: string) => new ApiError('not_found', message);
export const conflict = (message: string, details?: unknown) => new ApiError('conflict', message, details);
