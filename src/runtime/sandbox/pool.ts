import os from 'node:os';
import { Child, failure, type Batch } from './child';
import type { CallOutcome, ProgramSource } from './protocol';

export { SandboxError } from './child';
export type { Answer, CallOutcome, ErrorCode, ProgramSource, SharedTexts } from './protocol';

export interface SandboxPoolOptions {
  /** Child processes; default one per core. */
  size?: number;
  /** `--max-old-space-size` of each child, in MB; default 512. */
  childHeapMb?: number;
  /** Resident memory a child may use, in MB, before it is killed and started afresh; default 1024. */
  childRssMb?: number;
  onRestart?: (childIndex: number, reason: string) => void;
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
    const rssMb = options.childRssMb ?? 1024;
    this.children = Array.from({ length: size }, (_, i) => new Child(i, execArgv, rssMb, options.onRestart));
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
    return this.enqueue(key, input);
  }

  private enqueue(key: string, input: unknown, batch?: Batch): Promise<CallOutcome> {
    if (this.closed) return Promise.resolve(failure('sandbox_crash', 'the sandbox pool is closed'));
    let json: string;
    try {
      json = JSON.stringify(input) ?? 'null';
    } catch (err) {
      return Promise.reject(new TypeError(`the input cannot be sent as JSON: ${(err as Error).message}`));
    }
    return this.childFor(key).call(key, json, batch);
  }

  /**
   * A batch: one promise per input, each like run's (it rejects only for its own input not being JSON). They
   * travel with any other calls of this tick and answer in order; after a few timeouts the rest fail unrun.
   */
  runEach(key: string, inputs: unknown[]): Array<Promise<CallOutcome>> {
    const batch: Batch = { timeouts: 0 };
    return inputs.map((input) => this.enqueue(key, input, batch));
  }

  /** A batch, answered together; rejects if an input is not JSON. */
  runBatch(key: string, inputs: unknown[]): Promise<CallOutcome[]> {
    return Promise.all(this.runEach(key, inputs));
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
