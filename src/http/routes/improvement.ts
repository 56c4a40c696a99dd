import type { Router } from 'express';
import { caseSensitiveRouter } from '../router';
import { badRequest } from '../../domain/errors';
import type { ImprovementPolicy } from '../../improvement/policy';
import type { Validator } from '../../improvement/validator';
import type { Lifecycle } from '../../runtime/lifecycle';
import { readJson, type BodyLimits } from '../body';
import { limitOf } from '../query';
import { jobAccepted } from './jobs';
import type { TelemetryShipper } from '../../edge/telemetry';

export interface ImprovementRoutesDeps {
  lifecycle: Lifecycle;
  validator: Validator;
  policy: ImprovementPolicy;
  bodyLimits: BodyLimits;
  /** On an edge: feedback is checked there and sent on to the cloud, which judges it (202). */
  edgeFeedback?: TelemetryShipper;
}

/** Validation, feedback, analytics and improvement of one Loop App: `/loop-apps/{id}/…`. */
export function improvementRoutes({
  lifecycle,
  validator,
  policy,
  bodyLimits,
  edgeFeedback,
}: ImprovementRoutesDeps): Router {
  const router = caseSensitiveRouter();

  router.post('/:id/feedback', async (req, res) => {
    if (edgeFeedback) {
      res.status(202).json(await edgeFeedback.feedback(req.params.id, await readJson(req, bodyLimits)));
      return;
    }
    const verdict = await validator.feedback(req.params.id, await readJson(req, bodyLimits));
    res.status(201).json({
      execution_id: verdict.execution_id,
      version: verdict.version,
      program_output: verdict.program_output,
      expected_output: verdict.oracle_output,
      correct: verdict.correct,
    });
  });

  router.get('/:id/review-queue', async (req, res) => {
    res.json(await validator.pending(req.params.id, limitOf(req)));
  });

  router.get('/:id/validations', async (req, res) => {
    const { correct } = req.query;
    if (correct !== undefined && correct !== 'true' && correct !== 'false') {
      throw badRequest('invalid_filter', 'correct must be true or false');
    }
    const filter = correct === undefined ? undefined : correct === 'true';
    res.json({ validations: await validator.verdicts(req.params.id, limitOf(req), filter) });
  });

  router.get('/:id/analytics', async (req, res) => {
    res.json(await validator.analytics(req.params.id));
  });

  router.get('/:id/events', async (req, res) => {
    lifecycle.app(req.params.id);
    res.json({ events: await lifecycle.registry.store.recentEvents(req.params.id, limitOf(req)) });
  });

  router.post('/:id/validate', async (req, res) => {
    res.json(await policy.validate(req.params.id));
  });

  router.post('/:id/improve', async (req, res) => {
    res.status(202).json(jobAccepted(await policy.improve(req.params.id, 'requested over the API')));
  });

  return router;
}
