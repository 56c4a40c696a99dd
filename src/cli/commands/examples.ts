import type { Command } from 'commander';
import { appPath } from '../client';
import { clientOf, jsonOf } from '../context';
import { readRecords } from '../input';
import { printJson } from '../output';

export function registerExamples(program: Command): void {
  const examples = program.command('examples').description('labelled data of a Loop App');
  examples
    .command('add')
    .description('add labelled examples; the server checks every row and stores all or none')
    .argument('<app>', 'Loop App id')
    .argument('<file>', 'a JSON array or JSONL of {"input": …, "output": …} (- for stdin)')
    .action(async (appId: string, file: string, _opts, cmd: Command) => {
      const body = await clientOf(cmd).post<{ added: number; total: number }>(
        appPath(appId, 'examples'),
        readRecords(file),
      );
      if (jsonOf(cmd)) printJson(body);
      else console.log(`${appId}: added ${body.added} examples (${body.total} in all)`);
    });
}
