import cluster, { type Worker } from 'node:cluster';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AggregatorRegistry } from 'prom-client';
import type { Logger } from '../logger';
import { LEADER, WORKER_ENV, type FromWorker, type ToWorker } from './messages';

/** A worker that dies this soon after it started counts as a crash loop: its restarts back off. */
const STABLE_MS = 5_000;
const MAX_BACKOFF_MS = 10_000;

/** A broadcast on its way: the worker that sent it, its id there, and the workers yet to answer. */
interface Relay {
  from: Worker;
  id: number;
  waiting: Set<number>;
}

/**
 * `workers: N`: the primary holds no apps and serves nothing itself. It starts N server processes on one port
 * (Node's cluster shares it), relays messages between them, adds up their metrics, replaces a worker that dies
 * (same number: worker 1 stays the leader), and on SIGTERM/SIGINT stops them all, each draining and flushing.
 */
export function runPrimary(workers: number, logger: Logger): Promise<void> {
  // in a folder of this user's only (mkdtemp makes it 0700): no other user can reach the leader through it
  const socketDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loopai-'));
  const leaderSocket = path.join(socketDir, 'leader.sock');
  const aggregator = new AggregatorRegistry();
  const byIndex = new Map<number, Worker>();
  const indexOf = new Map<Worker, number>();
  const relays = new Map<number, Relay>();
  let relayId = 0;
  let stopping = false;

  // a worker can die between the check and the write: the write's error is its exit's business, not a crash here
  const send = (worker: Worker, msg: ToWorker) => {
    if (worker.isConnected()) worker.send(msg, undefined, () => undefined);
  };
  const answered = (relay: number, index: number) => {
    const r = relays.get(relay);
    if (!r || !r.waiting.delete(index) || r.waiting.size) return;
    relays.delete(relay);
    send(r.from, { loopai: 'done', id: r.id });
  };

  const start = (index: number, backoff = 0) => {
    const worker = cluster.fork({
      [WORKER_ENV.index]: String(index),
      [WORKER_ENV.leaderSocket]: leaderSocket,
    });
    const started = Date.now();
    byIndex.set(index, worker);
    indexOf.set(worker, index);
    worker.on('message', (msg: FromWorker) => void onMessage(worker, index, msg));
    worker.on('error', (err) => logger.warn('worker channel error', { worker: index, error: err.message }));
    worker.on('exit', (code, signal) => {
      indexOf.delete(worker);
      if (byIndex.get(index) === worker) byIndex.delete(index);
      for (const id of relays.keys()) answered(id, index); // it will not answer: the others need not wait for it
      if (stopping) return;
      const next = Date.now() - started < STABLE_MS ? Math.min(MAX_BACKOFF_MS, backoff * 2 || 250) : 0;
      logger.error('worker died; starting a new one', { worker: index, code, signal, in_ms: next });
      setTimeout(() => !stopping && start(index, next), next);
    });
  };

  async function onMessage(worker: Worker, index: number, msg: FromWorker): Promise<void> {
    if (msg?.loopai === 'broadcast') {
      const id = ++relayId;
      const others = [...byIndex].filter(([i, w]) => i !== index && w.isConnected());
      relays.set(id, { from: worker, id: msg.id, waiting: new Set(others.map(([i]) => i)) });
      for (const [, w] of others) send(w, { loopai: 'event', id, event: msg.event });
      if (!others.length) {
        relays.delete(id);
        send(worker, { loopai: 'done', id: msg.id });
      }
    } else if (msg?.loopai === 'ack') {
      answered(msg.id, index);
    } else if (msg?.loopai === 'to-leader') {
      const leader = byIndex.get(LEADER);
      if (leader) send(leader, { loopai: 'event', id: null, event: msg.event });
    } else if (msg?.loopai === 'metrics') {
      const text = await aggregator
        .clusterMetrics()
        .catch((err: Error) => `# metrics failed: ${err.message}\n`);
      send(worker, { loopai: 'metrics', id: msg.id, text });
    }
  }

  // Every worker accepts on the one shared socket, rather than the primary handing each connection over: a
  // connection handed to a worker at the moment it is killed would hang, while a queued one here waits for the
  // worker that is left. A killed worker's own open connections are reset, never left hanging.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  for (let i = 1; i <= workers; i++) start(i);
  logger.info('loopai cluster started', { workers });

  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      logger.info('shutting down the workers', { signal });
      for (const worker of indexOf.keys()) worker.process.kill('SIGTERM');
      const check = () => {
        if (indexOf.size) return;
        fs.rmSync(socketDir, { recursive: true, force: true });
        resolve();
      };
      cluster.on('exit', check);
      check();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
