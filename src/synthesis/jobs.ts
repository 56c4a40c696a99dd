import crypto from 'node:crypto';
import type { Logger } from '../logger';

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed';

export interface Job {
  job_id: string;
  type: string;
  loop_app_id: string;
  state: JobState;
  progress: string[];
  result: unknown;
  error: string | null;
  created_at: string;
  updated_at: string;
}

const KEEP_FINISHED = 500;

/**
 * Long work (generation) as jobs: `202 {job_id}` now, `GET /jobs/{id}` for state and progress. Jobs run one at a
 * time (training and sandbox scoring are CPU-bound; running them side by side only slows the execute path).
 * Jobs live in memory: a restart forgets them, and a version is written only when its job has finished.
 */
export class Jobs {
  private jobs = new Map<string, Job>();
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly logger: Logger) {}

  get(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  list(loopAppId?: string): Job[] {
    return [...this.jobs.values()].filter((j) => !loopAppId || j.loop_app_id === loopAppId).reverse();
  }

  submit(
    type: string,
    loopAppId: string,
    work: (progress: (message: string) => void) => Promise<unknown>,
  ): Job {
    const now = new Date().toISOString();
    const job: Job = {
      job_id: `job_${crypto.randomUUID()}`,
      type,
      loop_app_id: loopAppId,
      state: 'queued',
      progress: [],
      result: null,
      error: null,
      created_at: now,
      updated_at: now,
    };
    this.jobs.set(job.job_id, job);
    this.forgetOld();
    const touch = (patch: Partial<Job>) =>
      Object.assign(job, patch, { updated_at: new Date().toISOString() });
    const progress = (message: string) => {
      touch({ progress: [...job.progress, message] });
      this.logger.info('job progress', { job_id: job.job_id, loop_app_id: loopAppId, message });
    };
    this.queue = this.queue.then(async () => {
      touch({ state: 'running' });
      try {
        touch({ state: 'succeeded', result: await work(progress) });
      } catch (err) {
        touch({ state: 'failed', error: (err as Error).message });
        this.logger.warn('job failed', { job_id: job.job_id, loop_app_id: loopAppId, error: job.error });
      }
    });
    return job;
  }

  /** Resolves when every job submitted so far has finished. */
  idle(): Promise<void> {
    return this.queue;
  }

  private forgetOld(): void {
    const finished = [...this.jobs.values()].filter((j) => j.state === 'succeeded' || j.state === 'failed');
    for (const job of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED)))
      this.jobs.delete(job.job_id);
  }
}
