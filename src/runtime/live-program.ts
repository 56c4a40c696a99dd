import type { VersionMetadata } from '../domain/types';
import type { ProgramSource, SandboxPool } from './sandbox/pool';

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
