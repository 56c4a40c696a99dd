import type { Request, Router } from 'express';
import Ajv from 'ajv';
import { badRequest, conflict, notFound } from '../../domain/errors';
import { sharedPublishSchema } from '../../domain/api-schemas';
import { checkSharedRef, type SharedRef, type SharedType } from '../../domain/ids';
import { describeAjvErrors } from '../../runtime/app-config';
import type { AppStore } from '../../store/app-store';
import type { SharedMetadata } from '../../store/shared-files';
import { readJson, type BodyLimits } from '../body';
import { caseSensitiveRouter } from '../router';

const validatePublish = new Ajv({ allErrors: true, strict: false }).compile<
  SharedRef & { files: Record<string, string>; description?: string }
>(sharedPublishSchema);

const keyOf = ({ type, name, version }: SharedRef) => `${type}/${name}/${version}`;

/**
 * Shared artifacts (admin): list, read, publish and delete. Who depends on one is read from the retained
 * versions' dependencies.yaml each time, so it never drifts from what would load.
 */
export function sharedRoutes(store: AppStore, limits: BodyLimits): Router {
  const router = caseSensitiveRouter();
  const shared = store.shared;
  const withDependents = async (list: SharedMetadata[]) => {
    const dependents = await store.sharedDependents();
    return list.map((m) => ({ ...m, dependents: dependents.get(keyOf(m)) ?? [] }));
  };
  const refOf = (req: Request): SharedRef =>
    checkSharedRef({
      type: String(req.params.type) as SharedType,
      name: String(req.params.name),
      version: String(req.params.version),
    });
  const published = (ref: SharedRef) =>
    shared.metadata(ref).catch((err: Error) => {
      throw /is not published here/.test(err.message) ? notFound(err.message) : err;
    });

  router.get('/shared/artifacts', async (_req, res) => {
    res.json({ artifacts: await withDependents(await shared.list()) });
  });

  router.post('/shared/artifacts/verify', async (_req, res) => {
    res.json({ artifacts: await shared.verifyAll() });
  });

  router.get('/shared/artifacts/:type/:name/:version', async (req, res) => {
    const [one] = await withDependents([await published(refOf(req))]);
    res.json(one);
  });

  router.post('/shared/artifacts', async (req, res) => {
    const body = await readJson(req, limits);
    if (!validatePublish(body)) {
      throw badRequest('bad_request', 'a shared artifact is {type, name, version, files: {name: text}}', {
        errors: describeAjvErrors(validatePublish.errors),
      });
    }
    const { type, name, version, files, description } = body;
    const { metadata, created } = await shared.publish({ type, name, version }, files, description);
    const [one] = await withDependents([metadata]);
    res.status(created ? 201 : 200).json(one);
  });

  router.delete('/shared/artifacts/:type/:name/:version', async (req, res) => {
    const ref = refOf(req);
    await published(ref);
    const pinned = (await store.sharedDependents()).get(keyOf(ref)) ?? [];
    if (pinned.length) {
      const who = pinned.map((d) => `${d.loop_app_id} ${d.version}`).join(', ');
      throw conflict(
        `shared ${ref.type} '${ref.name}' ${ref.version} is pinned by ${who}; it cannot be deleted`,
        {
          dependents: pinned,
        },
      );
    }
    await shared.remove(ref);
    res.status(204).end();
  });
  return router;
}
