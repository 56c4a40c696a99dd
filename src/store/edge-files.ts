import { readTextOrNull, writeAtomic } from './files';
import type { Layout } from './layout';

/** What an edge keeps about its cloud under `edge/`: the state of its last sync. */
export class EdgeFiles {
  constructor(private readonly layout: Layout) {}

  /** The saved state as parsed JSON (its shape is the caller's to check), or null when there is none. */
  async readState(): Promise<unknown> {
    const text = await readTextOrNull(this.layout.edgeState());
    return text === null ? null : (JSON.parse(text) as unknown);
  }

  writeState(state: object): Promise<void> {
    return writeAtomic(this.layout.edgeState(), JSON.stringify(state, null, 1) + '\n', 'the edge sync state');
  }
}
