import { sha256 } from '../domain/hash';
import type { FileDigest, LoopAppConfig } from '../domain/types';
import type { Logger } from '../logger';
import { folderStamp } from '../runtime/disk-stamps';
import type { LiveApp, Registry } from '../runtime/registry';
import { MANIFEST_FORMAT, type ManifestApp } from './manifest';

/** A manifest as sent: its body, its ETag, and where each file it names is. */
export interface Published {
  etag: string;
  body: string;
  blobs: Map<string, BlobPlace>;
}

export interface BlobPlace {
  id: string;
  version: string;
  name: string;
}

/** Reloads that come together (an activation writes config, link and metadata) wake waiting edges once. */
const SETTLE_MS = 20;
const RETRY_UNREADABLE_MS = 1000;

/**
 * The cloud's side of the sync: the manifest of what serves, one entry per app, rebuilt only for the apps the
 * registry reports changed; the same manifest for the same key scope is built once until something changes. Edges
 * waiting on a long-poll are woken when it does.
 */
export class ManifestPublisher {
  private entries = new Map<string, ManifestApp>();
  private dirty = new Set<string>();
  private fresh = false;
  private built = new Map<string, Published>();
  /** File digests per version folder, kept while the folder's stamp is the same. */
  private digests = new Map<string, { stamp: string; files: Record<string, FileDigest> }>();
  private waiters = new Set<() => void>();
  private settling: NodeJS.Timeout | null = null;
  /** Apps whose files could not be read, and since when: tried again after RETRY_UNREADABLE_MS. */
  private unreadableSince = new Map<string, number>();
  private closed = false;
  private refreshing: Promise<void> | null = null;

  constructor(
    private readonly registry: Registry,
    private readonly logger: Logger,
  ) {
    registry.onChange((id) => this.invalidate(id));
  }

  /** The manifest for a key limited to `scope` (null: every app). */
  async current(scope: ReadonlySet<string> | null): Promise<Published> {
    for (const [id, since] of this.unreadableSince) {
      if (Date.now() - since < RETRY_UNREADABLE_MS) continue;
      this.unreadableSince.delete(id);
      this.invalidate(id);
    }
    while (this.refreshing || this.dirty.size || !this.fresh) {
      // cleared once settled, never inside refresh(): with nothing to read it settles before it is assigned
      this.refreshing ??= this.refresh().finally(() => (this.refreshing = null));
      await this.refreshing;
    }
    const key = scope ? [...scope].sort().join(',') : '*';
    let published = this.built.get(key);
    if (!published) this.built.set(key, (published = this.publish(scope)));
    return published;
  }

  /**
   * The manifest once it differs from `etag`: at once if it does already, else when it changes, or null when
   * `ms` pass first or `signal` aborts (the edge went away, the server is closing).
   */
  async changed(
    etag: string,
    scope: ReadonlySet<string> | null,
    ms: number,
    signal: AbortSignal,
  ): Promise<Published | null> {
    const deadline = Date.now() + ms;
    for (;;) {
      const now = await this.current(scope);
      if (now.etag !== etag) return now;
      const left = deadline - Date.now();
      if (left <= 0 || signal.aborted) return null;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          this.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        signal.addEventListener('abort', done);
        this.waiters.add(done);
      });
    }
  }

  /** Where the file with this digest is, when a manifest for this scope names it. */
  async place(digest: string, scope: ReadonlySet<string> | null): Promise<BlobPlace | null> {
    return (await this.current(scope)).blobs.get(digest) ?? null;
  }

  read(place: BlobPlace): Promise<Buffer> {
    return this.registry.store.versionFiles.read(place.id, place.version, place.name);
  }

  /** A file that no longer has the digest its manifest gave (edited meanwhile): its app is read again. */
  stale(id: string): void {
    this.invalidate(id);
  }

  private invalidate(id: string): void {
    this.dirty.add(id);
    this.built.clear();
    if (this.closed || !this.waiters.size) return; // nobody to wake
    this.settling ??= setTimeout(() => {
      this.settling = null;
      for (const wake of [...this.waiters]) wake();
    }, SETTLE_MS);
  }

  private async refresh(): Promise<void> {
    const ids = this.fresh ? [...this.dirty] : this.registry.list().map((a) => a.id);
    this.fresh = true;
    this.dirty.clear();
    for (const id of ids) {
      const app = this.registry.get(id);
      if (!app) {
        this.entries.delete(id);
        continue;
      }
      // files that cannot be read now leave the app's last entry as it was
      const entry = await this.entryOf(app).catch((err: Error) => this.unreadable(id, err));
      if (entry) this.entries.set(id, entry);
    }
    this.built.clear();
  }

  private unreadable(id: string, err: Error): null {
    this.logger.warn('a Loop App is left out of the edge manifest: its files could not be read', {
      loop_app_id: id,
      error: err.message,
    });
    this.unreadableSince.set(id, Date.now()); // read again by a request a while later
    return null;
  }

  private async entryOf(app: LiveApp): Promise<ManifestApp> {
    const serving = app.program?.version ?? null;
    const canary = app.candidate
      ? { version: app.candidate.version, percent: app.config.rollout.percent }
      : null;
    const versions: ManifestApp['versions'] = {};
    for (const version of [serving, canary?.version]) {
      if (version) versions[version] = { files: await this.filesOf(app.id, version) };
    }
    return {
      loop_app_id: app.id,
      config: withoutSecrets(app.config),
      active_version: serving,
      canary,
      versions,
    };
  }

  private async filesOf(id: string, version: string): Promise<Record<string, FileDigest>> {
    const key = `${id}/${version}`;
    const stamp = await folderStamp(this.registry.store.layout.version(id, version));
    const known = this.digests.get(key);
    if (known?.stamp === stamp) return known.files;
    const files = await this.registry.store.versionFiles.digests(id, version);
    this.digests.set(key, { stamp, files });
    return files;
  }

  private publish(scope: ReadonlySet<string> | null): Published {
    const apps = [...this.entries.values()]
      .filter((app) => !scope || scope.has(app.loop_app_id))
      .sort((a, b) => (a.loop_app_id < b.loop_app_id ? -1 : 1));
    // apps here that could not be loaded (a broken config.yaml, say): edges keep what they have of them
    const unavailable = [...this.registry.loadErrors.keys()].filter((id) => !scope || scope.has(id)).sort();
    const body = JSON.stringify({ format: MANIFEST_FORMAT, apps, unavailable });
    const blobs = new Map<string, BlobPlace>();
    for (const app of apps) {
      for (const [version, { files }] of Object.entries(app.versions)) {
        for (const [name, { sha256: digest }] of Object.entries(files))
          blobs.set(digest, { id: app.loop_app_id, version, name });
      }
    }
    const etag = `"${sha256(body)}"`;
    return { etag, body, blobs };
  }

  /** Answers every waiting edge now (the server is closing). */
  close(): void {
    this.closed = true;
    if (this.settling) clearTimeout(this.settling);
    for (const wake of [...this.waiters]) wake();
  }
}

/** The config an edge gets: the teacher's headers (where its tokens are) stay on the cloud. */
function withoutSecrets(config: LoopAppConfig): LoopAppConfig {
  const http = config.validation.http;
  if (!http?.headers) return config;
  const { headers: _headers, ...rest } = http;
  return { ...config, validation: { ...config.validation, http: rest } };
}
