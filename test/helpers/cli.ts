import { spawn } from 'node:child_process';
import path from 'node:path';

/** The built `loopai` command. */
export const CLI = path.join(__dirname, '..', '..', 'dist', 'src', 'cli', 'loopai.js');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The built CLI as its own process. Asynchronous on purpose: the server under test runs in this process, and a
 * synchronous child would block the event loop that serves it.
 */
export function run(
  file: string,
  args: string[],
  env: Record<string, string> = {},
  stdin?: string,
): Promise<Run> {
  const { LOOPAI_API_KEY: _key, LOOPAI_URL: _url, ...inherited } = process.env;
  const proc = spawn(file, args, { env: { ...inherited, ...env } });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  proc.stdin.end(stdin);
  return new Promise((resolve, reject) => {
    proc.once('error', reject);
    proc.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
