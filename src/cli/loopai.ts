#!/usr/bin/env node
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { registerApps } from './commands/apps';
import { registerBundles } from './commands/bundles';
import { registerEval } from './commands/eval';
import { registerExamples } from './commands/examples';
import { registerExec } from './commands/exec';
import { registerImprove } from './commands/improve';
import { registerServe } from './commands/serve';
import { registerShared } from './commands/shared';
import { registerVersions } from './commands/versions';
import { CliError, EXIT, EXIT_CODES_HELP } from './errors';

const EXAMPLES = `
Examples:
  loopai serve --port 8080 --data-dir ./loopai-data
  loopai apps list
  loopai apps create ticket-router.yaml
  loopai exec spam-detector-001 '{"text": "You won a FREE cruise", "sender": "promo@win.example"}'
  loopai exec spam-detector-001 --file inputs.jsonl > results.jsonl
  loopai eval spam-detector-001 labelled.jsonl
  loopai versions rollback spam-detector-001
  LOOPAI_URL=https://loopai.example LOOPAI_API_KEY=… loopai apps list --json

${EXIT_CODES_HELP}`;

function seconds(value: string): number {
  const n = Number(value);
  if (!(n > 0)) throw new InvalidArgumentError('a number of seconds');
  return n;
}

function buildProgram(): Command {
  const program = new Command('loopai')
    .description('Loopai: make, run, check and improve Loop Apps on a Loopai server')
    .addOption(new Option('--url <url>', 'Loopai server').env('LOOPAI_URL').default('http://127.0.0.1:8080'))
    .addOption(new Option('--key <key>', 'API key, sent as Authorization: Bearer').env('LOOPAI_API_KEY'))
    .option('--json', 'print the exact API JSON instead of tables (for scripts)')
    .option('--timeout <seconds>', 'how long one request may take', seconds, 120)
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', EXAMPLES)
    // errors come back to fail() below, which owns the exit codes
    .exitOverride();
  registerServe(program);
  registerApps(program);
  registerExec(program);
  registerExamples(program);
  registerVersions(program);
  registerEval(program);
  registerImprove(program);
  registerBundles(program);
  registerShared(program);
  return program;
}

function fail(err: unknown): void {
  if (err instanceof CommanderError) {
    // commander has printed its message (or the help); 0 for --help and --version, else a usage error
    process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    return;
  }
  if (err instanceof CliError) {
    process.stderr.write(`loopai: ${err.message}\n`);
    if (err.details !== undefined) process.stderr.write(`${JSON.stringify(err.details, null, 2)}\n`);
    process.exitCode = err.exitCode;
    return;
  }
  process.stderr.write(
    `loopai: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = EXIT.unexpected;
}

// `loopai … | head`: a reader that stops early ends the output quietly, as with other command-line tools
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(process.exitCode ?? EXIT.ok);
});

// exit codes are set, not forced with process.exit(), so piped output is written out in full
buildProgram().parseAsync(process.argv).catch(fail);
