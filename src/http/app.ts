import type { IncomingMessage, ServerResponse } from 'node:http';
import express from 'express';
import type { Logger } from '../logger';
import type { Executor } from '../runtime/executor';
import type { Auth } from './auth';
import type { Metrics } from '../telemetry/metrics';
import { errorHandler, notFoundHandler } from './errors';
import { methodNotAllowed } from './methods';
import { EXECUTE_ROUTES, executeRoute } from './execute-route';
import { openApiRoutes } from './openapi';
import { loopAppRoutes, type LoopAppRoutesDeps } from './routes/loop-apps';
import { ApiError } from '../domain/errors';
import type { Role } from '../settings';

export interface HttpDeps extends LoopAppRoutesDeps {
  /** Which routes this server answers besides the common ones (see `role` in the settings). */
  role: Role;
  executor: Executor;
  auth: Auth;
  metrics: Metrics;
  logger: Logger;
  /** True once every app on disk has been loaded and the watcher is running. */
  isReady: () => boolean;
  /** Extra routers mounted at the root (jobs, …), added by the features that own them; they need an admin key. */
  routers?: express.Router[];
  /**
   * Routers mounted before the admin key check: the dashboard's static files (anyone may GET them) and a cloud's
   * edge API (which checks edge keys itself).
   */
  openRouters?: express.Router[];
  /** Extra routers mounted under /loop-apps. */
  loopAppRouters?: express.Router[];
}

export interface RouteInfo {
  method: string;
  /** OpenAPI style: `/loop-apps/{id}`. */
  path: string;
}

export type HttpHandler = ((req: IncomingMessage, res: ServerResponse) => void) & {
  /** Every route the server answers (checked against the OpenAPI document by the tests). */
  routes(): RouteInfo[];
};

/** The request handler of the server: the execute path first, then the Express app for everything else. */
export function createHttpHandler(deps: HttpDeps): HttpHandler {
  const { edge } = deps;
  const gate = edge
    ? (id: string) => {
        const refused = edge.notSynced(id);
        if (refused) throw refused;
      }
    : undefined;
  const execute = executeRoute(deps.executor, deps.auth, deps.bodyLimits, deps.logger, gate);
  let table: RouteInfo[] | null = null;
  const routes = () => (table ??= [...EXECUTE_ROUTES, ...expressRoutes(app.router.stack as Layer[], '')]);
  const app = createExpressApp(deps, routes);
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    if (!execute(req, res)) app(req, res);
  };
  return Object.assign(handler, { routes });
}

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  rawPath?: string;
  handle: { stack?: Layer[] };
}

/** Walks Express's router stack (routers mounted on a path included). */
function expressRoutes(stack: Layer[], prefix: string): RouteInfo[] {
  return stack.flatMap((layer) => {
    if (layer.route) {
      const path = (prefix + layer.route.path).replace(/:(\w+)/g, '{$1}').replace(/(.)\/$/, '$1') || '/';
      return Object.keys(layer.route.methods)
        .filter((m) => m !== '_all')
        .map((method) => ({ method, path }));
    }
    if (layer.handle.stack) {
      const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
      return expressRoutes(layer.handle.stack, prefix + mount);
    }
    return [];
  });
}

/** What an edge takes: feedback (sent on to the cloud with its telemetry) and offline bundles. */
const EDGE_WRITES = /^\/loop-apps\/[^/]+\/feedback$|^\/bundle$/;

/** An edge serves what its cloud made: it reads and executes, and every write goes to the cloud. */
const readOnly =
  (cloud: string | null): express.RequestHandler =>
  (req, _res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD' || EDGE_WRITES.test(req.path)) return next();
    const of = cloud ? `an edge of ${cloud}` : 'an edge fed by bundles';
    throw new ApiError(
      'edge_read_only',
      `this server is ${of}: it serves what its cloud makes; send ${req.method} ${req.path} to the cloud`,
      { cloud },
    );
  };

function createExpressApp(deps: HttpDeps, routes: () => RouteInfo[]): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('case sensitive routing', true);
  app.use(methodNotAllowed(routes));
  // Open: only what is mounted above the key check, and only for the methods those routes answer. Everything
  // below it needs an admin key, including paths that match no route (default deny).
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/ready', (_req, res) => {
    const ready = deps.isReady();
    res.status(ready ? 200 : 503).json({ ready, ...(deps.edge ? { sync: deps.edge.status.state } : {}) });
  });
  app.use(openApiRoutes(deps.role));
  for (const router of deps.openRouters ?? []) app.use(router);
  app.use(deps.auth.requireAdmin());
  if (deps.edge) {
    const { edge } = deps;
    app.get('/sync', (_req, res) => {
      res.json(edge.status);
    });
    app.use(readOnly(edge.status.cloud));
  }
  app.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.text());
  });
  app.use('/loop-apps', loopAppRoutes(deps), ...(deps.loopAppRouters ?? []));
  for (const router of deps.routers ?? []) app.use(router);
  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  return app;
}
