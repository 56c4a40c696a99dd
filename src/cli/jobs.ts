import type { Job } from '../synthesis/jobs';
import type { SynthesisResult } from '../synthesis/synthesizer';
import type { Client } from './client';
import { CliError, EXIT } from './errors';
import { pct, printJson, scoreText } from './output';

const POLL_MS = 250;

/** Polls `GET /jobs/{id}` until the job ends, handing each new progress line to `onProgress` as it appears. */
export async function waitForJob(
  client: Client,
  jobId: string,
  onProgress: (line: string) => void,
): Promise<Job> {
  let seen = 0;
  for (;;) {
    const job = await client.get<Job>(`/jobs/${encodeURIComponent(jobId)}`);
    for (const line of job.progress.slice(seen)) onProgress(line);
    seen = job.progress.length;
    if (job.state === 'succeeded' || job.state === 'failed') return job;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** One line on what a finished generation or improvement job made. */
export function jobSummary(job: Job): string {
  const result = job.result as (SynthesisResult & { decision?: string }) | null;
  if (job.state !== 'succeeded' || !result?.version) return `job ${job.job_id} ${job.state}`;
  const parts = [`${job.loop_app_id} ${result.version} by ${result.generator}`];
  if (result.eval) parts.push(`accuracy ${scoreText(result.eval)}`);
  if (result.compared_with)
    parts.push(`vs ${result.compared_with.version} ${pct(result.compared_with.accuracy)}`);
  parts.push(result.decision ?? (result.activated ? 'activated' : 'not activated'));
  return parts.join(', ');
}

/** Prints a finished job (the job JSON with --json, else a summary); a failed job exits 7 with its error. */
export function reportJob(job: Job, json: boolean): void {
  if (json) printJson(job);
  else if (job.state === 'succeeded') console.log(jobSummary(job));
  if (job.state === 'failed')
    throw new CliError(`job ${job.job_id} failed: ${job.error ?? 'no reason given'}`, EXIT.jobFailed);
}

/** Follows a job the server just accepted (202): progress lines on stderr, then the outcome. */
export async function followJob(client: Client, jobId: string, json: boolean): Promise<void> {
  reportJob(await waitForJob(client, jobId, (line) => process.stderr.write(`  ${line}\n`)), json);
}
