import type { Request } from 'express';
import { badRequest } from '../domain/errors';

/** `?limit=` from 1 to 1000 (default 50). */
export function limitOf(req: Request): number {
  const limit = req.query.limit === undefined ? 50 : Number(req.query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw badRequest('invalid_limit', 'limit must be an integer from 1 to 1000');
  }
  return limit;
}
