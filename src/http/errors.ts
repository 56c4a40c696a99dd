import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ApiError } from '../domain/errors';
import type { Logger } from '../logger';

/** Unknown routes: a 404 in the same error format as everything else. */
export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new ApiError(404, 'not_found', `no route for ${req.method} ${req.path}`));
};

/** Every error leaves as `{error: {code, message, details}}`; only unexpected ones are logged as errors. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const apiError =
      err instanceof ApiError
        ? err
        : new ApiError(500, 'internal_error', 'internal error; the server log has details');
    if (!(err instanceof ApiError))
      logger.error('request failed', {
        method: req.method,
        path: req.path,
        error: String(err?.stack ?? err),
      });
    if (res.headersSent) return;
    res.status(apiError.status).json(apiError.toBody());
  };
}
