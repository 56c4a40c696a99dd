import type { IncomingMessage, ServerResponse } from 'node:http';
import express from 'express';
import type { Logger } from '../logger';
import type { Executor } from '../runtime/executor';
import type { Auth } from './auth';
import type { Metrics } from '../telemetry/metrics';
import { errorHandler, notFoundHandler } from './errors';
import { executeRoute } from './execute-route';
import { loopAppRoutes, type LoopAppRoutesDeps } from './routes/loop-apps';

export interface HttpDeps extends LoopAppRoutesDeps {
  executor: Executor;
  auth: Auth;
  metrics: Metrics;
  logger: Logger;
  /** True once every app on disk has been loaded and the watcher is running. */
  isReady: () => boolean;
  /** Extra routers mounted at the root (jobs, …), added by the features that own them. */
  routers?: express.Router[];
  /** Extra routers mounted under /loop-apps. */
  loopAppRouters?: express.Router[];
}

/** The request handler of the server: the execute path first, then the Express app for everything else. */
export function createHttpHandler(deps: HttpDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const execute = executeRoute(deps.executor, deps.auth, deps.maxBodyBytes, deps.logger);
  const app = createExpressApp(deps);
  return (req, res) => {
    if (!execute(req, res)) app(req, res);
  };
}

function createExpressApp(deps: HttpDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(deps.auth.middleware());
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/ready', (_req, res) => {
    const ready = deps.isReady();
    res.status(ready ? 200 : 503).json({ ready });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.text());
  });
  app.use('/loop-apps', loopAppRoutes(deps), ...(deps.loopAppRouters ?? []));
  for (const router of deps.routers ?? []) app.use(router);
  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  return app;
}
