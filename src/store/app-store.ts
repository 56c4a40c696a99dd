import fsp from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import yaml from 'js-yaml';
import { sha256 } from '../domain/hash';
import { isLoopAppId, versionNumber } from '../domain/ids';
import type { ExecutionRecord, ImprovementEvent, LabelledExample, VersionMetadata } from '../domain/types';
import {
  appendLines,
  readJsonl,
  readLastJsonl,
  readLinkOrNull,
  readTextOrNull,
  swapSymlink,
  writeAtomic,
} from './files';
import { Layout } from './layout';

/** Largest file a version may hold; programs are small, and this bounds what a load reads into memory. */
const MAX_VERSION_FILE_BYTES = 16 * 1024 * 1024;

export interface StoredVersion {
  version: string;
  files: Record<string, string>;
  metadata: VersionMetadata | null;
}

export interface ActivationRecord {
  ts: string;
  version: string;
  from: string | null;
  reason: string;
}

/** The filesystem database: one folder per Loop App (see DESIGN.md, "Data on disk"). */
export class AppStore {
  readonly layout: Layout;

  constructor(dataDir: string) {
    this.layout = new Layout(dataDir);
  }

  async listAppIds(): Promise<string[]> {
    let names: string[];
    try {
      names = await fsp.readdir(this.layout.appsDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return names.filter(isLoopAppId).sort();
  }

  /** An app exists while its folder holds a config.yaml (a folder left with only data is no app). */
  async exists(id: string): Promise<boolean> {
    return (await fsp.stat(this.layout.config(id)).catch(() => null))?.isFile() ?? false;
  }

  readConfigText(id: string): Promise<string | null> {
    return readTextOrNull(this.layout.config(id));
  }

  async writeConfig(id: string, config: object): Promise<void> {
    await writeAtomic(this.layout.config(id), yaml.dump(config, { lineWidth: 120, noRefs: true }));
  }

  /**
   * Creates a Loop App folder whole or not at all: it is built under a hidden temporary name and renamed into
   * place, so the watcher never sees a half-made app.
   */
  async createApp(id: string, config: object): Promise<void> {
    const final = this.layout.app(id);
    const tmp = path.join(this.layout.appsDir, `.tmp-${id}-${process.pid}-${Date.now()}`);
    await fsp.mkdir(path.join(tmp, 'artifacts'), { recursive: true });
    await fsp.mkdir(path.join(tmp, 'datasets'), { recursive: true });
    await fsp.writeFile(path.join(tmp, 'config.yaml'), yaml.dump(config, { lineWidth: 120, noRefs: true }));
    try {
      await fsp.rename(tmp, final);
    } catch (err) {
      await fsp.rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  /** Version names present on disk, oldest first. */
  async listVersionNames(id: string): Promise<string[]> {
    const names = await fsp.readdir(this.layout.artifacts(id)).catch(() => [] as string[]);
    return names
      .filter((n) => versionNumber(n) !== undefined)
      .sort((a, b) => versionNumber(a)! - versionNumber(b)!);
  }

  async readMetadata(id: string, version: string): Promise<VersionMetadata | null> {
    const text = await readTextOrNull(path.join(this.layout.version(id, version), 'metadata.json'));
    if (text === null) return null;
    try {
      return JSON.parse(text) as VersionMetadata;
    } catch {
      return null;
    }
  }

  /** Reads every regular file of a version (program.js, weights, …) as text. */
  async readVersion(id: string, version: string): Promise<StoredVersion> {
    const dir = this.layout.version(id, version);
    const files: Record<string, string> = {};
    for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
      if (!entry.isFile() || entry.name.startsWith('.') || entry.name === 'metadata.json') continue;
      const file = path.join(dir, entry.name);
      const { size } = await fsp.stat(file);
      if (size > MAX_VERSION_FILE_BYTES) throw new Error(`${version}/${entry.name} is larger than 16 MB`);
      files[entry.name] = await fsp.readFile(file, 'utf8');
    }
    return { version, files, metadata: await this.readMetadata(id, version) };
  }

  /**
   * Writes the next version `vN+1` whole: files go into a hidden folder that is renamed into place, so a
   * half-written version is never visible. Two writers racing for the same number: the loser takes the next.
   */
  async writeVersion(
    id: string,
    files: Record<string, string>,
    meta: Omit<VersionMetadata, 'version' | 'sha256' | 'files' | 'created_at'>,
  ): Promise<VersionMetadata> {
    const program = files['program.js'];
    if (typeof program !== 'string') throw new Error('a version needs program.js');
    const artifacts = this.layout.artifacts(id);
    const tmp = path.join(artifacts, `.tmp-version-${process.pid}-${crypto.randomUUID()}`);
    await fsp.mkdir(tmp, { recursive: true });
    try {
      for (const [name, text] of Object.entries(files)) await fsp.writeFile(path.join(tmp, name), text);
      const names = await this.listVersionNames(id);
      let n = names.length ? versionNumber(names[names.length - 1])! + 1 : 1;
      for (;;) {
        const metadata: VersionMetadata = {
          version: `v${n}`,
          created_at: new Date().toISOString(),
          ...meta,
          sha256: sha256(program),
          files: Object.fromEntries(Object.entries(files).map(([name, text]) => [name, sha256(text)])),
        };
        await fsp.writeFile(path.join(tmp, 'metadata.json'), JSON.stringify(metadata, null, 2) + '\n');
        try {
          await fsp.rename(tmp, path.join(artifacts, metadata.version));
          return metadata;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
          n += 1;
        }
      }
    } catch (err) {
      await fsp.rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  async updateMetadata(id: string, version: string, patch: Partial<VersionMetadata>): Promise<void> {
    const current = await this.readMetadata(id, version);
    if (!current) return;
    const file = path.join(this.layout.version(id, version), 'metadata.json');
    await writeAtomic(file, JSON.stringify({ ...current, ...patch }, null, 2) + '\n');
  }

  /** The version `active` points to, or null when there is none (or it points somewhere odd). */
  async activeVersion(id: string): Promise<string | null> {
    const target = await readLinkOrNull(this.layout.active(id));
    if (target === null) return null;
    const name = path.basename(target);
    return versionNumber(name) !== undefined ? name : null;
  }

  /** Flips `active` to `version` (atomic rename) and records the activation for rollback. */
  async activate(id: string, version: string, reason: string): Promise<void> {
    const from = await this.activeVersion(id);
    this.layout.version(id, version); // checks the name
    await swapSymlink(this.layout.active(id), version);
    await appendLines(this.activationsFile(id), [{ ts: new Date().toISOString(), version, from, reason }]);
    if (from && from !== version) await this.updateMetadata(id, from, { status: 'deprecated' });
    await this.updateMetadata(id, version, { status: 'active' });
  }

  activations(id: string): Promise<ActivationRecord[]> {
    return readJsonl<ActivationRecord>(this.activationsFile(id));
  }

  private activationsFile(id: string): string {
    return path.join(this.layout.artifacts(id), 'activations.jsonl');
  }

  async appendExamples(id: string, examples: LabelledExample[]): Promise<void> {
    await appendLines(this.layout.examples(id), examples);
  }

  readExamples(id: string): Promise<LabelledExample[]> {
    return readJsonl<LabelledExample>(this.layout.examples(id));
  }

  async appendEvent(id: string, event: ImprovementEvent): Promise<void> {
    await appendLines(this.layout.events(id), [event]);
  }

  /** The newest `limit` improvement events, newest first. */
  async recentEvents(id: string, limit: number): Promise<ImprovementEvent[]> {
    return (await readLastJsonl<ImprovementEvent>(this.layout.events(id), limit)).reverse();
  }

  /** The newest `limit` executions, newest first, read from the ends of the newest day files. */
  async recentExecutions(id: string, limit: number): Promise<ExecutionRecord[]> {
    const days = (await fsp.readdir(this.layout.executionsDir(id)).catch(() => [] as string[]))
      .filter((f) => /^\d{4}-\d{2}-\d{2}\.jsonl$/.test(f))
      .sort()
      .reverse();
    const out: ExecutionRecord[] = [];
    for (const day of days) {
      if (out.length >= limit) break;
      const records = await readLastJsonl<ExecutionRecord>(
        path.join(this.layout.executionsDir(id), day),
        limit - out.length,
      );
      out.push(...records.reverse());
    }
    return out;
  }
}
