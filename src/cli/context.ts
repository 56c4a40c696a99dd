import type { Command } from 'commander';
import { Client } from './client';

/** The options every command takes (defined once on the program, accepted before or after the command). */
export interface GlobalOptions {
  url: string;
  key?: string;
  json?: boolean;
  timeout: number;
}

export const globals = (cmd: Command) => cmd.optsWithGlobals<GlobalOptions>();

export function clientOf(cmd: Command): Client {
  const { url, key, timeout } = globals(cmd);
  return new Client({
    url,
    key,
    timeoutMs: timeout * 1000,
    onRetry: (message) => process.stderr.write(`${message}\n`),
  });
}

/** `--json` given? */
export const jsonOf = (cmd: Command) => Boolean(globals(cmd).json);
