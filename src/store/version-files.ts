import fsp from 'node:fs/promises';
import path from 'node:path';
import { sha256 } from '../domain/hash';
import type { FileDigest } from '../domain/types';
import { storageError, swapSymlink, tempPath } from './files';
import type { Layout } from './layout';

/**
 * A version folder as bytes: the digests of its files, a file by name, and a whole folder put in place. An edge
 * copies its cloud's versions through these, so a replica holds the same layout, byte for byte.
 */
export class VersionFiles {
  constructor(private readonly layout: Layout) {}

  /** Every regular, visible file of a version (metadata.json too), by name: its size and sha256. */
  async digests(id: string, version: string): Promise<Record<string, FileDigest>> {
    const dir = this.layout.version(id, version);
    const names = await this.fileNames(dir);
    const digests = await Promise.all(names.map((name) => digestOf(path.join(dir, name))));
    const out: Record<string, FileDigest> = Object.create(null);
    names.forEach((name, i) => (out[name] = digests[i]));
    return out;
  }

  read(id: string, version: string, name: string): Promise<Buffer> {
    return fsp.readFile(path.join(this.layout.version(id, version), path.basename(name)));
  }

  /**
   * Puts a version folder in place whole: written under a hidden name, then renamed; a folder of the same name is
   * swapped out first and removed after. A failure leaves what was there.
   */
  async put(id: string, version: string, files: ReadonlyMap<string, Buffer>): Promise<void> {
    const final = this.layout.version(id, version);
    const artifacts = path.dirname(final);
    const tmp = tempPath(artifacts, 'replica');
    const old = tempPath(artifacts, 'replaced');
    try {
      await fsp.mkdir(tmp, { recursive: true });
      for (const [name, data] of files) await fsp.writeFile(path.join(tmp, path.basename(name)), data);
      const had = await fsp.rename(final, old).then(
        () => true,
        (err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOENT') return false;
          throw err;
        },
      );
      try {
        await fsp.rename(tmp, final);
      } catch (err) {
        if (had) await fsp.rename(old, final);
        throw err;
      }
      if (had) await fsp.rm(old, { recursive: true, force: true });
    } catch (err) {
      await fsp.rm(tmp, { recursive: true, force: true });
      throw storageError(err, `${version} of '${id}'`);
    }
  }

  /** Removes a version folder nothing names. */
  async remove(id: string, version: string): Promise<void> {
    await fsp.rm(this.layout.version(id, version), { recursive: true, force: true });
  }

  /** Points `active` at `version` as it is, recording nothing (a replica follows what its cloud decided). */
  pointActive(id: string, version: string): Promise<void> {
    this.layout.version(id, version); // checks the name
    return swapSymlink(this.layout.active(id), version);
  }

  /** Removes what makes an app serve (config.yaml and artifacts/); what it recorded under datasets/ stays. */
  async removeServing(id: string): Promise<void> {
    await fsp.rm(this.layout.config(id), { force: true });
    await fsp.rm(this.layout.artifacts(id), { recursive: true, force: true });
  }

  private async fileNames(dir: string): Promise<string[]> {
    const entries = await fsp.readdir(dir, { withFileTypes: true });
    return entries
      .filter((e) => e.isFile() && !e.name.startsWith('.'))
      .map((e) => e.name)
      .sort();
  }
}

async function digestOf(file: string): Promise<FileDigest> {
  const data = await fsp.readFile(file);
  return { sha256: sha256(data), size: data.length };
}
