import type { VersionMetadata } from '../domain/types';
import { inProcessModel, IN_PROCESS_OFF, type ExecutionPath, type InProcessModel } from './in-process';
import type { CallOutcome, ProgramSource, SandboxPool, SharedTexts } from './sandbox/pool';

/** Where a loaded program runs, and why there. */
export interface Placement {
  path: ExecutionPath;
  why: string;
}

/**
 * A program version that serves. Its files are read on first use and dropped again when idle, so apps nobody
 * calls hold neither a model nor an isolate nor their program text. A learner-made model that passes its check
 * is scored in this process (in-process.ts); any other program, and any input too large to score here, runs in
 * the sandbox, loaded there when first needed.
 */
export class LiveProgram {
  inflight = 0;
  lastUsed = Date.now();
  placement: Placement | null = null;
  private loading: Promise<void> | null = null;
  private retired = false;
  private model: InProcessModel | null = null;
  /** The program's identity (code, files, limits) while it is loaded on either path. */
  private loadedKey: string | null = null;
  /** Whether it was ever sent to the sandbox (then unloading tells the sandbox too). */
  private usedSandbox = false;
  private sandboxLoading: Promise<void> | null = null;
  /** The shared artifacts it verified when it loaded (held once in this process, whoever uses them). */
  private shared: SharedTexts | undefined;

  constructor(
    readonly version: string,
    readonly metadata: VersionMetadata | null,
    private readonly pool: SandboxPool,
    /** Reads the version's source; `held`: the shared artifacts it verified at its last load, to use again. */
    private readonly read: (held?: SharedTexts) => Promise<ProgramSource>,
    /** Whether a learner-made model may run in this process (the app's `execution.in_process`). */
    private readonly inProcess: boolean,
    private source: ProgramSource | null = null,
  ) {}

  /** The program's key while it is loaded (null when not). */
  get key(): string | null {
    if (this.model) return this.loadedKey;
    return this.loadedKey && this.pool.isLoaded(this.loadedKey) ? this.loadedKey : null;
  }

  /** Loads the program on its path (a model here, or the sandbox); throws why it cannot load. */
  async ready(): Promise<void> {
    if (this.key) return;
    this.loading ??= this.load().finally(() => {
      this.loading = null;
    });
    await this.loading;
  }

  private async load(): Promise<void> {
    const source = this.source ?? (await this.read(this.shared));
    this.source = null; // the text is not kept: a fallback to the sandbox reads it again
    // its shared artifacts are (one copy in this process for every app): a reload uses what was verified
    this.shared = source.shared;
    const placed = this.inProcess ? inProcessModel(source) : { model: null, why: IN_PROCESS_OFF };
    if (placed.model) this.model = placed.model;
    else await this.loadInSandbox(source);
    this.loadedKey = source.key;
    this.placement = { path: placed.model ? 'in-process' : 'sandbox', why: placed.why };
  }

  /** One call on a loaded program. Program faults resolve as `{ok: false}`. */
  run(input: unknown): CallOutcome | Promise<CallOutcome> {
    if (this.model?.fits(input)) return this.model.run(input);
    return this.sandboxKey().then((key) => this.pool.run(key, input));
  }

  /** Many calls, one outcome each (rejected only for an input that cannot be sent to the sandbox). */
  async runEach(inputs: unknown[]): Promise<Array<PromiseSettledResult<CallOutcome>>> {
    const results: Array<PromiseSettledResult<CallOutcome>> = new Array(inputs.length);
    const rest: number[] = [];
    inputs.forEach((input, i) => {
      if (this.model?.fits(input)) results[i] = { status: 'fulfilled', value: this.model.run(input) };
      else rest.push(i);
    });
    if (!rest.length) return results;
    const key = await this.sandboxKey();
    const outcomes = await Promise.allSettled(
      this.pool.runEach(
        key,
        rest.map((i) => inputs[i]),
      ),
    );
    rest.forEach((i, k) => (results[i] = outcomes[k]));
    return results;
  }

  /** The program's key in the sandbox, loading it there if it is not (a large input to a model, a restart). */
  private async sandboxKey(): Promise<string> {
    if (this.loadedKey && this.pool.isLoaded(this.loadedKey)) return this.loadedKey;
    const source = await this.read(this.shared);
    if (source.key !== this.loadedKey) throw new Error(`${this.version} changed on disk; it is reloading`);
    await this.loadInSandbox(source);
    return source.key;
  }

  private async loadInSandbox(source: ProgramSource): Promise<void> {
    this.usedSandbox = true;
    this.sandboxLoading ??= this.pool.load(source).finally(() => {
      this.sandboxLoading = null;
    });
    await this.sandboxLoading;
  }

  /** What it verified of its shared artifacts at its last load (undefined: none, or not loaded yet). */
  get verifiedShared(): SharedTexts | undefined {
    return this.shared;
  }

  begin(): void {
    this.inflight += 1;
    this.lastUsed = Date.now();
  }

  end(): void {
    this.inflight -= 1;
    if (this.retired && this.inflight === 0) this.unload();
  }

  /** Unloads once the calls still running on it have finished (an `active` flip drops no request). */
  retire(): void {
    this.retired = true;
    if (this.inflight === 0) this.unload();
  }

  unloadIfIdle(idleMs: number, now: number): void {
    if (this.inflight === 0 && now - this.lastUsed > idleMs && this.key) this.unload();
  }

  private unload(): void {
    if (this.usedSandbox && this.loadedKey) void this.pool.unload(this.loadedKey);
    this.usedSandbox = false;
    this.model = null;
    this.loadedKey = null;
    this.source = null;
  }
}
