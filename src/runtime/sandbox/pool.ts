import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import type { CallOutcome, ErrorCode, FromChild, ProgramSource, ToChild } from './protocol';

export type { Answer, CallOutcome, ErrorCode, ProgramSource } from './protocol';

/** A program that does not compile, has no `execute`, or fails its self-check. */
export class SandboxError extends Error {
  readonly code: string = 'invalid_program';
  override name = 'SandboxError';
}

export interface SandboxPoolOptions {
  /** Child processes; default one per core. */
  size?: number;
  /** `--max-old-space-size` of each child, in MB; default 512. */
  childHeapMb?: number;
  onRestart?: (childIndex: number, reason: string) => void;
}

// Under ts-jest __dirname is src/runtime/sandbox, in the build dist/src/runtime/sandbox (tsc copies host.js)
const HOST = path.join(__dirname, 'host.js');
/** Slack on top of the calls' own time budgets before the parent gives up on a child (IPC, compile, GC). */
const DEADLINE_SLACK_MS = 2000;
const LOAD_DEADLINE_MS = 15_000;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type Message = DistributiveOmit<ToChild, 'id'>;

interface Request {
  msg: ToChild;
  deadlineMs: number;
  /**
   * What happens to it when the child dies of something else: `once`: sent again to the fresh child (a second
   * crash fails it); `respawn`: dropped, because it is a reload that the next spawn sends anew.
   */
  retry: 'once' | 'never' | 'respawn';
  resolve(reply: FromChild): void;
  /** `culprit`: this request was being worked on when the child died or missed its deadline. */
  fail(code: ErrorCode, message: string, culprit: boolean): void;
}

interface Pending extends Request {
  timer: NodeJS.Timeout;
}

interface QueuedCall {
  json: string;
  done: (outcome: CallOutcome) => void;
}

const failure = (code: ErrorCode, message: string): CallOutcome => ({ ok: false, error: { code, message } });

/** One supervised child process and the programs it holds. */
class Child {
  private proc: ChildProcess | null = null;
  private pending = new Map<number, Pending>();
  /** Programs loaded here, kept so that a respawned child can be given them again. */
  readonly loaded = new Map<string, ProgramSource>();
  /** Keys loaded or being loaded; an unload removes the key, so a load that was in flight does not count. */
  private readonly wanted = new Set<string>();
  /** Calls gathered in this tick, sent as one message per program. */
  private queue = new Map<string, QueuedCall[]>();
  private flushScheduled = false;
  private nextId = 1;
  /** When the work already sent may end at the latest (see dispatch). */
  private busyUntil = 0;
  private closed = false;
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
    // untrusted code's output (and V8's out-of-memory dumps) stays out of the server's logs; restarts are reported
    const proc = fork(HOST, [], {
      execArgv: this.execArgv,
      serialization: 'json',
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    });
    proc.on('message', (reply: FromChild) => {
      const waiting = this.pending.get(reply.id);
      if (!waiting) return;
      clearTimeout(waiting.timer);
      this.pending.delete(reply.id);
      if (this.pending.size === 0) this.busyUntil = 0;
      waiting.resolve(reply);
    });
    proc.on('exit', (code, signal) => {
      if (this.proc === proc) this.crashed(`exited (${signal ?? code})`, signal === 'SIGABRT');
    });
    proc.on('error', () => undefined); // 'exit' follows and does the work
    this.proc = proc;
    // A fresh child knows nothing: give it back every program it held, before anything else (IPC keeps order,
    // so calls sent after this wait for the reload). A program that fails to load again, or kills the child
    // while loading, is forgotten, so its owner loads it afresh (and sees why) on its next call.
    for (const program of this.loaded.values()) {
      const forget = () => {
        this.loaded.delete(program.key);
        this.wanted.delete(program.key);
      };
      this.dispatch({
        msg: { type: 'load', program, id: this.nextId++ },
        deadlineMs: LOAD_DEADLINE_MS + program.timeoutMs,
        retry: 'respawn',
        resolve: (reply) => reply.type === 'loaded' && reply.error && forget(),
        fail: (_code, _message, culprit) => culprit && forget(),
      });
    }
    return proc;
  }

  /**
   * The child died or missed a deadline. It works through messages one at a time, so the oldest message in
   * flight is the one that was running: it fails; the others go again (once) to a fresh child. A V8 abort
   * (SIGABRT) is how an isolate dies of memory when a single allocation (a growing Map, Set or dictionary, a
   * huge array) cannot fit: isolated-vm cannot catch that, hence the child processes.
   */
  private crashed(reason: string, aborted: boolean, deadline = false): void {
    const proc = this.proc;
    this.proc = null;
    if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    this.restarts += 1;
    this.onRestart?.(this.index, reason);
    const inFlight = [...this.pending.values()];
    this.pending.clear();
    this.busyUntil = 0;
    inFlight.forEach((p, i) => {
      clearTimeout(p.timer);
      if (i === 0) {
        const code: ErrorCode = deadline ? 'timeout' : aborted ? 'memory' : 'sandbox_crash';
        p.fail(code, describeCrash(code, reason), true);
      } else if (p.retry === 'once' && !this.closed) {
        this.dispatch({ ...p, retry: 'never' });
      } else {
        p.fail('sandbox_crash', `the sandbox process ${reason}`, false);
      }
    });
  }

  send(msg: Message, deadlineMs: number): Promise<FromChild> {
    return new Promise((resolve, reject) => {
      this.dispatch({
        msg: { ...msg, id: this.nextId++ } as ToChild,
        deadlineMs,
        retry: 'once',
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
    if (this.closed) {
      request.fail('sandbox_crash', 'the sandbox pool is closed', false);
      return;
    }
    const proc = this.proc ?? this.spawn();
    const id = request.msg.id;
    const now = Date.now();
    this.busyUntil = Math.max(now, this.busyUntil) + request.deadlineMs;
    const timer = setTimeout(() => {
      if (this.pending.has(id)) this.crashed(`missed a deadline of ${request.deadlineMs} ms`, false, true);
    }, this.busyUntil - now);
    this.pending.set(id, { ...request, timer });
    proc.send(request.msg);
  }

  async load(program: ProgramSource, selfCheck: string | undefined): Promise<void> {
    const { key } = program;
    if (this.loaded.has(key) && selfCheck === undefined) return; // a key names one program: nothing to do
    this.wanted.add(key);
    let reply: FromChild;
    try {
      reply = await this.send({ type: 'load', program, selfCheck }, LOAD_DEADLINE_MS + program.timeoutMs);
    } catch (err) {
      if (!this.loaded.has(key)) this.wanted.delete(key);
      throw new SandboxError(`loading the program failed: ${(err as Error).message}`);
    }
    if (reply.type === 'loaded' && reply.error !== undefined) {
      // the child keeps a program it already had (only the new self-check failed); so does the parent
      if (!this.loaded.has(key)) this.wanted.delete(key);
      throw new SandboxError(reply.error);
    }
    // unloaded while loading: the child has dropped it again (the unload was sent after the load)
    if (this.wanted.has(key)) this.loaded.set(key, program);
  }

  async unload(key: string): Promise<void> {
    this.loaded.delete(key);
    // with no child running there is nothing to dispose, and a respawn reloads only what is still loaded
    if (!this.wanted.delete(key) || this.closed || !this.proc) return;
    await this.send({ type: 'unload', key }, LOAD_DEADLINE_MS).catch(() => undefined);
  }

  /** Queues a call; calls made in the same tick for the same program travel together. */
  call(key: string, json: string): Promise<CallOutcome> {
    return new Promise((done) => {
      let calls = this.queue.get(key);
      if (!calls) this.queue.set(key, (calls = []));
      calls.push({ json, done });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const queue = this.queue;
    this.queue = new Map();
    for (const [key, calls] of queue) {
      const source = this.loaded.get(key);
      if (!source) {
        const outcome = failure('not_loaded', `program ${key} is not loaded`);
        for (const c of calls) c.done(outcome);
        continue;
      }
      // the child gives each call its own budget and may spend about one more on a call that runs out of it
      const deadline = (calls.length + 1) * source.timeoutMs + DEADLINE_SLACK_MS;
      this.send({ type: 'run', key, inputs: calls.map((c) => c.json) }, deadline).then(
        (reply) => {
          const outcomes = (reply as Extract<FromChild, { type: 'ran' }>).outcomes;
          calls.forEach((c, i) => c.done(outcomes[i]));
        },
        (err: Error & { code: ErrorCode }) => {
          const outcome = failure(err.code, err.message);
          for (const c of calls) c.done(outcome);
        },
      );
    }
  }

  /** Kills the child; everything pending or queued answers sandbox_crash. Resolves once the process is gone. */
  async close(): Promise<void> {
    this.closed = true;
    const proc = this.proc;
    this.proc = null;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.fail('sandbox_crash', 'the sandbox pool was closed', false);
    }
    this.pending.clear();
    this.flush(); // queued calls find the pool closed
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGKILL');
    await exited;
  }
}

function describeCrash(code: ErrorCode, reason: string): string {
  switch (code) {
    case 'timeout':
      return `execution did not finish in time: the sandbox process ${reason} and was restarted`;
    case 'memory':
      return `the program ran its sandbox process out of memory (it ${reason}); the process was restarted`;
    default:
      return `the sandbox process ${reason} while running this program and was restarted`;
  }
}

/**
 * Runs untrusted programs in supervised child processes, each holding one isolated-vm isolate per program.
 * All versions of an app live in the same child (chosen by a hash of the app id); apps spread over children.
 * Children start on first use, so an idle server holds no isolates. This process never loads isolated-vm.
 */
export class SandboxPool {
  private readonly children: Child[];
  private closed = false;

  constructor(options: SandboxPoolOptions = {}) {
    const size = Math.max(1, Math.floor(options.size ?? os.availableParallelism()));
    const execArgv = ['--no-node-snapshot', `--max-old-space-size=${options.childHeapMb ?? 512}`];
    this.children = Array.from({ length: size }, (_, i) => new Child(i, execArgv, options.onRestart));
  }

  /** Which child holds a key: FNV-1a of the app id (the key up to its first '@'), stable across restarts. */
  childIndex(key: string): number {
    const at = key.indexOf('@');
    const app = at < 0 ? key : key.slice(0, at);
    let h = 2166136261;
    for (let i = 0; i < app.length; i++) h = Math.imul(h ^ app.charCodeAt(i), 16777619);
    return (h >>> 0) % this.children.length;
  }

  private childFor(key: string): Child {
    return this.children[this.childIndex(key)];
  }

  /**
   * Compiles a program in the child that owns its key (and runs it once on `selfCheckInput` if given); throws
   * SandboxError saying why it failed. Loading a loaded key again only runs the self-check.
   */
  async load(program: ProgramSource, selfCheckInput?: unknown): Promise<void> {
    if (this.closed) throw new Error('the sandbox pool is closed');
    const selfCheck = selfCheckInput === undefined ? undefined : JSON.stringify(selfCheckInput);
    await this.childFor(program.key).load(program, selfCheck);
  }

  /** Disposes the program's isolate. */
  unload(key: string): Promise<void> {
    return this.childFor(key).unload(key);
  }

  isLoaded(key: string): boolean {
    return this.childFor(key).loaded.has(key);
  }

  /** One call. Program faults resolve as `{ok: false}`; this rejects only for an input that is not JSON. */
  run(key: string, input: unknown): Promise<CallOutcome> {
    if (this.closed) return Promise.resolve(failure('sandbox_crash', 'the sandbox pool is closed'));
    let json: string;
    try {
      json = JSON.stringify(input) ?? 'null';
    } catch (err) {
      return Promise.reject(new TypeError(`the input cannot be sent as JSON: ${(err as Error).message}`));
    }
    return this.childFor(key).call(key, json);
  }

  /** Many calls; they travel with any other calls of this tick and answer in order. */
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

  /** Pids of the running children (for supervision tests and memory figures). */
  childPids(): number[] {
    return this.children.map((c) => c.pid).filter((p): p is number => p !== undefined);
  }

  /** Kills the children and waits for them to exit; pending calls resolve with sandbox_crash. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.children.map((c) => c.close()));
  }
}
