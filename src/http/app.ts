import express, { type Express } from 'express';
import type { Logger } from '../logger';
import { errorHandler, notFoundHandler } from './errors';
import { loopAppRoutes, type LoopAppRoutesDeps } from './routes/loop-apps';

export interface HttpDeps extends LoopAppRoutesDeps {
  logger: Logger;
  /** True once every app on disk has been loaded and the watcher is running. */
  isReady: () => boolean;
  /** Extra routers mounted at the root (jobs, …), added by the features that own them. */
  routers?: express.Router[];
}

export function createHttpApp(deps: HttpDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/ready', (_req, res) => {
    const ready = deps.isReady();
    res.status(ready ? 200 : 503).json({ ready });
  });
  app.use('/loop-apps', loopAppRoutes(deps));
  for (const router of deps.routers ?? []) app.use(router);
  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  return app;
}
