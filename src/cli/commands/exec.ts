import { InvalidArgumentError, type Command } from 'commander';
import { appPath } from '../client';
import { clientOf, jsonOf } from '../context';
import { CliError, EXIT } from '../errors';
import { parseJsonArg, readRecords } from '../input';
import { details, printJson, printJsonLine, progressBar } from '../output';
import { executeAll, MAX_BATCH } from '../batch';

/** `--batch-size`: 1 to the server's limit. */
export function batchSize(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_BATCH)
    throw new InvalidArgumentError(`a whole number from 1 to ${MAX_BATCH}`);
  return n;
}

/** Many inputs: one JSON result per line on stdout, in input order; exit 5 when any input got an error. */
async function execFile(cmd: Command, appId: string, file: string, size: number): Promise<void> {
  const inputs = readRecords(file);
  const bar = progressBar(inputs.length, appId);
  let failed = 0;
  try {
    await executeAll(
      clientOf(cmd),
      appId,
      inputs,
      (results) => {
        for (const result of results) {
          if (result.error) failed += 1;
          printJsonLine(result);
        }
        bar.increment(results.length);
      },
      size,
    );
  } finally {
    bar.stop();
  }
  if (failed)
    throw new CliError(
      `${failed} of ${inputs.length} inputs got an error (see their result lines)`,
      EXIT.rejected,
    );
}

export function registerExec(program: Command): void {
  program
    .command('exec')
    .description('run a Loop App on one input (JSON argument), or on every input of a file (--file)')
    .argument('<app>', 'Loop App id')
    .argument('[input]', 'the input as JSON, e.g. \'{"text": "hello"}\'')
    .option(
      '-f, --file <file>',
      'inputs: a JSON array or JSONL (one input a line; - for stdin); prints JSONL',
    )
    .option(
      '--batch-size <n>',
      `inputs per /execute/batch request (at most ${MAX_BATCH})`,
      batchSize,
      MAX_BATCH,
    )
    .action(
      async (
        appId: string,
        input: string | undefined,
        opts: { file?: string; batchSize: number },
        cmd: Command,
      ) => {
        if (opts.file && input !== undefined) cmd.error('give either an input or --file, not both');
        if (opts.file) return execFile(cmd, appId, opts.file, opts.batchSize);
        if (input === undefined)
          cmd.error('missing input: give it as JSON (e.g. \'{"text": "hi"}\') or use --file');
        const result = await clientOf(cmd).post<Record<string, unknown>>(appPath(appId, 'execute'), {
          input: parseJsonArg(input, 'the input'),
        });
        if (jsonOf(cmd)) return printJson(result);
        console.log(
          details(
            ['output', 'confidence', 'version', 'latency_ms', 'sampled', 'execution_id'].map((k) => [
              k,
              result[k],
            ]),
          ),
        );
      },
    );
}
