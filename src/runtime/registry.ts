import { ApiError, notFound } from '../domain/errors';
import { checkLoopAppId } from '../domain/ids';
import type { Logger } from '../logger';
import type { JsonSchema, LoopAppConfig, VersionMetadata } from '../domain/types';
import { AppStore } from '../store/app-store';
import { KeyedLock } from '../store/keyed-lock';
import { checkConfig, type CheckedConfig, type SchemaValidators } from './app-config';
import { appStamp, versionStamp } from './disk-stamps';
import { inProcessModel, IN_PROCESS_OFF } from './in-process';
import { LiveProgram, type Placement } from './live-program';
import { checkProgram, readProgramSource } from './program-check';
import { SandboxPool, type ProgramSource, type SharedTexts } from './sandbox/pool';

export { LiveProgram } from './live-program';

const MAX_RETRIES = 3;
/** Apps loaded at once at start-up. */
const LOAD_CONCURRENCY = 16;

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

/** What the last good load of an app was made from, stamped before it was read (see `reloadChanged`). */
interface Stamps {
  /** config.yaml, the `active` link and the version folder it names. */
  files: string;
  candidate: string | null;
  candidateFolder: string | null;
}

/** A version loaded and checked ahead of the write that makes it serve. */
interface CheckedAhead {
  version: string;
  program: LiveProgram;
}

export interface RegistryOptions {
  idleUnloadMs: number;
  /** Delay before a failed load is tried again (a half-copied folder completes in the meantime). */
  retryDelayMs: number;
  /** Told after every reload: null when it loaded, else why not. */
  onReload?: (id: string, error: string | null) => void;
  /** Awaited after an API write has been loaded, before it answers (other workers load it too). */
  afterUpdate?: (id: string) => Promise<void>;
  /** Whether loadAll removes what interrupted writes left (not on a worker that writes nothing). Default true. */
  removeLeftovers?: boolean;
}

/**
 * The one owner of live state. Whatever changes what execute does is loaded here: the API's writes through
 * `update`, a person's edits through `reloadChanged` (the watcher), once each. A new config or program is loaded
 * and checked before it is swapped in; one that fails never replaces what serves, and shows as `loadError`.
 */
export class Registry {
  private apps = new Map<string, LiveApp>();
  private reloads = new KeyedLock();
  private retries = new Map<string, { timer: NodeJS.Timeout | null; attempts: number }>();
  private stamps = new Map<string, Stamps>();
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
    const removed = this.options.removeLeftovers === false ? [] : await this.store.removeLeftovers();
    if (removed.length) this.logger.info('removed leftovers of interrupted writes', { removed });
    // a few at a time: the file reads of one app overlap with the parsing of another
    const ids = await this.store.listAppIds();
    const next = async (): Promise<void> => {
      for (let id = ids.pop(); id !== undefined; id = ids.pop()) await this.reload(id);
    };
    await Promise.all(Array.from({ length: LOAD_CONCURRENCY }, next));
  }

  /** Reloads one app from disk; calls for the same app run one after another. Never throws. */
  reload(id: string): Promise<void> {
    return this.reloads.run(id, () => this.doReload(id));
  }

  /**
   * A file event (the watcher). It makes a failed load worth its retries again, and reloads unless the files
   * the app was last loaded from are unchanged: then it is the echo of a write already loaded (an API write), or
   * a change to nothing that serves (a version nobody runs). A person's edit right after an API write changes a
   * stamp, so it is loaded; an app whose last load failed is always tried again.
   */
  reloadChanged(id: string): Promise<void> {
    const retry = this.retries.get(id);
    if (retry) retry.attempts = 0;
    return this.reloads.run(id, async () => {
      if (!(await this.unchanged(id))) await this.doReload(id);
    });
  }

  /**
   * An API write: runs `write`, then reloads the app once, with its other reloads held back meanwhile, so the
   * file events of the write find it loaded. `activating`: a version the write makes serve, self-checked first
   * (a 422 when it fails, and then nothing is written); the reload takes it as checked.
   */
  update<T>(id: string, write: () => Promise<T>, activating?: string): Promise<T> {
    return this.reloads.run(id, async () => {
      const ahead = activating === undefined ? null : await this.checkAhead(id, activating);
      try {
        return await write();
      } finally {
        await this.doReload(id, ahead); // whatever reached the disk is what serves
        await this.options.afterUpdate?.(id);
      }
    });
  }

  /** Checks `version` under the app's current settings, unless it serves already (checked when it loaded). */
  private async checkAhead(id: string, version: string): Promise<CheckedAhead | null> {
    const app = this.apps.get(id);
    if (!app) return null;
    try {
      const source = await this.readSource(id, version, app.config);
      if (source.key === app.program?.key || source.key === app.candidate?.key) return null;
      const program = this.liveProgram(
        id,
        version,
        app.config,
        await this.store.readMetadata(id, version),
        source,
      );
      await checkProgram(program, app.config.input_schema, app.validators);
      return { version, program };
    } catch (err) {
      throw new ApiError('invalid_program', (err as Error).message);
    }
  }

  private async doReload(id: string, ahead: CheckedAhead | null = null): Promise<void> {
    const next = await this.load(id, ahead);
    // checked for a write that did not make it serve (the write failed, or the config was edited meanwhile)
    if (ahead && next?.program !== ahead.program && next?.candidate !== ahead.program) ahead.program.retire();
  }

  /** Loads the app from disk and swaps it in; resolves to what serves now, or null (removed, or failed). */
  private async load(id: string, ahead: CheckedAhead | null): Promise<LiveApp | null> {
    if (this.closed) return null;
    const current = this.apps.get(id);
    this.stamps.delete(id); // until this load succeeds, every file event reloads
    if (!(await this.store.exists(id))) {
      this.loadErrors.delete(id);
      if (current) this.drop(current);
      this.changed(id);
      return null;
    }
    let checked: CheckedConfig | null = null;
    try {
      const files = await appStamp(this.store.layout, id); // before the reads: a change during them shows
      const text = await this.store.readConfigText(id);
      if (text === null) throw new Error('config.yaml is missing');
      checked = checkConfig(id, text, current?.validators);
      const activeOnDisk = await this.store.resolveActive(id);
      const wanted = checked.config.rollout.candidate;
      const candidateVersion =
        wanted && checked.config.rollout.percent > 0 && wanted !== activeOnDisk ? wanted : null;
      const candidateFolder = await versionStamp(this.store.layout, id, candidateVersion);
      // Programs already serving are re-checked now; an app nobody has called yet loads on first use.
      const hot = !!current?.program?.key;
      const program = await this.programFor(id, activeOnDisk, current, checked, hot, ahead);
      const candidate = await this.programFor(id, candidateVersion, current, checked, true, ahead);
      const next: LiveApp = { id, ...checked, activeOnDisk, program, candidate, loadError: null };
      this.swap(current, next);
      this.stamps.set(id, { files, candidate: candidateVersion, candidateFolder });
      this.endRetries(id);
      this.changed(id);
      this.options.onReload?.(id, null);
      this.logger.info('loop app loaded', {
        loop_app_id: id,
        version: program?.version ?? null,
        candidate: candidate?.version ?? null,
        status: next.config.status,
      });
      return next;
    } catch (err) {
      if (checked && checked.validators !== current?.validators) checked.validators.release();
      const message = (err as Error).message;
      this.logger.warn('loop app load failed; previous state keeps serving', {
        loop_app_id: id,
        error: message,
      });
      if (current) current.loadError = message;
      else this.loadErrors.set(id, message);
      this.options.onReload?.(id, message);
      this.scheduleRetry(id);
      return null;
    }
  }

  /** Whether the files of the app's last good load are as it found them. */
  private async unchanged(id: string): Promise<boolean> {
    const seen = this.stamps.get(id);
    if (!seen || seen.files !== (await appStamp(this.store.layout, id))) return false;
    return seen.candidateFolder === (await versionStamp(this.store.layout, id, seen.candidate));
  }

  /**
   * The program for `version`. When `check` is set (the app is serving), it is loaded now, and checked before it
   * may serve, unless it is a program already live (a promoted candidate, say) or the one checked ahead of this
   * write. Otherwise it is loaded on first use.
   */
  private async programFor(
    id: string,
    version: string | null,
    current: LiveApp | undefined,
    checked: CheckedConfig,
    check: boolean,
    ahead: CheckedAhead | null,
  ): Promise<LiveProgram | null> {
    if (!version) return null;
    const metadata = await this.store.readMetadata(id, version);
    if (!check && ahead?.version !== version) return this.liveProgram(id, version, checked.config, metadata);
    // what a live program of this version verified is used again (see verifiedShared)
    const held = [current?.program, current?.candidate].find((p) => p?.version === version)?.verifiedShared;
    const source = await this.readSource(id, version, checked.config, held);
    const live = [current?.program, current?.candidate, ahead?.program].find((p) => p?.key === source.key);
    if (live) return live;
    const program = this.liveProgram(id, version, checked.config, metadata, source);
    try {
      await checkProgram(program, checked.config.input_schema, checked.validators);
    } catch (err) {
      throw new Error(`${version}/${(err as Error).message}`);
    }
    return program;
  }

  private liveProgram(
    id: string,
    version: string,
    config: LoopAppConfig,
    metadata: VersionMetadata | null,
    source?: ProgramSource,
  ): LiveProgram {
    const read = (held?: SharedTexts) => this.readSource(id, version, config, held);
    return new LiveProgram(version, metadata, this.pool, read, config.execution.in_process, source);
  }

  /**
   * Where `version` runs: as it was loaded when it serves and is loaded, else where it would run if it served now
   * (its files are read and checked, nothing is kept).
   */
  async placementOf(id: string, version: string): Promise<Placement & { loaded: boolean }> {
    const app = this.require(id);
    const live = [app.program, app.candidate].find((p) => p?.version === version && p.key);
    if (live?.placement) return { ...live.placement, loaded: true };
    const source = await this.readSource(id, version, app.config);
    const placed = app.config.execution.in_process
      ? inProcessModel(source)
      : { model: null, why: IN_PROCESS_OFF };
    return { path: placed.model ? 'in-process' : 'sandbox', why: placed.why, loaded: false };
  }

  private readSource(
    id: string,
    version: string,
    config: LoopAppConfig,
    held?: SharedTexts,
  ): Promise<ProgramSource> {
    return readProgramSource(this.store, id, version, config, held);
  }

  /** The same check in the sandbox for a program that is not a version yet (an upload), under a key of its own. */
  async selfCheck(
    source: ProgramSource,
    inputSchema: JsonSchema,
    validators: SchemaValidators,
  ): Promise<void> {
    const program = new LiveProgram('upload', null, this.pool, () => Promise.resolve(source), false, source);
    await checkProgram(program, inputSchema, validators);
    program.retire();
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

  /** A load that worked ends the retries of the failures before it. */
  private endRetries(id: string): void {
    const timer = this.retries.get(id)?.timer;
    if (timer) clearTimeout(timer);
    this.retries.delete(id);
  }

  /** A few retries after a failed load; after that, the next file event allows a few more. */
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
