import yaml from 'js-yaml';
import type { FileDigest } from '../domain/types';
import { checkConfig } from '../runtime/app-config';
import type { Registry } from '../runtime/registry';
import type { ManifestApp } from './manifest';

/** Fetches one file by digest; resolves only to bytes of that size and sha256. */
export type FetchBlob = (ref: FileDigest, what: string) => Promise<Buffer>;

/**
 * An edge's copy of its cloud's apps, written into its own data directory in the same layout, so its registry and
 * watcher serve them as any app. A manifest entry is made whole before it may serve: its config is checked, every
 * file is fetched and verified, the version folders are put in place whole, and the active version is self-checked
 * before the link flips. Whatever fails leaves the version that served serving.
 */
export class Replica {
  constructor(private readonly registry: Registry) {}

  private get store() {
    return this.registry.store;
  }

  /** Makes the app on disk what `entry` says; throws saying what failed (and then nothing serving changed). */
  async apply(entry: ManifestApp, fetchBlob: FetchBlob): Promise<void> {
    const id = entry.loop_app_id;
    // the edge's own check: a config it could not load never replaces one that serves
    checkConfig(id, yaml.dump(entry.config)).validators.release();
    // a new app is made without a version first, so that the one it is to serve is self-checked like any other
    if (!(await this.store.exists(id)))
      await this.registry.update(id, () => this.store.createApp(id, entry.config));
    const held = new Set(await this.store.listVersionNames(id));
    const staged = new Map<string, Map<string, Buffer>>();
    for (const [version, { files }] of Object.entries(entry.versions)) {
      const folder = await this.fetchVersion(id, version, files, held.has(version), fetchBlob);
      if (folder) staged.set(version, folder);
    }
    const put = (version: string) => this.store.versionFiles.put(id, version, staged.get(version)!);
    // versions new to this edge go in place first (nothing names them yet): the active one is self-checked there
    const placed = [...staged.keys()].filter((v) => !held.has(v));
    for (const version of placed) await put(version);
    const active = entry.active_version;
    try {
      await this.registry.update(
        id,
        async () => {
          await this.store.writeConfig(id, entry.config);
          // a held version whose metadata.json changed (its program files cannot: see fetchVersion)
          for (const version of staged.keys()) if (!placed.includes(version)) await put(version);
          if (active && (await this.store.activeVersion(id)) !== active)
            await this.store.versionFiles.pointActive(id, active);
        },
        active ?? undefined,
      );
    } catch (err) {
      // refused before anything was written (the new active version failed its check): it leaves nothing behind
      for (const version of placed) await this.store.versionFiles.remove(id, version);
      throw err;
    }
    const live = this.registry.get(id);
    const failed = live?.loadError ?? this.registry.loadErrors.get(id);
    if (failed) throw new Error(failed);
  }

  /** Removes an app the cloud no longer names (what the edge recorded of it stays under datasets/). */
  remove(id: string): Promise<void> {
    return this.registry.update(id, () => this.store.versionFiles.removeServing(id));
  }

  /**
   * The files of a version the edge does not hold exactly: those it holds with the same digest are read from
   * disk, the others fetched. Null when the folder on disk is already the one named.
   */
  private async fetchVersion(
    id: string,
    version: string,
    files: Record<string, FileDigest>,
    held: boolean,
    fetchBlob: FetchBlob,
  ): Promise<Map<string, Buffer> | null> {
    const none: Record<string, FileDigest> = {};
    const local = held ? await this.store.versionFiles.digests(id, version).catch(() => none) : none;
    const localNames = Object.keys(local);
    const names = Object.keys(files);
    const same = (name: string) => local[name]?.sha256 === files[name].sha256;
    if (localNames.length === names.length && names.every(same)) return null;
    // a version is immutable once this edge holds it: only its metadata (status, notes) may change; new program
    // files would replace checked bytes on disk with unchecked ones
    const changed = [...names.filter((n) => !same(n)), ...localNames.filter((n) => !Object.hasOwn(files, n))];
    const rewritten = held ? changed.filter((n) => n !== 'metadata.json') : [];
    if (rewritten.length) {
      throw new Error(
        `${version} changed on the cloud (${rewritten.slice(0, 5).join(', ')}) after this edge took it; a version is never rewritten: make a new one`,
      );
    }
    const out = new Map<string, Buffer>();
    for (const name of names) {
      out.set(
        name,
        same(name)
          ? await this.store.versionFiles.read(id, version, name)
          : await fetchBlob(files[name], `${id}/${version}/${name}`),
      );
    }
    return out;
  }
}
