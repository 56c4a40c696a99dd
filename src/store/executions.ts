import fsp from 'node:fs/promises';
import path from 'node:path';
import { executionDay } from '../domain/ids';
import type { ExecutionRecord } from '../domain/types';
import { appendJsonLines, readJsonlFrom, readLastJsonl, readTextOrNull } from './files';
import type { Layout } from './layout';

/**
 * `YYYY-MM-DD.jsonl`, a worker's `YYYY-MM-DD.<n>.jsonl` or, at a cloud, an edge's `YYYY-MM-DD.edge-<name>.jsonl`:
 * a day file; anything else in the folder is not the log's.
 */
const DAY_FILE = /^\d{4}-\d{2}-\d{2}(\.[1-9]\d{0,2}|\.edge-[a-z0-9][a-z0-9-]{0,62})?\.jsonl$/;

/** Newest first by time, then by id (the ids one process makes within a millisecond are in the order made). */
const newestFirst = (a: ExecutionRecord, b: ExecutionRecord): number =>
  a.ts < b.ts ? 1 : a.ts > b.ts ? -1 : a.id < b.id ? 1 : -1;

/**
 * The execution log on disk: `datasets/executions/YYYY-MM-DD.jsonl`, one file per UTC day, or with several
 * workers one per day and worker (`YYYY-MM-DD.<n>.jsonl`, the shards of the day). Every reader reads all shards.
 */
export class ExecutionFiles {
  constructor(private readonly layout: Layout) {}

  /** Names of the app's day files, oldest first. */
  async names(id: string): Promise<string[]> {
    const names = await fsp.readdir(this.layout.executionsDir(id)).catch(() => [] as string[]);
    return names.filter((name) => DAY_FILE.test(name)).sort();
  }

  private file(id: string, name: string): string {
    if (!DAY_FILE.test(name)) throw new Error(`${JSON.stringify(name)} is not the name of a day file`);
    return path.join(this.layout.executionsDir(id), name);
  }

  /**
   * Appends whole lines to a day file (see appendJsonLines), unless the app's folder is gone: an app removed
   * meanwhile is not made again just to hold its last log lines. `file` is a path made by Layout.executions,
   * which the log keeps so that the hot path builds none.
   */
  async append(file: string, lines: string[], what: string): Promise<void> {
    if (!(await fsp.stat(this.layout.appFolderOf(file)).catch(() => null))) return;
    await appendJsonLines(file, lines, what);
  }

  /** The ids of the records in a day file (each line begins with its id), empty when there is no file. */
  async idsIn(file: string): Promise<Set<string>> {
    const text = (await readTextOrNull(file)) ?? '';
    const ids = new Set<string>();
    for (const line of text.split('\n')) if (line.startsWith('{"id":"')) ids.add(line.slice(7, 43));
    return ids;
  }

  /** The whole records of day file `name` from byte `offset` on, and the offset after them. */
  readFrom(id: string, name: string, offset: number): Promise<{ records: ExecutionRecord[]; next: number }> {
    return readJsonlFrom<ExecutionRecord>(this.file(id, name), offset);
  }

  /** The newest `limit` executions, newest first, read from the ends of the newest day files (all their shards). */
  async newest(id: string, limit: number): Promise<ExecutionRecord[]> {
    const out: ExecutionRecord[] = [];
    const names = await this.names(id);
    for (const day of [...new Set(names.map((n) => n.slice(0, 10)))].reverse()) {
      if (out.length >= limit) break;
      const want = limit - out.length;
      const shards = names.filter((n) => n.startsWith(day));
      const records = await Promise.all(
        shards.map((name) => readLastJsonl<ExecutionRecord>(this.file(id, name), want)),
      );
      out.push(...records.flat().sort(newestFirst).slice(0, want));
    }
    return out;
  }

  /**
   * One execution, found in the day its id names without parsing the lines around it; null when there is no
   * such line (or no such file: retention deleted it).
   */
  async find(id: string, executionId: string): Promise<ExecutionRecord | null> {
    const day = executionDay(executionId);
    if (!day) return null;
    for (const name of (await this.names(id)).filter((n) => n.startsWith(day))) {
      const text = await readTextOrNull(this.file(id, name));
      const at = text?.indexOf(`"id":"${executionId}"`) ?? -1;
      if (!text || at < 0) continue;
      const start = text.lastIndexOf('\n', at) + 1;
      const end = text.indexOf('\n', at);
      return JSON.parse(text.slice(start, end < 0 ? undefined : end)) as ExecutionRecord;
    }
    return null;
  }

  /** Retention: deletes the day files of days before `cutoff` (YYYY-MM-DD); resolves to their names. */
  async deleteBefore(id: string, cutoff: string): Promise<string[]> {
    const old = (await this.names(id)).filter((name) => name.slice(0, 10) < cutoff);
    for (const name of old) await fsp.rm(this.file(id, name), { force: true });
    return old;
  }
}
