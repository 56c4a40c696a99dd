import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { isLoopAppId } from '../domain/ids';
import type { Logger } from '../logger';

const VERSION_NAME = /^v\d+$/;
/** The entries of `artifacts/` that decide what serves: `active` and the version folders. */
const isServingEntry = (name: string): boolean => name === 'active' || VERSION_NAME.test(name);

/** Whether `dir` is a folder itself, not a link to one (a link is never watched through). */
const isRealFolder = async (dir: string): Promise<boolean> =>
  (await fsp.lstat(dir).catch(() => null))?.isDirectory() ?? false;

/**
 * Turns file events under `loop-apps/` into `reload(appId)` calls, debounced per app. It never executes anything
 * itself. It watches only the folders whose entries decide what serves: the apps folder, each app's folder
 * (config.yaml), its `artifacts/` (the `active` link and the version folders) and each version folder. One
 * inotify watch per folder and nothing per file, so 10,000 apps cost about a second and tens of MB; `datasets/`,
 * which changes with every execution, is not watched at all.
 *
 * A watch follows its folder's inode, so whenever an event names a folder (an app made or removed, `artifacts/`
 * or a version folder added, renamed or replaced, a whole tree moved in), the watches under it are armed again
 * from what is on disk, and the reload comes after that. Only real folders are watched: the entries are read
 * with their types, never through a symlink (`active -> /etc` is an entry, not a place to watch). Every
 * replacement of a link, a dangling one or a loop included, is an event of the folder it is in.
 */
export class AppWatcher {
  /** App id ('' for the apps folder) → its watched folders → their watches. */
  private watches = new Map<string, Map<string, fs.FSWatcher>>();
  private timers = new Map<string, NodeJS.Timeout>();
  private closed = false;
  private warned = false;

  constructor(
    private readonly appsDir: string,
    private readonly reload: (appId: string) => Promise<void>,
    private readonly logger: Logger,
    private readonly debounceMs = 100,
  ) {}

  /** Resolves once every folder is watched and changes are being seen. */
  async start(): Promise<void> {
    await fsp.mkdir(this.appsDir, { recursive: true }); // a new data directory: its first app is seen too
    // the operator's own folder: a link to it is followed (and it is no app's: its events name apps)
    this.watch('', this.appsDir, (name) => {
      if (isLoopAppId(name)) this.rearm(name, this.appDir(name), () => this.followApp(name));
    });
    const entries = await fsp.readdir(this.appsDir, { withFileTypes: true });
    const apps = entries.filter((e) => e.isDirectory() && isLoopAppId(e.name));
    await Promise.all(apps.map((e) => this.followApp(e.name, true)));
  }

  private appDir(id: string): string {
    return path.join(this.appsDir, id);
  }

  /** Watches an app's folder, its artifacts and its version folders (whatever of them is there now). */
  private async followApp(id: string, isFolder = false): Promise<void> {
    const dir = this.appDir(id);
    if (!isFolder && !(await isRealFolder(dir))) return;
    this.watch(id, dir, (name) => {
      if (name === 'config.yaml') this.schedule(id);
      else if (name === 'artifacts')
        this.rearm(id, path.join(dir, 'artifacts'), () => this.followArtifacts(id));
    });
    await this.followArtifacts(id);
  }

  private async followArtifacts(id: string): Promise<void> {
    const artifacts = path.join(this.appDir(id), 'artifacts');
    if (!(await isRealFolder(artifacts))) return;
    this.watch(id, artifacts, (name) => this.artifactsEvent(id, name));
    // the entries' own types: a version folder that is a symlink is not one to watch (nor a version)
    const entries = await fsp.readdir(artifacts, { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory() && VERSION_NAME.test(e.name)) this.watchVersion(id, e.name);
  }

  private artifactsEvent(id: string, name: string): void {
    if (!isServingEntry(name)) return; // the activation log, temporary links and folders
    if (name === 'active') this.schedule(id);
    else this.rearm(id, path.join(this.appDir(id), 'artifacts', name), () => this.followVersion(id, name));
  }

  private async followVersion(id: string, version: string): Promise<void> {
    if (await isRealFolder(path.join(this.appDir(id), 'artifacts', version))) this.watchVersion(id, version);
  }

  private watchVersion(id: string, version: string): void {
    this.watch(id, path.join(this.appDir(id), 'artifacts', version), () => this.schedule(id));
  }

  /** A folder appeared, went or was replaced: drop the watches under it, watch again what is there, then reload. */
  private rearm(id: string, dir: string, follow: () => Promise<void>): void {
    const watches = this.watches.get(id);
    for (const [watched, watch] of watches ?? []) {
      if (watched === dir || watched.startsWith(dir + path.sep)) {
        watch.close();
        watches!.delete(watched);
      }
    }
    if (watches?.size === 0) this.watches.delete(id);
    void follow().finally(() => this.schedule(id));
  }

  /** Watches the folder `dir` (a real folder: its caller checked, and it is checked again), unless it is watched. */
  private watch(id: string, dir: string, onEntry: (name: string) => void): void {
    const watches = this.watches.get(id) ?? new Map<string, fs.FSWatcher>();
    if (this.closed || watches.has(dir)) return;
    let watch: fs.FSWatcher;
    try {
      watch = fs.watch(dir, { persistent: false }, (_event, name) => {
        if (!this.closed && name && !name.startsWith('.')) onEntry(name);
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.warnOnce(dir, err as Error);
      return;
    }
    // the folder went away: the event of its parent re-arms what replaces it
    watch.on('error', () => this.unwatch(watches, dir, watch));
    watches.set(dir, watch);
    this.watches.set(id, watches);
    // fs.watch follows a link: a folder swapped for one after its check is let go (the swap is an event of its
    // parent, which re-arms whatever is there next)
    if (id !== '') void isRealFolder(dir).then((real) => real || this.unwatch(watches, dir, watch));
  }

  private unwatch(watches: Map<string, fs.FSWatcher>, dir: string, watch: fs.FSWatcher): void {
    watch.close();
    if (watches.get(dir) === watch) watches.delete(dir);
  }

  private warnOnce(dir: string, err: Error): void {
    if (this.warned) return;
    this.warned = true;
    this.logger.warn(
      'cannot watch a folder: its hand edits are not seen (raise fs.inotify.max_user_watches?)',
      {
        folder: path.relative(this.appsDir, dir),
        error: err.message,
      },
    );
  }

  private schedule(appId: string): void {
    if (this.closed) return;
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
    this.closed = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const watches of this.watches.values()) for (const watch of watches.values()) watch.close();
    this.watches.clear();
  }
}
