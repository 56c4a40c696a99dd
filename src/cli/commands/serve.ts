import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import type { Role, Settings } from '../../settings';

const ROLES: Role[] = ['all', 'cloud', 'edge'];

function role(value: string): Role {
  if (!ROLES.includes(value as Role)) throw new InvalidArgumentError(`one of ${ROLES.join(', ')}`);
  return value as Role;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port number, 0 to 65535');
  return n;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('start the Loopai server (as npm start): runs until SIGTERM/SIGINT')
    .option('-p, --port <port>', 'port to listen on (LOOPAI_PORT, default 8080)', port)
    .option('--host <host>', 'interface to listen on (LOOPAI_HOST, default 127.0.0.1)')
    .option('-d, --data-dir <dir>', 'the data directory (LOOPAI_DATA_DIR, default ./loopai-data)')
    .option(
      '--role <role>',
      'all (learns and serves), cloud (all, plus the API its edges sync from) or edge (LOOPAI_ROLE, default all)',
      role,
    )
    .option('--cloud <url>', "an edge's cloud (LOOPAI_CLOUD_URL; its edge key in LOOPAI_CLOUD_KEY)")
    .option(
      '--bundle <file>',
      'an edge: apply this offline bundle at start (LOOPAI_BUNDLE; `loopai export` makes one)',
    )
    .action(
      async (opts: {
        port?: number;
        host?: string;
        dataDir?: string;
        role?: Role;
        cloud?: string;
        bundle?: string;
      }) => {
        const overrides: Partial<Settings> = {};
        if (opts.port !== undefined) overrides.port = opts.port;
        if (opts.host !== undefined) overrides.host = opts.host;
        if (opts.dataDir !== undefined) overrides.data_dir = opts.dataDir;
        if (opts.role !== undefined) overrides.role = opts.role;
        // merged over LOOPAI_CLOUD_KEY and the rest of `cloud` by loadSettings
        if (opts.cloud !== undefined) overrides.cloud = { url: opts.cloud } as Settings['cloud'];
        if (opts.bundle !== undefined)
          overrides.edge = { bundle: path.resolve(opts.bundle) } as Settings['edge'];
        // loaded here, not at the top: the other commands stay quick to start without the server's modules
        const { main } = await import('../../main');
        await main(overrides);
      },
    );
}
