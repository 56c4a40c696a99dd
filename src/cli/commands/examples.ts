import fs from 'node:fs';
import type { Command } from 'commander';
import { appPath, type Client } from '../client';
import { clientOf, jsonOf } from '../context';
import { readRecords, streamableSize } from '../input';
import { printJson, progressBar } from '../output';

export interface ColumnOptions {
  /** CSV: the input columns (a.b for a nested field). */
  input?: string;
  /** CSV: the output column. */
  output?: string;
}

type Added = { added: number; total: number };

/**
 * Sends a file of labelled examples: a JSON array in one body; JSON Lines and CSV streamed (any size, a progress
 * bar on a terminal). The server checks every row and stores all or none.
 */
export async function sendExamples(
  client: Client,
  appId: string,
  file: string,
  columns: ColumnOptions,
): Promise<Added> {
  const size = streamableSize(file);
  const csv = /\.csv$/i.test(file);
  if (!csv && size !== null && startsWithBracket(file)) {
    return client.post<Added>(appPath(appId, 'examples'), readRecords(file));
  }
  const query = new URLSearchParams();
  if (columns.input) query.set('input', columns.input);
  if (columns.output) query.set('output', columns.output);
  const path = appPath(appId, 'examples') + (query.size ? `?${query}` : '');
  const bar = progressBar(size ?? 0, `${appId} upload (bytes)`);
  try {
    return await client.upload<Added>(path, file, csv ? 'text/csv' : 'application/x-ndjson', (n) =>
      bar.increment(n),
    );
  } finally {
    bar.stop();
  }
}

/** A JSON array file rather than JSON Lines: its first character that is not a space is `[`. */
function startsWithBracket(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(1024);
    const n = fs.readSync(fd, head, 0, head.length, 0);
    return head.subarray(0, n).toString('utf8').trimStart().startsWith('[');
  } finally {
    fs.closeSync(fd);
  }
}

export function registerExamples(program: Command): void {
  const examples = program.command('examples').description('labelled data of a Loop App');
  examples
    .command('add')
    .description('add labelled examples; the server checks every row and stores all or none')
    .argument('<app>', 'Loop App id')
    .argument(
      '<file>',
      'JSONL or a JSON array of {"input": …, "output": …}, or .csv with a header row (- : JSONL on stdin)',
    )
    .option('--input <columns>', 'CSV: the input columns, comma-separated (a.b for a nested field)')
    .option('--output <column>', 'CSV: the output column')
    .action(async (appId: string, file: string, opts: ColumnOptions, cmd: Command) => {
      const body = await sendExamples(clientOf(cmd), appId, file, opts);
      if (jsonOf(cmd)) printJson(body);
      else console.log(`${appId}: added ${body.added} examples (${body.total} in all)`);
    });

  examples
    .command('export')
    .description('the labelled examples as stored, JSON Lines on stdout')
    .argument('<app>', 'Loop App id')
    .action(async (appId: string, _opts, cmd: Command) => {
      await clientOf(cmd).download(appPath(appId, 'examples'), process.stdout);
    });
}
