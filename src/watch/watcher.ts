import path from 'node:path';
import { FSWatcher } from 'chokidar';
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
  private closers = new Set<() => void>();
  private timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly appsDir: string,
    private readonly reload: (appId: string) => Promise<void>,
    private readonly logger: Logger,
    private readonly debounceMs = 100,
  ) {}

  /** Resolves once the initial scan is done and changes are being seen. */
  start(): Promise<void> {
    this.watcher = new FSWatcher({
      ignoreInitial: true,
      followSymlinks: false,
      depth: 4,
      // any event means "look again" here, so unlink+add pairs need no merging (its timer outlives close())
      atomic: false,
      ignored: (file) => this.ignored(file),
    });
    this.keepClosers(this.watcher);
    this.watcher.add(this.appsDir);
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

  /**
   * chokidar 5 loses the closer of a folder's fs.watch handle when close() lands between the handle's creation
   * and its registration (paulmillr/chokidar#1482: the process then never exits). Every closer its handler makes
   * is kept here as well, to run the ones it lost after close(). This reaches into chokidar's internals, hence
   * the exact version in package.json.
   */
  private keepClosers(watcher: FSWatcher): void {
    const handler = watcher._nodeFsHandler;
    const make = handler._watchWithNodeFs.bind(handler);
    handler._watchWithNodeFs = (file, listener) => {
      const close = make(file, listener);
      if (!close) return close;
      const once = () => {
        if (this.closers.delete(once)) close();
      };
      this.closers.add(once);
      return once;
    };
  }

  async close(): Promise<void> {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    const watcher = this.watcher;
    if (!watcher) return;
    // chokidar's close() forgets its throttles without clearing their timers (up to a second each)
    for (const throttles of watcher._throttled.values()) for (const t of [...throttles.values()]) t.clear();
    await watcher.close();
    for (const close of this.closers) close();
  }
}
