import type { IncomingMessage, ServerResponse } from 'node:http';
import { badRequest } from '../domain/errors';
import { MAX_BATCH, type Executor } from '../runtime/executor';
import type { Logger } from '../logger';
import type { Auth } from './auth';
import { readJson, type BodyLimits } from './body';
import { malformedUrl, toApiError } from './errors';
import { answerer, send } from './send';

export const EXECUTE_ROUTES = [
  { method: 'post', path: '/loop-apps/{id}/execute' },
  { method: 'post', path: '/loop-apps/{id}/execute/batch' },
];
const EXECUTE = /^\/loop-apps\/([^/?#]+)\/execute(\/batch)?\/?(?:\?.*)?$/;

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw malformedUrl(`'${segment.slice(0, 80)}'`);
  }
}

/**
 * `POST /loop-apps/{id}/execute` and `/execute/batch`, answered in front of the Express router: the hot path pays
 * for no generic routing or body parsing. Auth (checked before the body is read), body reading, errors and their
 * format are the ones every route uses.
 * Returns false for any other request, which then goes to Express.
 */
export function executeRoute(
  executor: Executor,
  auth: Auth,
  bodyLimits: BodyLimits,
  logger: Logger,
  /** Throws when an app may not be executed here yet (an edge that has not synced it). */
  gate?: (id: string) => void,
) {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== 'POST') return false;
    const match = EXECUTE.exec(req.url ?? '');
    if (!match) return false;
    void (async () => {
      try {
        const id = decodeSegment(match[1]);
        auth.check(req.headers, { role: 'execute', appId: id });
        gate?.(id);
        const body = (await readJson(req, bodyLimits)) as Record<string, unknown> | null;
        const answer = answerer();
        if (!body || typeof body !== 'object' || Array.isArray(body))
          throw badRequest('invalid_body', 'the body must be a JSON object');
        if (match[2]) {
          const { inputs } = body;
          if (!Array.isArray(inputs) || inputs.length === 0 || inputs.length > MAX_BATCH) {
            throw badRequest('invalid_batch', `send {"inputs": [ … ]} with 1 to ${MAX_BATCH} inputs`);
          }
          answer(res, 200, { results: await executor.executeBatch(id, inputs) });
        } else {
          if (body.input === undefined)
            throw badRequest('missing_input', 'send {"input": …} with the input for the program');
          answer(res, 200, await executor.execute(id, body.input));
        }
      } catch (err) {
        const apiError = toApiError(err, logger, { method: req.method, url: req.url });
        if (!res.headersSent) send(res, apiError.status, apiError.toBody(), apiError.headers);
      }
    })();
    return true;
  };
}
