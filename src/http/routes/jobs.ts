import type { Router } from 'express';
import { caseSensitiveRouter } from '../router';
import { notFound } from '../../domain/errors';
import type { Job, Jobs } from '../../synthesis/jobs';

/** The 202 answer of a request that started a job. */
export const jobAccepted = (job: Job) => ({
  job_id: job.job_id,
  loop_app_id: job.loop_app_id,
  state: job.state,
  job_url: `/jobs/${job.job_id}`,
});

export function jobRoutes(jobs: Jobs): Router {
  const router = caseSensitiveRouter();
  router.get('/jobs', (req, res) => {
    const app = typeof req.query.loop_app_id === 'string' ? req.query.loop_app_id : undefined;
    res.json({ jobs: jobs.list(app) });
  });
  router.get('/jobs/:id', (req, res) => {
    const job = jobs.get(req.params.id);
    if (!job) throw notFound(`no job '${req.params.id}' (jobs are kept in memory until the server restarts)`);
    res.json(job);
  });
  return router;
}
