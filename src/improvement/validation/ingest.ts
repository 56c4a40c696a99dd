import type { ExecutionFiles } from '../../store/executions';
import { countExecution } from '../../telemetry/daily-stats';
import { sampleOf, type ValidationState } from './state';

/** Most samples kept waiting per app; beyond it the oldest go (and are counted as dropped). */
const MAX_PENDING = 10_000;

/**
 * Reads the execution files from where the last pass stopped (each byte once); counts every record and queues
 * the sampled ones. Resolves to the number of records read. The state is changed, not saved.
 */
export async function ingest(files: ExecutionFiles, id: string, state: ValidationState): Promise<number> {
  const names = await files.names(id);
  // a day file deleted (by retention or by hand) takes its cursor with it
  for (const name of Object.keys(state.cursors)) if (!names.includes(name)) delete state.cursors[name];
  let ingested = 0;
  const queued = state.pending.length;
  for (const name of names) {
    for (;;) {
      const offset = state.cursors[name] ?? 0;
      const { records, next } = await files.readFrom(id, name, offset);
      state.cursors[name] = next;
      for (const record of records) {
        // an edge's sample is counted by the edge's own counters (it sends them with its samples)
        if (!record.edge) countExecution(state.stats, record);
        if (record.sampled) state.pending.push(sampleOf(record));
      }
      ingested += records.length;
      if (next === offset || !records.length) break;
    }
  }
  // the shards of a day (one per worker) are read one after another: their samples are queued in time order
  const fresh = state.pending.splice(queued).sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
  state.pending.push(...fresh);
  if (state.pending.length > MAX_PENDING) {
    state.dropped += state.pending.length - MAX_PENDING;
    state.pending.splice(0, state.pending.length - MAX_PENDING);
  }
  return ingested;
}
