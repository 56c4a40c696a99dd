import { Router } from 'express';
import { notFound } from '../../domain/errors';
import type { Jobs } from '../../synthesis/jobs';

export function jobRoutes(jobs: Jobs): Router {
  const router = Router();
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
