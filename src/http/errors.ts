import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ApiError } from '../domain/errors';
import type { Logger } from '../logger';

/** Unknown routes: a 404 in the same error format as everything else. */
export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new ApiError(404, 'not_found', `no route for ${req.method} ${req.path}`));
};

/** Any thrown error as the ApiError a client sees; only unexpected ones are logged, with their stack. */
export function toApiError(
  err: unknown,
  logger: Logger,
  request: { method?: string; url?: string },
): ApiError {
  if (err instanceof ApiError) return err;
  logger.error('request failed', { ...request, error: String((err as Error)?.stack ?? err) });
  return new ApiError(500, 'internal_error', 'internal error; the server log has details');
}

/** Every error leaves as `{error: {code, message, details}}`. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const apiError = toApiError(err, logger, { method: req.method, url: req.originalUrl });
    if (!res.headersSent)
      res
        .status(apiError.status)
        .set(apiError.headers ?? {})
        .json(apiError.toBody());
  };
}
