import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import type { CallOutcome, ErrorCode, FromChild, ProgramSource, ToChild } from './protocol';

export type { CallOutcome, ProgramSource } from './protocol';

/** A program that does not compile, has no `execute`, or fails its self-check. */
export class SandboxError extends Error {
  readonly code = 'invalid_program';
}

export interface SandboxPoolOptions {
  /** Child processes; default one per core. */
  size?: number;
  /** `--max-old-space-size` of each child. */
  childHeapMb?: number;
  onRestart?: (childIndex: number, reason: string) => void;
}

const HOST = path.join(__dirname, 'host.js');
/** Slack on top of the per-call timeouts before the parent gives up on a child (IPC, compile, GC). */
const DEADLINE_SLACK_MS = 2000;
const LOAD_DEADLINE_MS = 15_000;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

interface Request {
  msg: ToChild;
  deadlineMs: number;
  /** Set when the request was sent again after a crash it did not cause (it is sent again only once). */
  retried: boolean;
  resolve(reply: FromChild): void;
  fail(code: ErrorCode, message: string): void;
}

interface Pending extends Request {
  deadline: NodeJS.Timeout;
}

/** One supervised child process and the programs it holds. */
class Child {
  private proc: ChildProcess | null = null;
  private pending = new Map<number, Pending>();
  /** Programs loaded here, kept so a respawned child can be given them again. */
  readonly loaded = new Map<string, ProgramSource>();
  /** Calls gathered in this tick, sent as one message per program. */
  private batch = new Map<string, Array<{ json: string; done: (o: CallOutcome) => void }>>();
  private flushScheduled = false;
  private nextId = 1;
  /** When the work already sent may end at the latest (see dispatch). */
  private busyUntil = 0;
  restarts = 0;

  constructor(
    private readonly index: number,
    private readonly execArgv: string[],
    private readonly onRestart?: (childIndex: number, reason: string) => void,
  ) {}

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  private spawn(): ChildProcess {
    // untrusted code's output (and V8's out-of-memory dumps) stays out of the server's logs; restarts are logged
    const proc = fork(HOST, [], {
      execArgv: this.execArgv,
      serialization: 'json',
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    });
    proc.on('message', (reply: FromChild) => {
      const waiting = this.pending.get(reply.id);
      if (!waiting) return;
      clearTimeout(waiting.deadline);
      this.pending.delete(reply.id);
      if (this.pending.size === 0) this.busyUntil = 0;
      waiting.resolve(reply);
    });
    proc.on('exit', (code, signal) => {
      if (this.proc === proc) this.crashed(`exited (${signal ?? code})`, 'sandbox_crash');
    });
    proc.on('error', () => undefined); // 'exit' follows and does the work
    this.proc = proc;
    // a fresh child knows nothing: give it back every program it held (IPC keeps the order before later calls);
    // one that fails to load again is forgotten, so its owner loads it afresh on the next call
    for (const program of this.loaded.values()) {
      const forget = () => this.loaded.delete(program.key);
      this.send({ type: 'load', program }, LOAD_DEADLINE_MS).then(
        (reply) => reply.type === 'loaded' && reply.error && forget(),
        forget,
      );
    }
    return proc;
  }

  /**
   * The child died or missed a deadline. It handles messages one at a time, so the oldest message in flight is
   * the one that caused it: that one fails; the others are sent again once to the fresh child.
   */
  private crashed(reason: string, code: ErrorCode): void {
    const proc = this.proc;
    this.proc = null;
    if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    this.restarts += 1;
    this.onRestart?.(this.index, reason);
    const inFlight = [...this.pending.values()];
    this.pending.clear();
    this.busyUntil = 0;
    inFlight.forEach((p, i) => {
      clearTimeout(p.deadline);
      const isCulprit = i === 0;
      if (isCulprit || p.retried || p.msg.type === 'load') {
        p.fail(
          isCulprit ? code : 'sandbox_crash',
          isCulprit ? describeCrash(code, reason) : `sandbox process ${reason}`,
        );
      } else {
        this.dispatch({ ...p, retried: true });
      }
    });
  }

  send(msg: DistributiveOmit<ToChild, 'id'>, deadlineMs: number): Promise<FromChild> {
    return new Promise((resolve, reject) => {
      this.dispatch({
        msg: { ...msg, id: this.nextId++ } as ToChild,
        deadlineMs,
        retried: false,
        resolve,
        fail: (code, message) => reject(Object.assign(new Error(message), { code })),
      });
    });
  }

  /**
   * Sends a request with its deadline. The child works through messages one at a time, so a message's deadline
   * counts from when the work queued ahead of it may end, not from now: a long batch of one program does not
   * make the next message look hung.
   */
  private dispatch(request: Request): void {
    const proc = this.proc ?? this.spawn();
    const id = request.msg.id;
    const now = Date.now();
    this.busyUntil = Math.max(now, this.busyUntil) + request.deadlineMs;
    const wait = this.busyUntil - now;
    const deadline = setTimeout(() => {
      if (this.pending.has(id)) this.crashed(`missed its deadline of ${request.deadlineMs} ms`, 'timeout');
    }, wait);
    this.pending.set(id, { ...request, deadline });
    proc.send(request.msg);
  }

  /** Queues a call; calls made in the same tick for the same program travel together. */
  call(source: ProgramSource, json: string): Promise<CallOutcome> {
    return new Promise((done) => {
      let queue = this.batch.get(source.key);
      if (!queue) this.batch.set(source.key, (queue = []));
      queue.push({ json, done });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.batch;
    this.batch = new Map();
    for (const [key, calls] of batch) {
      const source = this.loaded.get(key);
      if (!source) {
        for (const c of calls)
          c.done({ ok: false, error: { code: 'not_loaded', message: `program ${key} is not loaded` } });
        continue;
      }
      const deadline = calls.length * source.timeoutMs + DEADLINE_SLACK_MS;
      this.send({ type: 'run', key, inputs: calls.map((c) => c.json) }, deadline).then(
        (reply) => {
          const outcomes = (reply as Extract<FromChild, { type: 'ran' }>).outcomes;
          calls.forEach((c, i) => c.done(outcomes[i]));
        },
        (err: Error & { code: ErrorCode }) => {
          for (const c of calls) c.done({ ok: false, error: { code: err.code, message: err.message } });
        },
      );
    }
  }

  kill(): void {
    const proc = this.proc;
    this.proc = null;
    for (const p of this.pending.values()) {
      clearTimeout(p.deadline);
      p.fail('sandbox_crash', 'the sandbox pool was closed');
    }
    this.pending.clear();
    proc?.kill('SIGKILL');
  }
}

function describeCrash(code: ErrorCode, reason: string): string {
  return code === 'timeout'
    ? `execution did not finish in time: the sandbox process ${reason} and was restarted`
    : `the sandbox process ${reason} while running this program (memory exhaustion?) and was restarted`;
}

/**
 * Runs untrusted programs in supervised child processes, each holding one isolated-vm isolate per program.
 * All versions of an app live in the same child (chosen by a hash of the app id); apps spread over children.
 * Children start on first use, so an idle server holds no isolates.
 */
export class SandboxPool {
  private children: Child[];
  private closed = false;

  constructor(options: SandboxPoolOptions = {}) {
    const size = Math.max(1, options.size ?? os.availableParallelism());
    const execArgv = ['--no-node-snapshot', `--max-old-space-size=${options.childHeapMb ?? 512}`];
    this.children = Array.from({ length: size }, (_, i) => new Child(i, execArgv, options.onRestart));
  }

  private childFor(key: string): Child {
    const app = key.split('@')[0];
    let h = 2166136261;
    for (let i = 0; i < app.length; i++) h = Math.imul(h ^ app.charCodeAt(i), 16777619);
    return this.children[(h >>> 0) % this.children.length];
  }

  /** Compiles a program (and runs it once on `selfCheckInput` if given); throws SandboxError saying why it failed. */
  async load(program: ProgramSource, selfCheckInput?: unknown): Promise<void> {
    if (this.closed) throw new Error('the sandbox pool is closed');
    const child = this.childFor(program.key);
    const msg: DistributiveOmit<Extract<ToChild, { type: 'load' }>, 'id'> = { type: 'load', program };
    if (selfCheckInput !== undefined) msg.selfCheck = JSON.stringify(selfCheckInput);
    let reply: FromChild;
    try {
      reply = await child.send(msg, LOAD_DEADLINE_MS + program.timeoutMs);
    } catch (err) {
      throw new SandboxError(`loading the program failed: ${(err as Error).message}`);
    }
    if (reply.type === 'loaded' && reply.error) throw new SandboxError(reply.error);
    child.loaded.set(program.key, program);
  }

  async unload(key: string): Promise<void> {
    const child = this.childFor(key);
    if (!child.loaded.delete(key) || this.closed) return;
    await child.send({ type: 'unload', key }, LOAD_DEADLINE_MS).catch(() => undefined);
  }

  isLoaded(key: string): boolean {
    return this.childFor(key).loaded.has(key);
  }

  /** One call. Program faults resolve as `{ok: false}`; this never rejects for them. */
  run(key: string, input: unknown): Promise<CallOutcome> {
    const child = this.childFor(key);
    const source = child.loaded.get(key);
    if (!source || this.closed) {
      return Promise.resolve({
        ok: false,
        error: { code: 'not_loaded', message: `program ${key} is not loaded` },
      });
    }
    return child.call(source, JSON.stringify(input));
  }

  runBatch(key: string, inputs: unknown[]): Promise<CallOutcome[]> {
    return Promise.all(inputs.map((input) => this.run(key, input)));
  }

  stats(): { children: number; restarts: number; loaded: number } {
    return {
      children: this.children.filter((c) => c.pid !== undefined).length,
      restarts: this.children.reduce((n, c) => n + c.restarts, 0),
      loaded: this.children.reduce((n, c) => n + c.loaded.size, 0),
    };
  }

  /** Pids of running children (for supervision tests and memory figures). */
  childPids(): number[] {
    return this.children.map((c) => c.pid).filter((p): p is number => p !== undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const child of this.children) child.kill();
  }
}
