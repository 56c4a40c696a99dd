import type { RunningServer } from '../../src/server';
import { tmpDataDir, writeApp } from '../helpers/apps';
import { call, startTestServer } from '../helpers/server';

/**
 * Access is decided by the route that runs. Every path of the OpenAPI document, written the ways a client can
 * bend it (letter case, percent-encoded letters, doubled and trailing slashes), with every method, with no key
 * and with an execute key: only the open routes and the execute key's own execute routes may answer with data.
 */
const ADMIN = 'admin-key-matrix-0123456789';
const EXEC = 'exec-key-matrix-0123456789';
const OPEN = new Set(['/health', '/ready', '/openapi.json', '/docs', '/']);
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

const concrete = (template: string) =>
  template
    .replace('{id}', 'spam-a')
    .replace('{version}', 'v1')
    .replace(/\{\w+\}/g, 'job-1');

/** The ways a path may be written that an unwary matcher reads differently from the router. */
function variants(path: string): string[] {
  const segments = path.split('/');
  const out = new Set<string>([
    path,
    path.toUpperCase(),
    segments.map((s) => (s ? s[0].toUpperCase() + s.slice(1) : s)).join('/'),
    segments.map((s) => (s ? `%${s.charCodeAt(0).toString(16)}${s.slice(1)}` : s)).join('/'),
    `/${path}`,
    path.replace(/\/([^/]*)$/, '//$1'),
    `${path}/`,
    `${path}//`,
    `${path}?x=/health`,
    `/health/..${path}`,
    `/health/%2e%2e${path}`,
  ]);
  return [...out];
}

describe('route-by-route access matrix', () => {
  let server: RunningServer;
  let paths: string[];

  beforeAll(async () => {
    const dataDir = tmpDataDir();
    writeApp(dataDir, 'spam-a');
    writeApp(dataDir, 'spam-b');
    server = await startTestServer(dataDir, {
      auth: {
        api_keys: [
          { name: 'ops', role: 'admin', key: ADMIN },
          { name: 'shop', role: 'execute', key: EXEC, apps: ['spam-a'] },
        ],
        rate_limit_per_minute: 0,
        allow_anonymous: false,
      },
    });
    const doc = await call(server.url, 'GET', '/openapi.json');
    paths = Object.keys(doc.body.paths);
  });
  afterAll(() => server.close());

  async function send(method: string, path: string, key?: string) {
    const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
    const hasBody = !['GET', 'HEAD', 'OPTIONS'].includes(method);
    if (hasBody) headers['content-type'] = 'application/json';
    const res = await fetch(server.url + path, {
      method,
      headers,
      body: hasBody ? JSON.stringify({ input: { text: 'win' }, inputs: [{ text: 'win' }] }) : undefined,
    });
    return { status: res.status, text: await res.text() };
  }

  test('the document lists the routes this test walks', () => {
    expect(paths).toEqual(
      expect.arrayContaining(['/loop-apps', '/loop-apps/{id}/executions', '/metrics', '/jobs']),
    );
    expect(paths.length).toBeGreaterThan(20);
  });

  test.each([
    ['no key', undefined],
    ['an execute key', EXEC],
  ])('with %s, nothing but open routes and its own execute routes answers 2xx', async (_name, key) => {
    const leaks: string[] = [];
    for (const template of paths) {
      for (const path of variants(concrete(template))) {
        for (const method of METHODS) {
          const { status, text } = await send(method, path, key);
          const open = OPEN.has(template) && (method === 'GET' || method === 'HEAD');
          // as the request goes out: the client resolves `..` before sending
          const sent = new URL(server.url + path).pathname;
          const ownExecute =
            key === EXEC &&
            method === 'POST' &&
            /^\/loop-apps\/(spam-a|%73pam-a)\/execute(\/batch)?\/?$/.test(sent);
          const optionsOnly = method === 'OPTIONS' && status === 204 && text === '';
          if (status < 400 && !open && !ownExecute && !optionsOnly)
            leaks.push(`${method} ${path} → ${status}`);
          if (status >= 500) leaks.push(`${method} ${path} → ${status} ${text.slice(0, 100)}`);
        }
      }
    }
    expect(leaks).toEqual([]);
  });

  test('the admin key still reaches every route as documented', async () => {
    for (const template of paths) {
      const path = concrete(template);
      const { status } = await send('GET', path, ADMIN);
      // 400: the route ran and asks for what it needs (GET /bundle names its apps in ?apps=)
      expect([200, 400, 404, 405]).toContain(status);
    }
    expect((await send('GET', '/loop-apps/spam-a/executions', ADMIN)).status).toBe(200);
    expect((await send('GET', '/LOOP-APPS', ADMIN)).status).toBe(404);
  });

  test('an execute key reaches its own app only, however the id is written', async () => {
    expect((await send('POST', '/loop-apps/spam-a/execute', EXEC)).status).toBe(200);
    expect((await send('POST', '/loop-apps/%73pam-a/execute', EXEC)).status).toBe(200);
    expect((await send('POST', '/loop-apps/spam-b/execute', EXEC)).status).toBe(403);
    expect((await send('POST', '/loop-apps/SPAM-A/execute', EXEC)).status).toBe(403);
    expect((await send('GET', '/loop-apps/spam-a/executions', EXEC)).status).toBe(403);
  });
});
