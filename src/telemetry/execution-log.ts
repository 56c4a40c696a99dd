import fsp from 'node:fs/promises';
import path from 'node:path';
import type { ExecutionRecord } from '../domain/types';
import { appendLines, repairTornTail } from '../store/files';
import { Layout } from '../store/layout';

/**
 * Buffers execution records and appends them to `datasets/executions/YYYY-MM-DD.jsonl` off the hot path:
 * one write per file per flush interval. What a `kill -9` can lose: the records of the last flush interval.
 */
export class ExecutionLog {
  private buffers = new Map<string, ExecutionRecord[]>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private checkedFiles = new Set<string>();

  constructor(
    private readonly layout: Layout,
    private readonly flushIntervalMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  append(appId: string, record: ExecutionRecord): void {
    const file = this.fileFor(appId, record.ts.slice(0, 10)); // ts is ISO 8601 in UTC: its first 10 characters are the day
    let buffer = this.buffers.get(file);
    if (!buffer) this.buffers.set(file, (buffer = []));
    buffer.push(record);
    this.timer ??= setTimeout(() => void this.flush(), this.flushIntervalMs);
  }

  private files = new Map<string, string>();

  /** The day file of an app, remembered: the hot path builds no paths. */
  private fileFor(appId: string, day: string): string {
    const key = `${appId}/${day}`;
    let file = this.files.get(key);
    if (!file) {
      if (this.files.size > 10_000) this.files.clear();
      this.files.set(key, (file = this.layout.executions(appId, day)));
    }
    return file;
  }

  /** Writes everything buffered so far; resolves when it is on disk. Flushes never overlap. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.buffers;
    this.buffers = new Map();
    this.flushing = this.flushing.then(() => this.write(batch));
    return this.flushing;
  }

  private async write(batch: Map<string, ExecutionRecord[]>): Promise<void> {
    for (const [file, records] of batch) {
      try {
        // an app folder removed meanwhile is not made again just to hold its last log lines
        const appDir = path.dirname(path.dirname(path.dirname(file)));
        if (!(await fsp.stat(appDir).catch(() => null))) continue;
        if (!this.checkedFiles.has(file)) {
          this.checkedFiles.add(file);
          await repairTornTail(file);
        }
        await appendLines(file, records);
      } catch (err) {
        this.onError(err);
      }
    }
  }
}
