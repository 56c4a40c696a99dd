import cluster from 'node:cluster';
import { WorkerBus } from './cluster/bus';
import { runPrimary } from './cluster/primary';
import { workerCount } from './cluster/worker';
import { createLogger } from './logger';
import { startServer } from './server';
import { loadSettings, type Settings } from './settings';

/** Serves until SIGTERM/SIGINT (or, for a worker, until its primary is gone), then stops gracefully and exits. */
async function serve(overrides: Partial<Settings>): Promise<void> {
  const bus = WorkerBus.inCluster() ? new WorkerBus() : null;
  const server = await startServer(overrides, undefined, bus);
  const stop = (signal: string) => {
    server.logger.info('shutting down', { signal, ...(bus ? { worker: bus.index } : {}) });
    server.close().then(
      () => process.exit(0),
      (err) => {
        server.logger.error('shutdown failed', { error: String(err) });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  if (bus) process.once('disconnect', () => stop('primary gone'));
}

/**
 * The server process: `node dist/src/main.js` and `loopai serve` both run this. `overrides` win over the
 * environment and config/loopai.yaml. With `workers` above 1 this process becomes the cluster's primary and
 * starts the workers, which run `serve`. A failure to start is printed and exits 1.
 */
export async function main(overrides: Partial<Settings> = {}): Promise<void> {
  try {
    const settings = loadSettings(overrides);
    if (cluster.isPrimary && workerCount(settings) > 1) {
      await runPrimary(workerCount(settings), createLogger(settings.log_level, settings.log_format));
      process.exit(0);
    }
    await serve(overrides);
  } catch (err) {
    console.error(`loopai failed to start: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}

if (require.main === module) void main();
