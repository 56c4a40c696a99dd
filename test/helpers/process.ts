import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { eventually } from './server';

export const MAIN = path.join(__dirname, '..', '..', 'dist', 'src', 'main.js');

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

export interface SpawnOptions {
  /** The port to listen on (default: a free one). */
  port?: number;
  /** What to wait for: `/ready` answering 200 (default), or `/health` (a server that is up but not ready). */
  until?: 'ready' | 'health';
  /** Collects what the server logs (JSON lines), instead of passing its stderr through. */
  log?: string[];
}

/** The real server as its own process (built JavaScript), for signal and crash tests. */
export async function spawnServer(
  dataDir: string,
  env: Record<string, string> = {},
  options: SpawnOptions = {},
): Promise<{ proc: ChildProcess; url: string; exited: Promise<number | null> }> {
  const port = options.port ?? (await freePort());
  const log = options.log;
  const proc = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      LOOPAI_DATA_DIR: dataDir,
      LOOPAI_PORT: String(port),
      LOOPAI_HOST: '127.0.0.1',
      LOOPAI_LOG_LEVEL: 'warn',
      ...(log ? { LOOPAI_LOG_FORMAT: 'json' } : {}),
      ...env,
    },
    stdio: ['ignore', log ? 'pipe' : 'ignore', log ? 'pipe' : 'inherit'],
  });
  for (const stream of log ? [proc.stdout!, proc.stderr!] : []) {
    let rest = '';
    stream.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop()!;
      log!.push(...lines);
    });
  }
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  await eventually(
    async () => {
      const res = await fetch(`${url}/${options.until ?? 'ready'}`);
      if (res.status !== 200) throw new Error('not ready');
    },
    20_000,
    100,
  );
  return { proc, url, exited };
}
