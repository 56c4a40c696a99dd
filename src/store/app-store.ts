import type { Dirent, Stats } from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import yaml from 'js-yaml';
import { sha256 } from '../domain/hash';
import { isLoopAppId, MAX_VERSION_FILE_BYTES, versionNumber } from '../domain/ids';
import type { ExecutionRecord, ImprovementEvent, LabelledExample, VersionMetadata } from '../domain/types';
import {
  appendFileAtomically,
  appendLines,
  countLines,
  readJsonl,
  readLastJsonl,
  readText,
  readTextOrNull,
  storageError,
  swapSymlink,
  TEMP_PREFIX,
  tempPath,
  writeAtomic,
} from './files';
import { ExecutionFiles } from './executions';
import { Layout } from './layout';
import { ValidationFiles } from './validation-files';
import { VersionFiles } from './version-files';
import { EdgeFiles } from './edge-files';
import { DEPENDENCIES, SharedFiles } from './shared-files';

/** Largest file a version may hold; programs are small, and this bounds what a load reads into memory. */

/** What interrupted writes of earlier releases left: swap links, and write-file-atomic's `<file>.<number>`. */
const LEGACY_LEFTOVER =
  /^active\.tmp-\d+-\d+$|^(config\.yaml|metadata\.json|state\.json|daily-stats\.json)\.\d+$/;

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

/** The filesystem database: one folder per Loop App (see docs/ARCHITECTURE.md, "Data on disk"). */
export class AppStore {
  readonly layout: Layout;
  /** Each app's execution log. */
  readonly executions: ExecutionFiles;
  /** Each app's verdicts, validation state and analytics. */
  readonly validation: ValidationFiles;
  /** Version folders as bytes (what an edge copies from its cloud). */
  readonly versionFiles: VersionFiles;
  /** An edge's record of its sync with the cloud. */
  readonly edge: EdgeFiles;
  /** Shared artifacts that versions reference (dependencies.yaml). */
  readonly shared: SharedFiles;

  constructor(dataDir: string) {
    this.layout = new Layout(dataDir);
    this.executions = new ExecutionFiles(this.layout);
    this.validation = new ValidationFiles(this.layout);
    this.versionFiles = new VersionFiles(this.layout);
    this.edge = new EdgeFiles(this.layout);
    this.shared = new SharedFiles(this.layout);
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
    await writeAtomic(
      this.layout.config(id),
      yaml.dump(config, { lineWidth: 120, noRefs: true }),
      `config.yaml of '${id}'`,
    );
  }

  /**
   * Creates a Loop App folder whole or not at all: it is built under a hidden temporary name and renamed into
   * place, so the watcher never sees a half-made app, and a failure leaves nothing behind.
   */
  async createApp(id: string, config: object): Promise<void> {
    const final = this.layout.app(id);
    const tmp = tempPath(this.layout.appsDir, `new-${id}`);
    try {
      await fsp.mkdir(path.join(tmp, 'artifacts'), { recursive: true });
      await fsp.mkdir(path.join(tmp, 'datasets'), { recursive: true });
      await fsp.writeFile(path.join(tmp, 'config.yaml'), yaml.dump(config, { lineWidth: 120, noRefs: true }));
      await fsp.rename(tmp, final);
    } catch (err) {
      await fsp.rm(tmp, { recursive: true, force: true });
      throw storageError(err, `the new Loop App '${id}'`);
    }
  }

  /**
   * Removes what interrupted writes left (temporary files, folders and links) in the apps folder and in every
   * app's folders. Run at start-up, before anything writes.
   */
  async removeLeftovers(): Promise<string[]> {
    const removed: string[] = [];
    const sweep = async (dir: string, depth: number): Promise<void> => {
      const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => []);
      // the folders side by side: 10,000 apps are 60,000 folders, read one at a time they take seconds
      await Promise.all(
        entries.map(async (entry) => {
          const full = path.join(dir, entry.name);
          if (entry.name.startsWith(TEMP_PREFIX) || LEGACY_LEFTOVER.test(entry.name)) {
            await fsp.rm(full, { recursive: true, force: true });
            removed.push(path.relative(this.layout.appsDir, full));
          } else if (entry.isDirectory() && depth > 0 && (depth < 3 || isLoopAppId(entry.name))) {
            await sweep(full, depth - 1); // real folders only: a symlink is not followed out of the tree
          }
        }),
      );
    };
    await sweep(this.layout.appsDir, 3);
    removed.push(...(await this.shared.removeLeftovers()));
    return removed.sort();
  }

  /**
   * Which versions of which apps pin each shared artifact (keyed `type/name/version`), read from every retained
   * version's dependencies.yaml: no index of its own that could drift. A file that does not parse pins nothing.
   */
  async sharedDependents(): Promise<Map<string, Array<{ loop_app_id: string; version: string }>>> {
    const dependents = new Map<string, Array<{ loop_app_id: string; version: string }>>();
    for (const id of await this.listAppIds()) {
      for (const version of await this.listVersionNames(id)) {
        const text = await readTextOrNull(path.join(this.layout.version(id, version), DEPENDENCIES));
        let pins: unknown;
        try {
          pins =
            text === null
              ? null
              : (yaml.load(text, { schema: yaml.JSON_SCHEMA }) as Record<string, unknown>)?.shared_artifacts;
        } catch {
          pins = null;
        }
        if (!Array.isArray(pins)) continue;
        for (const pin of pins as Array<Record<string, unknown>>) {
          const key = `${String(pin?.type)}/${String(pin?.name)}/${String(pin?.version)}`;
          if (!dependents.has(key)) dependents.set(key, []);
          dependents.get(key)!.push({ loop_app_id: id, version });
        }
      }
    }
    return dependents;
  }

  /** Version names present on disk, oldest first: folders of this app only (a symlinked version is none). */
  async listVersionNames(id: string): Promise<string[]> {
    const entries = await fsp
      .readdir(this.layout.artifacts(id), { withFileTypes: true })
      .catch(() => [] as Dirent[]);
    return entries
      .filter((e) => e.isDirectory() && versionNumber(e.name) !== undefined)
      .map((e) => e.name)
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
    // a version is a folder of this app: a symlink (to another app's version, say) is not followed
    if ((await fsp.lstat(dir)).isSymbolicLink()) throw new Error(`${version} is a symlink, not a folder`);
    const entries = (await fsp.readdir(dir, { withFileTypes: true })).filter(
      (e) => e.isFile() && !e.name.startsWith('.') && e.name !== 'metadata.json',
    );
    // side by side: a cold call waits for these reads
    const [texts, metadata] = await Promise.all([
      Promise.all(
        entries.map(async ({ name }) => {
          const file = path.join(dir, name);
          const { size } = await fsp.stat(file);
          if (size > MAX_VERSION_FILE_BYTES) throw new Error(`${version}/${name} is larger than 16 MB`);
          return readText(file);
        }),
      ),
      this.readMetadata(id, version),
    ]);
    const files: Record<string, string> = Object.create(null);
    entries.forEach(({ name }, i) => (files[name] = texts[i]));
    return { version, files, metadata };
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
    const tmp = tempPath(artifacts, 'version');
    try {
      await fsp.mkdir(tmp, { recursive: true });
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
          // the name is taken (by a racing writer's folder, or by anything else, such as a symlink)
          if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOTDIR') throw err;
          n += 1;
        }
      }
    } catch (err) {
      await fsp.rm(tmp, { recursive: true, force: true });
      throw storageError(err, `the new version of '${id}'`);
    }
  }

  async updateMetadata(id: string, version: string, patch: Partial<VersionMetadata>): Promise<void> {
    const current = await this.readMetadata(id, version);
    if (!current) return;
    const file = path.join(this.layout.version(id, version), 'metadata.json');
    await writeAtomic(
      file,
      JSON.stringify({ ...current, ...patch }, null, 2) + '\n',
      `metadata.json of ${version}`,
    );
  }

  /**
   * The version `active` names, checked: null when there is no `active`. Anything else than a symlink whose
   * target is the plain name of a version folder of this app (`v3`: no path, no `..`, a real folder, not itself
   * a link) throws saying what is wrong, so a hand edit can never make an app serve from outside its folder.
   */
  async resolveActive(id: string): Promise<string | null> {
    const link = this.layout.active(id);
    const stat = await lstatOrNull(link);
    if (!stat) return null;
    const fix = 'point it at a version folder of this app, e.g. `ln -sfn v1 artifacts/active`';
    if (!stat.isSymbolicLink()) throw new Error(`artifacts/active is not a symlink; ${fix}`);
    const target = await fsp.readlink(link);
    const shown = JSON.stringify(target.slice(0, 200));
    if (versionNumber(target) === undefined) {
      throw new Error(`artifacts/active points to ${shown}, which is not a version name like v3; ${fix}`);
    }
    const folder = await lstatOrNull(path.join(this.layout.artifacts(id), target));
    if (!folder?.isDirectory()) {
      const what = !folder ? 'does not exist' : folder.isSymbolicLink() ? 'is a symlink' : 'is not a folder';
      throw new Error(`artifacts/active points to ${target}, which ${what}; ${fix}`);
    }
    return target;
  }

  /** The version `active` names, or null when there is none or the link is not a valid one. */
  activeVersion(id: string): Promise<string | null> {
    return this.resolveActive(id).catch(() => null);
  }

  /**
   * Flips `active` to `version` (atomic rename) and records the activation for rollback: the record first, so a
   * flip that fails (a full disk) is taken back out of the record and the link stays as it was.
   */
  async activate(id: string, version: string, reason: string): Promise<void> {
    const from = await this.activeVersion(id);
    this.layout.version(id, version); // checks the name
    const record = { ts: new Date().toISOString(), version, from, reason };
    const log = this.activationsFile(id);
    const start = await appendLines(log, [record], `the activation of ${version}`);
    try {
      await swapSymlink(this.layout.active(id), version);
    } catch (err) {
      await fsp.truncate(log, start).catch(() => undefined);
      throw err;
    }
    if (from && from !== version) await this.updateMetadata(id, from, { status: 'retired' });
    await this.updateMetadata(id, version, { status: 'active' });
  }

  activations(id: string): Promise<ActivationRecord[]> {
    return readJsonl<ActivationRecord>(this.activationsFile(id));
  }

  private activationsFile(id: string): string {
    return path.join(this.layout.artifacts(id), 'activations.jsonl');
  }

  /** Appends labelled rows all or nothing: a row that cannot be serialised throws RecordError first. */
  async appendExamples(id: string, examples: LabelledExample[]): Promise<void> {
    await appendLines(this.layout.examples(id), examples, `${examples.length} examples`);
  }

  /** Appends the lines of a file written beforehand (a streamed upload) all or nothing; resolves to the new line count. */
  async appendExamplesFile(id: string, file: string, what: string): Promise<number> {
    await appendFileAtomically(this.layout.examples(id), file, what);
    return this.countExamples(id);
  }

  countExamples(id: string): Promise<number> {
    return countLines(this.layout.examples(id));
  }

  /** A temporary file beside examples.jsonl for an upload on its way in. */
  uploadFile(id: string): string {
    return tempPath(path.dirname(this.layout.examples(id)), 'upload');
  }

  /** Writes examples.jsonl to `out` as it is on disk (nothing when there is none yet). */
  async streamExamples(id: string, out: NodeJS.WritableStream): Promise<void> {
    const handle = await fsp.open(this.layout.examples(id), 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    if (!handle) return void out.end();
    await pipeline(handle.createReadStream(), out);
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

  /** The newest `limit` executions, newest first. */
  recentExecutions(id: string, limit: number): Promise<ExecutionRecord[]> {
    return this.executions.newest(id, limit);
  }
}

async function lstatOrNull(file: string): Promise<Stats | null> {
  try {
    return await fsp.lstat(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
