import type { RequestHandler } from 'express';
import { ApiError } from '../domain/errors';
import type { RouteInfo } from './app';

interface Template {
  pattern: RegExp;
  methods: Set<string>;
}

/** `/loop-apps/{id}/versions` → a pattern matching that path as Express does (exact case, optional final `/`). */
function templatesOf(routes: RouteInfo[]): Template[] {
  const byPath = new Map<string, Set<string>>();
  for (const { method, path } of routes) {
    const methods = byPath.get(path) ?? new Set<string>();
    methods.add(method.toUpperCase());
    if (method === 'get') methods.add('HEAD');
    byPath.set(path, methods);
  }
  return [...byPath].map(([path, methods]) => {
    const source = path
      .split('/')
      .map((part) => (/^\{\w+\}$/.test(part) ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/');
    return { pattern: new RegExp(`^${source}/?$`), methods };
  });
}

/**
 * A path the server knows, asked with a method it does not answer: 405 with `Allow` (OPTIONS: 204 with
 * `Allow`). Telling that a path exists reveals nothing the public API document does not.
 */
export function methodNotAllowed(routes: () => RouteInfo[]): RequestHandler {
  let templates: Template[] | null = null;
  return (req, res, next) => {
    templates ??= templatesOf(routes());
    const allowed = new Set<string>();
    for (const t of templates) if (t.pattern.test(req.path)) for (const m of t.methods) allowed.add(m);
    if (!allowed.size || allowed.has(req.method)) return next();
    const allow = [...allowed].sort().join(', ');
    if (req.method === 'OPTIONS') {
      res.set('Allow', allow).status(204).end();
      return;
    }
    next(
      new ApiError(
        'method_not_allowed',
        `${req.method} is not answered at ${req.path}; use ${allow}`,
        {
          allow: [...allowed].sort(),
        },
        { Allow: allow },
      ),
    );
  };
}
