import type { ExecutionRecord } from '../domain/types';
import { ExecutionFiles } from '../store/executions';
import { serialise } from '../store/files';
import type { Layout } from '../store/layout';

export interface ExecutionLogOptions {
  /** Told about lines given up: over the backlog cap, or a record that cannot be serialised. */
  onDrop?: (file: string, lines: number, why: string) => void;
  /** Most characters of unwritten lines kept for the next flush while writes fail (a full disk). */
  maxBacklogChars?: number;
  /** This worker's number when several share the data dir: it writes day files of its own (`YYYY-MM-DD.<n>.jsonl`). */
  worker?: number | null;
}

/**
 * Buffers execution records and appends them to `datasets/executions/YYYY-MM-DD.jsonl` off the hot path:
 * one write per file per flush interval. What a `kill -9` can lose: the records of the last flush interval.
 * A write that fails (a full disk) leaves nothing of itself in the file, and its lines are kept, up to a cap, to
 * be written first by the next flush.
 */
export class ExecutionLog {
  private buffers = new Map<string, ExecutionRecord[]>();
  /** Lines a failed write left unwritten, by file, oldest first. */
  private backlog = new Map<string, string[]>();
  private backlogChars = 0;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private readonly maxBacklogChars: number;
  private readonly store: ExecutionFiles;

  constructor(
    private readonly layout: Layout,
    private readonly flushIntervalMs: number,
    private readonly onError: (err: unknown) => void,
    private readonly options: ExecutionLogOptions = {},
  ) {
    this.maxBacklogChars = options.maxBacklogChars ?? 64 * 1024 * 1024;
    this.store = new ExecutionFiles(layout);
  }

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
      this.files.set(key, (file = this.layout.executions(appId, day, this.options.worker ?? null)));
    }
    return file;
  }

  /** Writes everything buffered so far (and what earlier failed writes left); resolves when done. Never overlaps. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.buffers;
    this.buffers = new Map();
    this.flushing = this.flushing.then(() => this.write(batch));
    return this.flushing;
  }

  private async write(batch: Map<string, ExecutionRecord[]>): Promise<void> {
    for (const file of new Set([...this.backlog.keys(), ...batch.keys()])) {
      const { lines: fresh, failures } = serialise(batch.get(file) ?? []);
      if (failures.length) this.options.onDrop?.(file, failures.length, failures[0].message);
      const lines = [...this.takeBacklog(file), ...fresh];
      try {
        await this.store.append(file, lines, `${lines.length} execution records`);
      } catch (err) {
        this.keep(file, lines);
        this.onError(err);
      }
    }
  }

  private takeBacklog(file: string): string[] {
    const lines = this.backlog.get(file) ?? [];
    this.backlog.delete(file);
    for (const line of lines) this.backlogChars -= line.length;
    return lines;
  }

  /** Keeps unwritten lines for the next flush; over the cap, the oldest of them are given up. */
  private keep(file: string, lines: string[]): void {
    let dropped = 0;
    let chars = lines.reduce((n, line) => n + line.length, 0);
    while (dropped < lines.length && this.backlogChars + chars > this.maxBacklogChars) {
      chars -= lines[dropped].length;
      dropped += 1;
    }
    if (dropped) {
      this.options.onDrop?.(file, dropped, `writes keep failing and the backlog is over its cap`);
    }
    if (dropped < lines.length) {
      this.backlog.set(file, lines.slice(dropped));
      this.backlogChars += chars;
    }
  }
}
