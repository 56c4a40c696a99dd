import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { isLoopAppId } from '../domain/ids';
import type { Logger } from '../logger';

const VERSION_NAME = /^v\d+$/;
/** The entries of `artifacts/` that decide what serves: `active` and the version folders. */
const isServingEntry = (name: unknown): boolean =>
  name === 'active' || (typeof name === 'string' && VERSION_NAME.test(name));

/**
 * Turns file events under `loop-apps/` into `reload(appId)` calls, debounced per app. It never executes anything
 * itself. `followSymlinks: false` keeps it inside the apps folder whatever a link points to (`active -> /etc`).
 * Chokidar reports a replaced link only when the path it resolves to changes, so a link made dangling or into a
 * loop, and the flip back after it, would go unseen: the raw events of each `artifacts/` folder catch every
 * replacement of `active` or of a version entry.
 */
export class AppWatcher {
  private watcher: FSWatcher | null = null;
  private timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly appsDir: string,
    private readonly reload: (appId: string) => Promise<void>,
    private readonly logger: Logger,
    private readonly debounceMs = 100,
  ) {}

  /** Resolves once the initial scan is done and changes are being seen. */
  start(): Promise<void> {
    this.watcher = watch(this.appsDir, {
      ignoreInitial: true,
      followSymlinks: false,
      depth: 4,
      ignored: (file) => this.ignored(file),
    });
    this.watcher.on('all', (event, file) => {
      const appId = path.relative(this.appsDir, file).split(path.sep)[0];
      if (!isLoopAppId(appId)) return;
      this.logger.debug('file event', { event, file: path.relative(this.appsDir, file) });
      this.schedule(appId);
    });
    this.watcher.on('raw', (_event, name, details) => {
      const { watchedPath } = details as { watchedPath: string };
      const parts = path.relative(this.appsDir, watchedPath).split(path.sep);
      if (parts.length === 2 && parts[1] === 'artifacts' && isLoopAppId(parts[0]) && isServingEntry(name)) {
        this.schedule(parts[0]);
      }
    });
    this.watcher.on('error', (err) => this.logger.warn('watcher error', { error: String(err) }));
    return new Promise((resolve) => this.watcher!.once('ready', () => resolve()));
  }

  /** Only what decides what serves: config.yaml, version folders and their files, and `active`. */
  private ignored(file: string): boolean {
    const parts = path.relative(this.appsDir, file).split(path.sep);
    if (parts[0] === '' || parts[0] === '..') return false;
    if (parts.some((p) => p.startsWith('.'))) return true; // the store's temporary files, folders and links
    switch (parts.length) {
      case 1:
        return !isLoopAppId(parts[0]);
      case 2:
        return parts[1] !== 'config.yaml' && parts[1] !== 'artifacts';
      case 3:
        return !isServingEntry(parts[2]);
      default:
        return !VERSION_NAME.test(parts[2]);
    }
  }

  private schedule(appId: string): void {
    clearTimeout(this.timers.get(appId));
    this.timers.set(
      appId,
      setTimeout(() => {
        this.timers.delete(appId);
        void this.reload(appId);
      }, this.debounceMs),
    );
  }

  async close(): Promise<void> {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await this.watcher?.close();
  }
}
