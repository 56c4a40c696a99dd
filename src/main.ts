import { startServer } from './server';

/** `node dist/src/main.js`: serve until SIGTERM/SIGINT, then stop gracefully and exit 0. */
async function main(): Promise<void> {
  const server = await startServer();
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

main().catch((err) => {
  console.error(`loopai failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
