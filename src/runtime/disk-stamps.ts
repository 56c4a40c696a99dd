import fsp from 'node:fs/promises';
import path from 'node:path';
import { versionNumber } from '../domain/ids';
import type { Layout } from '../store/layout';

/**
 * An entry's identity and last change as the file system keeps them (inode, size, modification and change times
 * in nanoseconds; the link itself for a symlink): a write, a rename over it or a new link target all give a new
 * stamp, and the change time cannot be set back by hand. '-' when there is nothing there.
 */
export async function entryStamp(file: string): Promise<string> {
  const stat = await fsp.lstat(file, { bigint: true }).catch(() => null);
  return stat ? `${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}` : '-';
}

/** A folder's own stamp (entries added, removed or renamed) and the stamp of every entry in it. */
export async function folderStamp(dir: string): Promise<string> {
  const names = (await fsp.readdir(dir).catch(() => [] as string[])).sort();
  const entries = await Promise.all(
    names.map(async (name) => `${name}=${await entryStamp(path.join(dir, name))}`),
  );
  return [await entryStamp(dir), ...entries].join(' ');
}

/** A version folder's stamp; null for no version (or a name that is none). */
export function versionStamp(layout: Layout, id: string, version: string | null): Promise<string> | null {
  if (!version || versionNumber(version) === undefined) return null;
  return folderStamp(layout.version(id, version));
}

/** What decides an app's load besides a candidate: config.yaml, the `active` link and the folder it names. */
export async function appStamp(layout: Layout, id: string): Promise<string> {
  const target = await fsp.readlink(layout.active(id)).catch(() => null);
  return JSON.stringify([
    await entryStamp(layout.config(id)),
    await entryStamp(layout.active(id)),
    target,
    await versionStamp(layout, id, target),
  ]);
}
