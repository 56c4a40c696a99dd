import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ApiError } from '../domain/errors';
import type { Logger } from '../logger';

/** Unknown routes: a 404 in the same error format as everything else. */
export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new ApiError('not_found', `no route for ${req.method} ${req.path}`));
};

/** Any thrown error as the ApiError a client sees; only unexpected ones are logged, with their stack. */
export function toApiError(
  err: unknown,
  logger: Logger,
  request: { method?: string; url?: string },
): ApiError {
  if (err instanceof ApiError) return err;
  const clientError = fromHttpError(err);
  if (clientError) return clientError;
  logger.error('request failed', { ...request, error: String((err as Error)?.stack ?? err) });
  return new ApiError('internal_error', 'internal error; the server log has details');
}

/** A path segment that is not valid percent-encoding (`%`, `%zz`, `%ff`): the client's mistake, not ours. */
export const malformedUrl = (detail: string) =>
  new ApiError('malformed_url', `the URL is not valid percent-encoding (${detail}); encode '%' as %25`);

/**
 * Errors Express and its static file server raise for a bad request carry a 4xx `status` (http-errors): the
 * router's "Failed to decode param", a range that cannot be served, a path that leaves the folder.
 */
function fromHttpError(err: unknown): ApiError | null {
  const { status, message } = (err ?? {}) as { status?: unknown; message?: unknown };
  if (typeof status !== 'number' || status < 400 || status > 499) return null;
  const text = typeof message === 'string' ? message : 'bad request';
  if (status === 400 && /decode/i.test(text)) return malformedUrl(text);
  if (status === 404) return new ApiError('not_found', text);
  if (status === 416) return new ApiError('range_not_satisfiable', text);
  return new ApiError('bad_request', text);
}

/** Every error leaves as `{error: {code, message, details}}`. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const apiError = toApiError(err, logger, { method: req.method, url: req.originalUrl });
    if (res.headersSent) return;
    // refused before its body was read whole (too large, a bad row mid-stream): the connection cannot be reused
    if (!req.complete) res.set('Connection', 'close');
    res
      .status(apiError.status)
      .set(apiError.headers ?? {})
      .json(apiError.toBody());
  };
}
