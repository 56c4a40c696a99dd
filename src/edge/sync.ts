import { ApiError } from '../domain/errors';
import { MAX_VERSION_FILE_BYTES } from '../domain/ids';
import type { FileDigest } from '../domain/types';
import type { Logger } from '../logger';
import type { Registry } from '../runtime/registry';
import type { CloudSettings } from '../settings';
import { openBundle } from './bundle';
import { checkBlob, checkManifest, entryDigest, MAX_MANIFEST_BYTES, type Manifest } from './manifest';
import { Replica, type FetchBlob } from './replica';
import { readCapped, reason, Refused, type CloudClient } from './cloud-client';

/** A poll that brought nothing new is not repeated sooner (a cloud that ignores the long-poll is not hammered). */
const MIN_POLL_MS = 1000;
const STATE_FORMAT = 'loopai-edge-state/1';

export interface SyncStatus {
  /** `starting`: no answer yet; `synced`: the last manifest is applied; `retrying`: the cloud or a file failed; `refused`: the key was refused (401/403), the sync stopped. */
  state: 'starting' | 'synced' | 'retrying' | 'refused';
  /** Null for an edge fed by bundles only. */
  cloud: string | null;
  last_synced_at: string | null;
  error: string | null;
}

/** What the edge says of one app in `GET /loop-apps/{id}`. */
export interface AppSync {
  state: 'synced' | 'failed';
  /** The version the cloud serves, as the last manifest named it. */
  version: string | null;
  error: string | null;
  at: string;
}

interface SavedState {
  format: typeof STATE_FORMAT;
  cloud: string | null;
  synced_at: string;
  /** Each app applied, with the digest of the manifest entry it was applied from. */
  apps: Record<string, string>;
}

/**
 * An edge's sync with its cloud: long-polls the manifest, applies what changed (see Replica), records what it
 * applied under `edge/state.json`, and backs off with jitter while the cloud cannot be reached. A restarted edge
 * restores that record, so it serves its last known good state while the cloud is down.
 */
export class EdgeSync {
  private readonly replica: Replica;
  private applied = new Map<string, string>();
  private apps = new Map<string, AppSync>();
  private etag: string | null = null;
  private running: Promise<void> | null = null;
  private following: NodeJS.Timeout | null = null;
  private applying: Promise<unknown> = Promise.resolve();
  private restored = false;
  private synced = false;
  readonly status: SyncStatus;

  /** `cloud`: null for an edge fed by bundles only (see importBundle). */
  constructor(
    private readonly registry: Registry,
    private readonly cloud: CloudClient | null,
    private readonly settings: CloudSettings,
    private readonly logger: Logger,
  ) {
    this.status = { state: 'starting', cloud: cloud?.url ?? null, last_synced_at: null, error: null };
    this.replica = new Replica(registry);
  }

  /** Where what this edge serves comes from, for messages. */
  private get source(): string {
    return this.cloud ? `its cloud ${this.cloud.url}` : 'a bundle (POST /bundle, or --bundle FILE)';
  }

  /** Synced in this run, or restored from the last one: what is on disk is a whole state the cloud gave. */
  get ready(): boolean {
    return this.synced || this.restored;
  }

  appSync(id: string): AppSync | null {
    return this.apps.get(id) ?? null;
  }

  /** Why an app cannot be executed here yet (503 not_synced), or null when it can be tried. */
  notSynced(id: string): ApiError | null {
    if (!this.ready) {
      const why = this.status.error ? `: ${this.status.error}` : '';
      return new ApiError('not_synced', `this edge has not synced from ${this.source} yet${why}`);
    }
    const app = this.apps.get(id);
    if (app?.state === 'failed' && !this.registry.get(id))
      return new ApiError('not_synced', `'${id}' could not be synced from ${this.source}: ${app.error}`);
    return null;
  }

  /** Reads what the last run applied; true when there was a complete state to serve. */
  async restore(): Promise<boolean> {
    const saved = (await this.registry.store.edge.readState().catch(() => null)) as SavedState | null;
    if (saved?.format !== STATE_FORMAT || typeof saved.apps !== 'object' || saved.apps === null) return false;
    if (this.cloud && saved.cloud && saved.cloud !== this.cloud.url) {
      // what another cloud gave is no state of this one's: the edge is ready once this cloud has synced it
      this.logger.warn('the saved edge state is of another cloud; it is not restored', {
        saved: saved.cloud,
        cloud: this.cloud.url,
      });
      return false;
    }
    for (const [id, digest] of Object.entries(saved.apps))
      if (typeof digest === 'string') this.applied.set(id, digest);
    this.status.last_synced_at = saved.synced_at;
    this.restored = true;
    this.logger.info('edge restored its last synced state', {
      apps: this.applied.size,
      synced_at: saved.synced_at,
    });
    return true;
  }

  /** Syncs until close() (the one process that writes: the leader among workers). */
  start(): void {
    if (this.cloud) this.running ??= this.loop(this.cloud);
  }

  /** For a worker that does not sync: ready once the one that does has saved a state. */
  follow(): void {
    this.following = setInterval(() => {
      if (this.ready && this.following) clearInterval(this.following);
      else void this.restore();
    }, MIN_POLL_MS);
    this.following.unref();
  }

  /** Resolves once the sync has stopped (the cloud client's signal stops it). */
  async close(): Promise<void> {
    if (this.following) clearInterval(this.following);
    await this.running;
  }

  /**
   * Applies an offline bundle (see edge/bundle.ts): its apps are made what it says, each file checked against its
   * digest; apps it does not name are left as they are. Resolves to what became of each app.
   */
  async importBundle(file: string): Promise<{ apps: Array<{ loop_app_id: string } & AppSync> }> {
    const bundle = await openBundle(file);
    try {
      await this.applyManifest(bundle.manifest, bundle.fetchBlob, false);
    } finally {
      await bundle.close();
    }
    this.logger.info('edge imported a bundle', { file, apps: bundle.manifest.apps.length });
    return {
      apps: bundle.manifest.apps.map(({ loop_app_id }) => ({ loop_app_id, ...this.apps.get(loop_app_id)! })),
    };
  }

  private async loop(cloud: CloudClient): Promise<void> {
    let failures = 0;
    const fetchBlob: FetchBlob = (ref, what) => this.fetchBlob(cloud, ref, what);
    while (!cloud.stopping.aborted) {
      const began = Date.now();
      try {
        const manifest = await this.fetchManifest(cloud);
        let changed = false;
        if (manifest) {
          const applied = await this.applyManifest(manifest.value, fetchBlob, true);
          changed = applied.changed;
          // a failed app is tried again after a pause: the manifest is asked for anew, not waited on
          this.etag = applied.failed ? null : manifest.etag;
        }
        failures = this.status.state === 'retrying' ? failures + 1 : 0;
        if (failures) await cloud.pause(cloud.backoff(failures));
        else if (!changed) await cloud.pause(MIN_POLL_MS - (Date.now() - began));
      } catch (err) {
        if (cloud.stopping.aborted) return;
        if (err instanceof Refused) {
          this.status.state = 'refused';
          this.status.error = err.message;
          this.logger.error(`edge sync stopped: configuration error: ${err.message}`, { cloud: cloud.url });
          return;
        }
        failures += 1;
        const delay = cloud.backoff(failures);
        this.status.state = 'retrying';
        this.status.error = reason(err);
        this.logger.warn('edge sync failed; retrying', {
          cloud: cloud.url,
          error: this.status.error,
          retry_in_ms: Math.round(delay),
        });
        await cloud.pause(delay);
      }
    }
  }

  /** The manifest when it differs from the one applied (null: unchanged after the long-poll). */
  private async fetchManifest(cloud: CloudClient): Promise<{ value: Manifest; etag: string | null } | null> {
    const wait = this.etag ? this.settings.wait_s : 0;
    const res = await cloud.request(`/edge/v1/manifest${wait ? `?wait=${wait}` : ''}`, {
      headers: this.etag ? { 'if-none-match': this.etag } : {},
      timeoutMs: (wait + 15) * 1000,
    });
    if (res.status === 304) {
      await res.body?.cancel();
      // still the manifest last applied whole (a lie sent since, and refused, is over)
      this.status.state = 'synced';
      this.status.error = null;
      return null;
    }
    if (res.status !== 200) throw new Error(`the cloud answered ${res.status} to the manifest request`);
    const text = (await readCapped(res, MAX_MANIFEST_BYTES, 'the manifest')).toString('utf8');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new Error('the manifest is not JSON');
    }
    return { value: checkManifest(value), etag: res.headers.get('etag') };
  }

  private async fetchBlob(cloud: CloudClient, ref: FileDigest, what: string): Promise<Buffer> {
    const res = await cloud.request(`/edge/v1/blobs/${ref.sha256}`, { timeoutMs: 120_000 });
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new Error(`${what}: the cloud answered ${res.status} for its file (sha256 ${ref.sha256})`);
    }
    return checkBlob(
      await readCapped(res, Math.min(ref.size, MAX_VERSION_FILE_BYTES), what),
      ref,
      what,
      'the cloud',
    );
  }

  /**
   * Applies the entries that changed (and with `removeOthers`, removes the apps it does not name); resolves to
   * whether anything changed and how many apps failed.
   */
  private applyManifest(
    manifest: Manifest,
    fetchBlob: FetchBlob,
    removeOthers: boolean,
  ): Promise<{ changed: boolean; failed: number }> {
    // one at a time: a bundle imported while a manifest from the cloud is applied waits for it
    const next = this.applying.then(() => this.applyNow(manifest, fetchBlob, removeOthers));
    this.applying = next.catch(() => undefined);
    return next;
  }

  private async applyNow(
    manifest: Manifest,
    fetchBlob: FetchBlob,
    removeOthers: boolean,
  ): Promise<{ changed: boolean; failed: number }> {
    const at = new Date().toISOString();
    const named = new Set([...manifest.apps.map((a) => a.loop_app_id), ...(manifest.unavailable ?? [])]);
    let changed = false;
    let failed = 0;
    for (const entry of manifest.apps) {
      const id = entry.loop_app_id;
      const digest = entryDigest(entry);
      const version = entry.active_version;
      if (this.applied.get(id) === digest && this.registry.get(id)) {
        this.apps.set(id, { state: 'synced', version, error: null, at: this.apps.get(id)?.at ?? at });
        continue;
      }
      changed = true;
      try {
        await this.replica.apply(entry, fetchBlob);
        this.applied.set(id, digest);
        this.apps.set(id, { state: 'synced', version, error: null, at });
        this.logger.info('edge synced a Loop App', { loop_app_id: id, version });
      } catch (err) {
        failed += 1;
        const error = (err as Error).message;
        this.apps.set(id, { state: 'failed', version, error, at });
        this.logger.error('edge could not sync a Loop App; its last good version keeps serving', {
          loop_app_id: id,
          error,
        });
      }
    }
    for (const app of removeOthers ? this.registry.list() : []) {
      if (named.has(app.id)) continue;
      changed = true;
      await this.replica.remove(app.id);
      this.applied.delete(app.id);
      this.apps.delete(app.id);
      this.logger.info('edge removed a Loop App its cloud no longer names', { loop_app_id: app.id });
    }
    await this.save(at);
    this.synced = true;
    this.status.last_synced_at = at;
    this.status.state = failed ? 'retrying' : 'synced';
    this.status.error = failed
      ? `${failed} Loop App(s) could not be synced (GET /loop-apps/{id} says why)`
      : null;
    return { changed, failed };
  }

  private save(at: string): Promise<void> {
    const state: SavedState = {
      format: STATE_FORMAT,
      cloud: this.status.cloud,
      synced_at: at,
      apps: Object.fromEntries(this.applied),
    };
    return this.registry.store.edge.writeState(state);
  }
}
