import fs from 'node:fs';
import path from 'node:path';
import { silentLogger } from '../logger';
import { startServer } from '../server';
import { describeScore } from '../synthesis/synthesizer';

/**
 * `npm run examples:train [DATA_DIR]`: gives every Loop App in a data dir (default: the bundled examples) a fresh
 * v1 made by the offline learner from its `datasets/examples.jsonl`, scored, and active.
 */
async function main(): Promise<void> {
  const dataDir = path.resolve(process.argv[2] ?? 'loopai-data');
  const server = await startServer(
    { data_dir: dataDir, host: '127.0.0.1', port: 0, generator: 'learner' },
    silentLogger(),
  );
  try {
    for (const [id, why] of server.registry.loadErrors) throw new Error(`${id} does not load: ${why}`);
    for (const app of server.registry.list()) {
      fs.rmSync(path.join(dataDir, 'loop-apps', app.id, 'artifacts'), { recursive: true, force: true });
      fs.mkdirSync(path.join(dataDir, 'loop-apps', app.id, 'artifacts'));
      await server.registry.reload(app.id);
      const result = await server.synthesizer.run(app.id, (message) => console.log(`${app.id}: ${message}`));
      console.log(
        `${app.id}: ${result.version} by ${result.generator}, accuracy ${describeScore(result.eval)}`,
      );
    }
  } finally {
    await server.close();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
