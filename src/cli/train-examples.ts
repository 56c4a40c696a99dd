import fs from 'node:fs';
import path from 'node:path';
import { silentLogger } from '../logger';
import { startServer, type RunningServer } from '../server';
import { describeScore } from '../synthesis/synthesizer';

/** What people did to the bundled apps' versions after they were made: the deprecations, with their reasons. */
const DEPRECATED: Record<string, Record<string, string>> = {
  'spam-detector-001': { v1: 'made from the first 90 examples; v3 is better on both classes' },
};

/** Line counts at which the `ts` of examples.jsonl changes: each batch of rows as it arrived. */
function batchEnds(lines: string[]): number[] {
  const ends: number[] = [];
  lines.forEach((line, i) => {
    const next = lines[i + 1];
    if (next === undefined || JSON.parse(next).ts !== JSON.parse(line).ts) ends.push(i + 1);
  });
  return ends;
}

/**
 * Replays an app's history from its `datasets/examples.jsonl`: one version per batch of examples (rows with the
 * same `ts`), each made by the offline learner from the rows that had arrived by then, scored, and activated; then
 * the deprecations above. Older versions are made from fewer rows, so the version history tells a true story.
 */
async function replay(server: RunningServer, dataDir: string, id: string): Promise<void> {
  const dir = path.join(dataDir, 'loop-apps', id);
  const examples = path.join(dir, 'datasets', 'examples.jsonl');
  const lines = fs.readFileSync(examples, 'utf8').split('\n').filter(Boolean);
  fs.rmSync(path.join(dir, 'artifacts'), { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'artifacts'));
  for (const end of batchEnds(lines)) {
    fs.writeFileSync(examples, lines.slice(0, end).join('\n') + '\n');
    await server.registry.reload(id);
    const result = await server.synthesizer.run(id, (message) => console.log(`${id}: ${message}`));
    if (!result.activated) await server.lifecycle.activate(id, result.version, 'improved');
    console.log(`${id}: ${result.version} from ${end} rows, accuracy ${describeScore(result.eval)}`);
  }
  for (const [version, reason] of Object.entries(DEPRECATED[id] ?? {})) {
    await server.lifecycle.deprecate(id, version, reason);
    console.log(`${id}: ${version} deprecated (${reason})`);
  }
}

/** `npm run examples:train [DATA_DIR]`: remakes the versions of every Loop App in a data dir (default: the bundled ones). */
async function main(): Promise<void> {
  const dataDir = path.resolve(process.argv[2] ?? 'loopai-data');
  const server = await startServer(
    { data_dir: dataDir, host: '127.0.0.1', port: 0, generator: 'learner' },
    silentLogger(),
  );
  try {
    for (const [id, why] of server.registry.loadErrors) throw new Error(`${id} does not load: ${why}`);
    for (const app of server.registry.list()) await replay(server, dataDir, app.id);
  } finally {
    await server.close();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
