import type { Command } from 'commander';
import type { ValidationReport } from '../../improvement/validator';
import type { Job } from '../../synthesis/jobs';
import { appPath } from '../client';
import { clientOf, jsonOf } from '../context';
import { followJob, reportJob, waitForJob } from '../jobs';
import { details, printJson } from '../output';

interface Accepted {
  job_id: string;
  loop_app_id: string;
  state: string;
}

export function registerImprove(program: Command): void {
  program
    .command('validate')
    .description("a validation pass now: sampled executions are checked by the app's oracle")
    .argument('<app>', 'Loop App id')
    .action(async (appId: string, _opts, cmd: Command) => {
      const report = await clientOf(cmd).post<ValidationReport>(appPath(appId, 'validate'));
      if (jsonOf(cmd)) printJson(report);
      else console.log(details(Object.entries(report)));
    });

  program
    .command('improve')
    .description('make a new candidate version from all labelled data now, and wait for the job')
    .argument('<app>', 'Loop App id')
    .option('--no-wait', 'print the job id and return at once instead of waiting for the job')
    .action(async (appId: string, opts: { wait: boolean }, cmd: Command) => {
      const client = clientOf(cmd);
      const job = await client.post<Accepted>(appPath(appId, 'improve'));
      if (!opts.wait) {
        if (jsonOf(cmd)) printJson(job);
        else console.log(`${appId}: job ${job.job_id} ${job.state} (loopai jobs watch ${job.job_id})`);
        return;
      }
      process.stderr.write(`${appId}: job ${job.job_id}\n`);
      await followJob(client, job.job_id, jsonOf(cmd));
    });

  const jobs = program.command('jobs').description('generation and improvement jobs');
  jobs
    .command('watch')
    .description('print the progress lines of a job as they come, until it ends (exit 7 if it fails)')
    .argument('<job>', 'job id')
    .action(async (jobId: string, _opts, cmd: Command) => {
      const json = jsonOf(cmd);
      // with --json the job document is the output, so progress goes to stderr
      const finished: Job = await waitForJob(clientOf(cmd), jobId, (line) =>
        json ? process.stderr.write(`${line}\n`) : console.log(line),
      );
      reportJob(finished, json);
    });
}
