import type { Router, Request } from 'express';
import { caseSensitiveRouter } from '../router';
import { badRequest } from '../../domain/errors';
import type { Admin, ProgramUpload } from '../../runtime/admin';
import type { LiveApp } from '../../runtime/registry';
import type { Synthesizer } from '../../synthesis/synthesizer';
import type { Improver } from '../../improvement/policy';
import { readJson, type BodyLimits } from '../body';
import { jobAccepted } from './jobs';
import { limitOf } from '../query';

export interface LoopAppRoutesDeps {
  admin: Admin;
  bodyLimits: BodyLimits;
  /** Program synthesis: generation jobs for apps created without a hand-written program. */
  synthesizer: Synthesizer;
  /** Regeneration goes through the improvement policy. */
  improver: Improver;
}

/** What `GET /loop-apps/{id}` shows: the config plus what is derived from the files (not stored). */
export function describeApp(app: LiveApp) {
  const { loop_app_id, ...config } = app.config;
  return {
    loop_app_id,
    ...config,
    current_version: app.activeOnDisk,
    serving_version: app.program?.version ?? null,
    endpoint: `/loop-apps/${loop_app_id}/execute`,
    accuracy: app.program?.metadata?.eval?.accuracy ?? null,
    load_error: app.loadError,
  };
}

const objectBody = async (req: Request, limits: BodyLimits): Promise<Record<string, unknown>> => {
  const body = await readJson(req, limits);
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw badRequest('invalid_body', 'the body must be a JSON object');
  return body as Record<string, unknown>;
};

export function loopAppRoutes({ admin, bodyLimits, synthesizer, improver }: LoopAppRoutesDeps): Router {
  const router = caseSensitiveRouter();
  const body = (req: Request) => objectBody(req, bodyLimits);

  router.get('/', (_req, res) => {
    res.json({
      loop_apps: admin.registry.list().map(describeApp),
      load_errors: Object.fromEntries(admin.registry.loadErrors),
    });
  });

  router.post('/', async (req, res) => {
    const spec = await body(req);
    const config = await admin.checkNew(spec);
    const id = config.loop_app_id;
    const examples = spec.examples === undefined ? [] : admin.checkExamples(config, spec.examples);
    if (spec.program !== undefined) {
      const version = await admin.createWithProgram(config, spec.program as ProgramUpload);
      if (examples.length) await admin.addExamples(id, examples);
      res.status(201).json({ ...describeApp(admin.app(id)), version });
      return;
    }
    synthesizer.choose(config);
    if (!examples.length) {
      throw badRequest(
        'examples_required',
        'send "examples": [{"input": …, "output": …}, …] to generate a program, or "program": {"code": …}',
      );
    }
    await admin.create(config);
    await admin.addExamples(id, examples);
    res.status(202).json(jobAccepted(synthesizer.submitCreate(id)));
  });

  router.post('/:id/examples', async (req, res) => {
    const sent = await readJson(req, bodyLimits);
    const rows = Array.isArray(sent) ? sent : (sent as { examples?: unknown })?.examples;
    const added = await admin.addExamples(req.params.id, rows);
    res.status(201).json({ added, total: (await admin.registry.store.readExamples(req.params.id)).length });
  });

  router.get('/:id', (req, res) => {
    res.json(describeApp(admin.app(req.params.id)));
  });

  router.patch('/:id', async (req, res) => {
    res.json(describeApp(await admin.updateSettings(req.params.id, await body(req))));
  });

  for (const [action, status] of [
    ['pause', 'paused'],
    ['resume', 'active'],
    ['archive', 'archived'],
  ] as const) {
    router.post(`/:id/${action}`, async (req, res) => {
      res.json(describeApp(await admin.setStatus(req.params.id, status)));
    });
  }

  router.get('/:id/executions', async (req, res) => {
    admin.app(req.params.id);
    res.json({ executions: await admin.registry.store.recentExecutions(req.params.id, limitOf(req)) });
  });

  router.get('/:id/versions', async (req, res) => {
    res.json({ versions: await admin.versions(req.params.id) });
  });

  router.get('/:id/versions/:version', async (req, res) => {
    admin.app(req.params.id);
    res.json(await admin.version(req.params.id, req.params.version));
  });

  router.post('/:id/versions', async (req, res) => {
    const upload = await body(req);
    if (upload.regenerate === true) {
      res.status(202).json(jobAccepted(await improver.improve(req.params.id, 'regeneration requested')));
      return;
    }
    res.status(201).json(await admin.uploadVersion(req.params.id, upload as unknown as ProgramUpload));
  });

  router.post('/:id/versions/:version/activate', async (req, res) => {
    admin.app(req.params.id);
    res.json(await admin.activateByHand(req.params.id, req.params.version));
  });

  router.post('/:id/rollback', async (req, res) => {
    res.json(await admin.rollback(req.params.id));
  });

  return router;
}
