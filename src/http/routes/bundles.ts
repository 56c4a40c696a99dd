import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Router } from 'express';
import { ApiError, badRequest } from '../../domain/errors';
import { writeBundle } from '../../edge/bundle';
import type { ManifestPublisher } from '../../edge/publisher';
import type { EdgeSync } from '../../edge/sync';
import type { Registry } from '../../runtime/registry';
import { limited } from '../examples-upload';
import { caseSensitiveRouter } from '../router';

/**
 * Offline bundles (admin): `GET /bundle?apps=a,b` on a server that learns (the apps as they serve, files and all, as
 * a tar.gz), `POST /bundle` on an edge (applies one, every file checked, up to max_examples_bytes).
 */
export function bundleRoutes(deps: {
  registry: Registry;
  publisher?: ManifestPublisher;
  edge?: EdgeSync;
  maxBytes: number;
}): Router {
  const router = caseSensitiveRouter();
  const { publisher, edge } = deps;
  if (publisher) {
    router.get('/bundle', async (req, res) => {
      const named = typeof req.query.apps === 'string' ? req.query.apps.split(',').filter(Boolean) : [];
      if (!named.length)
        throw badRequest('bad_request', 'name the Loop Apps to bundle: ?apps=app-one,app-two');
      for (const id of named) deps.registry.require(id);
      res.type('application/gzip').set('Content-Disposition', 'attachment; filename="loopai-bundle.tar.gz"');
      await writeBundle(publisher, new Set(named), res);
    });
  }
  if (edge) {
    router.post('/bundle', async (req, res) => {
      const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'loopai-upload-'));
      try {
        const file = path.join(dir, 'bundle.tar.gz');
        await pipeline(Readable.from(limited(req, deps.maxBytes)), fs.createWriteStream(file));
        const imported = await edge.importBundle(file).catch((err: unknown) => {
          // what is wrong with the bundle is the sender's to fix; a full disk stays a 507
          throw err instanceof ApiError ? err : badRequest('bad_request', (err as Error).message);
        });
        res.json(imported);
      } finally {
        await fsp.rm(dir, { recursive: true, force: true });
      }
    });
  }
  return router;
}
