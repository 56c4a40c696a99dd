import fs from 'node:fs';
import path from 'node:path';
import express, { type Router, type Response } from 'express';
import { caseSensitiveRouter } from '../router';
import { ApiError } from '../../domain/errors';

/**
 * `web/` sits at the repository root: three levels above this file's folder in the sources (src/http/routes),
 * four in the build (dist/src/http/routes). Null when neither has it (a deployment that left it out).
 */
function findWebDir(): string | null {
  const candidates = [
    path.resolve(__dirname, '..', '..', '..'),
    path.resolve(__dirname, '..', '..', '..', '..'),
  ];
  const root = candidates.find((dir) => fs.existsSync(path.join(dir, 'web', 'index.html')));
  return root ? path.join(root, 'web') : null;
}

/** Chart.js ships a browser build beside its CommonJS entry; its exports map hides it from require.resolve. */
const chartDir = (): string => path.dirname(require.resolve('chart.js'));

/** The page talks to its own origin only; Chart.js sets canvas sizes through inline styles. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

const securityHeaders = (res: Response) => {
  res.set('X-Content-Type-Options', 'nosniff');
  res.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  res.set('Referrer-Policy', 'no-referrer');
};

/**
 * The web dashboard: the single page at `/` (hash-routed), its scripts and styles, and Chart.js from
 * node_modules. Only GET and HEAD of files that exist are answered here; every other path falls through to the
 * API's JSON 404.
 */
export function dashboardRoutes(): Router {
  const webDir = findWebDir();
  const vendorDir = chartDir();
  const router = caseSensitiveRouter();
  if (!webDir) {
    // the API keeps serving; the page says what is missing instead of failing the whole server
    router.get('/', () => {
      throw new ApiError(
        'not_found',
        'the dashboard is not installed: web/ is missing from the repository root beside dist/',
      );
    });
    return router;
  }
  const staticOptions = {
    index: false as const,
    redirect: false,
    dotfiles: 'ignore' as const,
    // the files change with the server, not by themselves: revalidate rather than cache blindly
    cacheControl: true,
    maxAge: 0,
    setHeaders: securityHeaders,
  };

  router.get('/', (_req, res) => {
    securityHeaders(res);
    res.set('Cache-Control', 'no-cache');
    res.sendFile(path.join(webDir, 'index.html'));
  });
  for (const name of ['chart.umd.js', 'chart.umd.js.map']) {
    router.get(`/vendor/${name}`, (_req, res) => {
      securityHeaders(res);
      res.sendFile(path.join(vendorDir, name));
    });
  }
  router.use(express.static(webDir, staticOptions));
  return router;
}
