import fs from 'node:fs';
import path from 'node:path';
import express, { type Router } from 'express';
import { caseSensitiveRouter } from './router';
import swaggerUi from 'swagger-ui-dist';
import { apiSchemas } from '../domain/api-schemas';
import { OPERATIONS, type Operation } from './openapi-operations';
import type { Role } from '../settings';

const STATUS_TEXT: Record<number, string> = { 200: 'OK', 201: 'Created', 202: 'Accepted' };

function operation(pathName: string, method: string, op: Operation) {
  const params = [...pathName.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
    name,
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
  const query = Object.entries(op.query ?? {}).map(([name, q]) => ({
    name,
    in: 'query',
    required: false,
    ...q,
  }));
  const responses: Record<string, unknown> = {};
  for (const [status, answer] of Object.entries(op.ok)) {
    responses[status] = {
      description: STATUS_TEXT[Number(status)] ?? 'OK',
      content:
        typeof answer === 'string'
          ? { 'application/json': { schema: { $ref: `#/components/schemas/${answer}` } } }
          : { [answer.mediaType]: {} },
    };
  }
  responses.default = {
    description:
      'An error: 4xx says what to fix (400 bad input, 401/403 key, 404, 409, 413, 415, 422, 429); 5xx',
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  };
  return {
    operationId: `${method}${pathName.replace(/[{}]/g, '').replace(/[^a-zA-Z0-9]+(.)?/g, (_, c: string = '') => c.toUpperCase())}`,
    summary: op.summary,
    tags: [op.tag],
    ...(op.open ? { security: [] } : {}),
    ...(op.execute ? { description: 'Needs a key with role execute (for this app) or admin.' } : {}),
    parameters: [...params, ...query],
    ...(op.body
      ? {
          requestBody: {
            required: !op.bodyOptional,
            content: {
              'application/json': { schema: { $ref: `#/components/schemas/${op.body}` } },
              ...Object.fromEntries(
                (op.streamedAs ?? []).map((type) => [type, { schema: { type: 'string' } }]),
              ),
            },
          },
        }
      : {}),
    responses,
  };
}

/**
 * The OpenAPI 3.1 document of a server of `role`, built from the operation table and the same JSON Schemas the
 * server validates with.
 */
export function openApiDocument(version: string, role: Role = 'all') {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [pathName, methods] of Object.entries(OPERATIONS)) {
    const answered = Object.entries(methods).filter(([, op]) => !op.roles || op.roles.includes(role));
    if (answered.length)
      paths[pathName] = Object.fromEntries(answered.map(([m, op]) => [m, operation(pathName, m, op)]));
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Loopai',
      version,
      description:
        'Loop Apps: small programs made from a task spec and labelled examples, run in a sandbox in microseconds, kept right by sampling, oracle verdicts and automatic improvement.',
    },
    servers: [{ url: '/' }],
    security: [{ apiKey: [] }],
    paths,
    components: {
      schemas: apiSchemas,
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'An API key (role admin, execute or edge)' },
      },
    },
  };
}

const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Loopai API</title><link rel="stylesheet" href="/docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body></html>`;

const DOCS_INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true });`;

/** The version in package.json: two folders up from here in the sources, three in the build. */
function packageVersion(): string {
  for (const up of [2, 3]) {
    const file = path.join(__dirname, ...Array<string>(up).fill('..'), 'package.json');
    if (fs.existsSync(file))
      return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
  }
  return '0.0.0';
}

/** `GET /openapi.json`, and `GET /docs`: Swagger UI served from node_modules (no CDN). */
export function openApiRoutes(role: Role): Router {
  const document = openApiDocument(packageVersion(), role);
  const router = caseSensitiveRouter();
  router.get('/openapi.json', (_req, res) => {
    res.json(document);
  });
  router.get('/docs', (_req, res) => {
    res.type('html').send(DOCS_PAGE);
  });
  router.get('/docs/init.js', (_req, res) => {
    res.type('js').send(DOCS_INIT);
  });
  router.use('/docs', express.static(swaggerUi.getAbsoluteFSPath(), { index: false }));
  return router;
}
