import type { Command } from 'commander';
import { score } from '../../synthesis/evaluate';
import { executeAll, MAX_BATCH } from '../batch';
import { appPath } from '../client';
import { clientOf, jsonOf } from '../context';
import { readLabelled } from '../input';
import { evalReport, printJson, progressBar } from '../output';
import { batchSize } from './exec';

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description(
      'accuracy of what the Loop App serves on a labelled file: accuracy, per-class precision/recall, confusion matrix',
    )
    .argument('<app>', 'Loop App id')
    .argument('<file>', 'a JSON array or JSONL of {"input": …, "output": …} (- for stdin)')
    .option(
      '--batch-size <n>',
      `inputs per /execute/batch request (at most ${MAX_BATCH})`,
      batchSize,
      MAX_BATCH,
    )
    .action(async (appId: string, file: string, opts: { batchSize: number }, cmd: Command) => {
      const rows = readLabelled(file);
      // compared as the server compares them (a set of tags in any order is the same)
      const { output_schema } = await clientOf(cmd).get<{ output_schema: Record<string, unknown> }>(
        appPath(appId),
      );
      const predicted: unknown[] = [];
      const versions: Record<string, number> = {};
      const errors: Record<string, number> = {};
      const bar = progressBar(rows.length, `eval ${appId}`);
      try {
        await executeAll(
          clientOf(cmd),
          appId,
          rows.map((r) => r.input),
          (results) => {
            for (const r of results) {
              // an input that got an error counts as wrong: it is predicted as "(error)"
              predicted.push(r.error ? undefined : r.output);
              if (r.error) errors[r.error.code] = (errors[r.error.code] ?? 0) + 1;
              else versions[String(r.version)] = (versions[String(r.version)] ?? 0) + 1;
            }
            bar.increment(results.length);
          },
          opts.batchSize,
        );
      } finally {
        bar.stop();
      }
      const report = score(
        rows.map((r) => r.output),
        predicted,
        'labelled file',
        output_schema,
      );
      const correct = Math.round(report.accuracy * report.n);
      if (jsonOf(cmd)) return printJson({ loop_app_id: appId, ...report, correct, versions, errors });
      console.log(`${appId}: ${correct} of ${report.n} right`);
      console.log(
        `versions: ${
          Object.entries(versions)
            .map(([v, n]) => `${v} (${n})`)
            .join(', ') || 'none'
        }`,
      );
      const failed = Object.entries(errors);
      if (failed.length) console.log(`errors: ${failed.map(([code, n]) => `${code} (${n})`).join(', ')}`);
      console.log(evalReport(report));
    });
}
