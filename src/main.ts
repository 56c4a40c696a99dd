import { startServer } from './server';
import type { Settings } from './settings';

/** Serves until SIGTERM/SIGINT, then stops gracefully and exits 0 (1 when stopping fails). */
async function serve(overrides: Partial<Settings>): Promise<void> {
  const server = await startServer(overrides);
  const stop = (signal: string) => {
    server.logger.info('shutting down', { signal });
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
}

/**
 * The server process: `node dist/src/main.js` and `loopai serve` both run this. `overrides` win over the
 * environment and config/loopai.yaml. A failure to start is printed and exits 1.
 */
export function main(overrides: Partial<Settings> = {}): Promise<void> {
  return serve(overrides).catch((err) => {
    console.error(`loopai failed to start: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}

if (require.main === module) void main();
