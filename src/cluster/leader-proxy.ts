import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { ApiError } from '../domain/errors';
import { send } from '../http/send';
import type { Logger } from '../logger';

/** Headers of one connection, not of the request: never passed on. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'upgrade', 'te', 'trailer']);

const passed = (headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders =>
  Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name)));

/**
 * On a worker that is not the leader: a request for anything but execute, health, ready and metrics is passed
 * whole to the leader over its local socket, so that every write, job and validation happens in one process.
 * The leader decides everything about it (auth included), exactly as if it had come in directly.
 */
export function leaderProxy(socketPath: string, logger: Logger) {
  const agent = new http.Agent({ keepAlive: true });
  return (req: IncomingMessage, res: ServerResponse): void => {
    const upstream = http.request(
      { socketPath, agent, method: req.method, path: req.url, headers: passed(req.headers) },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, passed(answer.headers));
        answer.pipe(res);
        answer.on('error', () => res.destroy());
      },
    );
    upstream.on('error', (err) => {
      logger.warn('the leader worker did not answer', { url: req.url, error: err.message });
      if (res.headersSent) return void res.destroy();
      const error = new ApiError('leader_unavailable', 'the leader worker is restarting; retry in a moment');
      send(res, error.status, error.toBody(), { connection: 'close' });
    });
    req.pipe(upstream);
  };
}
