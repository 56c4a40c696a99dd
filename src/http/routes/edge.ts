import type { Request, Router } from 'express';
import { badRequest, notFound } from '../../domain/errors';
import { sha256 } from '../../domain/hash';
import type { TelemetryIntake } from '../../edge/intake';
import { readJson, type BodyLimits } from '../body';
import type { ManifestPublisher } from '../../edge/publisher';
import type { Auth } from '../auth';
import { caseSensitiveRouter } from '../router';

/** The longest long-poll a manifest request may ask for, in seconds. */
const MAX_WAIT_S = 60;
const SHA256 = /^[0-9a-f]{64}$/;
/** The largest telemetry batch (an edge sends at most 500 samples in one, each with its input). */
const MAX_TELEMETRY_BYTES = 64 * 1024 * 1024;

/**
 * The cloud's edge API (`/edge/v1/`): the manifest, with an ETag and a long-poll (`?wait=30` with
 * `If-None-Match` answers as soon as it changes, or 304 after 30 s), and files by digest. An edge key (or an
 * admin key) is checked before any work; an edge key limited to some apps sees only those, files included, and
 * may send telemetry (`POST /edge/v1/telemetry`) for those only.
 */
export function edgeRoutes(
  { publisher, intake }: { publisher: ManifestPublisher; intake: TelemetryIntake },
  auth: Auth,
  limits: BodyLimits,
  closing: AbortSignal,
): Router {
  const router = caseSensitiveRouter();
  const scopeOf = (req: Request) => auth.check(req.headers, { role: 'edge' })?.apps ?? null;

  router.get('/edge/v1/manifest', async (req, res) => {
    const scope = scopeOf(req);
    const wait = req.query.wait === undefined ? 0 : Number(req.query.wait);
    if (!Number.isInteger(wait) || wait < 0 || wait > MAX_WAIT_S)
      throw badRequest('bad_request', `wait must be a whole number of seconds from 0 to ${MAX_WAIT_S}`);
    const known = req.headers['if-none-match'];
    let published = await publisher.current(scope);
    if (known === published.etag && wait > 0) {
      const gone = new AbortController();
      res.on('close', () => gone.abort());
      published =
        (await publisher.changed(known, scope, wait * 1000, AbortSignal.any([gone.signal, closing]))) ??
        published;
    }
    res.set('ETag', published.etag).set('Cache-Control', 'no-cache');
    if (known === published.etag) res.status(304).end();
    else res.type('application/json').send(published.body);
  });

  router.get('/edge/v1/blobs/:sha256', async (req, res) => {
    const digest = req.params.sha256;
    if (!SHA256.test(digest))
      throw badRequest('bad_request', 'a blob is named by the hex sha256 of its bytes');
    const scope = scopeOf(req);
    const place = await publisher.place(digest, scope);
    if (!place) throw notFound(`no file with sha256 ${digest} in the manifest of this key`);
    const data = await publisher.read(place).catch(() => null);
    // edited or removed since the manifest was made: the edge is told no, and the next manifest says what is new
    if (!data || sha256(data) !== digest) {
      publisher.stale(place.id);
      throw notFound(`the file with sha256 ${digest} changed on the cloud; fetch the manifest again`);
    }
    // private: the answer went to a key (a shared cache must not hand it to anyone without one)
    res.set('Cache-Control', 'private, max-age=31536000, immutable');
    res.type('application/octet-stream').send(data);
  });
  router.post('/edge/v1/telemetry', async (req, res) => {
    const scope = scopeOf(req);
    const batch = await readJson(req, { ...limits, maxBytes: MAX_TELEMETRY_BYTES });
    res.json(await intake.receive(batch, scope));
  });
  return router;
}
