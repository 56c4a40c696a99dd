import { ApiError, notFound } from '../domain/errors';
import { checkLoopAppId } from '../domain/ids';
import type { Logger } from '../logger';
import type { LoopAppConfig, VersionMetadata } from '../domain/types';
import { sampleFor } from '../domain/sample-input';
import { sha256 } from '../domain/hash';
import { AppStore } from '../store/app-store';
import { KeyedLock } from '../store/keyed-lock';
import { checkConfig, type CheckedConfig, type SchemaValidators } from './app-loader';
import { SandboxPool, type ProgramSource } from './sandbox/pool';

const MAX_RETRIES = 3;

/**
 * A program version that serves. Its code is read and compiled into the sandbox on first use and dropped again
 * when idle, so apps nobody calls hold neither an isolate nor their program text.
 */
export class LiveProgram {
  inflight = 0;
  lastUsed = Date.now();
  private loading: Promise<ProgramSource> | null = null;
  private retired = false;

  constructor(
    readonly version: string,
    readonly metadata: VersionMetadata | null,
    private readonly pool: SandboxPool,
    private readonly read: () => Promise<ProgramSource>,
    private source: ProgramSource | null = null,
  ) {}

  /** The sandbox key while loaded (null when not in the sandbox). */
  get key(): string | null {
    return this.source && this.pool.isLoaded(this.source.key) ? this.source.key : null;
  }

  /** Makes sure the sandbox holds this program; resolves to its key. */
  async ready(): Promise<string> {
    if (this.key) return this.key;
    this.loading ??= (async () => {
      const source = this.source ?? (await this.read());
      await this.pool.load(source);
      this.source = source;
      return source;
    })().finally(() => {
      this.loading = null;
    });
    return (await this.loading).key;
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
    if (this.source) void this.pool.unload(this.source.key);
    this.source = null;
  }
}

/** Everything execute needs about one Loop App, swapped whole by `reload`. */
export interface LiveApp {
  id: string;
  config: LoopAppConfig;
  validators: SchemaValidators;
  /** Version `active` points to on disk (may differ from `program.version` while a bad version is refused). */
  activeOnDisk: string | null;
  program: LiveProgram | null;
  candidate: LiveProgram | null;
  loadError: string | null;
}

export interface RegistryOptions {
  idleUnloadMs: number;
  /** Delay before a failed load is tried again (a half-copied folder completes in the meantime). */
  retryDelayMs: number;
  /** Told after every reload: null when it loaded, else why not. */
  onReload?: (id: string, error: string | null) => void;
}

/**
 * The one owner of live state. Whatever changes what execute does goes through `reload(appId)`: the API calls
 * it after writing to the store, the watcher after a person edits files. A new config or program is loaded and
 * checked before it is swapped in; one that fails never replaces what serves, and shows as `loadError`.
 */
export class Registry {
  private apps = new Map<string, LiveApp>();
  private reloads = new KeyedLock();
  private retries = new Map<string, { timer: NodeJS.Timeout | null; attempts: number }>();
  /** Apps whose very first load failed: nothing serves, but the API still shows why. */
  readonly loadErrors = new Map<string, string>();
  private sweeper: NodeJS.Timeout;
  private closed = false;
  private listeners: Array<(id: string) => void> = [];

  constructor(
    readonly store: AppStore,
    readonly pool: SandboxPool,
    private readonly logger: Logger,
    private readonly options: RegistryOptions,
  ) {
    this.sweeper = setInterval(() => this.unloadIdle(), Math.min(options.idleUnloadMs, 60_000));
    this.sweeper.unref();
  }

  /** Called after every reload of an app that changed what serves (loaded, swapped or removed). */
  onChange(listener: (id: string) => void): void {
    this.listeners.push(listener);
  }

  private changed(id: string): void {
    for (const listener of this.listeners) listener(id);
  }

  get(id: string): LiveApp | undefined {
    return this.apps.get(id);
  }

  /** The live app, or the error a client should see: 400 for a bad id, 503 with the reason when it failed to load, else 404. */
  require(id: string): LiveApp {
    checkLoopAppId(id);
    const app = this.apps.get(id);
    if (app) return app;
    const why = this.loadErrors.get(id);
    if (why) throw new ApiError('load_error', `Loop App '${id}' could not be loaded: ${why}`);
    throw notFound(`no Loop App '${id}'`);
  }

  /** Apps whose latest load failed (serving their previous state, or nothing). */
  failedLoads(): number {
    return this.loadErrors.size + [...this.apps.values()].filter((a) => a.loadError).length;
  }

  list(): LiveApp[] {
    return [...this.apps.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  /**
   * Loads every app on disk (configs only: programs load on first use), after removing what interrupted writes
   * of an earlier run left behind.
   */
  async loadAll(): Promise<void> {
    const removed = await this.store.removeLeftovers();
    if (removed.length) this.logger.info('removed leftovers of interrupted writes', { removed });
    for (const id of await this.store.listAppIds()) await this.reload(id);
  }

  /** Reloads one app from disk; calls for the same app run one after another. Never throws. */
  reload(id: string): Promise<void> {
    return this.reloads.run(id, () => this.doReload(id));
  }

  private async doReload(id: string): Promise<void> {
    if (this.closed) return;
    const current = this.apps.get(id);
    if (!(await this.store.exists(id))) {
      this.loadErrors.delete(id);
      if (current) this.drop(current);
      this.changed(id);
      return;
    }
    try {
      const text = await this.store.readConfigText(id);
      if (text === null) throw new Error('config.yaml is missing');
      const checked = checkConfig(id, text);
      const activeOnDisk = await this.store.resolveActive(id);
      const wanted = checked.config.rollout.candidate;
      const candidateVersion =
        wanted && checked.config.rollout.percent > 0 && wanted !== activeOnDisk ? wanted : null;
      // Programs already serving are re-checked now; an app nobody has called yet loads on first use.
      const hot = !!current?.program?.key;
      const program = await this.programFor(id, activeOnDisk, current?.program ?? null, checked, hot);
      const candidate = await this.programFor(
        id,
        candidateVersion,
        current?.candidate ?? null,
        checked,
        true,
      );
      const next: LiveApp = { id, ...checked, activeOnDisk, program, candidate, loadError: null };
      this.swap(current, next);
      this.retries.delete(id);
      this.changed(id);
      this.options.onReload?.(id, null);
      this.logger.info('loop app loaded', {
        loop_app_id: id,
        version: program?.version ?? null,
        candidate: candidate?.version ?? null,
        status: next.config.status,
      });
    } catch (err) {
      const message = (err as Error).message;
      this.logger.warn('loop app load failed; previous state keeps serving', {
        loop_app_id: id,
        error: message,
      });
      if (current) current.loadError = message;
      else this.loadErrors.set(id, message);
      this.options.onReload?.(id, message);
      this.scheduleRetry(id);
    }
  }

  /**
   * The program for `version`. When `check` is set (the app is serving), it is read now, and compiled and
   * self-checked in the sandbox before it may serve, unless it is the very program already live. Otherwise it
   * is read and compiled on first use.
   */
  private async programFor(
    id: string,
    version: string | null,
    live: LiveProgram | null,
    checked: CheckedConfig,
    check: boolean,
  ): Promise<LiveProgram | null> {
    if (!version) return null;
    const read = () => this.readSource(id, version, checked.config);
    const metadata = await this.store.readMetadata(id, version);
    if (!check) return new LiveProgram(version, metadata, this.pool, read);
    const source = await read();
    if (live && live.key === source.key) return live;
    const program = new LiveProgram(version, metadata, this.pool, read, source);
    await this.selfCheck(program, source, checked);
    return program;
  }

  private async readSource(id: string, version: string, config: LoopAppConfig): Promise<ProgramSource> {
    const stored = await this.store.readVersion(id, version).catch((err: NodeJS.ErrnoException) => {
      throw new Error(
        `cannot read ${version}: ${err.code === 'ENOENT' ? 'no such version folder' : err.message}`,
      );
    });
    const { ['program.js']: code, ...files } = stored.files;
    if (code === undefined) throw new Error(`${version} has no program.js`);
    const { timeout_ms, memory_mb, max_result_bytes } = config.execution;
    // the key changes with the code, the files and the limits: any of them makes it a different program
    const limits = [timeout_ms, memory_mb, max_result_bytes];
    const key = `${id}@${version}@${sha256(JSON.stringify([code, files, ...limits])).slice(0, 16)}`;
    return { key, code, files, timeoutMs: timeout_ms, memoryMb: memory_mb, maxResultBytes: max_result_bytes };
  }

  /** Compiles the program and runs it once on an input that fits the schema; its answer must fit too. */
  private async selfCheck(
    program: LiveProgram,
    source: ProgramSource,
    checked: CheckedConfig,
  ): Promise<void> {
    const input = sampleFor(checked.config.input_schema);
    const fail = (why: string) => new Error(`${program.version}/program.js failed its check: ${why}`);
    try {
      await this.pool.load(source, input);
    } catch (err) {
      throw fail((err as Error).message);
    }
    const outcome = await this.pool.run(source.key, input);
    if (!outcome.ok || !checked.validators.validateOutput(outcome.answer.result)) {
      void this.pool.unload(source.key);
      throw fail(outcome.ok ? 'its answer does not match output_schema' : outcome.error.message);
    }
  }

  private swap(current: LiveApp | undefined, next: LiveApp): void {
    this.loadErrors.delete(next.id);
    this.apps.set(next.id, next);
    if (!current) return;
    if (current.program && current.program !== next.program && current.program !== next.candidate)
      current.program.retire();
    if (current.candidate && current.candidate !== next.program && current.candidate !== next.candidate) {
      current.candidate.retire();
    }
    if (current.validators !== next.validators) current.validators.release();
  }

  private drop(app: LiveApp): void {
    this.apps.delete(app.id);
    app.program?.retire();
    app.candidate?.retire();
    app.validators.release();
    this.logger.info('loop app removed', { loop_app_id: app.id });
  }

  /** A few retries after a failed load; after that, the next change on disk triggers the next try. */
  private scheduleRetry(id: string): void {
    const state = this.retries.get(id) ?? { timer: null, attempts: 0 };
    if (this.closed || state.timer || state.attempts >= MAX_RETRIES) return;
    state.attempts += 1;
    state.timer = setTimeout(() => {
      state.timer = null;
      void this.reload(id);
    }, this.options.retryDelayMs * state.attempts);
    state.timer.unref();
    this.retries.set(id, state);
  }

  private unloadIdle(): void {
    const now = Date.now();
    for (const app of this.apps.values()) {
      app.program?.unloadIfIdle(this.options.idleUnloadMs, now);
      app.candidate?.unloadIfIdle(this.options.idleUnloadMs, now);
    }
  }

  /** Waits for reloads in progress, then stops timers. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    for (const { timer } of this.retries.values()) if (timer) clearTimeout(timer);
    await this.reloads.idle();
  }
}
