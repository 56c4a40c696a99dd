import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import type { FileDigest } from '../domain/types';
import { MAX_VERSION_FILE_BYTES } from '../domain/ids';
import { checkBlob, checkManifest, MAX_MANIFEST_BYTES, type Manifest } from './manifest';
import type { ManifestPublisher } from './publisher';
import type { FetchBlob } from './replica';

/**
 * An offline bundle (`loopai export` / `loopai import`, or an edge started with `--bundle FILE`): a tar.gz of
 * `manifest.json` (the edge manifest of the apps it holds) and `blobs/<sha256>`, the files it names. An edge applies
 * it as it applies a manifest from its cloud, every file checked against its digest.
 */
const MANIFEST = 'manifest.json';
const BLOB = /^blobs\/[0-9a-f]{64}$/;
/** The most a bundle may unpack to. */
const MAX_UNPACKED_BYTES = 4 * 1024 * 1024 * 1024;

const tempDir = () => fsp.mkdtemp(path.join(os.tmpdir(), 'loopai-bundle-'));

/** Writes a bundle of `apps` (as the cloud serves them) to `out`. */
export async function writeBundle(
  publisher: ManifestPublisher,
  apps: ReadonlySet<string>,
  out: NodeJS.WritableStream,
): Promise<void> {
  const published = await publisher.current(apps);
  const dir = await tempDir();
  try {
    await fsp.mkdir(path.join(dir, 'blobs'));
    await fsp.writeFile(path.join(dir, MANIFEST), published.body);
    for (const [digest, place] of published.blobs) {
      await fsp.writeFile(path.join(dir, 'blobs', digest), await publisher.read(place));
    }
    await pipeline(tar.create({ gzip: true, cwd: dir, portable: true }, [MANIFEST, 'blobs']), out);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

/** An unpacked bundle: its manifest, checked, and its files, each checked as it is read. */
export interface OpenBundle {
  manifest: Manifest;
  fetchBlob: FetchBlob;
  close(): Promise<void>;
}

/**
 * Unpacks a bundle into a temporary folder: only `manifest.json` and `blobs/<sha256>` as plain files, each no
 * larger than a version file may be, the whole bounded; anything else in the archive is refused.
 */
export async function openBundle(file: string): Promise<OpenBundle> {
  const dir = await tempDir();
  const close = () => fsp.rm(dir, { recursive: true, force: true });
  try {
    let unpacked = 0;
    let refused: string | null = null;
    await tar.extract({
      file,
      cwd: dir,
      strict: true,
      filter: (entryPath, entry) => {
        const name = entryPath.replace(/^\.\//, '');
        const type = 'type' in entry ? entry.type : null;
        if (name === 'blobs' || name === 'blobs/') {
          if (type !== 'Directory') refused ??= name;
          return type === 'Directory';
        }
        const size = 'size' in entry ? (entry.size ?? 0) : 0;
        unpacked += size;
        const plain = type === 'File';
        const known =
          name === MANIFEST ? size <= MAX_MANIFEST_BYTES : BLOB.test(name) && size <= MAX_VERSION_FILE_BYTES;
        const ok = plain && known;
        if (!ok) refused ??= name.slice(0, 100);
        return ok && unpacked <= MAX_UNPACKED_BYTES;
      },
    });
    if (refused !== null) throw new Error(`the bundle holds '${refused}', which is no part of a bundle`);
    if (unpacked > MAX_UNPACKED_BYTES) throw new Error('the bundle unpacks to more than 4 GB');
    const text = await fsp.readFile(path.join(dir, MANIFEST), 'utf8').catch(() => {
      throw new Error('the bundle has no manifest.json');
    });
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new Error('the manifest of the bundle is not JSON');
    }
    const manifest = checkManifest(value);
    const fetchBlob = async (ref: FileDigest, what: string) => {
      const blob = path.join(dir, 'blobs', ref.sha256);
      if (!fs.existsSync(blob))
        throw new Error(`${what}: the bundle does not hold its file (sha256 ${ref.sha256})`);
      return checkBlob(await fsp.readFile(blob), ref, what, 'the bundle');
    };
    return { manifest, fetchBlob, close };
  } catch (err) {
    await close();
    throw err;
  }
}
