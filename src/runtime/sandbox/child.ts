import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { CallOutcome, ErrorCode, FromChild, ProgramSource, ToChild } from './protocol';

/** A program that does not compile, has no `execute`, or fails its self-check. */
export class SandboxError extends Error {
  readonly code: string = 'invalid_program';
  override name = 'SandboxError';
}

// Under ts-jest __dirname is src/runtime/sandbox, in the build dist/src/runtime/sandbox (tsc copies host.js)
const HOST = path.join(__dirname, 'host.js');
/** Slack on top of the calls' own time budgets before the parent gives up on a child (IPC, compile, GC). */
const DEADLINE_SLACK_MS = 2000;
const LOAD_DEADLINE_MS = 15_000;
/** How often the parent reads each child's resident memory (a read of /proc costs some 20 µs). */
const RSS_CHECK_MS = 250;
/** Timeouts after which the rest of a batch fails without running (see Child.cutShort). */
const BATCH_TIMEOUTS = 2;

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

/** What the calls of one runBatch share: how many of them have timed out. */
export interface Batch {
  timeouts: number;
}

interface QueuedCall {
  json: string;
  batch?: Batch;
  done: (outcome: CallOutcome) => void;
}

export const failure = (code: ErrorCode, message: string): CallOutcome => ({
  ok: false,
  error: { code, message },
});

/**
 * One supervised child process and the programs it holds.
 *
 * Fair turns: the child runs one message at a time, so a program that keeps it busy delays every other program
 * there. Hence each program has at most one run message in flight: its later calls wait here, and a message
 * answers early (host.js runCalls: after a timeout or a time slice) with the rest sent again behind the other
 * programs' messages. Another program waits at most about one slice of each busy program. A batch (one
 * runBatch) whose inputs time out BATCH_TIMEOUTS times has the rest failed unrun, so it ends in bounded time.
 *
 * Memory: each isolate has a heap limit, but a child's total (isolates, V8's own, anything allocated beside the
 * heap) is watched from here: a child whose resident memory passes `childRssMb` is killed and started afresh.
 * Not an rlimit: Node has no setrlimit (only a wrapper such as util-linux `prlimit` could set one on a child),
 * and RLIMIT_AS counts address space, which V8 reserves far beyond what it uses: node idles at ~700 MB of it with
 * 45 MB resident, and under `prlimit --as=1000000000` a child with a few isolates dies "Failed to reserve virtual
 * memory for CodeRange". (Linux does not enforce RLIMIT_RSS.)
 */
export class Child {
  private proc: ChildProcess | null = null;
  private pending = new Map<number, Pending>();
  /** Programs loaded here, kept so that a respawned child can be given them again. */
  readonly loaded = new Map<string, ProgramSource>();
  /** Keys loaded or being loaded; an unload removes the key, so a load that was in flight does not count. */
  private readonly wanted = new Set<string>();
  /** Calls waiting, per program; the order of the keys is the order of turns. */
  private queue = new Map<string, QueuedCall[]>();
  /** Programs with a run message in flight. */
  private readonly running = new Set<string>();
  private flushScheduled = false;
  private nextId = 1;
  /** When the work already sent may end at the latest (see dispatch). */
  private busyUntil = 0;
  private memoryWatch: NodeJS.Timeout | null = null;
  private closed = false;
  restarts = 0;

  constructor(
    private readonly index: number,
    private readonly execArgv: string[],
    private readonly rssBudgetMb: number,
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
      // a V8 abort (SIGABRT) is how an isolate dies of memory when a single allocation (a growing Map, Set or
      // dictionary, a huge array) cannot fit: isolated-vm cannot catch that, hence the child processes
      if (this.proc === proc)
        this.crashed(`exited (${signal ?? code})`, signal === 'SIGABRT' ? 'memory' : 'sandbox_crash');
    });
    proc.on('error', () => undefined); // 'exit' follows and does the work
    this.proc = proc;
    this.memoryWatch = setInterval(() => this.checkMemory(proc), RSS_CHECK_MS).unref();
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

  /** Periodic and from outside: it sees a child grow in the middle of a call, which a check after calls would not. */
  private checkMemory(proc: ChildProcess): void {
    const mb = proc === this.proc && proc.pid !== undefined ? residentMb(proc.pid) : null;
    if (mb !== null && mb > this.rssBudgetMb) {
      this.crashed(
        `used ${mb} MB of memory, over the budget of ${this.rssBudgetMb} MB (sandbox.child_rss_mb)`,
        'memory',
      );
    }
  }

  /**
   * The child died, missed a deadline or outgrew its memory budget. It works through messages one at a time, so
   * the oldest message in flight is the one that was running: it fails with `code`; the others go again (once)
   * to a fresh child.
   */
  private crashed(reason: string, code: ErrorCode): void {
    const proc = this.proc;
    this.proc = null;
    if (this.memoryWatch) clearInterval(this.memoryWatch);
    this.memoryWatch = null;
    if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    this.restarts += 1;
    this.onRestart?.(this.index, reason);
    const inFlight = [...this.pending.values()];
    this.pending.clear();
    this.busyUntil = 0;
    inFlight.forEach((p, i) => {
      clearTimeout(p.timer);
      if (i === 0) {
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
      if (this.pending.has(id)) this.crashed(`missed a deadline of ${request.deadlineMs} ms`, 'timeout');
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
      const sent = this.withoutHeldTexts(program);
      reply = await this.send(
        { type: 'load', program: sent, selfCheck },
        LOAD_DEADLINE_MS + program.timeoutMs,
      );
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

  /**
   * The program as it is sent: without the texts of the shared artifacts that a program loaded here already uses
   * (the child holds one copy of each while any program uses it). An unload is recorded before it is sent, so
   * the child never drops what a load sent after it relies on.
   */
  private withoutHeldTexts(program: ProgramSource): ProgramSource {
    if (!program.shared) return program;
    const held = new Set<string>();
    for (const other of this.loaded.values())
      for (const artifact of Object.values(other.shared ?? {})) held.add(artifact.hash);
    const shared = Object.entries(program.shared).map(
      ([name, a]) => [name, held.has(a.hash) ? { hash: a.hash, files: {} } : a] as const,
    );
    return { ...program, shared: Object.fromEntries(shared) };
  }

  async unload(key: string): Promise<void> {
    this.loaded.delete(key);
    // with no child running there is nothing to dispose, and a respawn reloads only what is still loaded
    if (!this.wanted.delete(key) || this.closed || !this.proc) return;
    await this.send({ type: 'unload', key }, LOAD_DEADLINE_MS).catch(() => undefined);
  }

  /** Queues a call; calls made in the same tick for the same program travel together. */
  call(key: string, json: string, batch?: Batch): Promise<CallOutcome> {
    return new Promise((done) => {
      let calls = this.queue.get(key);
      if (!calls) this.queue.set(key, (calls = []));
      calls.push({ json, batch, done });
      this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Sends every waiting program's calls whose previous message has been answered. */
  private flush(): void {
    this.flushScheduled = false;
    for (const [key, calls] of this.queue) {
      if (this.running.has(key)) continue;
      this.queue.delete(key);
      const source = this.loaded.get(key);
      if (source) this.sendCalls(source, calls);
      else for (const c of calls) c.done(failure('not_loaded', `program ${key} is not loaded`));
    }
  }

  private sendCalls(source: ProgramSource, calls: QueuedCall[]): void {
    const { key } = source;
    this.running.add(key);
    // the child gives each call its own budget and may spend about one more on a call that runs out of it
    const deadline = (calls.length + 1) * source.timeoutMs + DEADLINE_SLACK_MS;
    this.send({ type: 'run', key, inputs: calls.map((c) => c.json) }, deadline).then(
      (reply) => {
        const { outcomes } = reply as Extract<FromChild, { type: 'ran' }>;
        calls.slice(0, outcomes.length).forEach((c, i) => this.answer(c, outcomes[i]));
        const rest = calls.slice(outcomes.length).filter((c) => !this.cutShort(c, source));
        // the child stopped early to let others run: the rest go again, behind every other waiting program
        if (rest.length) {
          const later = this.queue.get(key) ?? [];
          this.queue.delete(key);
          this.queue.set(key, [...rest, ...later]);
        }
        this.ran(key);
      },
      (err: Error & { code: ErrorCode }) => {
        const outcome = failure(err.code, err.message);
        for (const c of calls) this.answer(c, outcome);
        this.ran(key);
      },
    );
  }

  private ran(key: string): void {
    this.running.delete(key);
    if (this.queue.size) this.scheduleFlush();
  }

  private answer(call: QueuedCall, outcome: CallOutcome): void {
    if (call.batch && !outcome.ok && outcome.error.code === 'timeout') call.batch.timeouts += 1;
    call.done(outcome);
  }

  /** A batch whose inputs keep timing out would hold the child for inputs × timeout: its rest fails unrun. */
  private cutShort(call: QueuedCall, source: ProgramSource): boolean {
    if (!call.batch || call.batch.timeouts < BATCH_TIMEOUTS) return false;
    const why = `not run: the batch was cut short after ${BATCH_TIMEOUTS} of its inputs took longer than ${source.timeoutMs} ms`;
    call.done(failure('timeout', why));
    return true;
  }

  /** Kills the child; everything pending or queued answers sandbox_crash. Resolves once the process is gone. */
  async close(): Promise<void> {
    this.closed = true;
    const proc = this.proc;
    this.proc = null;
    if (this.memoryWatch) clearInterval(this.memoryWatch);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.fail('sandbox_crash', 'the sandbox pool was closed', false);
    }
    this.pending.clear();
    const closed = failure('sandbox_crash', 'the sandbox pool was closed');
    for (const calls of this.queue.values()) for (const c of calls) c.done(closed);
    this.queue.clear();
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

/** Resident memory of a process in MB, from Linux's /proc; null where that cannot be read. */
function residentMb(pid: number): number | null {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return kb ? Math.round(Number(kb[1]) / 1024) : null;
  } catch {
    return null;
  }
}
