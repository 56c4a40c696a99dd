import fs from 'node:fs';
import type http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** Routes every worker answers itself; any other request goes to the leader. */
const LOCAL = /^\/(?:loop-apps\/[^/?#]+\/execute(?:\/batch)?\/?|health|ready|metrics)(?:\?.*)?$/;

/** A worker's handler: its own for execute, health, ready and metrics, the leader's for the rest. */
export function workerHandler(own: Handler, leader: Handler): Handler {
  return (req, res) => (LOCAL.test(req.url ?? '') ? own(req, res) : leader(req, res));
}

export function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
}

/** Listens on a Unix socket, readable by this user only (a leftover socket of an earlier run is replaced). */
export async function listenOnSocket(server: http.Server, socketPath: string): Promise<void> {
  fs.rmSync(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  fs.chmodSync(socketPath, 0o600);
}

/** How often a closing server closes the connections that went idle since (their requests finished). */
const IDLE_SWEEP_MS = 50;

/**
 * Stops accepting, closes keep-alive connections as they go idle, and resolves when in-flight requests have
 * finished. (`close()` closes only those idle at the time: a client that keeps its connection open after a
 * request that was in flight, such as an edge's long-poll, would hold the close up for the keep-alive timeout.)
 */
export function closeServer(server: http.Server): Promise<void> {
  const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
  const stopped = new Promise<void>((resolve) =>
    server.close(() => {
      clearInterval(sweep);
      resolve();
    }),
  );
  server.closeIdleConnections();
  return stopped;
}
