import { constants } from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import Ajv from 'ajv';
import yaml from 'js-yaml';
import { badRequest, conflict } from '../domain/errors';
import { sha256 } from '../domain/hash';
import { SHARED_NAME, SHARED_TYPES, VERSION_FILE_NAME, checkSharedRef, type SharedRef } from '../domain/ids';
import type { FileDigest } from '../domain/types';
import { appendLines, storageError, tempPath, TEMP_PREFIX } from './files';
import type { Layout } from './layout';

/**
 * Shared artifacts: read-only folders of files that versions of many apps use by reference (their
 * dependencies.yaml pins type, name, version and hash), never by copy. Published whole (a temporary folder
 * renamed into place) and immutable: the same name and version with other content is refused. Every load
 * verifies size and sha256 of every file before a program sees it.
 */

export const METADATA = 'metadata.yaml';
/** The file of a version that pins the shared artifacts it uses. */
export const DEPENDENCIES = 'dependencies.yaml';
/** The largest file of a shared artifact (a base model, an embedding table). */
const MAX_SHARED_FILE_BYTES = 512 * 1024 * 1024;
const MAX_FILES = 256;

/** `metadata.yaml` of a shared artifact. */
export interface SharedMetadata extends SharedRef {
  /** `sha256:` and the hex sha256 of the files' digests (see artifactHash). */
  hash: string;
  files: Record<string, FileDigest>;
  published_at: string;
  description?: string;
}

/** A shared artifact as a program gets it: its verified files, as text. */
export interface VerifiedArtifact {
  metadata: SharedMetadata;
  files: Record<string, string>;
}

/**
 * The hash of an artifact's files: sha256 over one line per file, `<hex sha256>  <name>\n`, in byte order of
 * the names (metadata.yaml left out), as `sha256sum` prints them. Anyone can recompute it in the folder:
 * `LC_ALL=C ls | grep -vx metadata.yaml | xargs sha256sum | sha256sum`.
 */
export function artifactHash(files: Record<string, FileDigest>): string {
  const names = Object.keys(files).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `sha256:${sha256(names.map((name) => `${files[name].sha256}  ${name}\n`).join(''))}`;
}

const metadataSchema = {
  type: 'object',
  required: ['type', 'name', 'version', 'hash', 'files', 'published_at'],
  properties: {
    type: { enum: [...SHARED_TYPES] },
    name: { type: 'string', pattern: SHARED_NAME.source },
    version: { type: 'string', pattern: '^v[1-9][0-9]{0,8}$' },
    hash: { type: 'string', pattern: '^sha256:[0-9a-f]{64}$' },
    files: {
      type: 'object',
      maxProperties: MAX_FILES,
      propertyNames: { pattern: VERSION_FILE_NAME.source, not: { enum: [METADATA, '__proto__'] } },
      additionalProperties: {
        type: 'object',
        required: ['sha256', 'size'],
        properties: {
          sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
          size: { type: 'integer', minimum: 0, maximum: MAX_SHARED_FILE_BYTES },
        },
      },
    },
    published_at: { type: 'string' },
    description: { type: 'string', maxLength: 2000 },
  },
} as const;
const validateMetadata = new Ajv({ allErrors: false }).compile<SharedMetadata>(metadataSchema);

/** A file's bytes, never through a symlink (a link in an artifact would hand a program whatever it points at). */
async function readRegularFile(file: string): Promise<Buffer> {
  const handle = await fsp.open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

const describe = ({ type, name, version }: SharedRef) => `shared ${type} '${name}' ${version}`;

export class SharedFiles {
  /** Verified files already held in this process, by artifact hash: many apps' versions share one copy. */
  private readonly held = new Map<string, WeakRef<Record<string, string>>>();

  constructor(private readonly layout: Layout) {}

  /** An artifact's metadata.yaml, checked; an Error saying what is missing or wrong. */
  async metadata(ref: SharedRef): Promise<SharedMetadata> {
    const file = path.join(this.layout.sharedArtifact(ref), METADATA);
    let text: string;
    try {
      text = await fsp.readFile(file, 'utf8');
    } catch (err) {
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      throw new Error(
        `${describe(ref)} ${missing ? 'is not published here' : `cannot be read: ${(err as Error).message}`}`,
      );
    }
    let parsed: unknown;
    try {
      parsed = yaml.load(text, { schema: yaml.JSON_SCHEMA });
    } catch (err) {
      throw new Error(`${describe(ref)}: ${METADATA} is not YAML: ${(err as Error).message}`);
    }
    if (!validateMetadata(parsed)) {
      const e = validateMetadata.errors![0];
      throw new Error(`${describe(ref)}: ${METADATA} ${e.instancePath || '/'} ${e.message}`);
    }
    const { type, name, version } = parsed;
    if (type !== ref.type || name !== ref.name || version !== ref.version)
      throw new Error(`${describe(ref)}: ${METADATA} names ${type} '${name}' ${version}`);
    if (artifactHash(parsed.files) !== parsed.hash)
      throw new Error(
        `${describe(ref)}: ${METADATA} says ${parsed.hash}, its files' digests make ${artifactHash(parsed.files)}`,
      );
    return parsed;
  }

  /**
   * The artifact's files, every one read and checked against its size and sha256 in metadata.yaml, and the
   * artifact's hash against `pinned`; an Error naming the artifact and what differs.
   */
  async verified(ref: SharedRef, pinned: string): Promise<VerifiedArtifact> {
    const metadata = await this.metadata(ref);
    if (metadata.hash !== pinned)
      throw new Error(
        `${describe(ref)}: pinned at ${pinned}, but what is published here is ${metadata.hash}`,
      );
    const dir = this.layout.sharedArtifact(ref);
    const names = Object.keys(metadata.files);
    const texts = await Promise.all(
      names.map(async (name) => {
        const want = metadata.files[name];
        const data = await readRegularFile(path.join(dir, name)).catch((err: NodeJS.ErrnoException) => {
          const why =
            err.code === 'ENOENT'
              ? 'is missing'
              : err.code === 'ELOOP'
                ? 'is a symlink, not a file'
                : `cannot be read: ${err.message}`;
          throw new Error(`${describe(ref)}: ${name} ${why}`);
        });
        const got = sha256(data);
        if (data.length !== want.size || got !== want.sha256)
          throw new Error(
            `${describe(ref)}: ${name} has ${data.length} bytes with sha256 ${got}; expected ${want.size} bytes with sha256 ${want.sha256}`,
          );
        return data.toString('utf8');
      }),
    );
    // the bytes are what was published: one copy of them in this process, whoever asks
    const kept = this.held.get(metadata.hash)?.deref();
    if (kept) return { metadata, files: kept };
    const files: Record<string, string> = Object.create(null);
    names.forEach((name, i) => (files[name] = texts[i]));
    this.held.set(metadata.hash, new WeakRef(files));
    return { metadata, files };
  }

  /**
   * Publishes an artifact whole: its files and metadata.yaml are written to a temporary folder and renamed into
   * place. The same name and version again: the same content is a no-op (`created` false), other content a 409.
   * Two publishers of the same content at once end with one copy.
   */
  async publish(
    ref: SharedRef,
    files: Record<string, string | Buffer>,
    description?: string,
  ): Promise<{ metadata: SharedMetadata; created: boolean }> {
    checkSharedRef(ref);
    const names = Object.keys(files);
    if (!names.length || names.length > MAX_FILES)
      throw badRequest('bad_request', `a shared artifact has 1 to ${MAX_FILES} files`);
    const digests: Record<string, FileDigest> = Object.create(null);
    for (const name of names) {
      if (!VERSION_FILE_NAME.test(name) || name === METADATA || name === '__proto__')
        throw badRequest(
          'bad_request',
          `'${name.slice(0, 80)}' is not a plain file name (letters, digits, . _ -), or is ${METADATA}`,
        );
      const data = Buffer.from(files[name]);
      digests[name] = { sha256: sha256(data), size: data.length };
    }
    const metadata: SharedMetadata = {
      ...ref,
      hash: artifactHash(digests),
      files: { ...digests },
      published_at: new Date().toISOString(),
      ...(description ? { description } : {}),
    };
    const target = this.layout.sharedArtifact(ref);
    const existing = await this.sameAs(ref, metadata.hash);
    if (existing) return { metadata: existing, created: false };
    await fsp.mkdir(path.dirname(target), { recursive: true });
    const tmp = tempPath(path.dirname(target), 'publish');
    try {
      await fsp.mkdir(tmp);
      await Promise.all(names.map((name) => fsp.writeFile(path.join(tmp, name), files[name])));
      await fsp.writeFile(path.join(tmp, METADATA), yaml.dump(metadata, { lineWidth: 120 }));
      await fsp.rename(tmp, target);
    } catch (err) {
      await fsp.rm(tmp, { recursive: true, force: true });
      const code = (err as NodeJS.ErrnoException).code;
      // another publisher renamed first: the same content is what this one wanted
      if (code === 'ENOTEMPTY' || code === 'EEXIST') {
        const won = await this.sameAs(ref, metadata.hash);
        if (won) return { metadata: won, created: false };
      }
      throw storageError(err, describe(ref));
    }
    await this.audit({ event: 'publish', ...ref, hash: metadata.hash });
    return { metadata, created: true };
  }

  /** Every artifact folder, by type, name and version (whatever its metadata.yaml holds). */
  async refs(): Promise<SharedRef[]> {
    const found: SharedRef[] = [];
    for (const type of SHARED_TYPES) {
      const names = await fsp.readdir(path.join(this.layout.sharedArtifacts(), `${type}s`)).catch(() => []);
      for (const folder of names.sort()) {
        const m = /^(.+)-(v[1-9][0-9]{0,8})$/.exec(folder);
        if (m && SHARED_NAME.test(m[1])) found.push({ type, name: m[1], version: m[2] });
      }
    }
    return found;
  }

  /** Every published artifact's metadata; one whose metadata.yaml is bad is left out (`verifyAll` names it). */
  async list(): Promise<SharedMetadata[]> {
    const all = await Promise.all((await this.refs()).map((ref) => this.metadata(ref).catch(() => null)));
    return all.filter((m): m is SharedMetadata => m !== null);
  }

  /** Every artifact read and every hash recomputed, as a load would: what is wrong with each, or null. */
  async verifyAll(): Promise<Array<SharedRef & { hash: string | null; error: string | null }>> {
    const report = [];
    for (const ref of await this.refs()) {
      let hash: string | null = null;
      try {
        hash = (await this.metadata(ref)).hash;
        await this.verified(ref, hash);
        report.push({ ...ref, hash, error: null });
      } catch (err) {
        report.push({ ...ref, hash, error: (err as Error).message });
      }
    }
    await this.audit({
      event: 'verify',
      artifacts: report.length,
      failed: report.filter((r) => r.error).length,
    });
    return report;
  }

  /** Deletes an artifact whole: renamed out of sight first, so no load ever sees half of it. */
  async remove(ref: SharedRef): Promise<void> {
    const target = this.layout.sharedArtifact(ref);
    const tmp = tempPath(path.dirname(target), 'delete');
    await fsp.rename(target, tmp);
    await fsp.rm(tmp, { recursive: true, force: true });
    await this.audit({ event: 'delete', ...ref });
  }

  /** One line of `shared/audit.jsonl`. */
  async audit(event: Record<string, unknown>): Promise<void> {
    await fsp.mkdir(path.dirname(this.layout.sharedAudit()), { recursive: true });
    await appendLines(this.layout.sharedAudit(), [{ ts: new Date().toISOString(), ...event }]);
  }

  /** Removes the temporary folders an interrupted publish left. Run at start-up, before anything publishes. */
  async removeLeftovers(): Promise<string[]> {
    const root = this.layout.sharedArtifacts();
    const removed: string[] = [];
    for (const type of SHARED_TYPES) {
      const dir = path.join(root, `${type}s`);
      for (const name of await fsp.readdir(dir).catch(() => [] as string[])) {
        if (!name.startsWith(TEMP_PREFIX)) continue;
        await fsp.rm(path.join(dir, name), { recursive: true, force: true });
        removed.push(path.join('shared', 'artifacts', `${type}s`, name));
      }
    }
    return removed;
  }

  /** The published metadata when it has this hash; null when nothing is published; 409 when it differs. */
  private async sameAs(ref: SharedRef, hash: string): Promise<SharedMetadata | null> {
    const exists = await fsp.stat(this.layout.sharedArtifact(ref)).catch(() => null);
    if (!exists) return null;
    const published = await this.metadata(ref);
    if (published.hash !== hash)
      throw conflict(
        `${describe(ref)} is published with other content (${published.hash}); publish a new version instead`,
        { hash: published.hash },
      );
    return published;
  }
}
