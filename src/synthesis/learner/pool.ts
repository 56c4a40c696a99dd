import os from 'node:os';
import { Worker } from 'node:worker_threads';
import {
  decide,
  logisticFit,
  primal,
  shuffle,
  solveColumn,
  type SolveResult,
  type SolverData,
  type SolveTask,
} from './solver';

/** What a solver thread runs: the solver's own source and a message loop (no file to find at run time). */
const WORKER_SOURCE = `'use strict';
const { parentPort } = require('node:worker_threads');
${solveColumn.toString()}
${decide.toString()}
${logisticFit.toString()}
${primal.toString()}
${shuffle.toString()}
const data = new Map();
parentPort.on('message', (m) => {
  if (m.type === 'data') return void data.set(m.id, m.data);
  if (m.type === 'drop') return void data.delete(m.id);
  try {
    const r = solveColumn(data.get(m.id), m.task);
    const transfer = [r.w.buffer, r.alpha.buffer];
    if (r.decisions) transfer.push(r.decisions.buffer);
    parentPort.postMessage({ seq: m.seq, result: r }, transfer);
  } catch (err) {
    parentPort.postMessage({ seq: m.seq, error: String((err && err.message) || err) });
  }
});
`;

interface Pending {
  id: number;
  task: SolveTask;
  resolve: (r: SolveResult) => void;
  reject: (e: Error) => void;
}

/**
 * Solver threads, kept between trainings and unref'd (an idle pool holds no process open). Columns are queued
 * and handed to the first free thread; the CSR arrays are SharedArrayBuffers, registered once per training.
 */
class SolverPool {
  private readonly threads: Array<{ worker: Worker; job: Pending | null; seq: number }> = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;

  constructor(size: number) {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(WORKER_SOURCE, { eval: true });
      worker.unref();
      const thread = { worker, job: null as Pending | null, seq: 0 };
      worker.on('message', (m: { seq: number; result?: SolveResult; error?: string }) => {
        const job = thread.job;
        thread.job = null;
        if (job) {
          if (m.error !== undefined) job.reject(new Error(`solver thread: ${m.error}`));
          else job.resolve(m.result!);
        }
        this.pump();
      });
      worker.on('error', (err) => {
        thread.job?.reject(err);
        thread.job = null;
      });
      this.threads.push(thread);
    }
  }

  get size(): number {
    return this.threads.length;
  }

  close(): void {
    for (const t of this.threads) void t.worker.terminate();
  }

  register(data: SolverData): number {
    const id = this.nextId++;
    for (const t of this.threads) t.worker.postMessage({ type: 'data', id, data });
    return id;
  }

  drop(id: number): void {
    for (const t of this.threads) t.worker.postMessage({ type: 'drop', id });
  }

  solve(id: number, task: SolveTask): Promise<SolveResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ id, task, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    for (const t of this.threads) {
      if (t.job || !this.queue.length) continue;
      const job = this.queue.shift()!;
      t.job = job;
      t.worker.ref();
      t.worker.postMessage({ type: 'solve', id: job.id, seq: ++t.seq, task: job.task });
    }
    for (const t of this.threads) if (!t.job) t.worker.unref();
  }
}

let pool: SolverPool | null = null;

/** Threads to train on: LOOPAI_LEARNER_THREADS, else one per core (at most 8). */
export function defaultThreads(): number {
  const env = Number(process.env.LOOPAI_LEARNER_THREADS);
  if (Number.isInteger(env) && env >= 1) return env;
  return Math.max(1, Math.min(8, os.availableParallelism()));
}

/**
 * Solves every task, on solver threads when the work is large enough to pay for them (else in this thread),
 * calling `done` after each finished task. Results come back in task order.
 */
export async function solveAll(
  data: SolverData,
  tasks: SolveTask[],
  threads: number,
  done: (finished: number) => void = () => undefined,
): Promise<SolveResult[]> {
  const work =
    tasks.reduce((n, t) => n + t.train.length * t.cs.length, 0) * (data.idx.length / data.labels.length);
  if (threads <= 1 || tasks.length < 2 || work < 2e6) {
    return tasks.map((task, i) => {
      const r = solveColumn(data, task);
      done(i + 1);
      return r;
    });
  }
  if (!pool || pool.size !== threads) {
    pool?.close();
    pool = new SolverPool(threads);
  }
  const p = pool;
  const id = p.register(data);
  let finished = 0;
  try {
    return await Promise.all(
      tasks.map((task) =>
        p.solve(id, task).then((r) => {
          done(++finished);
          return r;
        }),
      ),
    );
  } finally {
    p.drop(id);
  }
}
