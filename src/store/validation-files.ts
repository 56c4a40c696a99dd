import type { Verdict } from '../domain/types';
import { appendLines, fileSize, readJsonlFrom, readLastJsonl, readTextOrNull, writeAtomic } from './files';
import type { Layout } from './layout';

/**
 * What validation keeps on disk: the verdicts (`validations/sampled.jsonl`), its state
 * (`validations/state.json`) and the analytics made from it (`analytics/daily-stats.json`).
 */
export class ValidationFiles {
  constructor(private readonly layout: Layout) {}

  /** The saved state as parsed JSON (its shape is the caller's to check), or null when there is none. */
  async readState(id: string): Promise<unknown> {
    const text = await readTextOrNull(this.layout.validationState(id));
    const parsed: unknown = text === null ? null : JSON.parse(text);
    return parsed;
  }

  async writeState(id: string, state: object): Promise<void> {
    await writeAtomic(this.layout.validationState(id), JSON.stringify(state));
  }

  /** The analytics file: every day and version, for people and tools that read the data directory. */
  async writeDailyStats(id: string, days: readonly object[]): Promise<void> {
    await writeAtomic(
      this.layout.dailyStats(id),
      JSON.stringify({ loop_app_id: id, updated_at: new Date().toISOString(), days }, null, 1) + '\n',
    );
  }

  /** The whole verdicts from byte `offset` on, and the offset after them. */
  readVerdictsFrom(id: string, offset: number): Promise<{ records: Verdict[]; next: number }> {
    return readJsonlFrom<Verdict>(this.layout.verdicts(id), offset);
  }

  /** Appends verdicts all or nothing; resolves to the size of the file after them. */
  async appendVerdicts(id: string, verdicts: Verdict[]): Promise<number> {
    const file = this.layout.verdicts(id);
    await appendLines(file, verdicts);
    return fileSize(file);
  }

  /** The newest `limit` verdicts, oldest first. */
  lastVerdicts(id: string, limit: number): Promise<Verdict[]> {
    return readLastJsonl<Verdict>(this.layout.verdicts(id), limit);
  }
}
