import type { Router, Request } from 'express';
import { caseSensitiveRouter } from '../router';
import { ApiError, badRequest } from '../../domain/errors';
import type { Lifecycle, ProgramUpload } from '../../runtime/lifecycle';
import type { EvalReport } from '../../domain/types';
import type { LiveApp } from '../../runtime/registry';
import type { Synthesizer } from '../../synthesis/synthesizer';
import type { ImprovementPolicy } from '../../improvement/policy';
import { readJson, type BodyLimits } from '../body';
import { jobAccepted } from './jobs';
import { isStreamedUpload, receiveExamples } from '../examples-upload';
import { limitOf } from '../query';
import type { EdgeSync } from '../../edge/sync';

export interface LoopAppRoutesDeps {
  lifecycle: Lifecycle;
  bodyLimits: BodyLimits;
  /** Program synthesis: generation jobs for apps created without a hand-written program. */
  synthesizer: Synthesizer;
  /** Regeneration goes through the improvement policy. */
  policy: ImprovementPolicy;
  /** The size limit of one streamed examples upload (max_examples_bytes). */
  examplesMaxBytes: number;
  /** On an edge: its sync with the cloud, shown with each app. */
  edge?: EdgeSync;
}

/** A score's figures without its per-class detail (null: none recorded). */
const scoreOf = (report: EvalReport | undefined) =>
  report
    ? { accuracy: report.accuracy, interval: report.interval, method: report.method, n: report.n }
    : null;

/** What `GET /loop-apps/{id}` shows: the config plus what is derived from the files (not stored). */
export function describeApp(app: LiveApp) {
  const { loop_app_id, ...config } = app.config;
  return {
    loop_app_id,
    ...config,
    active_version: app.activeOnDisk,
    // the old name of active_version, answered for one more release
    current_version: app.activeOnDisk,
    serving_version: app.program?.version ?? null,
    endpoint: `/loop-apps/${loop_app_id}/execute`,
    accuracy: app.program?.metadata?.eval?.accuracy ?? null,
    score: scoreOf(app.program?.metadata?.eval),
    load_error: app.loadError,
  };
}

const objectBody = async (req: Request, limits: BodyLimits): Promise<Record<string, unknown>> => {
  const body = await readJson(req, limits);
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw badRequest('invalid_body', 'the body must be a JSON object');
  return body as Record<string, unknown>;
};

/** Labelled data too large for one body goes to /examples, streamed. */
const tooLargeToCreate = (limit: number) =>
  new ApiError(
    'body_too_large',
    `the body is larger than the limit of ${limit} bytes (max_body_bytes): create the app with "generate": false ` +
      'and without "examples", stream them to POST /loop-apps/{id}/examples (JSON Lines or CSV, up to ' +
      'max_examples_bytes), then start the generation with POST /loop-apps/{id}/versions {"regenerate": true}',
  );

/** A body that may be left out (an empty POST): `{}` then. */
const optionalBody = (req: Request, limits: BodyLimits): Promise<Record<string, unknown>> =>
  req.headers['content-type'] === undefined && !Number(req.headers['content-length'] ?? 0)
    ? Promise.resolve({})
    : objectBody(req, limits);

/** `{"force": true}` lets a person activate or roll back to a deprecated version. */
const forceOf = (sent: Record<string, unknown>): boolean => {
  if (sent.force !== undefined && typeof sent.force !== 'boolean')
    throw badRequest('invalid_body', '"force" must be true or false');
  return sent.force === true;
};

export function loopAppRoutes({
  lifecycle,
  bodyLimits,
  synthesizer,
  policy,
  examplesMaxBytes,
  edge,
}: LoopAppRoutesDeps): Router {
  const router = caseSensitiveRouter();
  // an edge says how each app's last sync went
  const describe = edge
    ? (app: LiveApp) => ({ ...describeApp(app), sync: edge.appSync(app.id) })
    : describeApp;
  const body = (req: Request) => objectBody(req, bodyLimits);

  router.get('/', (_req, res) => {
    res.json({
      loop_apps: lifecycle.registry.list().map(describe),
      load_errors: Object.fromEntries(lifecycle.registry.loadErrors),
    });
  });

  router.post('/', async (req, res) => {
    const spec = await body(req).catch((err: unknown) => {
      throw err instanceof ApiError && err.code === 'body_too_large'
        ? tooLargeToCreate(bodyLimits.maxBytes)
        : err;
    });
    const config = await lifecycle.checkNew(spec);
    const id = config.loop_app_id;
    const examples = spec.examples === undefined ? [] : lifecycle.checkExamples(config, spec.examples);
    if (spec.generate !== undefined && typeof spec.generate !== 'boolean')
      throw badRequest('invalid_body', '"generate" must be true or false');
    if (spec.generate === false && spec.program === undefined) {
      await lifecycle.create(config);
      if (examples.length) await lifecycle.addExamples(id, examples);
      res.status(201).json(describeApp(lifecycle.app(id)));
      return;
    }
    if (spec.program !== undefined) {
      const version = await lifecycle.createWithProgram(config, spec.program as ProgramUpload);
      if (examples.length) await lifecycle.addExamples(id, examples);
      res.status(201).json({ ...describeApp(lifecycle.app(id)), version });
      return;
    }
    synthesizer.choose(config);
    if (!examples.length) {
      throw badRequest(
        'examples_required',
        'send "examples": [{"input": …, "output": …}, …] to generate a program, or "program": {"code": …}',
      );
    }
    await lifecycle.create(config);
    await lifecycle.addExamples(id, examples);
    res.status(202).json(jobAccepted(synthesizer.submitCreate(id)));
  });

  router.post('/:id/examples', async (req, res) => {
    const id = req.params.id;
    if (isStreamedUpload(req)) {
      const limits = { maxBytes: examplesMaxBytes, maxRowBytes: bodyLimits.maxBytes };
      const query = req.query as Record<string, unknown>;
      res
        .status(201)
        .json(
          await lifecycle.addExamplesStreamed(id, (app, file) =>
            receiveExamples(req, query, app, limits, file),
          ),
        );
      return;
    }
    const sent = await readJson(req, bodyLimits);
    const rows = Array.isArray(sent) ? sent : (sent as { examples?: unknown })?.examples;
    const added = await lifecycle.addExamples(id, rows);
    res.status(201).json({ added, total: await lifecycle.registry.store.countExamples(id) });
  });

  router.get('/:id/examples', async (req, res) => {
    lifecycle.app(req.params.id);
    res.type('application/x-ndjson');
    await lifecycle.registry.store.streamExamples(req.params.id, res);
  });

  router.get('/:id', (req, res) => {
    res.json(describe(lifecycle.app(req.params.id)));
  });

  router.patch('/:id', async (req, res) => {
    res.json(describeApp(await lifecycle.updateSettings(req.params.id, await body(req))));
  });

  for (const [action, status] of [
    ['pause', 'paused'],
    ['resume', 'active'],
    ['archive', 'archived'],
  ] as const) {
    router.post(`/:id/${action}`, async (req, res) => {
      res.json(describeApp(await lifecycle.setStatus(req.params.id, status)));
    });
  }

  router.get('/:id/executions', async (req, res) => {
    lifecycle.app(req.params.id);
    res.json({ executions: await lifecycle.registry.store.recentExecutions(req.params.id, limitOf(req)) });
  });

  router.get('/:id/versions', async (req, res) => {
    res.json({ versions: await lifecycle.versions(req.params.id) });
  });

  router.get('/:id/versions/:version', async (req, res) => {
    lifecycle.app(req.params.id);
    const view = await lifecycle.version(req.params.id, req.params.version);
    res.json({ ...view, runs: await lifecycle.registry.placementOf(req.params.id, req.params.version) });
  });

  router.post('/:id/versions', async (req, res) => {
    const upload = await body(req);
    if (upload.regenerate === true) {
      res.status(202).json(jobAccepted(await policy.improve(req.params.id, 'regeneration requested')));
      return;
    }
    res.status(201).json(await lifecycle.uploadVersion(req.params.id, upload as unknown as ProgramUpload));
  });

  router.post('/:id/versions/:version/activate', async (req, res) => {
    lifecycle.app(req.params.id);
    const force = forceOf(await optionalBody(req, bodyLimits));
    res.json(await lifecycle.activateByHand(req.params.id, req.params.version, force));
  });

  router.post('/:id/versions/:version/deprecate', async (req, res) => {
    const { reason } = await optionalBody(req, bodyLimits);
    if (reason !== undefined && (typeof reason !== 'string' || reason.length > 1000))
      throw badRequest('invalid_body', '"reason" must be a string of at most 1000 characters');
    res.json(
      await lifecycle.deprecate(req.params.id, req.params.version, (reason as string | undefined) ?? null),
    );
  });

  router.post('/:id/versions/:version/reinstate', async (req, res) => {
    res.json(await lifecycle.reinstate(req.params.id, req.params.version));
  });

  router.post('/:id/rollback', async (req, res) => {
    const force = forceOf(await optionalBody(req, bodyLimits));
    res.json(await lifecycle.rollback(req.params.id, force));
  });

  return router;
}
