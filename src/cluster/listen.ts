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

/** Stops accepting, closes idle keep-alive connections, and resolves when in-flight requests have finished. */
export function closeServer(server: http.Server): Promise<void> {
  const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  return stopped;
}
