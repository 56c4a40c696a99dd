/** Errors thrown by the client: one class per kind of failure, all subclasses of {@link LoopaiError}. */

import type { BatchItemError } from './types';

export interface LoopaiErrorInit {
  /** HTTP status; undefined when no answer came (timeout, connection failure) or the client itself gave up. */
  status?: number;
  /** The server's error code (`not_found`, `invalid_input`, …) or the client's (`timeout`, `connection_error`, …). */
  code: string;
  /** What the server said in `error.details` (e.g. the schema errors of a bad input). */
  details?: Record<string, unknown>;
  /** The request id, when the server or a proxy in front of it sent one (`X-Request-Id`). */
  requestId?: string;
  /** How long the server asked to wait before trying again (`Retry-After`), in milliseconds. */
  retryAfterMs?: number;
  cause?: unknown;
}

export class LoopaiError extends Error {
  override name = 'LoopaiError';
  readonly status: number | undefined;
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;
  readonly requestId: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(message: string, init: LoopaiErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.code = init.code;
    this.details = init.details;
    this.requestId = init.requestId;
    this.retryAfterMs = init.retryAfterMs;
  }
}

/** 401: no API key, or one the server does not know. */
export class AuthenticationError extends LoopaiError {
  override name = 'AuthenticationError';
}

/** 403: the key is known but may not do this (an execute key on an admin call, or on another app). */
export class PermissionError extends LoopaiError {
  override name = 'PermissionError';
}

/** 404: no such Loop App, version, job or route. */
export class NotFoundError extends LoopaiError {
  override name = 'NotFoundError';
}

/** 400, 409, 413, 415, 422: the request was refused as it is (bad input or settings, a conflict, too large…). */
export class ValidationError extends LoopaiError {
  override name = 'ValidationError';
}

/** 429: over the key's rate limit; `retryAfterMs` says when a call will be let through again. */
export class RateLimitError extends LoopaiError {
  override name = 'RateLimitError';
}

/** 503: the app cannot serve now (paused, not loaded, no version yet) or the server is not ready. */
export class UnavailableError extends LoopaiError {
  override name = 'UnavailableError';
}

/** Any other 5xx. */
export class ServerError extends LoopaiError {
  override name = 'ServerError';
}

/** No answer within the timeout (code `timeout`), or a job still not finished in `waitForJob` (`job_timeout`). */
export class TimeoutError extends LoopaiError {
  override name = 'TimeoutError';
}

/** The server could not be reached, or the connection broke before an answer came. */
export class ConnectionError extends LoopaiError {
  override name = 'ConnectionError';
}

type ErrorClass = new (message: string, init: LoopaiErrorInit) => LoopaiError;

const BY_STATUS: Record<number, ErrorClass> = {
  400: ValidationError,
  401: AuthenticationError,
  403: PermissionError,
  404: NotFoundError,
  409: ValidationError,
  413: ValidationError,
  415: ValidationError,
  422: ValidationError,
  429: RateLimitError,
  503: UnavailableError,
};

/** The error for a non-2xx answer; `body` is the response text, in Loopai's `{"error": {…}}` format or not. */
export function errorForResponse(
  status: number,
  body: string,
  context: { method: string; url: string; requestId?: string; retryAfterMs?: number },
): LoopaiError {
  const sent = parseErrorBody(body);
  const cls = BY_STATUS[status] ?? (status >= 500 ? ServerError : LoopaiError);
  const message =
    sent?.message ??
    `${context.method} ${context.url} answered ${status}${body ? `: ${body.slice(0, 200)}` : ''}`;
  return new cls(message, {
    status,
    code: sent?.code ?? `http_${status}`,
    details: sent?.details,
    requestId: context.requestId,
    retryAfterMs: context.retryAfterMs,
  });
}

/** The documented fields of an error body; a code this version of the SDK does not know yet is passed on as is. */
type ErrorBody = Partial<Omit<BatchItemError['error'], 'code'>> & { code?: string };

function parseErrorBody(body: string): ErrorBody | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return null; // a proxy's HTML page, an empty body…
  }
  const error = (parsed as { error?: unknown } | null)?.error;
  if (!error || typeof error !== 'object') return null;
  // Only the fields of the documented error body (the contract test compares BatchItemError with it).
  const { code, message, details } = error as { [K in keyof BatchItemError['error']]?: unknown };
  return {
    code: typeof code === 'string' ? code : undefined,
    message: typeof message === 'string' ? message : undefined,
    details: details && typeof details === 'object' ? (details as Record<string, unknown>) : undefined,
  };
}
