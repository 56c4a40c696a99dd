import { Router } from 'express';

/**
 * Every router of the server. Paths match with their exact case, as the execute path's own matcher does: one
 * way to read a path, so the route that decides access is the route that runs (Express matches case-insensitively
 * by default, which once let `/LOOP-APPS` past a case-sensitive key check).
 */
export const caseSensitiveRouter = (): Router => Router({ caseSensitive: true });
